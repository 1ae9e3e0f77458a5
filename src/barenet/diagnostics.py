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
(``barenet.plotting``) draws the record.

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
    return float(np.linalg.norm(array.ravel()))


def _histogram(values: np.ndarray) -> dict:
    """``BINS`` equal bins between the finite values' minimum and maximum (as
    ``np.histogram``, with one ``bincount`` instead of its general machinery)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"counts": [], "edges": []}
    low, high = float(values.min()), float(values.max())
    if high <= low:  # all equal: one bin of width 1 around the value, as NumPy does
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, BINS + 1)
    index = np.minimum(((values - low) * (BINS / (high - low))).astype(np.intp), BINS - 1)
    index -= values < edges[index]  # a value that rounding put one bin too high or low
    index += (values >= edges[index + 1]) & (index != BINS - 1)
    counts = np.bincount(index, minlength=BINS)
    return {"counts": counts.tolist(), "edges": edges.tolist()}


def _is_matrix(array: np.ndarray) -> bool:
    """A weight matrix, not a bias (a bias is stored as one row, shape (1, n))."""
    return array.ndim > 1 and int(np.prod(array.shape[:-1])) > 1


_CONTROLLER = []


def _one_blas_thread():
    """A context running NumPy's BLAS on one thread (a cached threadpoolctl controller:
    a few microseconds, where a fresh ``threadpool_limits`` scans the libraries)."""
    import contextlib

    try:
        if not _CONTROLLER:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        return _CONTROLLER[0].limit(limits=1, user_api="blas")
    except Exception:  # threadpoolctl missing or failing: leave the threads alone
        return contextlib.nullcontext()


def unit_health(layer_name: str, out: np.ndarray) -> tuple[str, float] | None:
    """``("dead", share)`` for Relu, ``("saturated", share)`` for Sigmoid and Tanh,
    else None.

    out : ndarray, shape (batch_size, units)
        The activation's output on a batch.
    """
    if layer_name == "Relu":
        return "dead", float(np.mean(np.all(out <= 0, axis=0)))
    if layer_name == "Sigmoid":
        return "saturated", float(np.mean((out < SATURATION) | (out > 1 - SATURATION)))
    if layer_name == "Tanh":
        return "saturated", float(np.mean(np.abs(out) > 1 - SATURATION))
    return None


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
        ``update_ratio`` nan at epoch 0), ``mean`` and ``std`` of its output,
        ``health`` (``"dead"``, ``"saturated"`` or None) with its per-record ``share``,
        and ``weight_hist`` (``{param: [histogram per record]}``, for weight matrices,
        not biases) and ``output_hist`` (histogram per record, for parameter-free
        layers; empty for the others), each histogram ``{"counts", "edges"}``.
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
        self._previous = None
        self.record(model, 0)

    def __call__(self, model, epoch: int, logs: dict) -> bool:
        if epoch % self.every == 0:
            self.record(model, epoch)
        return False  # never asks training to stop

    def record(self, model, epoch: int) -> None:
        """Run the fixed batch through ``model`` and append one record for ``epoch``."""
        weights = {
            (i, name): getattr(layer, name).copy()
            for i, layer in enumerate(model.layers)
            for name in getattr(layer, "param_names", ())
        }
        outputs, grad_norms = self._forward_backward(model)
        self.history["epoch"].append(int(epoch))
        for i, entry in enumerate(self.history["layers"]):
            out = outputs[i]
            entry["mean"].append(float(out.mean()))
            entry["std"].append(float(out.std()))
            if not entry["grad_norm"]:  # an activation (no parameters)
                entry["output_hist"].append(_histogram(out))
            health = unit_health(entry["name"], out)
            if health is not None:
                entry["health"] = health[0]
                entry["share"].append(health[1])
            for name in entry["grad_norm"]:
                now = weights[i, name]
                entry["grad_norm"][name].append(grad_norms[i, name])
                ratio = float("nan")
                if self._previous is not None:
                    before = self._previous[i, name]
                    ratio = _norm(now - before) / max(_norm(before), 1e-30)
                entry["update_ratio"][name].append(ratio)
                if name in entry["weight_hist"]:
                    entry["weight_hist"][name].append(_histogram(now))
        self._previous = weights

    def _forward_backward(self, model):
        with _one_blas_thread():  # a small batch: a second thread only waits for a core
            return self._forward_backward_here(model)

    def _forward_backward_here(self, model):
        """Each layer's output and each parameter's gradient norm on the fixed batch;
        the model's mode and gradient arrays are left as they were."""
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
                outputs.append(np.array(inp, copy=True))
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
