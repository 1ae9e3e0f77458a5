"""What the estimators do to ``X`` before the network sees it: the command line's
preprocessing, learned on the rows ``fit`` is given.

A pandas DataFrame (or a pyarrow Table, read as one) goes through the same column
encoding as ``barenet train --data``: ``barenet.tables.columns.fit_columns`` and
``encode`` (text and ``category`` columns one-hot with an "other" level, free text as
word indicators, true/false as 1/0, dates as calendar features, blanks median-imputed
with a missing indicator, text identifiers and constant columns dropped, each named in a
``UserWarning``; a numeric column numbering the rows is kept, as a cross-validation
fold, whose rows do not number 0..n-1, keeps it). An array is taken as numbers, as
scikit-learn's estimators take it (no blanks). Either way every feature is then
standardised on the training rows (``barenet.tables.standardize.fit_scaler``), as the
command line does, and the whole is a ``barenet.tables.preprocessing.Preprocessing``,
the record stored in model files and exported to ONNX. What it does to the rows an
estimator predicts (blanks imputed, unseen categories, values and dates clipped) is
said in one ``barenet.errors.DataWarning`` per call (``warn_notes``), as ``barenet
predict`` notes it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

from barenet.errors import DataError, DataWarning
from barenet.tables.columns import encode, encoded_names, fit_columns
from barenet.tables.preprocessing import Preprocessing, fit_ranges, predict_notice
from barenet.tables.reading import check_exact_integers
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

    A table's columns left out (constant, all blank, text identifiers: as ``barenet
    train``) are named in ``preprocessing.extra["dropped"]`` and in a ``UserWarning``;
    a numeric column numbering the rows is kept (``barenet train`` leaves it out), so
    that ``fit`` on all rows and on a cross-validation fold decide alike. Sets
    ``estimator.n_features_in_`` (and ``feature_names_in_`` for a table with string
    column names), as scikit-learn's ``validate_data`` does.

    Raises
    ------
    DataError
        A table with no rows or no usable column, duplicate column names, a complex
        column, list cells, integers too large for float64, or a value that is not
        what its column holds.
    """
    X = as_table(X)
    check_values(X, where)
    if is_table(X):
        validate_data(estimator, X, skip_check_array=True)  # names and n_features_in_
        specs, dropped = fit_columns(X, row_ids=False)
        if not specs:
            raise DataError(f"{where}: no usable feature column ({', '.join(dropped)})")
        if dropped:
            warnings.warn(f"{where}: left out: {'; '.join(dropped)}", UserWarning, stacklevel=4)
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


def inputs(estimator, X, prep: Preprocessing, tally: dict | None = None) -> np.ndarray:
    """The network's inputs (n, n_encoded) for rows ``X`` of a fitted estimator: the
    same column checks as scikit-learn's (names and count), then ``prep``. ``tally``
    (a dict) receives what ``prep`` did to a table's cells (see ``warn_notes``)."""
    X = as_table(X)
    check_values(X, "X")
    if prep.columns is not None:
        validate_data(estimator, X, reset=False, skip_check_array=True)
        if is_table(X):
            x = prep.clip(encode(X, prep.columns, tally), tally)
            return _standardised(x, prep.scaler_x)
        x = validate_data(estimator, X, reset=False, dtype=None, ensure_all_finite=False)
        return prep.transform(x, tally)
    x = validate_data(estimator, X, reset=False, dtype=FLOATS)
    return _standardised(x, prep.scaler_x)


def warn_notes(tally: dict, where: str = "X") -> None:
    """One ``DataWarning`` saying what ``inputs`` did to the rows, as ``barenet
    predict``'s note does (blank cells imputed, unseen categories, values and dates
    clipped to the training range); none when it did nothing."""
    notice = predict_notice(tally)
    if notice:
        warnings.warn(f"{where}: {notice}", DataWarning, stacklevel=_callers_level())


def _callers_level() -> int:
    """The ``stacklevel`` of the first frame outside barenet and scikit-learn (the
    user's line, whether it called ``predict`` or scikit-learn's ``score``, which calls
    ``predict``), counted from the function that calls this one."""
    import os
    import sys

    import sklearn

    import barenet

    inside = tuple(os.path.dirname(m.__file__) + os.sep for m in (barenet, sklearn))
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


def _standardised(x: np.ndarray, scaler) -> np.ndarray:
    """``x`` standardised by ``scaler``, in float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # huge values: checked downstream
        return (np.asarray(x, dtype=np.float64) - scaler.mean_) / scaler.scale_


def _names(estimator, width: int) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [f"x{i}" for i in range(width)]


def check_values(X, where: str = "X") -> None:
    """A ``DataError`` for what NumPy or pandas would take silently or with a foreign
    error: a table with no rows, duplicate column names, a complex column or cells
    holding lists; integers beyond 2**53 that float64 would merge (in a table or an
    integer array). Anything else is left to scikit-learn's checks."""
    if is_table(X):
        if len(X) == 0:
            raise DataError(f"{where} has 0 rows: give at least one row")
        twice = X.columns[X.columns.duplicated()]
        if len(twice):
            raise DataError(
                f"{where}: column {twice[0]!r} appears more than once: give each column "
                "its own name (or drop the copies)"
            )
        for name in X.columns:
            _check_column(X[name], name, where)
    elif isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "iu":
        for i in range(X.shape[1]):
            _check_column(pd.Series(X[:, i]), f"x{i}", where)


def _check_column(column, name, where: str) -> None:
    kind = column.dtype.kind
    if kind == "c":
        raise DataError(
            f"{where}: column {name!r} holds complex numbers, which barenet does not take: "
            "give its real and imaginary parts (or magnitude and angle) as two columns"
        )
    if kind in "iu":
        try:
            check_exact_integers(column, name, column.to_numpy(np.float64, na_value=np.nan), where)
        except DataError as error:  # the command line's check, with an estimator's fix
            found = str(error).split(": if it is an identifier")[0]
            raise DataError(
                f"{found}: if it is an identifier, leave it out of {where}; if it is a "
                "quantity, subtract an offset or change its unit"
            ) from None
    elif kind == "O" and pd.api.types.infer_dtype(column, skipna=True).startswith("mixed"):
        cell = next(
            (v for v in column if isinstance(v, (list, tuple, dict, set, np.ndarray))), None
        )
        if cell is not None:
            raise DataError(
                f"{where}: column {name!r} holds a {type(cell).__name__} in a cell "
                f"({cell!r:.40}): each cell must be one number, text or date; spread "
                "the items over columns of their own"
            )
