"""Numeric-feature embeddings: each feature becomes a small vector before the MLP.

After Gorishniy et al. (2022), "On Embeddings for Numerical Features in Tabular Deep
Learning" (rtdl-num-embeddings), written afresh in NumPy:

- ``PiecewiseLinearEncoding``: feature ``j`` with bin edges ``e_0 < ... < e_T`` becomes
  ``T`` numbers, bin ``t`` holding ``(x - e_t) / (e_{t+1} - e_t)`` clipped to [0, 1]
  (the first bin is not clipped below, the last not above). Bins come from training
  quantiles (``quantile_bins``) or from a shallow decision tree (``tree_bins``).
- ``PeriodicEmbedding``: ``cos`` and ``sin`` of ``2 pi c x`` with trainable
  frequencies ``c`` per feature (the "P" of MLP-PLR).
- ``FeatureLinear``: one small linear layer per feature (the "L" that follows both).

Inputs and outputs stay 2-D, ``(batch_size, n_features * per_feature)``, feature by
feature, so these layers chain with ``Linear`` and the activations.
"""

from __future__ import annotations

import numpy as np

from barenet._checks import as_rng, check_dtype, check_number, check_positive_int
from barenet.errors import BarenetValueError
from barenet.layers import Layer, config_arguments
from barenet.registry import LAYERS
from barenet.tabular.scaling import even_quantiles, merge_close


def _check_input(layer, inp: np.ndarray, width: int) -> None:
    if inp.ndim != 2 or inp.shape[1] != width:
        raise BarenetValueError(
            f"{layer!r} expects input of shape (batch_size, {width}), got {inp.shape}"
        )


def _flatten(graph, value: str) -> str:
    """ONNX: (N, features, per_feature) -> (N, features * per_feature)."""
    return graph.node("Flatten", [value], axis=1)


def _at_least_one_bin(column_edges: np.ndarray) -> list[float]:
    """The edges as a list; a constant column's single value ``c`` becomes ``[c, c + 1]``."""
    if len(column_edges) < 2:
        column_edges = np.array([column_edges[0], column_edges[0] + 1.0])
    return column_edges.tolist()


def quantile_bins(x, n_bins: int = 48) -> list[list[float]]:
    """Bin edges for each column of ``x``: its quantiles at ``n_bins + 1`` even levels,
    without repeats, nor edges closer than a float32 step (``scaling.merge_close``): a
    column with few distinct values gets fewer bins.

    x: (n_samples, n_features) -> n_features lists of at least 2 increasing edges.
    A constant column (a pixel that is always blank, say) gets one bin, ``[c, c + 1]``,
    which encodes its value as 0.
    """
    x = np.asarray(x, dtype=np.float64)
    n_bins = check_positive_int(n_bins, "n_bins")
    if x.ndim != 2 or len(x) < 2:
        raise BarenetValueError(f"quantile_bins needs a 2-D array of >= 2 rows, got {x.shape}")
    edges = []
    for column in x.T:
        column_edges = np.unique(even_quantiles(column, n_bins + 1))
        ones = np.ones(len(column_edges))  # edges closer than float32 can tell apart: one
        column_edges = merge_close(column_edges, ones, ones)[0]
        edges.append(_at_least_one_bin(column_edges))
    return edges


def tree_bins(x, y, n_bins: int = 48, *, regression: bool = True, min_leaf: int = 64, seed=0):
    """Bin edges from a decision tree per feature, fitted to the target (MLP-T-LR):
    the tree's split thresholds on that feature, plus its minimum and maximum (a
    constant column gets one bin, as in ``quantile_bins``).

    x: (n_samples, n_features), y: (n_samples,) -> n_features lists of edges.
    """
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) < 2 or len(y) != len(x):
        raise BarenetValueError(
            f"tree_bins needs a 2-D x of >= 2 rows and one target per row, got x {x.shape} "
            f"and y {y.shape}"
        )
    y = y.reshape(len(x), -1)
    y = y[:, 0] if y.shape[1] == 1 else y
    tree_class = DecisionTreeRegressor if regression else DecisionTreeClassifier
    edges = []
    for column in x.T:
        tree = tree_class(
            max_leaf_nodes=check_positive_int(n_bins, "n_bins", minimum=2),
            min_samples_leaf=min_leaf,
            random_state=seed,
        ).fit(column.reshape(-1, 1), y)
        splits = tree.tree_.threshold[tree.tree_.feature == 0]
        column_edges = np.unique(np.concatenate([splits, [column.min(), column.max()]]))
        edges.append(_at_least_one_bin(column_edges))
    return edges


def padded_bins(edges) -> int:
    """n_features x n_bins of a piecewise encoding of ``edges`` (a list of edges per
    feature; n_bins: the most of any feature), without building it."""
    if not isinstance(edges, list | tuple) or not edges:
        return 0  # refused by the encoding itself
    return len(edges) * max(len(column) - 1 for column in edges)


@LAYERS.register("piecewise_linear")
class PiecewiseLinearEncoding(Layer):
    """Piecewise-linear encoding of each feature on fixed bins (no parameters).

    Parameters
    ----------
    edges : list of lists of float
        For each feature, its increasing bin edges (``quantile_bins``, ``tree_bins``).
        Features with fewer bins than the most are padded with zeros.

    Attributes
    ----------
    left, width : ndarray, shape (n_features, n_bins)
        Each bin's left edge and width (1 for padding).
    low, high : ndarray, shape (n_features, n_bins)
        Where each bin's value is clipped: [0, 1], open (+-inf) below for the first bin
        and above for the last, [0, 0] for padding.

    Shapes: inp (batch_size, n_features) -> out (batch_size, n_features * n_bins).
    """

    def __init__(self, edges, *, dtype=np.float32) -> None:
        super().__init__()
        if not isinstance(edges, list | tuple) or not edges:
            raise BarenetValueError("PiecewiseLinearEncoding edges must be a list per feature")
        dtype = check_dtype(dtype)
        self.edges = [[float(e) for e in column] for column in edges]
        self.n_features = len(self.edges)
        self.n_bins = max(len(column) - 1 for column in self.edges)
        shape = (self.n_features, self.n_bins)
        left, width = np.zeros(shape), np.ones(shape)
        low, high = np.zeros(shape), np.zeros(shape)  # padded bins clip to exactly 0
        for j, column in enumerate(self.edges):
            column = np.asarray(column)
            if len(column) < 2 or not np.all(np.diff(column) > 0):
                raise BarenetValueError(
                    f"PiecewiseLinearEncoding: feature {j} needs >= 2 increasing edges"
                )
            bins = len(column) - 1
            left[j, :bins], width[j, :bins] = column[:-1], np.diff(column)
            high[j, :bins] = 1.0
            low[j, 0], high[j, bins - 1] = -np.inf, np.inf
        self.left, self.width = left.astype(dtype), width.astype(dtype)
        self.low, self.high = low.astype(dtype), high.astype(dtype)
        self.in_dim, self.out_dim = self.n_features, self.n_features * self.n_bins

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.n_features)
        self.inp = inp
        self.raw = (inp[:, :, None] - self.left) / self.width  # (batch, features, bins)
        out = np.clip(self.raw, self.low, self.high)
        return out.reshape(len(inp), -1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        """Only where a bin is on its sloped part does the input move the output."""
        sloped = (self.raw > self.low) & (self.raw < self.high)
        up_grad = up_grad.reshape(self.raw.shape)
        return np.sum(up_grad * sloped / self.width, axis=2)

    def onnx_nodes(self, graph, inp: str) -> str:
        """(x - left) / width per feature and bin, clipped to [low, high], flattened."""
        raw = graph.node("Unsqueeze", [inp, graph.constant("axis", [2], np.int64)])
        raw = graph.node("Sub", [raw, graph.constant("left", self.left)])
        raw = graph.node("Div", [raw, graph.constant("width", self.width)])
        low = graph.node("Max", [raw, graph.constant("low", self.low)])
        return _flatten(graph, graph.node("Min", [low, graph.constant("high", self.high)]))

    def config(self) -> dict:
        return {"edges": self.edges, "dtype": str(self.left.dtype)}

    @classmethod
    def derived_size(cls, config: dict) -> int:
        """Its four tables (``left``, ``width``, ``low``, ``high``): 4 n_features n_bins
        numbers, the features with fewer bins padded to the most."""
        return 4 * padded_bins(config_arguments(cls, config)["edges"])

    def __repr__(self) -> str:
        return f"PiecewiseLinearEncoding({self.n_features} features, {self.n_bins} bins)"


@LAYERS.register("periodic")
class PeriodicEmbedding(Layer):
    """``[cos(2 pi c_jk x_j), sin(2 pi c_jk x_j)]`` for each feature ``j`` and each of
    its ``n_frequencies`` trainable frequencies ``c_jk``, initialised N(0, sigma^2).

    Shapes: inp (batch_size, n_features) -> out (batch_size, n_features * 2 *
    n_frequencies), each feature's cosines then its sines.

    Attributes
    ----------
    c, dc : ndarray, shape (n_features, n_frequencies)
    """

    param_names = ("c",)
    seed_stream = "init"

    def __init__(
        self, n_features: int, n_frequencies: int = 16, sigma: float = 0.1, *, dtype=np.float32,
        seed=None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.n_features = check_positive_int(n_features, "PeriodicEmbedding n_features")
        self.n_frequencies = check_positive_int(n_frequencies, "PeriodicEmbedding n_frequencies")
        self.sigma = check_number(sigma, "PeriodicEmbedding sigma", minimum=0.0)
        dtype = check_dtype(dtype)
        rng = as_rng(seed, "PeriodicEmbedding")
        shape = (self.n_features, self.n_frequencies)
        self.c = (rng.standard_normal(shape) * self.sigma).astype(dtype)
        self.dc = np.zeros(self.c.shape, self.c.dtype)
        self.in_dim, self.out_dim = self.n_features, self.n_features * 2 * self.n_frequencies

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.n_features)
        self.inp = inp
        self.angle = (2 * np.pi) * self.c * inp[:, :, None]  # (batch, features, frequencies)
        self.cos, self.sin = np.cos(self.angle), np.sin(self.angle)
        return np.concatenate([self.cos, self.sin], axis=2).reshape(len(inp), -1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        """d cos(a) = -sin(a) da, d sin(a) = cos(a) da, with da = 2 pi (x dc + c dx)."""
        up_grad = up_grad.reshape(len(self.inp), self.n_features, 2, self.n_frequencies)
        angle_grad = (2 * np.pi) * (up_grad[:, :, 1] * self.cos - up_grad[:, :, 0] * self.sin)
        self.dc[...] = np.einsum("bfk,bf->fk", angle_grad, self.inp)
        return np.einsum("bfk,fk->bf", angle_grad, self.c)

    def onnx_nodes(self, graph, inp: str) -> str:
        """cos and sin of (2 pi c) * x, each feature's cosines then its sines."""
        frequencies = (2 * np.pi) * self.c  # as forward computes it, in c's dtype
        angle = graph.node("Unsqueeze", [inp, graph.constant("axis", [2], np.int64)])
        angle = graph.node("Mul", [graph.constant("frequencies", frequencies), angle])
        waves = [graph.node("Cos", [angle]), graph.node("Sin", [angle])]
        return _flatten(graph, graph.node("Concat", waves, axis=2))

    def config(self) -> dict:
        return {
            "n_features": self.n_features,
            "n_frequencies": self.n_frequencies,
            "sigma": self.sigma,
            "dtype": str(self.c.dtype),
        }

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple]:
        """``c``: (n_features, n_frequencies)."""
        arguments = config_arguments(cls, config)
        return {"c": (arguments["n_features"], arguments["n_frequencies"])}


@LAYERS.register("feature_linear")
class FeatureLinear(Layer):
    """A separate linear layer for each feature's embedding (rtdl's ``NLinear``):
    ``out_j = inp_j @ w_j + b_j``, initialised U(-1/sqrt(in), 1/sqrt(in)) as PyTorch's.

    Shapes: inp (batch_size, n_features * in_dim) -> out (batch_size, n_features * out_dim).

    Attributes
    ----------
    w, dw : ndarray, shape (n_features, in_dim, out_dim)
    b, db : ndarray, shape (n_features, out_dim)
    """

    param_names = ("w", "b")
    seed_stream = "init"

    def __init__(
        self, n_features: int, in_dim: int, out_dim: int, *, dtype=np.float32, seed=None
    ) -> None:
        super().__init__()
        self.n_features = check_positive_int(n_features, "FeatureLinear n_features")
        self.in_dim = check_positive_int(in_dim, "FeatureLinear in_dim")
        self.out_dim = check_positive_int(out_dim, "FeatureLinear out_dim")
        dtype = check_dtype(dtype)
        rng = as_rng(seed, "FeatureLinear")
        bound = 1.0 / np.sqrt(self.in_dim)
        self.w = rng.uniform(-bound, bound, (self.n_features, in_dim, out_dim)).astype(dtype)
        self.b = rng.uniform(-bound, bound, (self.n_features, out_dim)).astype(dtype)
        self.dw, self.db = (
            np.zeros(self.w.shape, self.w.dtype),
            np.zeros(self.b.shape, self.b.dtype),
        )

    def io_dims(self) -> tuple[int, int]:
        return self.n_features * self.in_dim, self.n_features * self.out_dim

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.n_features * self.in_dim)
        # (features, batch, in) @ (features, in, out): one small matrix product per feature
        self.inp = inp.reshape(len(inp), self.n_features, self.in_dim).transpose(1, 0, 2)
        out = self.inp @ self.w + self.b[:, None, :]
        return out.transpose(1, 0, 2).reshape(len(inp), -1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        by_feature = self._param_grads(up_grad)
        down_grad = by_feature @ self.w.transpose(0, 2, 1)
        return down_grad.transpose(1, 0, 2).reshape(len(up_grad), -1)

    def _param_grads(self, up_grad: np.ndarray) -> np.ndarray:
        """Write ``dw`` and ``db``; return the gradient as (n_features, batch, out_dim).
        (A fused step calls only this when nothing needs the input gradient.)"""
        batch_size = up_grad.shape[0]
        up_grad = up_grad.reshape(batch_size, self.n_features, self.out_dim).transpose(1, 0, 2)
        np.matmul(self.inp.transpose(0, 2, 1), up_grad, out=self.dw)
        self.db[...] = up_grad.sum(axis=1)
        return up_grad

    def onnx_nodes(self, graph, inp: str) -> str:
        """(N, F * in) -> (F, N, in) @ w (F, in, out) + b -> (N, F * out)."""
        shape = graph.constant("shape", [0, self.n_features, self.in_dim], np.int64)
        features = graph.node("Transpose", [graph.node("Reshape", [inp, shape])], perm=[1, 0, 2])
        out = graph.node("MatMul", [features, graph.constant("w", self.w)])
        out = graph.node("Add", [out, graph.constant("b", self.b[:, None, :])])
        return _flatten(graph, graph.node("Transpose", [out], perm=[1, 0, 2]))

    def config(self) -> dict:
        return {
            "n_features": self.n_features,
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "dtype": str(self.w.dtype),
        }

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple]:
        """``w``: (n_features, in_dim, out_dim); ``b``: (n_features, out_dim)."""
        a = config_arguments(cls, config)
        return {
            "w": (a["n_features"], a["in_dim"], a["out_dim"]),
            "b": (a["n_features"], a["out_dim"]),
        }
