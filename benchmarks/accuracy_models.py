"""The data sets and the models of ``benchmarks/accuracy.py``.

A data set is a name and a ``barenet.tables.datasets.Split`` (standardised features, scaled
regression targets with ``scaler_y`` to bring them back, class indices for
classification). A model is a ``ModelSpec``: how to build one estimator for a task and a
seed, which optional package it needs, and whether its seed changes anything.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: The extra California splits: the notebook's procedure with these ``random_state``s.
EXTRA_CALIFORNIA_STATES = (1, 2, 3, 4)
NOTEBOOK_STATE = 42
BUNDLED = ("diabetes", "breast_cancer", "digits")
DATASET_HELP = (
    "california (the notebook's split), california@N (the same procedure with "
    "random_state N), california_splits (california@1..4), diabetes, breast_cancer, digits"
)

#: barenet's California recipe documented in README, as estimator parameters.
README_RECIPE = {
    "hidden": (256, 256, 256),
    "optimizer": "adamw",
    "lr": 0.001,
    "weight_decay": 0.01,
    "batch_size": 128,
    "epochs": 100,
    "schedule": "cosine",
    "clip_norm": 0,
    "dropout": 0.1,
}

#: In --quick mode: the most training and test rows kept, and the iterations of each model.
QUICK_ROWS = 600
QUICK_ITERATIONS = 10
QUICK_EPOCHS = 2


def expand_datasets(names: list[str]) -> list[str]:
    """``california_splits`` becomes ``california@1`` .. ``california@4``; the rest stay."""
    expanded = []
    for name in names:
        if name == "california_splits":
            expanded += [f"california@{state}" for state in EXTRA_CALIFORNIA_STATES]
        else:
            expanded.append(name)
    return expanded


def load_dataset(name: str):
    """The Split of a data set name (see ``DATASET_HELP``), with the notebook's procedure:
    StandardScaler fitted on all rows, then ``train_test_split(test_size=0.2)``."""
    from sklearn import datasets as sk_datasets

    from barenet.tables.datasets import load_builtin, load_california_housing, preprocess

    if name == "california":
        return load_california_housing(random_state=NOTEBOOK_STATE)
    if name.startswith("california@"):
        return load_california_housing(random_state=int(name.split("@", 1)[1]))
    if name in ("diabetes", "digits"):
        return load_builtin(name, random_state=NOTEBOOK_STATE)
    if name == "breast_cancer":
        bunch = sk_datasets.load_breast_cancer()
        return preprocess(
            bunch.data,
            bunch.target,
            random_state=NOTEBOOK_STATE,
            classification=True,
            feature_names=bunch.feature_names,
            target_name="malignant",
        )
    raise SystemExit(f"unknown data set {name!r}; choose from: {DATASET_HELP}")


def subsample(split, rows: int):
    """The first ``rows`` training and test rows of a split (the split is already shuffled)."""
    return split._replace(
        x_train=split.x_train[:rows],
        y_train=split.y_train[:rows],
        x_test=split.x_test[:rows],
        y_test=split.y_test[:rows],
    )


def barenet_has_recipe() -> bool:
    """Whether the estimators take ``recipe=`` (it lands from another branch)."""
    from barenet.sklearn.estimators import BarenetRegressor

    return "recipe" in BarenetRegressor().get_params()


@dataclass
class ModelSpec:
    """One row family of the table.

    ``build(task, seed, quick, overrides, threads)`` returns an unfitted estimator with
    scikit-learn's ``fit``/``predict``; ``task`` is "regression" or "classification";
    ``threads`` is what the GBDT libraries are given (the rest are limited around ``fit``).
    """

    name: str
    label: str | dict  # or {task: label}
    build: Callable
    requires: str | None = None  # the optional package it needs (the ``bench`` extra)
    seeded: bool = True  # False: deterministic, run once whatever --seeds says
    notes: dict = field(default_factory=dict)


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _barenet(task, seed, quick, overrides, *, base):
    from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor

    cls = BarenetRegressor if task == "regression" else BarenetClassifier
    params = dict(base)
    if quick:
        params["epochs"] = QUICK_EPOCHS
    params.update(overrides or {})
    return cls(random_state=seed, **params)


def _barenet_recipe(task, seed, quick, overrides, threads):
    base = {"recipe": "tabular"} if barenet_has_recipe() else {}
    return _barenet(task, seed, quick, overrides, base=base)


def _barenet_best(task, seed, quick, overrides, threads):
    """The tabular recipe behind a retrieval layer (issue 19)."""
    return _barenet(task, seed, quick, None, base={"recipe": "tabular-best"})


def _barenet_readme(task, seed, quick, overrides, threads):
    return _barenet(task, seed, quick, overrides, base=README_RECIPE)


def _hgb(task, seed, quick, overrides, threads):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    extra = {"max_iter": QUICK_ITERATIONS} if quick else {}
    return cls(random_state=seed, **extra)


def _hgb_tuned(task, seed, quick, overrides, threads):
    """Issue 19's tuned HistGradientBoosting: 1,000 iterations, lr 0.05, 63 leaves, no
    early stopping."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    iterations = QUICK_ITERATIONS if quick else 1000
    return cls(
        max_iter=iterations,
        learning_rate=0.05,
        max_leaf_nodes=63,
        early_stopping=False,
        random_state=seed,
    )


def _sk_mlp(task, seed, quick, overrides, threads):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPRegressor if task == "regression" else MLPClassifier
    max_iter = QUICK_ITERATIONS if quick else 500
    return cls(early_stopping=True, max_iter=max_iter, random_state=seed)


def _linear(task, seed, quick, overrides, threads):
    from sklearn.linear_model import LogisticRegression, RidgeCV

    if task == "regression":
        return RidgeCV(alphas=np.logspace(-3, 3, 13))
    return LogisticRegression(max_iter=QUICK_ITERATIONS if quick else 5000)


def _lightgbm(task, seed, quick, overrides, threads):
    import lightgbm

    cls = lightgbm.LGBMRegressor if task == "regression" else lightgbm.LGBMClassifier
    extra = {"n_estimators": QUICK_ITERATIONS} if quick else {}
    return cls(random_state=seed, n_jobs=threads, verbose=-1, **extra)


def _xgboost(task, seed, quick, overrides, threads):
    import xgboost

    cls = xgboost.XGBRegressor if task == "regression" else xgboost.XGBClassifier
    extra = {"n_estimators": QUICK_ITERATIONS} if quick else {}
    return cls(random_state=seed, n_jobs=threads, **extra)


def _catboost(task, seed, quick, overrides, threads):
    import catboost

    cls = catboost.CatBoostRegressor if task == "regression" else catboost.CatBoostClassifier
    extra = {"iterations": QUICK_ITERATIONS} if quick else {}
    return cls(
        random_seed=seed, verbose=0, thread_count=threads, allow_writing_files=False, **extra
    )


def _catboost_tuned(task, seed, quick, overrides, threads):
    """Issue 19's tuned CatBoost: 5,000 iterations, lr 0.03, depth 8."""
    import catboost

    cls = catboost.CatBoostRegressor if task == "regression" else catboost.CatBoostClassifier
    return cls(
        iterations=QUICK_ITERATIONS if quick else 5000,
        learning_rate=0.03,
        depth=8,
        random_seed=seed,
        verbose=0,
        thread_count=threads,
        allow_writing_files=False,
    )


def describe(spec: ModelSpec, task: str) -> str:
    """The model's name in the table, for this task."""
    if spec.name == "barenet":
        if barenet_has_recipe():
            return "barenet recipe='tabular'"
        return "barenet estimator defaults (no recipe= yet)"
    return spec.label[task] if isinstance(spec.label, dict) else spec.label


MODELS = {
    spec.name: spec
    for spec in [
        ModelSpec("barenet", "barenet recipe", _barenet_recipe),
        ModelSpec("barenet_readme", "barenet README California recipe", _barenet_readme),
        ModelSpec("barenet_best", "barenet recipe='tabular-best' (retrieval)", _barenet_best),
        ModelSpec("hgb", "HistGradientBoosting default", _hgb),
        ModelSpec(
            "hgb_tuned",
            "HistGradientBoosting tuned (1,000 iterations, lr 0.05, 63 leaves)",
            _hgb_tuned,
        ),
        ModelSpec("mlp", "sklearn MLP (early_stopping, max_iter=500)", _sk_mlp),
        ModelSpec(
            "linear",
            {"regression": "RidgeCV", "classification": "LogisticRegression"},
            _linear,
            seeded=False,
        ),
        ModelSpec("lightgbm", "LightGBM default", _lightgbm, requires="lightgbm"),
        ModelSpec("xgboost", "XGBoost default", _xgboost, requires="xgboost"),
        ModelSpec("catboost", "CatBoost default", _catboost, requires="catboost"),
        ModelSpec(
            "catboost_tuned",
            "CatBoost tuned (5,000 iterations, lr 0.03, depth 8)",
            _catboost_tuned,
            requires="catboost",
        ),
    ]
}
#: Every model but the slow ones (the README recipe, about a minute a fit on California;
#: tabular-best, several): add them by name.
DEFAULT_MODELS = [name for name in MODELS if name not in ("barenet_readme", "barenet_best")]
