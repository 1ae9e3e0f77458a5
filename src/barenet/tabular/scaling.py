"""Input scaling fitted on training rows, as the first layer of a network.

Both are layers without parameters, built by ``fit(x_train)``; their fitted numbers
are their configuration, so model files store them and ``barenet.load`` restores
them like any other layer. ``SCALINGS`` names them for the recipes.

- ``QuantileScaling``: each feature through its training quantiles onto the
  standard normal's (as scikit-learn's ``QuantileTransformer(output_distribution=
  "normal")``, linear between quantiles): any distribution becomes bell-shaped.
- ``RobustScaling``: RealMLP's robust scaling with smooth clipping (Holzmüller et al.,
  2024): centre on the median, divide by the inter-quartile range, then
  ``u / sqrt(1 + (u / 3)^2)``, which leaves small values alone and squashes outliers
  to within +-3.
"""

from __future__ import annotations

import numpy as np

from barenet._checks import check_dtype, check_positive_int
from barenet.errors import BarenetValueError
from barenet.layers import Layer
from barenet.registry import LAYERS

FLOAT32_EPS = float(np.finfo(np.float32).eps)
_NORMAL_TAIL = 1e-7  # quantile levels are clipped to [tail, 1 - tail], as scikit-learn does


def even_quantiles(column, count: int) -> np.ndarray:
    """``np.quantile(column, np.linspace(0, 1, count))`` (linear), except that a level
    whose position among the sorted values is a whole number up to rounding gives that
    value exactly.

    NumPy would interpolate there with a weight of 1e-16 and give a point a few ulp
    from a data value, beside it: a map through such points jumps at that value, so
    a float32 rounding of the input (in ``predict``, in ONNX) changes the output.
    column: (n_samples,) -> (count,), increasing.
    """
    ordered = np.sort(np.asarray(column, dtype=np.float64))
    positions = np.linspace(0.0, len(ordered) - 1, count)
    whole = np.round(positions)
    positions = np.where(np.abs(positions - whole) < 1e-9, whole, positions)
    low = np.floor(positions).astype(np.intp)
    high = np.minimum(low + 1, len(ordered) - 1)
    return ordered[low] + (positions - low) * (ordered[high] - ordered[low])


def merge_close(points, values, weights) -> tuple[np.ndarray, np.ndarray]:
    """Increasing ``points`` (n,) with their ``values`` (n,) and ``weights`` (n,), with
    each run of points that float32 cannot tell apart merged into its first point, at
    the weighted mean of their values: ``(points, values)``, (m,).

    Two points are told apart if their gap exceeds float32's relative precision
    (``FLOAT32_EPS``) times the larger of their magnitudes and the points' whole span.
    Two quantiles 1e-15 apart with different levels (a date's sine computed two ways, or
    0 and 1.2e-16) make a jump that a rounding of the input lands on either side of;
    merged, a float32 step moves the output by a slope times that step, not by a jump.
    """
    points = np.asarray(points, dtype=np.float64)
    span = points[-1] - points[0] if len(points) else 0.0
    larger = np.maximum(np.abs(points[:-1]), np.abs(points[1:]))
    apart = np.diff(points) > FLOAT32_EPS * np.maximum(larger, span)
    group = np.concatenate([[0], np.cumsum(apart)])
    weights = np.asarray(weights, dtype=np.float64)
    merged = np.bincount(group, weights * values) / np.bincount(group, weights)
    return points[np.concatenate([[True], apart])], merged


def _training_rows(x, where: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2 or not np.isfinite(x).all():
        raise BarenetValueError(
            f"{where}.fit needs a finite 2-D array of >= 2 rows, got {x.shape}"
        )
    return x


def _check_input(layer, inp: np.ndarray, width: int) -> None:
    if inp.ndim != 2 or inp.shape[1] != width:
        raise BarenetValueError(
            f"{layer!r} expects input of shape (batch_size, {width}), got {inp.shape}"
        )


@LAYERS.register("quantile_scaling")
class QuantileScaling(Layer):
    """Map feature ``j`` piecewise-linearly from its training quantiles ``points[j]``
    to the standard normal quantiles ``values[j]``; beyond them, to the end values.

    Attributes
    ----------
    points, values : lists of n_features ndarrays, each of shape (n_points_j,)
        Increasing training quantiles of feature ``j``, and the normal quantiles they
        map to (repeated quantiles are merged into one point).

    Shapes: (batch_size, n_features) -> (batch_size, n_features).
    """

    def __init__(self, points, values, *, dtype=np.float32) -> None:
        super().__init__()
        if len(points) != len(values) or len(points) == 0:
            raise BarenetValueError("QuantileScaling needs as many value lists as point lists")
        self.dtype = check_dtype(dtype)
        self.points = [np.asarray(p, dtype=np.float64) for p in points]
        self.values = [np.asarray(v, dtype=np.float64) for v in values]
        for j, (p, v) in enumerate(zip(self.points, self.values, strict=True)):
            if len(p) != len(v) or len(p) < 2 or not np.all(np.diff(p) > 0):
                raise BarenetValueError(
                    f"QuantileScaling feature {j}: needs >= 2 increasing points, one value each"
                )
        self.in_dim = self.out_dim = len(self.points)

    @classmethod
    def fit(cls, x, n_quantiles: int = 1000, *, dtype=np.float32) -> QuantileScaling:
        """Fit on the training rows ``x``, (n_samples, n_features)."""
        from statistics import NormalDist

        x = _training_rows(x, "QuantileScaling")
        n_quantiles = min(check_positive_int(n_quantiles, "n_quantiles", minimum=2), len(x))
        levels = np.linspace(_NORMAL_TAIL, 1 - _NORMAL_TAIL, n_quantiles)
        normal = np.array([NormalDist().inv_cdf(level) for level in levels])
        points, values = [], []
        for column in x.T:
            quantiles = even_quantiles(column, n_quantiles)
            unique, where = np.unique(quantiles, return_inverse=True)
            # a value repeated across quantiles maps to the mean of their levels, and so
            # do points closer than float32 can tell apart
            means = np.bincount(where, normal) / np.bincount(where)
            unique, means = merge_close(unique, means, np.bincount(where))
            if len(unique) < 2:  # a constant feature maps to 0
                unique, means = np.array([unique[0], unique[0] + 1.0]), np.zeros(2)
            points.append(unique.tolist())
            values.append(means.tolist())
        return cls(points, values, dtype=dtype)

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.in_dim)
        self.inp = inp
        columns = [np.interp(inp[:, j], p, v) for j, (p, v) in enumerate(self._pairs())]
        return np.stack(columns, axis=1).astype(inp.dtype, copy=False)

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        """The slope of the segment each input falls in (0 beyond the ends)."""
        slopes = np.empty(self.inp.shape, dtype=np.float64)
        for j, (p, v) in enumerate(self._pairs()):
            segment = np.searchsorted(p, self.inp[:, j], side="right") - 1
            inside = (segment >= 0) & (segment < len(p) - 1)
            segment = np.clip(segment, 0, len(p) - 2)
            slope = (v[segment + 1] - v[segment]) / (p[segment + 1] - p[segment])
            slopes[:, j] = np.where(inside, slope, 0.0)
        return (up_grad * slopes).astype(up_grad.dtype, copy=False)

    def onnx_nodes(self, graph, inp: str) -> str:
        """``np.interp`` per feature, in float64 as ``forward``: each input clipped to its
        feature's points, its segment found by counting the points at or below it, then
        the segment's start value plus its slope times the distance into it."""
        points, starts, slopes = self._padded_tables()
        last = [p[-1] for p in self.points]
        x = graph.cast(inp, np.float64)
        x = graph.node("Max", [x, graph.constant("first", points[:, 0], np.float64)])
        x = graph.node("Min", [x, graph.constant("last", last, np.float64)])
        column = graph.node("Unsqueeze", [x, graph.constant("axis", [2], np.int64)])
        below = graph.node("LessOrEqual", [graph.constant("points", points, np.float64), column])
        axis = graph.constant("axis", [2], np.int64)
        count = graph.node("ReduceSum", [graph.cast(below, np.int64), axis], keepdims=0)
        # the segment (count - 1, the last one at the last point), as an index into the
        # flattened tables: feature j's segment s is j * width + s
        n_segments = [len(p) - 1 for p in self.points]
        count = graph.node("Min", [count, graph.constant("n_segments", n_segments, np.int64)])
        offsets = np.arange(self.in_dim) * points.shape[1] - 1
        segment = graph.node("Add", [count, graph.constant("offsets", offsets, np.int64)])

        def at_segment(name: str, table: np.ndarray) -> str:
            flat = np.where(np.isfinite(table), table, 0.0).ravel()
            return graph.node("Gather", [graph.constant(name, flat, np.float64), segment])

        distance = graph.node("Sub", [x, at_segment("starts_x", points)])
        rise = graph.node("Mul", [at_segment("slopes", slopes), distance])
        value = graph.node("Add", [rise, at_segment("starts_y", starts)])
        return graph.cast(value, np.float32)

    def _padded_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each feature's points, values and segment slopes as rows of (n_features,
        most points) arrays, padded with inf (points) and 0."""
        shape = (self.in_dim, max(len(p) for p in self.points))
        points = np.full(shape, np.inf)  # padding is never "at or below" an input
        starts, slopes = np.zeros(shape), np.zeros(shape)
        for j, (p, v) in enumerate(self._pairs()):
            points[j, : len(p)], starts[j, : len(v)] = p, v
            slopes[j, : len(p) - 1] = np.diff(v) / np.diff(p)
        return points, starts, slopes

    def _pairs(self):
        return zip(self.points, self.values, strict=True)

    def config(self) -> dict:
        return {
            "points": [p.tolist() for p in self.points],
            "values": [v.tolist() for v in self.values],
            "dtype": str(self.dtype),
        }

    def __repr__(self) -> str:
        return f"QuantileScaling({self.in_dim} features)"


@LAYERS.register("robust_scaling")
class RobustScaling(Layer):
    """``u = (x - center) * factor``, then the smooth clip ``u / sqrt(1 + (u / 3)^2)``.

    ``fit`` takes the median as ``center`` and ``1 / (q75 - q25)`` as ``factor``
    (``2 / (max - min)`` when the quartiles coincide, 0 for a constant feature).

    Attributes
    ----------
    center, factor : ndarray, shape (1, n_features)

    Shapes: (batch_size, n_features) -> (batch_size, n_features).
    """

    def __init__(self, center, factor, *, dtype=np.float32) -> None:
        super().__init__()
        dtype = check_dtype(dtype)
        self.center = np.asarray(center, dtype=dtype).reshape(1, -1)
        self.factor = np.asarray(factor, dtype=dtype).reshape(1, -1)
        if self.center.shape != self.factor.shape:
            raise BarenetValueError("RobustScaling needs one center and one factor per feature")
        self.in_dim = self.out_dim = self.center.shape[1]

    @classmethod
    def fit(cls, x, *, dtype=np.float32) -> RobustScaling:
        """Fit on the training rows ``x``, (n_samples, n_features)."""
        x = _training_rows(x, "RobustScaling")
        q25, median, q75 = np.quantile(x, [0.25, 0.5, 0.75], axis=0)
        spread = np.ptp(x, axis=0)
        with np.errstate(divide="ignore"):
            factor = np.where(
                q75 > q25, 1.0 / (q75 - q25), np.where(spread > 0, 2.0 / spread, 0.0)
            )
        return cls(median.tolist(), factor.tolist(), dtype=dtype)

    def forward(self, inp: np.ndarray) -> np.ndarray:
        _check_input(self, inp, self.in_dim)
        self.inp = inp
        self.u = (inp - self.center) * self.factor
        self.root = np.hypot(1, self.u / 3)  # sqrt(1 + (u / 3)^2), without overflow
        return self.u / self.root

    def backward(self, up_grad: np.ndarray) -> np.ndarray:
        """d/du [u / sqrt(1 + u^2/9)] = (1 + u^2/9)^(-3/2)."""
        return up_grad * self.factor * (1 / self.root) ** 3

    def onnx_nodes(self, graph, inp: str) -> str:
        """u as ``forward`` computes it; the smooth clip in float64, where (u / 3)^2
        cannot overflow."""
        u = graph.node("Sub", [inp, graph.constant("center", self.center)])
        u = graph.cast(graph.node("Mul", [u, graph.constant("factor", self.factor)]), np.float64)
        third = graph.node("Div", [u, graph.constant("three", 3.0, np.float64)])
        square = graph.node("Mul", [third, third])
        root = graph.node(
            "Sqrt", [graph.node("Add", [square, graph.constant("one", 1.0, np.float64)])]
        )
        return graph.cast(graph.node("Div", [u, root]), np.float32)

    def config(self) -> dict:
        return {
            "center": self.center.ravel().tolist(),
            "factor": self.factor.ravel().tolist(),
            "dtype": str(self.center.dtype),
        }

    def __repr__(self) -> str:
        return f"RobustScaling({self.in_dim} features)"


SCALINGS = {"quantile": QuantileScaling, "robust": RobustScaling}
