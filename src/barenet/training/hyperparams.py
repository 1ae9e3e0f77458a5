"""The one specification of barenet's training hyper-parameters.

Each ``Param`` gives a name, a default, help text and the check of valid values.
``TrainConfig`` (``barenet.training.config``), the ``barenet train`` flags (``--batch-size``
for ``batch_size``), ``barenet tune`` grids and the scikit-learn estimators'
constructor parameters are all derived from ``PARAMS``, so a name means the same
thing everywhere. The estimators differ only where ``estimator_default`` says so
(and call ``seed`` ``random_state``, as scikit-learn requires).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from barenet.engines import names as engine_names
from barenet.errors import BarenetTypeError, BarenetValueError
from barenet.registry import ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS, SCHEDULES

_SAME = object()


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BarenetTypeError(f"{name} must be a number, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise BarenetValueError(f"{name} must be finite, got {value}")
    return value


def _integer(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise BarenetTypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise BarenetValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def positive(value, name):
    value = _number(value, name)
    if value <= 0:
        raise BarenetValueError(f"{name} must be > 0, got {value}")
    return value


def non_negative(value, name):
    value = _number(value, name)
    if value < 0:
        raise BarenetValueError(f"{name} must be >= 0, got {value}")
    return value


def fraction(value, name):
    value = _number(value, name)
    if not 0 <= value < 1:
        raise BarenetValueError(f"{name} must be in [0, 1), got {value}")
    return value


def count(minimum: int):
    return lambda value, name: _integer(value, name, minimum)


def positive_or_off(value, name):
    """A number > 0, or 0 (and None) meaning off."""
    value = _number(value, name)
    if value < 0:
        raise BarenetValueError(f"{name} must be > 0 (or 0 for off), got {value}")
    return value or None


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"64,64"`` -> (64, 64), for the command line; empty parts are an error."""
    parts = text.split(",")
    if not text.strip() or any(not part.strip() for part in parts):
        raise BarenetValueError(f"expected comma-separated layer sizes like 64,64, got {text!r}")
    try:
        return tuple(int(part) for part in parts)
    except ValueError:
        raise BarenetValueError(f"expected comma-separated integers, got {text!r}") from None


def sizes(value, name):
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise BarenetTypeError(f"{name} must be a sequence of layer sizes, got {value!r}")
    value = tuple(_integer(v, f"{name} entry", 1) for v in value)
    if not value:
        raise BarenetValueError(f"{name} needs at least one layer size")
    return value


def one_of(registry):
    def check(value, name):
        registry.lookup(value)  # raises, naming the choices
        return value

    check.choices = registry.choices
    return check


def choice(*names: str):
    def check(value, name):
        if value not in names:
            raise BarenetValueError(f"{name} must be one of {list(names)}, got {value!r}")
        return value

    check.choices = lambda: list(names)
    return check


def dtype_name(value, name):
    if value not in ("float32", "float64"):
        raise BarenetValueError(f"{name} must be 'float32' or 'float64', got {value!r}")
    return value


dtype_name.choices = lambda: ["float32", "float64"]


def engine_name(value, name):
    if not engine_names.is_engine(value):  # "numpy": a deprecated alias, still accepted
        choices = list(engine_names.ENGINES)
        raise BarenetValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


engine_name.choices = engine_names.choices


def flag(value, name):
    if not isinstance(value, bool | int) or value not in (0, 1):
        raise BarenetTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def seed(value, name):
    return _integer(value, name, 0)


@dataclass(frozen=True)
class Param:
    """One hyper-parameter.

    ``check(value, name)`` returns the value normalised or raises; ``optional`` allows
    ``None`` (which then means what ``help`` says).
    """

    name: str
    default: object
    help: str
    check: object
    parse: object = str  # the command line's conversion; None for an on/off flag
    optional: bool = False
    estimator_default: object = _SAME
    estimator_name: str | None = None

    def validate(self, value):
        if value is None and self.optional:
            return None
        return self.check(value, self.name)

    @property
    def for_estimator(self) -> tuple[str, object]:
        """(name, default) of the scikit-learn estimators' parameter."""
        default = self.default if self.estimator_default is _SAME else self.estimator_default
        return self.estimator_name or self.name, default

    @property
    def choices(self) -> list[str] | None:
        choices = getattr(self.check, "choices", None)
        return choices() if choices else None


# A recipe fills every hyper-parameter that is not given. "tabular" is the one measured
# to beat gradient boosting on California Housing (docs/table.md and docs/accuracy.md,
# "The tabular recipe").
RECIPES = {
    "tabular": {
        "embedding": "piecewise",
        "bins": 48,
        "embedding_dim": 16,
        "ensemble": 16,
        "hidden": (128, 128),
        "activation": "relu",
        "dropout": 0.0,
        "optimizer": "adamw",
        # twice TabM's rate, annealed by a cosine over 60 epochs: the accuracy of 150
        # epochs at a constant 2e-3 in 60 (docs/accuracy.md, "Fewer epochs")
        "lr": 4e-3,
        "schedule": "cosine",
        "weight_decay": 3e-4,
        "batch_size": 256,
        "epochs": 60,
        "clip_norm": None,
        "early_stopping": 40,
    }
}
# A 64-64 network for small tables, where the issue measured the tabular recipe losing
# (a ~400-row cars table); the best epoch is kept on held-out training rows. As a
# TabM-mini ensemble of 8 members: on the cars-like table of
# benchmarks/tables.py, model seeds 0, 1, 2 on one split gave test RMSE 2.359 / 2.254 /
# 2.239 with one network (spread 0.119) and 2.244 / 2.276 / 2.266 with 8 members
# (spread 0.032); 16 members spread 0.192.
RECIPES["small"] = {
    "ensemble": 8,
    "optimizer": "adamw",
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "batch_size": 32,
    "epochs": 300,
    "clip_norm": None,
    "early_stopping": 40,
}
# recipe="auto" is resolved from the training rows (``TrainConfig.resolve_auto``): "small"
# below ``AUTO_SMALL_ROWS``, else "tabular". Its epochs follow from the table, never from
# the clock, so a seed gives the same model on an idle or a busy machine;
# ``time_limit`` stays the user's own cap.
RECIPES["auto"] = RECIPES["tabular"]  # what an unresolved "auto" configuration shows
AUTO_SMALL_ROWS = 1000
# Below AUTO_SMALL_ROWS, recipe auto's probe (``barenet.training.probe``) trains the small
# recipe as it is and with these options (those the user did not give), and keeps the
# one of lower validation loss, when at least AUTO_PROBE_MIN_VALIDATION rows are held out.
AUTO_SMALL_PROBE = {"embedding": "piecewise"}
AUTO_PROBE_MIN_VALIDATION = 50
# "tabular-best": the tabular recipe behind a retrieval layer (README, "When tabular-best
# is worth its time").
RECIPES["tabular-best"] = {
    **RECIPES["tabular"],
    "retrieval": 1,
    # every training row a candidate, each row reading its 32 nearest; a learned weight
    # per feature, on standardised features at first, moving 20 times the rate
    "retrieval_candidates": 0,
    "retrieval_top": 32,
    "retrieval_encoder": "diagonal",
    "retrieval_scale": 1.0,
    "retrieval_speed": 20.0,
}

PARAMS = (
    Param(
        "recipe",
        None,
        "a preset for every option not given: tabular (embeddings, an ensemble, AdamW, "
        "the best epoch on held-out training rows), tabular-best (the same behind a "
        "retrieval layer; see docs/accuracy.md), small (a 64-64 ensemble of 8 "
        "members with AdamW and the best epoch), or auto (small below 1,000 training "
        "rows, with piecewise embeddings if a probe on the validation rows prefers them, "
        "else tabular; the default of barenet train --data; see docs/table.md)",
        choice(*RECIPES),
        optional=True,
    ),
    Param(
        "scaling",
        "none",
        "input scaling fitted on the training rows: quantile (to a normal) or robust "
        "(median, quartiles, smooth clipping)",
        choice("none", "quantile", "robust"),
    ),
    Param(
        "embedding",
        "none",
        "numeric-feature embedding: piecewise (linear on quantile bins), piecewise_tree "
        "(on decision-tree bins) or periodic",
        choice("none", "piecewise", "piecewise_tree", "periodic"),
    ),
    Param("bins", 48, "bins per feature of the piecewise embeddings", count(2), int),
    Param("embedding_dim", 16, "size of each feature's embedding", count(1), int),
    Param(
        "ensemble",
        1,
        "members of a TabM-style ensemble sharing the hidden weights (1: a single network)",
        count(1),
        int,
    ),
    Param(
        "retrieval",
        0,
        "heads of a retrieval layer in front (0: none): each row attends over the training "
        "rows, which the model file then holds (see README)",
        count(0),
        int,
    ),
    Param("retrieval_dim", 16, "size of each retrieval head's encoding", count(1), int),
    Param(
        "retrieval_candidates",
        8192,
        "training rows sampled as candidates for each training batch of the retrieval layer "
        "(0: every training row)",
        count(0),
        int,
    ),
    Param(
        "retrieval_top",
        0,
        "keep only each row's this many nearest candidates in the retrieval layer's "
        "softmax (0: all)",
        count(0),
        int,
    ),
    Param(
        "retrieval_encoder",
        "linear",
        "the retrieval heads' encoders: linear (retrieval_dim columns, random start) or "
        "diagonal (a learned weight per feature, starting on standardised features; "
        "retrieval_dim is then ignored)",
        choice("linear", "diagonal"),
    ),
    Param("retrieval_scale", 12.0, "the retrieval encoders' initial scale", positive, float),
    Param(
        "retrieval_speed",
        1.0,
        "a learning-rate multiplier for the diagonal retrieval encoders' log-weights",
        positive,
        float,
    ),
    Param("hidden", (64, 64), "hidden layer sizes", sizes, parse_sizes),
    Param("activation", "relu", "activation after each hidden layer", one_of(ACTIVATIONS)),
    Param("init", "glorot_uniform", "initialiser of the Linear weights", one_of(INITIALIZERS)),
    Param(
        "loss",
        None,
        "loss (default: mse for regression, cross_entropy for classification)",
        one_of(LOSSES),
        optional=True,
    ),
    Param("optimizer", "sgd", "optimiser", one_of(OPTIMIZERS), estimator_default="adam"),
    Param("lr", 0.01, "learning rate", positive, float, estimator_default=1e-3),
    Param("momentum", 0.0, "momentum of sgd and rmsprop", non_negative, float),
    Param(
        "weight_decay",
        0.0,
        "weight decay (L2 for sgd, adam and rmsprop; decoupled for adamw)",
        non_negative,
        float,
    ),
    Param(
        "epochs",
        None,
        "passes over the training rows (default: 30, raised on a small table to reach "
        "1,000 mini-batch updates)",
        count(1),
        int,
        optional=True,
        estimator_default=200,
    ),
    Param("batch_size", 32, "rows per mini-batch", count(1), int),
    Param("dropout", 0.0, "dropout probability after each hidden activation", fraction, float),
    Param("batchnorm", False, "batch normalisation after each hidden Linear layer", flag, None),
    Param(
        "clip_norm",
        1.0,
        "clip the gradients' global L2 norm to this (0: off)",
        positive_or_off,
        float,
        optional=True,
        estimator_default=None,
    ),
    Param("schedule", None, "learning-rate schedule", one_of(SCHEDULES), optional=True),
    Param(
        "early_stopping",
        None,
        "stop after this many epochs without a better validation loss, keeping the best",
        count(1),
        int,
        optional=True,
    ),
    Param(
        "val_fraction",
        None,
        "fraction of the training rows held out for validation (default: 0.1 when early "
        "stopping or the plateau schedule selects on it, else none)",
        fraction,
        float,
        optional=True,
    ),
    Param(
        "seed",
        0,
        "seed of the initial weights, dropout and shuffling",
        seed,
        int,
        optional=True,
        estimator_default=None,
        estimator_name="random_state",
    ),
    Param(
        "time_limit",
        None,
        "stop training once this many seconds are spent (before an epoch predicted to "
        "cross it), keeping the best epoch; a cosine schedule then anneals within the time "
        "(default: none)",
        positive,
        float,
        optional=True,
    ),
    Param("dtype", "float32", "float32 or float64 parameters", dtype_name),
    Param(
        "engine",
        "auto",
        "what runs each step: methods (the model's own methods), fused (the same formulas "
        "in fewer passes over memory), compiled (numba kernels, equal to float rounding); "
        "auto: the first of compiled, fused, methods that runs the model (numpy: "
        "deprecated, fused)",
        engine_name,
    ),
)

BY_NAME = {p.name: p for p in PARAMS}


def validate(values: dict) -> dict:
    """Every parameter's value, checked and normalised; a parameter not given takes its
    recipe's value if ``values`` names a recipe, else its default."""
    unknown = sorted(set(values) - set(BY_NAME))
    if unknown:
        raise BarenetTypeError(
            f"unknown hyper-parameter(s) {unknown}; the names are {sorted(BY_NAME)}"
        )
    recipe = BY_NAME["recipe"].validate(values.get("recipe"))
    preset = RECIPES[recipe] if recipe else {}
    return {p.name: p.validate(values.get(p.name, preset.get(p.name, p.default))) for p in PARAMS}
