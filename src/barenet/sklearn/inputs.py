"""What the estimators do to ``X`` before the network sees it: the command line's
preprocessing, learned on the rows ``fit`` is given.

A pandas DataFrame (or a pyarrow Table, read as one) goes through the same column
encoding as ``barenet train --data``: ``barenet.tables.columns.fit_columns`` and
``encode`` (text and ``category`` columns one-hot with an "other" level, true/false as
1/0, dates as calendar features, blanks median-imputed with a missing indicator,
identifiers and constant columns dropped). An array is taken as numbers, as
scikit-learn's estimators take it (no blanks). Either way every feature is then
standardised on the training rows (``barenet.tables.standardize.fit_scaler``), as the
command line does, and the whole is a ``barenet.tables.preprocessing.Preprocessing``,
the record stored in model files and exported to ONNX.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data

from barenet.errors import DataError
from barenet.tables.columns import encode, encoded_names, fit_columns
from barenet.tables.preprocessing import Preprocessing, fit_ranges
from barenet.tables.standardize import fit_scaler

FLOATS = [np.float64, np.float32]


def as_table(X):
    """``X`` as a pandas DataFrame if it is a table (a DataFrame, or a pyarrow Table or
    RecordBatch, converted); anything else unchanged."""
    if type(X).__name__ in ("Table", "RecordBatch") and hasattr(X, "to_pandas"):
        return X.to_pandas()
    return X


def is_table(X) -> bool:
    """Whether ``X`` is a pandas DataFrame (after ``as_table``)."""
    return type(X).__name__ == "DataFrame" and hasattr(X, "columns")


def fit_inputs(estimator, X, *, where: str = "X") -> tuple[np.ndarray, Preprocessing]:
    """``(x, preprocessing)``: the network's inputs (n, n_encoded), standardised, and
    the ``Preprocessing`` learned from these rows.

    A table's columns left out (constant, all blank, identifiers: as ``barenet train``)
    are named in ``preprocessing.extra["dropped"]``. Sets ``estimator.n_features_in_``
    (and ``feature_names_in_`` for a table with string column names), as
    scikit-learn's ``validate_data`` does.

    Raises
    ------
    DataError
        A table with no usable column, or a value that is not what its column holds.
    """
    X = as_table(X)
    if is_table(X):
        validate_data(estimator, X, skip_check_array=True)  # names and n_features_in_
        specs, dropped = fit_columns(X)
        if not specs:
            raise DataError(f"{where}: no usable feature column ({', '.join(dropped)})")
        x = encode(X, specs)
        names, encoded = [str(name) for name in X.columns], encoded_names(specs)
    else:
        x = validate_data(estimator, X, dtype=FLOATS)
        specs, names = None, _names(estimator, x.shape[1])
        encoded = names
    scaler = fit_scaler(x, encoded, where)
    prep = Preprocessing(names, scaler_x=scaler, columns=specs)
    if specs is not None:
        prep.extra["dropped"] = dropped  # why each left-out column was left out
        prep.ranges = fit_ranges(x, specs)  # new rows are clipped to them
    return _standardised(x, scaler), prep


def inputs(estimator, X, prep: Preprocessing) -> np.ndarray:
    """The network's inputs (n, n_encoded) for rows ``X`` of a fitted estimator: the
    same column checks as scikit-learn's (names and count), then ``prep``."""
    X = as_table(X)
    if prep.columns is not None:
        validate_data(estimator, X, reset=False, skip_check_array=True)
        if is_table(X):
            return _standardised(prep.clip(encode(X, prep.columns)), prep.scaler_x)
        x = validate_data(estimator, X, reset=False, dtype=None, ensure_all_finite=False)
        return prep.transform(x)
    x = validate_data(estimator, X, reset=False, dtype=FLOATS)
    return _standardised(x, prep.scaler_x)


def _standardised(x: np.ndarray, scaler) -> np.ndarray:
    """``x`` standardised by ``scaler``, in float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # huge values: checked downstream
        return (np.asarray(x, dtype=np.float64) - scaler.mean_) / scaler.scale_


def _names(estimator, width: int) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [f"x{i}" for i in range(width)]
