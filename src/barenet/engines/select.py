"""Which engine trains and predicts: the model's ``methods``, the ``fused`` step, or
``compiled`` kernels (the names: ``barenet.engines.names``).

``MLP.train`` and ``MLP.predict`` take ``engine="auto" | "methods" | "fused" | "compiled"``:

- ``methods`` runs the model's own ``forward``/``loss``/``backward``/``update``;
- ``fused`` runs ``FusedStep`` in their place, when they are all unchanged built-ins
  (NumPy, with small numba loops in ``barenet.engines.fused.loops`` where numba imports);
- ``compiled`` runs whole chunks of batches in numba kernels
  (``barenet.engines.compiled.kernels``), computing the same formulas;
- ``auto`` picks ``compiled`` when numba imports and every layer, the loss, the
  optimiser and the model are built-ins the compiled engine covers, with no method
  replaced (and no hidden layer of ``WIDE_LAYER`` units or more); otherwise ``fused``
  when every part is an unchanged built-in; otherwise ``methods``, so that a learner's
  change always takes effect. For ``predict`` it looks only at what prediction runs
  (``predicting=True``): the layers' ``forward`` and the model's
  ``PREDICT_MODEL_METHODS``, not the loss, the optimiser or any ``backward``; ``fused``
  and ``methods`` both predict with the layers' ``forward``.

The environment variable ``BARENET_ENGINE`` (``methods``, ``fused`` or ``compiled``)
changes what ``auto`` means, e.g. to run the whole test suite on one engine; there an
engine that cannot run a model falls back as ``auto`` does (``compiled`` to ``fused`` to
``methods``), where an ``engine=`` asked for by name raises instead.
"""

from __future__ import annotations

import sys

import numpy as np

import barenet.layers as layers
import barenet.losses as losses
import barenet.optimizers as optimizers
from barenet.engines.fused.step import why_not_fused
from barenet.engines.names import ALIASES, ENGINES, check_engine, default_engine
from barenet.errors import BarenetValueError

__all__ = ["ENGINES", "check_engine", "default_engine", "resolve_engine"]

# the built-in classes the compiled engine runs, and their codes in
# barenet.engines.compiled.formulas (Identity needs no code: it is left out of the
# kernels' plan). The activations are added from formulas.ACTIVATION_CODES, by their
# registered names, when the compiled engine is first considered (``layer_codes``), so a
# new activation is its class (activations.py) and its loops (formulas.py), no more.
STRUCTURAL_CODES = {layers.Linear: "LINEAR", layers.Dropout: "DROPOUT", layers.Identity: None}
LAYER_CODES: dict = {}


def layer_codes() -> dict:
    """``{layer class: code name}`` of every layer the compiled kernels run (filled on
    the first call, importing numba through ``formulas``; empty without numba)."""
    if not LAYER_CODES:
        try:
            from barenet.engines.compiled import formulas
        except Exception:  # numba missing or broken: numba_problem() says why
            return {}
        from barenet.registry import ACTIVATIONS

        LAYER_CODES.update(STRUCTURAL_CODES)
        for name in formulas.ACTIVATION_CODES:
            LAYER_CODES[ACTIVATIONS.lookup(name)] = name.upper()
    return LAYER_CODES


LOSS_CODES = {
    losses.MSE: "MSE",
    losses.MAE: "MAE",
    losses.Huber: "HUBER",
    losses.BCEWithLogits: "BCE_WITH_LOGITS",
    losses.CrossEntropy: "CROSS_ENTROPY",
}
OPTIMIZER_CODES = {
    optimizers.SGD: "SGD",
    optimizers.Adam: "ADAM",
    optimizers.AdamW: "ADAM",
    optimizers.RMSprop: "RMSPROP",
}

# every other built-in (by registry name), with the reason the compiled engine leaves it
# to the fused step and the methods; tests/engines/test_engine.py checks that each
# registered built-in is either compiled (and tested equal to its own methods) or listed here
_TABULAR = (
    "the tabular layers run on the fused engine, where FusedStep runs an ensemble's "
    "entry as one matrix product; their products are at BLAS speed there"
)
NOT_COMPILED = {
    "batchnorm": "batch statistics and running averages are not in the compiled kernels",
    "silu": "no compiled kernel for SiLU yet",
    "mish": "no compiled kernel for Mish yet",
    "softmax": "Softmax as a layer (not inside cross_entropy) has no compiled kernel",
    "ensemble": _TABULAR,
    "member_scale": _TABULAR,
    "ensemble_linear": _TABULAR,
    "ensemble_mean": _TABULAR + " (its training output is 3-D; the kernels' loss is 2-D)",
    "piecewise_linear": _TABULAR,
    "piecewise_passthrough": _TABULAR,
    "periodic": _TABULAR,
    "feature_linear": _TABULAR,
    "quantile_scaling": "an input transform without parameters: the fused engine runs it",
    "robust_scaling": "an input transform without parameters: the fused engine runs it",
    "retrieval": "attention over the held training rows has no compiled kernel",
}


def coverage() -> dict[str, dict[str, object]]:
    """For each registry (``"layer"``, ``"loss"``, ``"optimiser"``), each built-in's
    registered name mapped to its compiled code, or to the reason it is not compiled
    (a ``str`` beginning "not compiled: "). Read from the registries when called."""
    from barenet.engines.fused.step import builtin_methods
    from barenet.registry import LAYERS, LOSSES, OPTIMIZERS

    table = {}
    for registry, codes in (
        (LAYERS, layer_codes()),
        (LOSSES, LOSS_CODES),
        (OPTIMIZERS, OPTIMIZER_CODES),
    ):
        entries = {}
        for name in registry.choices():
            cls = registry.lookup(name)
            if builtin_methods(cls) is None:
                continue  # a user's registered class: never compiled
            if cls in codes:
                entries[name] = codes[cls]
            else:
                entries[name] = "not compiled: " + NOT_COMPILED.get(name, "no compiled kernel")
        table[registry.kind] = entries
    return table


def _uncovered(registry_name: str | None) -> str:
    reason = NOT_COMPILED.get(registry_name or "")
    return f" ({reason})" if reason else ""


_kernels = None  # the module barenet.engines.compiled.kernels once imported
_import_error: str | None = None


def kernels():
    """``barenet.engines.compiled.kernels`` (importing numba on first use), or None if it fails."""
    global _kernels, _import_error
    if _kernels is None and _import_error is None:
        try:
            from barenet.engines.compiled import kernels as compiled
        except Exception as error:  # numba missing, or broken for this NumPy
            _import_error = f"{type(error).__name__}: {error}"
        else:
            _kernels = compiled
    return _kernels


def numba_problem() -> str | None:
    """None if numba imports, else why not."""
    kernels()
    return _import_error


def why_not_compiled(model, *, predicting: bool = False) -> str | None:
    """None if the compiled engine computes what this model's methods compute; else the
    reason, naming the layer, loss or optimiser. ``predicting``: what ``predict`` runs
    (the model's and the layers' forward), not the loss or the optimiser."""
    reason = why_not_fused(model, predicting=predicting)
    if reason is not None:
        return reason
    if not model.parameters():
        return "the model has no parameters to train"
    from barenet.registry import LAYERS, LOSSES, OPTIMIZERS

    for i, layer in enumerate(model.layers):
        if type(layer) not in layer_codes():
            why = _uncovered(LAYERS.name_of(layer))
            return f"layer {i} ({type(layer).__name__}) is not covered by the compiled engine{why}"
    if predicting:
        return None
    loss = model.loss_fun
    if type(loss) not in LOSS_CODES:
        why = _uncovered(LOSSES.name_of(loss))
        return f"the loss ({type(loss).__name__}) is not covered by the compiled engine{why}"
    optimizer = model.optimizer
    if optimizer is not None and type(optimizer) not in OPTIMIZER_CODES:
        name = type(optimizer).__name__
        why = _uncovered(OPTIMIZERS.name_of(optimizer))
        return f"the optimiser ({name}) is not covered by the compiled engine{why}"
    return None


WIDE_LAYER = 256  # from this hidden width on, ``auto`` skips the compiled engine


def widest_layer(model) -> int:
    """The largest output width of the model's layers but the last (its hidden width;
    0 if none has one). A wide input alone does not count: 784 -> 64 -> 1 trains
    about twice as fast on the compiled engine."""
    widths = [getattr(layer, "out_dim", 0) for layer in model.layers[:-1]]
    return max([0] + [int(w) for w in widths if isinstance(w, (int, np.integer))])


def resolve_engine(model, engine: str = "auto", *, verbose=False, predicting: bool = False) -> str:
    """``"methods"``, ``"fused"`` or ``"compiled"`` for ``engine`` (one of ``ENGINES``,
    or a deprecated alias, already checked and warned about by the caller).

    ``auto`` (and ``BARENET_ENGINE``, and the alias ``numpy``) falls back from
    ``compiled`` to ``fused`` to ``methods`` where one cannot run this model; a hidden
    layer of ``WIDE_LAYER`` units or more makes ``auto`` skip ``compiled``, where
    BLAS's large products win.
    ``predicting``: the choice for ``predict``, which looks at what it runs (see
    ``why_not_compiled``); ``"fused"`` is then ``"methods"`` (there is no fused forward).
    Raises ``BarenetValueError`` when ``fused`` or ``compiled`` is asked for by name and
    cannot run, naming the layer, loss or optimiser in the way (or numba's import error).
    """
    strict = check_engine(engine, warn=False) != "auto" and engine not in ALIASES
    if engine == "auto":
        engine = check_engine(default_engine(), warn=False)
    engine = ALIASES.get(engine, engine)
    if engine == "methods":
        return "methods"
    if engine in ("auto", "compiled"):
        reason = _why_not_compiled_here(model, strict, verbose, predicting)
        if reason is None and not strict and widest_layer(model) >= WIDE_LAYER:
            # measured (docs/speed.md): at widths of 256 and more the fused step's large
            # BLAS products beat the compiled kernels (1024 wide: 0.59x), so auto skips them
            reason = "wide"
        if reason is None:
            return "compiled"
        if strict:
            raise BarenetValueError(f"engine='compiled' cannot run this model: {reason}")
    if predicting:
        return "methods"
    reason = why_not_fused(model)
    if reason is None:
        return "fused"
    if strict:
        raise BarenetValueError(
            f"engine='fused' cannot run this model: {reason}; engine='methods' runs it"
        )
    return "methods"


def _why_not_compiled_here(model, strict: bool, verbose, predicting: bool) -> str | None:
    """``why_not_compiled``, or numba's import error (said on stderr when ``auto`` falls
    back for want of it and ``verbose``)."""
    reason = why_not_compiled(model, predicting=predicting)
    if reason is None:
        problem = numba_problem()
        if problem is not None:
            reason = f"numba cannot be imported ({problem})"
            if not strict and verbose:
                print(
                    f"barenet: numba unavailable, training without it ({problem})", file=sys.stderr
                )
    return reason
