"""Finite in, finite out: the checks where numbers enter a model and where answers
leave it.

- ``fit_scaler`` standardises in float64 without overflowing (a target around 1e200
  has a representable mean and scale), and refuses a scale it cannot represent;
- ``check_inputs`` refuses scaled features beyond what the model's dtype holds (a
  value far outside the training range), naming the column and the row;
- ``check_outputs`` refuses non-finite outputs or answers, naming the rows: a
  prediction is never a blank cell or a label chosen from NaN.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import DataError


def fit_scaler(x: np.ndarray, names, what: str = "the data"):
    """A scikit-learn ``StandardScaler`` of ``x`` (n, k): scikit-learn's fit, or where
    that overflows (values around 1e200), the mean and standard deviation computed in
    float64 on values divided by each column's largest magnitude (so squares never
    overflow). A zero deviation scales by 1, as scikit-learn does.

    Raises
    ------
    DataError
        If a mean or scale is not a finite float64 (naming the column).
    """
    import warnings

    from sklearn.preprocessing import StandardScaler

    x = np.asarray(x, dtype=np.float64)
    if len(x) and np.abs(x).max() < 1e150:  # scikit-learn's own fit: squares fit float64
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            scaler = StandardScaler().fit(x)
        if np.isfinite(scaler.mean_).all() and np.isfinite(scaler.scale_).all():
            return scaler
    with np.errstate(over="ignore", invalid="ignore"):
        size = np.max(np.abs(x), axis=0) if len(x) else np.ones(x.shape[1])
        size = np.where((size > 0) & np.isfinite(size), size, 1.0)
        unit = x / size
        mean = unit.mean(axis=0) * size
        std = unit.std(axis=0) * size
    bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if len(bad):
        raise DataError(
            f"{what}: column {list(names)[bad[0]]!r} cannot be standardised in float64 "
            f"(mean {mean[bad[0]]:g}, standard deviation {std[bad[0]]:g}); its values are "
            "not finite or too large"
        )
    scaler = StandardScaler()  # fitted by hand, as scikit-learn's own fit would set it
    scaler.mean_, scaler.scale_ = mean, np.where(std > 0, std, 1.0)
    with np.errstate(over="ignore"):  # var_ (unused by transform) may overflow: inf
        scaler.var_ = std**2
    scaler.n_features_in_, scaler.n_samples_seen_ = x.shape[1], len(x)
    return scaler


def row_numbers(x_raw, n: int) -> np.ndarray:
    """1-based data row numbers of ``n`` rows: from a DataFrame's integer index (a table
    as read counts from 0), else by position."""
    index = getattr(x_raw, "index", None)
    if index is not None and len(index) == n and index.dtype.kind in "iu":
        return np.asarray(index, dtype=np.int64) + 1
    return np.arange(1, n + 1)


def _rows_text(rows: np.ndarray, n: int) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
    return f"data row{'s' if len(rows) > 1 else ''} {shown} ({len(rows)} of {n})"


def check_inputs(x: np.ndarray, names, dtype, rows: np.ndarray) -> None:
    """A ``DataError`` for a scaled feature (n, k) beyond the range of ``dtype`` (or not
    finite), naming the feature and the row: the value is too far outside the
    training rows' range for the model to compute with."""
    limit = np.finfo(dtype).max
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(x) <= limit)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"feature {list(names)[col]!r}, data row {int(rows[row])}: the value is "
            f"{x[row, col]:.3g} standard deviations from the training mean, beyond what the "
            f"model's {np.dtype(dtype)} can hold; it is far outside the training data's range"
        )


def check_outputs(values, rows: np.ndarray, what: str = "predictions") -> np.ndarray:
    """``values`` (n, ...) unchanged if every one is finite; else a ``DataError`` naming
    the rows whose ``what`` are NaN or infinite."""
    values = np.asarray(values)
    if values.dtype.kind not in "fc":
        return values
    finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if not finite.all():
        bad = np.asarray(rows)[~finite]
        raise DataError(
            f"the model's {what} for {_rows_text(bad, len(values))} are not finite numbers "
            "(NaN or infinity): inputs far outside the training data's range, or damaged "
            "weights. Nothing was written"
        )
    return values
