"""The compiled engine's ``predict``: a plan per model, and a fast path for small calls.

``MLP.predict(x, engine="compiled")`` (or ``"auto"`` picking it) runs the forward pass
in evaluation mode in ``barenet.engines.compiled.kernels.predict_rows``. What the kernel needs
besides the weights (the plan table, the workspace) is built once per model, as a
``PredictPlan``, and kept while the model keeps its layers and their weight arrays; the
weights themselves are read afresh on every call (the kernel reads them from their
arrays' addresses), so in-place edits are seen.

One row takes a few microseconds of arithmetic, so the checks around it matter.
``quick_predict`` answers the common call without the general ones: a float array of
the model's width, on a model whose last call went through the general path and that
has not changed since. "Not changed" covers everything ``resolve_engine``'s choice
for ``predict`` depends on (the engine asked for, ``BARENET_ENGINE``, the model's
layers, their classes and the model's, the methods ``predict`` runs on the class and on
the instance) and the plan's weight arrays. Whatever it does not recognise (another input
type, a changed model, a NaN in the input) goes to the general path, which raises the
same errors as always and makes the choice afresh.

The plan's buffers are shared by the calls on one model; the kernel holds the GIL
(it is not compiled ``nogil``), so threads predicting with one model take turns.
"""

from __future__ import annotations

import os
import weakref
from itertools import repeat
from operator import attrgetter, is_

import numpy as np

from barenet.engines.compiled.training import _call, _plan, _plan_layers
from barenet.engines.fused.step import PREDICT_METHODS, PREDICT_MODEL_METHODS
from barenet.engines.select import kernels
from barenet.errors import BarenetValueError

# rows per kernel pass: the activations of 128 rows stay in the core's caches, which
# measured faster than larger passes for the notebook's network; ``predict``'s
# batch_size only lowers it
CHUNK_ROWS = 128

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# an object's __dict__ (what vars gives, without vars' own lookup: 0.15 us a call less
# over a model's layers)
_instance_dict = attrgetter("__dict__")
(_FORWARD,) = PREDICT_METHODS  # the one method of each layer that predict runs

# BARENET_ENGINE as os.environ stores it, read from its dict without the key encoding
# each os.environ.get does (0.7 us of a 7 us call); os.environ.get where it has none,
# or where os.environ has been replaced by another object since
_ENVIRONMENT = os.environ
_ENVIRON = getattr(os.environ, "_data", None)
_ENGINE_KEY = getattr(os.environ, "encodekey", lambda key: key)("BARENET_ENGINE")


def _engine_setting():
    """``BARENET_ENGINE`` as stored (bytes on POSIX, from ``os.environ``'s own dict),
    or as ``os.environ.get`` gives it; None when unset."""
    if os.environ is _ENVIRONMENT and isinstance(_ENVIRON, dict):
        return _ENVIRON.get(_ENGINE_KEY)
    return os.environ.get("BARENET_ENGINE")


class PredictPlan:
    """What ``predict_rows`` needs for one model and input width: the plan table, the
    workspace (``CHUNK_ROWS`` rows), and where the kernel finds the weights (their own
    arrays, so that each call reads them as they are then).

    Reading the arrays in place relies on their memory staying where it is while the
    plan holds them: only ``ndarray.resize(..., refcheck=False)``, which NumPy documents
    as unsafe, could move it."""

    def __init__(self, model, in_dim: int) -> None:
        k = kernels()
        self.kernel = k.predict_rows
        self.ran = False  # the first call goes through _call (its notice, the BLAS threads)
        self.in_dim = in_dim
        self.dtype = model.dtype
        self.layers = _plan_layers(model, training=False)
        # the weight arrays, in the flat buffer's order, with their layers and names
        weights = [
            (layer, name, getattr(layer, name))
            for layer in self.layers
            for name in layer.param_names
        ]
        self.owners = tuple(layer for layer, _, _ in weights)
        self.names = tuple(name for _, name, _ in weights)
        self.arrays = tuple(array for _, _, array in weights)
        self._check_sizes(weights, in_dim)
        # The kernel reads the weights where they are, when each array is C-contiguous,
        # aligned, of the model's dtype: its parameter buffer is the span of memory from
        # the first array to the end of the last, and each array's offset is its distance
        # from the first (the kernel reads only inside the arrays; the plan holds them, so
        # they stay alive, and every call first checks that the layers still hold them).
        # Otherwise (a transposed array, say) they are copied into a flat buffer of their
        # own on each call.
        self.direct = all(
            a.flags.c_contiguous
            and a.flags.aligned
            and a.dtype == model.dtype
            and a.dtype.isnative
            for a in self.arrays
        )
        itemsize = model.dtype.itemsize
        offsets = {}
        if self.direct:
            starts = [a.ctypes.data for a in self.arrays]
            self.weights_at = min(starts)
            self.weights_size = 0
            for (layer, name, array), start in zip(weights, starts, strict=True):
                offset = (start - self.weights_at) // itemsize
                offsets[id(layer), name] = offset
                self.weights_size = max(self.weights_size, offset + array.size)
        else:
            at = 0
            for layer, name, array in weights:
                offsets[id(layer), name] = at
                at += array.size
            self.flat = np.empty(at, dtype=model.dtype)
            self.weights_at, self.weights_size = self.flat.ctypes.data, at
        rows = CHUNK_ROWS
        self.plan, self.slopes, end = _plan(k, self.layers, in_dim, offsets, rows, rows * in_dim)
        self.work = np.empty(end, dtype=model.dtype)
        # the kernel's arguments after (x, out, chunk), the same on every call
        self.rest = (self.plan, self.slopes, self.weights_at, self.weights_size, self.work, 0)
        self.out_width = int(self.plan[-1, k.OUT_WIDTH])
        # the layers with a slope (LeakyRelu), and the slopes the plan holds
        self.sloped = tuple(layer for layer in self.layers if hasattr(layer, "slope"))
        self.slope_values = tuple(layer.slope for layer in self.sloped)

    @staticmethod
    def _check_sizes(weights, in_dim: int) -> None:
        """Each Linear's ``w`` and ``b`` hold the in_dim x out_dim and out_dim values the
        kernel reads (a wrong size would read past the array)."""
        width = in_dim
        for layer, name, array in weights:
            wanted = width * layer.out_dim if name == "w" else layer.out_dim
            if array.size != wanted:
                raise BarenetValueError(
                    f"{type(layer).__name__}.{name} has shape {array.shape}, but the layer "
                    f"maps {width} features to {layer.out_dim}"
                )
            if name == "b":
                width = layer.out_dim

    def weights_current(self) -> bool:
        """The layers still hold the plan's weight arrays and slopes."""
        current = map(getattr, self.owners, self.names, repeat(None))
        return all(map(is_, current, self.arrays)) and self.slopes_current()

    def slopes_current(self) -> bool:
        return tuple(map(getattr, self.sloped, repeat("slope"), repeat(None))) == self.slope_values

    def still_fits(self, model, in_dim: int) -> bool:
        """The same input width, layers (after leaving out those that change nothing),
        weight arrays and slopes."""
        current = _plan_layers(model, training=False)
        return (
            in_dim == self.in_dim
            and model.dtype == self.dtype
            and len(current) == len(self.layers)
            and all(map(is_, current, self.layers))
            and self.weights_current()
        )

    def run(self, x: np.ndarray, batch_size: int) -> np.ndarray | None:
        """The network's outputs for ``x``, or None if ``x`` holds a NaN or an infinity.

        x : (n_samples, in_dim), C-contiguous, of the plan's dtype
            -> (n_samples, out_dim), a new array."""
        if not self.direct:
            np.concatenate([a.reshape(-1) for a in self.arrays], out=self.flat)
        out = np.empty((len(x), self.out_width), dtype=self.dtype)
        chunk = batch_size if batch_size < CHUNK_ROWS else CHUNK_ROWS
        if self.ran:
            status = self.kernel(x, out, chunk, *self.rest)
        else:
            status = _call(self.kernel, x, out, chunk, *self.rest)
            self.ran = True
        return None if status else out


class _Choice:
    """What ``resolve_engine(model, engine, predicting=True)`` looked at when it chose
    the compiled engine, and the plan's weight arrays: ``holds`` is true while none of it
    has changed.

    Each check is one C-level ``map`` over a tuple prepared here (a one-row prediction
    takes a few microseconds, so each check counts): the same layers; the same classes
    for them and the model; the same methods that ``predict`` runs on those classes
    (each layer's ``forward``, the model's ``PREDICT_MODEL_METHODS``: a learner's
    ``backward``, loss or optimiser changes training, not the predictions), none of
    them set on an instance; the plan's weight arrays and slopes. Holds the model
    weakly."""

    def __init__(self, model, engine: str, plan: PredictPlan) -> None:
        self.model = weakref.ref(model)
        self.engine = engine
        self.environment = _engine_setting()
        self.plan = plan
        self.layers = tuple(model.layers)  # held (the model is not)
        self.types = tuple(map(type, self.layers))
        self.model_type = type(model)
        # their instance dicts (checked to be still theirs), and the classes' forward
        self.dicts = tuple(map(vars, self.layers))
        pairs = [(type(model), name) for name in PREDICT_MODEL_METHODS]
        pairs += [(cls, _FORWARD) for cls in dict.fromkeys(self.types)]
        self.classes = tuple(cls for cls, _ in pairs)
        self.class_methods = tuple(name for _, name in pairs)
        self.functions = tuple(map(getattr, self.classes, self.class_methods))
        # the dicts holding the plan's weight arrays (Linear's w and b are plain
        # instance attributes, and the layer classes are compared above)
        self.weight_dicts = tuple(map(vars, plan.owners))

    def holds(self, model, engine) -> bool:
        layers = model.layers
        plan = self.plan
        return (
            self.model() is model
            and engine == self.engine
            and (engine != "auto" or _engine_setting() == self.environment)
            and type(model) is self.model_type
            and len(layers) == len(self.layers)
            and all(map(is_, layers, self.layers))
            and tuple(map(type, self.layers)) == self.types
            and tuple(map(getattr, self.classes, self.class_methods)) == self.functions
            and not any(map(_instance_dict(model).__contains__, PREDICT_MODEL_METHODS))
            and all(map(is_, map(_instance_dict, self.layers), self.dicts))
            and not any(map(dict.__contains__, self.dicts, repeat(_FORWARD)))
            and all(map(is_, map(dict.get, self.weight_dicts, plan.names), plan.arrays))
            and (not plan.sloped or plan.slopes_current())
            and kernels() is not None
        )


class _Entry:
    """One model's plan, and the engine choice its last general call made."""

    plan: PredictPlan | None = None
    choice: _Choice | None = None


# id(model) -> its _Entry; an entry leaves with its model (weakref.finalize)
_entries: dict[int, _Entry] = {}


def _entry(model) -> _Entry:
    entry = _entries.get(id(model))
    if entry is None:
        entry = _entries[id(model)] = _Entry()
        weakref.finalize(model, _entries.pop, id(model), None)
    return entry


def plan_of(model) -> PredictPlan | None:
    """The model's current plan, if a compiled ``predict`` has built one."""
    entry = _entries.get(id(model))
    return entry.plan if entry is not None else None


def predict(model, x: np.ndarray, batch_size: int, engine: str) -> np.ndarray:
    """The general path: the outputs for ``x`` (already checked) after
    ``resolve_engine(model, engine)`` chose the compiled engine.

    x : (n_samples, in_dim) -> (n_samples, out_dim). Keeps (or rebuilds) the model's
    plan, and remembers the choice for ``quick_predict``."""
    entry = _entry(model)
    if entry.plan is None or not entry.plan.still_fits(model, x.shape[1]):
        entry.plan = PredictPlan(model, x.shape[1])
        entry.choice = None
    if entry.choice is None or not entry.choice.holds(model, engine):
        entry.choice = _Choice(model, engine, entry.plan)
    out = entry.plan.run(x, batch_size)
    if out is None:  # check_features let no NaN through; still, never answer garbage
        raise BarenetValueError("x contains NaN or infinity")
    return out


def quick_predict(model, x, batch_size, engine) -> np.ndarray | None:
    """``model.predict(x, batch_size, engine=engine)`` for the common call, or None when
    the general path must answer it (and raise, if ``x`` is wrong).

    The common call: ``x`` a 2-D C-contiguous float32 or float64 NumPy array of the
    model's width (converted to the model's dtype, as ``check_features`` would), an int
    ``batch_size`` >= 1, and a model whose last general call chose the compiled engine
    for the same ``engine``, unchanged since. NaN or infinity in ``x`` is found by the
    kernel, which then computes nothing: the general path raises the usual error."""
    entry = _entries.get(id(model))
    if entry is None or entry.choice is None or type(x) is not np.ndarray:
        return None
    plan = entry.choice.plan
    if x.ndim != 2:
        return None
    n_rows, width = x.shape
    flags = x.flags
    if (
        width != plan.in_dim
        or width != model.in_dim
        or not n_rows
        or type(batch_size) is not int
        or batch_size < 1
        or not flags.c_contiguous
        or not flags.aligned
    ):
        return None
    if x.dtype is not plan.dtype:
        if x.dtype not in _FLOATS:  # integers, booleans, byte-swapped floats: general path
            return None
        x = x.astype(plan.dtype)
    if model.dtype is not plan.dtype or not entry.choice.holds(model, engine):
        return None
    if not (plan.direct and plan.ran):
        return plan.run(x, batch_size)
    # plan.run's direct case after its first call, inline (a call saved)
    out = np.empty((n_rows, plan.out_width), dtype=plan.dtype)
    chunk = batch_size if batch_size < CHUNK_ROWS else CHUNK_ROWS
    return None if plan.kernel(x, out, chunk, *plan.rest) else out
