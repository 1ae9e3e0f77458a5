"""Where a ``TrainConfig`` comes from: one function per source, each rule in one place.

- ``config_from_flags``: ``barenet train``'s options (and a folder's), with the rule
  "``--data`` alone means ``--recipe auto``";
- ``config_from_estimator``: a ``BarenetRegressor``/``BarenetClassifier``'s parameters,
  with the rule "a recipe fills the parameters left at their defaults";
- ``config_from_candidate``: one of ``barenet tune``'s candidates, its grid values read
  as ``barenet train``'s options, so the command ``train_command`` prints trains the
  same network.

Each returns a ``TrainConfig`` that ``training.fitting.fit_model`` resolves (recipe
``auto`` for the number of rows, the small-table epochs) and trains.
"""

from __future__ import annotations

import shlex

import numpy as np

from barenet.training import hyperparams
from barenet.training.config import TrainConfig

#: Flags that leave ``--recipe auto`` in place when ``--data`` is given without ``--recipe``.
KEEP_AUTO = ("time_limit", "seed", "engine", "dtype")


def auto_off(given: dict, config: TrainConfig) -> str | None:
    """For a table (``--data``) trained without a recipe: that the options ``given``
    turned recipe auto, the default for tables, off, and how to keep it; None when a
    recipe is set (auto included)."""
    if config.recipe is not None:
        return None
    flags = ", ".join("--" + n.replace("_", "-") for n in given if n not in KEEP_AUTO)
    return (
        f"the notebook's defaults and the options given ({flags}); recipe auto, the "
        "default for tables, is off: add --recipe auto to keep it"
    )


def config_from_flags(given: dict, *, data: bool) -> TrainConfig:
    """The configuration of the command-line options ``given`` (``barenet train``'s
    names, only those given). With ``data`` (``--data``) and no network or training
    option (``--time-limit``, ``--seed``, ``--engine``, ``--dtype`` aside) it is
    ``--recipe auto``, the default chosen for tables; without (the notebook's workflow,
    a built-in data set) the notebook's defaults."""
    given = dict(given)
    if data and not set(given) - set(KEEP_AUTO):
        given["recipe"] = "auto"
    return TrainConfig(**given)


def _same(value, default) -> bool:
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # e.g. an array compared with a tuple
        return False


def estimator_seed(random_state) -> int:
    """The ``seed`` an estimator's ``random_state`` trains with: an int is the seed
    itself (``random_state=3`` trains as ``barenet train --seed 3``); None or a
    ``RandomState`` gives one draw from it, as scikit-learn's estimators draw theirs."""
    import numbers

    from sklearn.utils import check_random_state

    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def config_from_estimator(params: dict) -> TrainConfig:
    """The configuration of an estimator's parameters ``params`` (its ``get_params()``).

    Without a ``recipe`` every parameter is taken as it is (the estimators' defaults
    included: ``hyperparams.Param.estimator_default``). With one, the parameters left
    at their defaults take the recipe's values; those changed are kept."""
    recipe = params.get("recipe")
    values = {}
    for p in hyperparams.PARAMS:
        name, default = p.for_estimator
        if name == "random_state":
            continue
        value = params.get(name, default)
        if recipe is None or name == "recipe" or not _same(value, default):
            values[p.name] = value
    values["seed"] = estimator_seed(params.get("random_state"))
    return TrainConfig(**values)


def config_from_candidate(given: dict, *, data: bool, n_rows: int, probe_fit=None) -> TrainConfig:
    """The configuration ``barenet train`` trains for the options ``given`` (a tune
    candidate: its fixed and grid values, ``barenet train``'s names, ``seed``
    included), resolved for ``n_rows`` training rows: recipe ``auto`` chosen (its probe
    run by ``probe_fit``, as ``fitting.resolve_config`` takes it) and the epochs
    decided, as ``fit_model`` does. ``estimator_params`` turns it into an estimator's
    parameters that train exactly this configuration."""
    from barenet.training.fitting import resolve_config

    config, _ = resolve_config(config_from_flags(given, data=data), n_rows, probe_fit)
    return config


def estimator_params(config: TrainConfig) -> dict:
    """An estimator's parameters (its names) whose ``config_from_estimator`` is
    ``config`` itself: every value given and ``recipe`` None (so no recipe fills any of
    them), ``random_state`` the seed."""
    params = {p.for_estimator[0]: getattr(config, p.name) for p in hyperparams.PARAMS}
    params["recipe"] = None
    return params


def train_command(given: dict, data_args: list[str]) -> str:
    """The ``barenet train`` command line of the options ``given`` (``barenet train``'s
    names and values, as ``config_from_flags`` takes them) on the data ``data_args``."""
    words = ["barenet", "train", *data_args]
    for name in sorted(given):
        words += _flag(name, given[name])
    return shlex.join(words)


def _flag(name: str, value) -> list[str]:
    flag = "--" + name.replace("_", "-")
    param = hyperparams.BY_NAME[name]
    if param.parse is None:  # a switch
        return [flag] if value else []
    if value is None:
        return [flag, "none"]
    if isinstance(value, (tuple, list)):
        return [flag, ",".join(str(v) for v in value)]
    return [flag, repr(value) if isinstance(value, float) else str(value)]
