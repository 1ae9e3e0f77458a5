"""Embed the numeric columns, pass the 0/1 columns straight through.

A table's one-hot and missing-indicator columns take two values: a 48-bin
piecewise-linear encoding and a 16-wide embedding per such column give the first
hidden layer 16 inputs where one carries all there is. ``PiecewisePassthrough`` runs
the piecewise encoding, the per-feature linear layer and a ReLU (as
``PiecewiseLinearEncoding``, ``FeatureLinear`` and ``Relu`` in a row compute them) on
the columns listed in ``embedded`` only, and appends the other columns unchanged.
"""

from __future__ import annotations

import numpy as np

from barenet._checks import as_rng, check_dtype, check_positive_int
from barenet.errors import BarenetValueError
from barenet.layers import Layer, config_arguments
from barenet.registry import LAYERS
from barenet.tabular.embeddings import FeatureLinear, PiecewiseLinearEncoding, padded_bins


def embedded_columns(x, min_distinct: int = 3) -> list[int]:
    """The columns of ``x`` (n_rows, n_features) with at least ``min_distinct`` distinct
    values: those worth a numeric embedding (the others are 0/1 or constant)."""
    x = np.asarray(x)
    return [j for j in range(x.shape[1]) if len(np.unique(x[:, j])) >= min_distinct]


@LAYERS.register("piecewise_passthrough")
class PiecewisePassthrough(Layer):
    """Piecewise-linear encoding, per-feature linear layer and ReLU on the ``embedded``
    columns; the others passed through unchanged, after them.

    Parameters
    ----------
    n_features : int
        Input columns.
    embedded : list of int
        The columns embedded (increasing); the rest pass through in their order.
    edges : list of lists of float
        Bin edges of each embedded column (``quantile_bins`` of those columns).
    out_dim : int
        Size of each embedded column's embedding.

    Attributes
    ----------
    w, dw : ndarray, shape (n_embedded, n_bins, out_dim)
    b, db : ndarray, shape (n_embedded, out_dim)

    Shapes: inp (batch_size, n_features) -> out (batch_size, n_embedded * out_dim +
    n_features - n_embedded).
    """

    param_names = ("w", "b")
    seed_stream = "init"

    def __init__(
        self, n_features: int, embedded, edges, out_dim: int, *, dtype=np.float32, seed=None
    ) -> None:
        super().__init__()
        self.n_features = check_positive_int(n_features, "PiecewisePassthrough n_features")
        self.embedded = [int(j) for j in embedded]
        if not self.embedded or sorted(set(self.embedded)) != self.embedded:
            raise BarenetValueError("PiecewisePassthrough embedded must be increasing columns")
        if self.embedded[0] < 0 or self.embedded[-1] >= self.n_features:
            raise BarenetValueError(
                f"PiecewisePassthrough embedded columns must be in [0, {self.n_features})"
            )
        if len(edges) != len(self.embedded):
            raise BarenetValueError("PiecewisePassthrough needs one list of edges per column")
        embedded_set = set(self.embedded)
        self.passed = [j for j in range(self.n_features) if j not in embedded_set]
        dtype = check_dtype(dtype)
        self.encoding = PiecewiseLinearEncoding(edges, dtype=dtype)
        self.n_bins, self.emb_dim = self.encoding.n_bins, check_positive_int(out_dim, "out_dim")
        rng = as_rng(seed, "PiecewisePassthrough")
        bound = 1.0 / np.sqrt(self.n_bins)  # as FeatureLinear initialises
        shape = (len(self.embedded), self.n_bins, self.emb_dim)
        self.w = rng.uniform(-bound, bound, shape).astype(dtype)
        self.b = rng.uniform(-bound, bound, shape[::2]).astype(dtype)
        self.dw, self.db = (
            np.zeros(self.w.shape, self.w.dtype),
            np.zeros(self.b.shape, self.b.dtype),
        )
        self.in_dim = self.n_features
        self.out_dim = len(self.embedded) * self.emb_dim + len(self.passed)

    @classmethod
    def stored_shapes(cls, config: dict) -> dict[str, tuple]:
        """``w``: (n_embedded, n_bins, out_dim); ``b``: (n_embedded, out_dim), n_bins the
        most of any embedded column's."""
        a = config_arguments(cls, config)
        embedded = len(a["embedded"])
        bins = padded_bins(a["edges"]) // max(1, len(a["edges"]))
        return {"w": (embedded, bins, a["out_dim"]), "b": (embedded, a["out_dim"])}

    @classmethod
    def derived_size(cls, config: dict) -> int:
        """Its encoding's four tables: 4 n_embedded n_bins numbers."""
        return 4 * padded_bins(config_arguments(cls, config)["edges"])

    def io_dims(self) -> tuple[int, int]:
        return self.in_dim, self.out_dim

    def forward(self, inp: np.ndarray) -> np.ndarray:
        if inp.ndim != 2 or inp.shape[1] != self.n_features:
            raise BarenetValueError(
                f"{self!r} expects input of shape (batch_size, {self.n_features}), got {inp.shape}"
            )
        self.batch = len(inp)
        bins = self.encoding.forward(inp[:, self.embedded])
        self.bins = bins.reshape(len(inp), len(self.embedded), self.n_bins).transpose(1, 0, 2)
        out = self.bins @ self.w + self.b[:, None, :]  # (features, batch, emb_dim)
        self.on = out > 0
        embedded = (out * self.on).transpose(1, 0, 2).reshape(len(inp), -1)
        return np.concatenate([embedded, inp[:, self.passed]], axis=1)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        width = len(self.embedded) * self.emb_dim
        grad = up_grad[:, :width].reshape(self.batch, len(self.embedded), self.emb_dim)
        grad = grad.transpose(1, 0, 2) * self.on  # through the ReLU
        np.matmul(self.bins.transpose(0, 2, 1), grad, out=self.dw)
        self.db[...] = grad.sum(axis=1)
        bins_grad = (grad @ self.w.transpose(0, 2, 1)).transpose(1, 0, 2)
        down = np.zeros((self.batch, self.n_features), dtype=up_grad.dtype)
        down[:, self.embedded] = self.encoding.backward(bins_grad.reshape(self.batch, -1))
        down[:, self.passed] = up_grad[:, width:]
        return down

    def onnx_nodes(self, graph, inp: str) -> str:
        """Gather the embedded columns, encode, embed, ReLU; concatenate the others."""
        columns = graph.constant("embedded", self.embedded, np.int64)
        values = graph.node("Gather", [inp, columns], axis=1)
        linear = FeatureLinear(len(self.embedded), self.n_bins, self.emb_dim)
        linear.w, linear.b = self.w, self.b
        out = graph.node(
            "Relu", [linear.onnx_nodes(graph, self.encoding.onnx_nodes(graph, values))]
        )
        if not self.passed:
            return out
        passed = graph.constant("passed", self.passed, np.int64)
        return graph.node("Concat", [out, graph.node("Gather", [inp, passed], axis=1)], axis=1)

    def config(self) -> dict:
        return {
            "n_features": self.n_features,
            "embedded": self.embedded,
            "edges": self.encoding.edges,
            "out_dim": self.emb_dim,
            "dtype": str(self.w.dtype),
        }

    def __repr__(self) -> str:
        return (
            f"PiecewisePassthrough({len(self.embedded)} of {self.n_features} features embedded, "
            f"{self.n_bins} bins, {self.emb_dim} wide)"
        )
