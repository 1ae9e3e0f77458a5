"""One fit of one model on one split of one suite table, scored on the test rows.

Every runner takes ``(frame, name, train, test, seed, quick)`` and returns
``{"score", "s"}`` (test metric, fit seconds), with ``"epochs"`` where the model trains
by epochs and reports them; ``{"unavailable": why}`` when its package is missing.
The caller has set one thread (OMP, OpenBLAS, MKL, numba) in the environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from peer_tools import Unavailable
from suite_tables import TABLES, score
from tables import hgb_frame


def _needs(module: str, package: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise Unavailable(f"{package} is not installed (pip install {package})")


def _xy(frame: pd.DataFrame, name: str):
    target = TABLES[name].target
    return frame.drop(columns=[target]), frame[target]


def _text_columns(x: pd.DataFrame) -> list[str]:
    return [c for c in x.columns if x[c].dtype.kind not in "biuf"]


def _timed_fit(model, x_train, y_train, **fit_args) -> float:
    started = time.perf_counter()
    model.fit(x_train, y_train, **fit_args)
    return time.perf_counter() - started


def barenet(frame, name, train, test, seed, quick) -> dict:
    """As a user runs it: ``barenet train --data train.csv --target COL`` (saving the
    model to a temporary file, ``--json`` for the summary), then ``barenet predict`` on
    the test file without its target; scored here. ``--quick`` adds ``--recipe auto
    --epochs 3`` (the default's recipe, 3 epochs)."""
    spec = TABLES[name]
    x, y = _xy(frame, name)
    env = {**os.environ, "BARENET_BLAS_THREADS": "1"}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        frame.iloc[train].to_csv(folder / "train.csv", index=False)
        x.iloc[test].to_csv(folder / "test.csv", index=False)
        train_command = [sys.executable, "-m", "barenet", "train", "--data"]
        train_command += [str(folder / "train.csv"), "--target", spec.target]
        train_command += ["--save", str(folder / "model.npz"), "--json"]
        train_command += ["--recipe", "auto", "--epochs", "3"] if quick else []
        started = time.perf_counter()
        done = subprocess.run(train_command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            return {"error": "train: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
        summary = json.loads(done.stdout)
        predict_command = [sys.executable, "-m", "barenet", "predict", "--model"]
        predict_command += [str(folder / "model.npz"), "--data", str(folder / "test.csv")]
        predict_command += ["--out", str(folder / "predicted.csv")]
        done = subprocess.run(predict_command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            return {"error": "predict: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
        predicted = pd.read_csv(folder / "predicted.csv", dtype=str, keep_default_na=False)
    column = predicted.iloc[:, -1].to_numpy()
    truth = y.iloc[test].to_numpy()
    if not spec.classification:
        column = column.astype(float)
    return {
        "score": score(truth, column, spec.classification),
        "s": summary["train_seconds"],
        "wall_s": wall,
        "epochs": summary["epochs_trained"],
        "kept_epoch": summary.get("kept_epoch"),
        "choice": summary.get("recipe_choice"),
        "time_limit_cut": summary.get("time_limit_cut"),
    }


def _hgb_class(classification: bool):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor


def hgb(frame, name, train, test, seed, quick) -> dict:
    """HistGradientBoosting with native categoricals: text columns as pandas
    categories (those with more than 255 levels left out, as HGB cannot take them)."""
    classification = TABLES[name].classification
    x, y = _xy(frame, name)
    x = hgb_frame(x)
    model = _hgb_class(classification)(categorical_features="from_dtype", random_state=seed)
    seconds = _timed_fit(model, x.iloc[train], y.iloc[train])
    return {
        "score": score(y.iloc[test], model.predict(x.iloc[test]), classification),
        "s": seconds,
    }


def skrub(frame, name, train, test, seed, quick) -> dict:
    """skrub's ``tabular_pipeline`` around its default HistGradientBoosting."""
    _needs("skrub", "skrub")
    from skrub import tabular_pipeline

    classification = TABLES[name].classification
    x, y = _xy(frame, name)
    model = tabular_pipeline(_hgb_class(classification)(random_state=seed))
    seconds = _timed_fit(model, x.iloc[train], y.iloc[train])
    return {
        "score": score(y.iloc[test], model.predict(x.iloc[test]), classification),
        "s": seconds,
    }


def catboost(frame, name, train, test, seed, quick) -> dict:
    """CatBoost's defaults (1,000 trees), text columns as its categorical features
    (blank cells as the string "nan"); one thread (``thread_count=1``)."""
    _needs("catboost", "catboost")
    from catboost import CatBoostClassifier, CatBoostRegressor

    classification = TABLES[name].classification
    x, y = _xy(frame, name)
    text = _text_columns(x)
    for column in text:  # CatBoost takes strings only: a blank cell becomes "nan"
        x[column] = x[column].astype(object).where(x[column].notna(), "nan").map(str)
    model_class = CatBoostClassifier if classification else CatBoostRegressor
    options = {"iterations": 20} if quick else {}
    model = model_class(
        random_seed=seed, thread_count=1, verbose=False, allow_writing_files=False, **options
    )
    seconds = _timed_fit(model, x.iloc[train], y.iloc[train], cat_features=text)
    predicted = np.asarray(model.predict(x.iloc[test])).reshape(-1)
    return {"score": score(y.iloc[test], predicted, classification), "s": seconds}


def _pytabkit(estimators: tuple[str, str], frame, name, train, test, seed, quick) -> dict:
    """A pytabkit default: text columns as pandas categories (its categorical input),
    blank numeric cells filled with the training rows' median (pytabkit refuses NaN in
    numeric columns), labels encoded as 0..k-1; CPU, one thread."""
    _needs("pytabkit", "pytabkit")
    import pytabkit
    import torch

    torch.set_num_threads(1)
    classification = TABLES[name].classification
    x, y = _xy(frame, name)
    text = _text_columns(x)
    x = x.astype({c: "category" for c in text})
    numeric = [c for c in x.columns if c not in text]
    x[numeric] = x[numeric].fillna(x[numeric].iloc[train].median())
    labels = None
    if classification:
        labels, y = np.unique(y.to_numpy().astype(str), return_inverse=True)
        y = pd.Series(y)
    else:
        y = y.astype(float)
    model_class = getattr(pytabkit, estimators[0] if classification else estimators[1])
    options = {"n_epochs": 3} if quick else {}
    model = model_class(device="cpu", random_state=seed, n_threads=1, verbosity=0, **options)
    seconds = _timed_fit(model, x.iloc[train], y.iloc[train])
    predicted = np.asarray(model.predict(x.iloc[test])).reshape(-1)
    truth = y.iloc[test].to_numpy()
    if classification:
        truth, predicted = labels[truth], labels[predicted.astype(int)]
    return {"score": score(truth, predicted, classification), "s": seconds}


def realmlp(frame, name, train, test, seed, quick) -> dict:
    """RealMLP-TD: pytabkit's ``RealMLP_TD_*`` with its tuned defaults."""
    return _pytabkit(
        ("RealMLP_TD_Classifier", "RealMLP_TD_Regressor"), frame, name, train, test, seed, quick
    )


def tabm(frame, name, train, test, seed, quick) -> dict:
    """TabM's documented default: pytabkit's ``TabM_D_*``, the settings of the tabm
    package's example (TabM, k = 32, three 512-wide blocks, lr 2e-3, batch 256, early
    stopping with patience 16, no numeric embeddings). Counted as available only when
    the ``tabm`` package is installed too."""
    _needs("tabm", "tabm")
    return _pytabkit(
        ("TabM_D_Classifier", "TabM_D_Regressor"), frame, name, train, test, seed, quick
    )


RUNNERS = {
    "barenet": barenet,
    "hgb": hgb,
    "skrub": skrub,
    "catboost": catboost,
    "realmlp_td": realmlp,
    "tabm": tabm,
}
