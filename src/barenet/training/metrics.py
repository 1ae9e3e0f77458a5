"""Metrics reported by the command line, computed with scikit-learn's own functions.

scikit-learn's and NumPy's warnings (overflow with huge targets, R^2 on one row) are
caught here, never shown: ``metric_notes`` says the same in plain words.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np


@contextlib.contextmanager
def quiet_warnings():
    """No third-party warning leaks from a metric's computation."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MSE, RMSE, MAE and R^2 of predictions, in the units given.

    y_true, y_pred : arrays of shape (n,) or (n, k), the same shape after flattening (n,1).
    """
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    with quiet_warnings():
        mse = float(mean_squared_error(y_true, y_pred))
        mae = float(mean_absolute_error(y_true, y_pred))
        r2 = float(r2_score(y_true, y_pred)) if len(y_true) >= 2 else math.nan
    return {"mse": mse, "rmse": math.sqrt(mse), "mae": mae, "r2": r2}


def metric_notes(metrics: dict, rows: int) -> list[str]:
    """Plain sentences for the metrics that are not finite numbers, and why.

    metrics : as ``regression_metrics`` returns; rows : the rows they were computed on.
    """
    notes = []
    if "r2" in metrics and math.isnan(metrics["r2"]):
        notes.append(
            "R^2 is not defined on one row (it compares errors with the target's spread)"
            if rows < 2
            else "R^2 is not defined here: the target does not vary, or its spread overflows"
        )
    overflowed = [k for k in ("mse", "rmse", "mae") if k in metrics and math.isinf(metrics[k])]
    if overflowed:
        notes.append(
            f"{', '.join(overflowed)} overflowed (beyond 1.8e308): the target's values or "
            "the errors are too large to square; rescale the target (divide it by a power "
            "of ten)"
        )
    return notes


def classification_metrics(labels, predicted_labels, classes=None) -> dict:
    """Accuracy and the confusion matrix (rows: true class, columns: predicted), in the
    order of ``classes`` (default: the labels that occur, sorted)."""
    from sklearn.metrics import accuracy_score, confusion_matrix

    labels = np.asarray(labels).reshape(-1)
    predicted_labels = np.asarray(predicted_labels).reshape(-1)
    if classes is None:
        classes = np.union1d(labels, predicted_labels).tolist()
    with quiet_warnings():
        return {
            "accuracy": float(accuracy_score(labels, predicted_labels)),
            "labels": list(classes),
            "confusion_matrix": confusion_matrix(
                labels, predicted_labels, labels=classes
            ).tolist(),
        }
