"""Training diagnostics for learners: what happens inside each layer, epoch by epoch.

``Diagnostics`` is a training callback. Before training and after every epoch it runs
one fixed batch through the model's own ``forward``, ``loss`` and ``backward`` (in
evaluation mode, so no dropout mask is drawn and training's random numbers are left
alone), and records for each layer:

- the gradient norm of each parameter on that batch, and the update-to-weight ratio
  ``||p_now - p_before|| / ||p_before||`` since the previous record;
- the mean and spread (standard deviation) of the layer's output;
- for Relu, the share of *dead* units (zero for every row of the batch); for Sigmoid
  and Tanh, the share of *saturated* outputs (within 0.01 of the asymptotes, where the
  derivative is below about 0.01 and the gradient vanishes);
- histograms of each weight matrix (biases, stored as one row, are left out) and of
  each parameter-free layer's output (the activations).

Because it calls the model's own methods, a learner's own layer is watched too. The
gradients it computes are thrown away: each parameter's gradient array is put back
afterwards, so watching does not change what training does. ``plot_diagnostics``
(``barenet.diagnostics.plotting``) draws the record.

What a record costs: the fixed batch's forward and backward through the layers' own
methods, then a few passes over each output and weight matrix. Each output is
summarised right after its ``forward`` (no copy is kept); its mean and spread are summed
in float64 and its histogram counted by a small compiled loop
(``barenet.diagnostics._kernels``, numba: compiled on the first record on a machine,
about a second, then loaded from numba's disk cache; NumPy passes giving the same
numbers where numba cannot be imported), with ``np.histogram``'s counts and edges bit
for bit. On the notebook's network (256 rows) that is about 0.6 ms, under
10 % of a compiled-engine epoch on California Housing
(``benchmarks/diagnostics_cost.py``).

Examples
--------
>>> watch = Diagnostics(model, x_train, y_train)           # doctest: +SKIP
>>> model.train(x_train, y_train, epochs=30, callbacks=[watch])  # doctest: +SKIP
>>> barenet.plot_diagnostics(watch.history, "inside.png")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from barenet.errors import BarenetValueError

SATURATION = 0.01  # an output this close to an asymptote counts as saturated
BINS = 30  # histogram bins


def _norm(array: np.ndarray) -> float:
    """The Euclidean norm, as ``np.linalg.norm(array.ravel())`` computes it (the square
    root of the flat array's dot product with itself), without its checks."""
    flat = array.ravel()
    if flat.dtype.kind != "f":
        flat = flat.astype(np.float64)
    return float(np.sqrt(flat.dot(flat)))


_RAMP = np.arange(BINS + 1, dtype=np.float64)


def _edges(low: float, high: float) -> np.ndarray:
    """``np.linspace(low, high, BINS + 1)``, bit for bit (its own steps), without its
    general machinery."""
    step = (high - low) / BINS
    if step == 0:  # a denormal range: NumPy's own special case
        return np.linspace(low, high, BINS + 1)
    edges = _RAMP * step
    edges += low
    edges[-1] = high
    return edges


_KERNELS = []


def _kernels():
    """The compiled loop (``barenet.diagnostics._kernels``), imported on first use so
    that ``import barenet`` does not load numba; ``_NumpyPasses`` if numba fails."""
    if not _KERNELS:
        import importlib

        try:
            _KERNELS.append(importlib.import_module("barenet.diagnostics._kernels"))
        except Exception:  # numba missing, or broken for this NumPy
            _KERNELS.append(_NumpyPasses)
    return _KERNELS[0]


class _NumpyPasses:
    """The compiled loop's two functions in NumPy (the same numbers; a few times
    slower), for a machine where numba cannot be imported."""

    @staticmethod
    def moments(flat: np.ndarray) -> tuple[float, float]:
        """(mean, sum of squared deviations from it), in float64; see the kernel's."""
        with np.errstate(over="ignore", invalid="ignore"):
            mean = float(flat.sum(dtype=np.float64)) / flat.size
            if not np.isfinite(mean):
                return mean, float("nan")
            deviation = flat.astype(np.float64) - mean
            return mean, float(deviation.dot(deviation))

    @staticmethod
    def spread_and_histogram(flat, edges, counts) -> tuple[float, float]:
        """``moments``, and ``counts`` filled as ``np.histogram`` does: each value's
        bin estimated from its scaled offset, then moved by one where rounding put it
        outside its edges."""
        values = flat.astype(np.float64)
        bins = len(counts)
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (values - edges[0]) / (edges[-1] - edges[0]) * bins
            index = np.where(scaled < bins, scaled, bins - 1).astype(np.intp)
        index -= values < edges[index]
        index += (values >= edges[index + 1]) & (index != bins - 1)
        counts[:] = np.bincount(index, minlength=bins)
        return _NumpyPasses.moments(flat)


def _summary(values, histogram: bool = True) -> tuple[float, float, dict | None]:
    """The values' mean, spread (standard deviation) and histogram.

    values : array of any shape
        Cast to float64 where it is neither float32 nor float64.
    histogram : bool
        False: skip the histogram (None).

    Returns
    -------
    mean, std : float
        Over every value, summed in float64 (as ``np.mean`` and ``np.std``, up to
        rounding; a float32 array's are summed in float64 rather than float32): nan
        for no values, non-finite if a value is.
    histogram : dict or None
        ``{"counts", "edges"}``: ``BINS`` equal bins between the finite values' minimum
        and maximum, the counts and edges ``np.histogram`` gives on the finite values
        (bit for bit); empty lists if no value is finite.
    """
    flat = np.asarray(values)
    if flat.dtype != np.float32 and flat.dtype != np.float64:
        flat = flat.astype(np.float64)
    flat = np.ascontiguousarray(flat).ravel()
    if flat.size == 0:
        return float("nan"), float("nan"), {"counts": [], "edges": []} if histogram else None
    kernels = _kernels()
    if not histogram:
        mean, squares = kernels.moments(flat)
        return mean, float(np.sqrt(squares / flat.size)), None
    low, high = float(flat.min()), float(flat.max())  # nan if a value is
    if not (np.isfinite(low) and np.isfinite(high)):  # a diverged network: rare
        return _summary_of_non_finite(flat)
    if high <= low:  # all equal: one bin of width 1 around the value, as NumPy does
        low, high = low - 0.5, high + 0.5
        if high - low < 4 * BINS * np.finfo(np.float64).eps * abs(high):
            # past about 1e14 that width is lost in rounding (NumPy fails): a width
            # of two millionths of the value instead
            low, high = low - abs(low) * 1e-6, high + abs(high) * 1e-6
    edges = _edges(low, high)
    counts = np.empty(BINS, dtype=np.int64)
    mean, squares = kernels.spread_and_histogram(flat, edges, counts)
    std = float(np.sqrt(squares / flat.size))
    return mean, std, {"counts": counts.tolist(), "edges": edges.tolist()}


def _summary_of_non_finite(flat: np.ndarray) -> tuple[float, float, dict]:
    """``_summary`` of a flat array holding a nan or an infinity: the mean (nan or
    infinite), a nan spread, and the finite values' histogram."""
    mean, _ = _kernels().moments(flat)
    finite = flat[np.isfinite(flat)]
    if finite.size == 0:
        return mean, float("nan"), {"counts": [], "edges": []}
    return mean, float("nan"), _summary(finite)[2]


def _histogram(values) -> dict:
    """``BINS`` equal bins between the finite values' minimum and maximum: the counts
    and edges of ``np.histogram`` on the finite values (see ``_summary``)."""
    return _summary(values)[2]


def _is_matrix(array: np.ndarray) -> bool:
    """A weight matrix, not a bias (a bias is stored as one row, shape (1, n))."""
    return array.ndim > 1 and int(np.prod(array.shape[:-1])) > 1


_BLAS = []


class _OneBlasThread:
    """A context running NumPy's BLAS on one thread, putting the counts back after
    (threadpoolctl's library handles, found once: a microsecond or two, where
    ``threadpool_limits`` asks every library of the process each time)."""

    def __init__(self) -> None:
        if not _BLAS:
            try:
                from threadpoolctl import ThreadpoolController

                controller = ThreadpoolController().select(user_api="blas")
                _BLAS.append(list(controller.lib_controllers))
            except Exception:  # threadpoolctl missing or failing: leave the threads alone
                _BLAS.append([])
        self.before = []

    def __enter__(self):
        try:
            self.before = [(lib, lib.num_threads) for lib in _BLAS[0]]
            for lib, threads in self.before:
                if threads != 1:
                    lib.set_num_threads(1)
        except Exception:
            self.before = []
        return self

    def __exit__(self, *exc) -> bool:
        try:
            for lib, threads in self.before:
                if threads != 1:
                    lib.set_num_threads(threads)
        except Exception:
            pass
        return False


def unit_health(layer_name: str, out: np.ndarray) -> tuple[str, float] | None:
    """``("dead", share)`` for Relu, ``("saturated", share)`` for Sigmoid and Tanh,
    else None.

    out : ndarray, shape (batch_size, units)
        The activation's output on a batch.
    """
    if layer_name == "Relu":
        return "dead", _share(np.all(out <= 0, axis=0))
    if layer_name == "Sigmoid":
        return "saturated", _share((out < SATURATION) | (out > 1 - SATURATION))
    if layer_name == "Tanh":
        return "saturated", _share(np.abs(out) > 1 - SATURATION)
    return None


def _share(flags: np.ndarray) -> float:
    """The share of True in ``flags``: ``np.mean``'s value (count / size), directly."""
    return np.count_nonzero(flags) / flags.size if flags.size else float("nan")


class Diagnostics:
    """A callback recording per-layer gradients, updates, activations and histograms.

    Parameters
    ----------
    model : barenet.MLP
        The model to watch; its state before training is recorded at once (epoch 0).
    x : array, shape (n, in_dim)
        Rows to draw the fixed batch from (the training rows, typically).
    y : array, shape (n, out_dim) or (n,)
        Their targets, as the model's loss takes them.
    rows : int
        The fixed batch's size: ``rows`` rows drawn once with ``seed``.
    every : int
        Record every ``every`` epochs (and always at epoch 0).

    Attributes
    ----------
    history : dict
        ``{"epoch": [0, 1, ...], "layers": [...]}``; each layer's entry has ``index``,
        ``name``, ``grad_norm`` and ``update_ratio`` (``{param: [per record]}``,
        ``update_ratio`` nan at epoch 0 and after a parameter changes shape), ``mean``
        and ``std`` of its output (summed in float64), ``health`` (``"dead"``,
        ``"saturated"`` or None) with its per-record ``share``, and ``weight_hist``
        (``{param: [histogram per record]}``, for weight matrices, not biases) and
        ``output_hist`` (histogram per record, for parameter-free layers; empty for the
        others), each histogram ``{"counts", "edges"}``.
    """

    def __init__(self, model, x, y, *, rows: int = 256, every: int = 1, seed: int = 0) -> None:
        if not isinstance(rows, (int, np.integer)) or rows < 1:
            raise BarenetValueError(f"Diagnostics: rows must be a positive integer, got {rows}")
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise BarenetValueError(f"Diagnostics: every must be a positive integer, got {every}")
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y) or len(x) == 0:
            raise BarenetValueError(
                f"Diagnostics: x and y need the same, non-zero number of rows "
                f"(got {len(x)} and {len(y)})"
            )
        pick = np.random.default_rng(seed).permutation(len(x))[:rows]
        self.x = np.ascontiguousarray(x[pick], dtype=model.dtype)
        self.y = y[pick].astype(model.dtype) if y.dtype.kind == "f" else y[pick]
        self.every = int(every)
        self.history = {"epoch": [], "layers": []}
        for i, layer in enumerate(model.layers):
            self.history["layers"].append(
                {
                    "index": i,
                    "name": type(layer).__name__,
                    "grad_norm": {p: [] for p in getattr(layer, "param_names", ())},
                    "update_ratio": {p: [] for p in getattr(layer, "param_names", ())},
                    "mean": [],
                    "std": [],
                    "health": None,
                    "share": [],
                    "weight_hist": {
                        p: []
                        for p in getattr(layer, "param_names", ())
                        if _is_matrix(getattr(layer, p))
                    },
                    "output_hist": [],
                }
            )
        self._previous = {}  # (layer, parameter): (copy at the last record, its norm)
        self.record(model, 0)

    def __call__(self, model, epoch: int, logs: dict) -> bool:
        if epoch % self.every == 0:
            self.record(model, epoch)
        return False  # never asks training to stop

    def record(self, model, epoch: int) -> None:
        """Run the fixed batch through ``model`` and append one record for ``epoch``."""
        with _OneBlasThread():  # a small batch: a second thread only waits for a core
            outputs, grad_norms = self._forward_backward(model)
        self.history["epoch"].append(int(epoch))
        previous = self._previous
        for i, entry in enumerate(self.history["layers"]):
            mean, std, histogram, health = outputs[i]
            entry["mean"].append(mean)
            entry["std"].append(std)
            if not entry["grad_norm"]:  # an activation (no parameters)
                entry["output_hist"].append(histogram)
            if health is not None:
                entry["health"] = health[0]
                entry["share"].append(health[1])
            layer = model.layers[i]
            for name in entry["grad_norm"]:
                now = getattr(layer, name)
                now_norm = _norm(now)
                entry["grad_norm"][name].append(grad_norms[i, name])
                kept = previous.get((i, name))  # (copy at the last record, its norm)
                ratio = float("nan")  # at the first record, or if the shape changed
                if kept is not None and kept[0].shape == now.shape:
                    ratio = _norm(now - kept[0]) / max(kept[1], 1e-30)
                entry["update_ratio"][name].append(ratio)
                if name in entry["weight_hist"]:
                    entry["weight_hist"][name].append(_histogram(now))
                # keep a copy for the next ratio (the buffer reused when it fits)
                if kept is not None and kept[0].shape == now.shape and kept[0].dtype == now.dtype:
                    np.copyto(kept[0], now)
                    previous[i, name] = (kept[0], now_norm)
                else:
                    previous[i, name] = (now.copy(), now_norm)

    def _forward_backward(self, model):
        """Per layer, the summary of its output on the fixed batch (mean, spread,
        histogram, unit health), taken right after its ``forward``; per parameter, its
        gradient's norm. The model's mode and gradient arrays are left as they were."""
        was_training = model.training
        kept = {
            (i, name): getattr(layer, "d" + name)
            for i, layer in enumerate(model.layers)
            for name in getattr(layer, "param_names", ())
        }
        model.train(False)
        try:
            outputs, inp = [], self.x
            for layer in model.layers:
                inp = layer.forward(inp)
                mean, std, histogram = _summary(inp, not getattr(layer, "param_names", ()))
                outputs.append((mean, std, histogram, unit_health(type(layer).__name__, inp)))
            model.loss(inp, self.y)
            model.backward()
            grad_norms = {
                (i, name): _norm(getattr(model.layers[i], "d" + name)) for i, name in kept
            }
        finally:
            for (i, name), array in kept.items():
                setattr(model.layers[i], "d" + name, array)
            model.train(was_training)
        return outputs, grad_norms
