"""Metrics reported by the command line, computed with scikit-learn's own functions."""

from __future__ import annotations

import math

import numpy as np


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MSE, RMSE, MAE and R^2 of predictions, in the units given.

    y_true, y_pred : arrays of shape (n,) or (n, k), the same shape after flattening (n,1).
    """
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    mse = float(mean_squared_error(y_true, y_pred))
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)),
    }


def classification_metrics(labels, predicted_labels, classes=None) -> dict:
    """Accuracy and the confusion matrix (rows: true class, columns: predicted), in the
    order of ``classes`` (default: the labels that occur, sorted)."""
    from sklearn.metrics import accuracy_score, confusion_matrix

    labels = np.asarray(labels).reshape(-1)
    predicted_labels = np.asarray(predicted_labels).reshape(-1)
    if classes is None:
        classes = np.union1d(labels, predicted_labels).tolist()
    return {
        "accuracy": float(accuracy_score(labels, predicted_labels)),
        "labels": list(classes),
        "confusion_matrix": confusion_matrix(labels, predicted_labels, labels=classes).tolist(),
    }
