"""The pandas backend of the table encoder (``barenet.tables.encoder``): the columns of a
DataFrame in their canonical form, with the file route's checks (a value that is not a
number, not true or false, or not a date is a ``DataError`` naming its column and data
row)."""

from __future__ import annotations

import numpy as np

from barenet._checks import data_row as _row
from barenet.errors import DataError
from barenet.tables.dates import to_seconds
from barenet.tables.encoder import Texts

_TRUE = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}


class FrameColumns:
    """The columns of a pandas DataFrame, as ``barenet.tables.encoder.Encoder`` reads them.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns are found by name (any order; others ignored).
    """

    def __init__(self, frame) -> None:
        self.frame = frame
        self.rows = len(frame)

    def _column(self, name: str):
        if name not in self.frame.columns:
            raise DataError(f"the data has no column {name!r}")
        return self.frame[name]

    def numbers(self, name: str, kind: str) -> np.ndarray:
        """float64 (n,), NaN where missing: numbers, or true/false as 1/0 (``kind``
        "bool")."""
        read = as_bools if kind == "bool" else as_numbers
        return read(self._column(name), name)

    def texts(self, name: str) -> Texts:
        """The column's distinct values (as text; None for a missing cell) and codes."""
        import pandas as pd

        raw = self._column(name).to_numpy(dtype=object)
        present = ~pd.isna(raw)
        keys = np.full(len(raw), None, dtype=object)
        keys[present] = [str(v) for v in raw[present]]
        codes, uniques = pd.factorize(keys, use_na_sentinel=True)
        codes = np.where(codes < 0, len(uniques), codes)
        return Texts(np.append(np.asarray(uniques, dtype=object), None), codes)

    def seconds(self, name: str, spec: dict) -> np.ndarray:
        """Seconds since 1970-01-01 UTC (n,), NaN where missing (``dates.to_seconds``)."""
        blank = spec.get("blank_values", ())
        return to_seconds(self._column(name), spec["format"], name, blank)


def as_numbers(column, name: str):
    """float64 values of a column (NaN where missing); a value that is not a number is a
    ``DataError`` naming the column and its 1-based data row."""
    import pandas as pd

    if column.dtype == bool:
        return column.to_numpy(np.float64)
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = np.flatnonzero(np.isnan(numbers) & column.notna().to_numpy())
    if len(bad):
        value = column.iloc[bad[0]]
        overflow = _overflowing(value)
        if overflow is not None:  # older pandas reads '1e400' as not a number, not inf
            from barenet.tables.reading import describe_bad_number

            raise DataError(describe_bad_number(name, _row(column, bad[0]) - 1, overflow, value))
        raise DataError(
            f"column {name!r}, data row {_row(column, bad[0])}: {value!r} is not a number "
            "(a missing value must be an empty cell)"
        )
    from barenet.tables.reading import MAX_ABS_VALUE, describe_bad_number

    huge = np.flatnonzero(np.abs(np.nan_to_num(numbers, posinf=np.inf)) > MAX_ABS_VALUE)
    if len(huge):  # inf, or a number whose square overflows: it cannot be scaled
        position = huge[0]
        raise DataError(
            describe_bad_number(
                name, _row(column, position) - 1, numbers[position], column.iloc[position]
            )
        )
    return numbers


def _overflowing(value) -> float | None:
    """``inf`` (signed) when ``value`` is text of a number too large for float64
    (``'1e400'``), else None."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if np.isinf(number) else None


def as_bools(column, name: str):
    """float64 values (n,) of a true/false column: 1, 0, NaN where missing; text
    true/false/yes/no and 1/0 are read too; anything else is a ``DataError``."""
    if column.dtype == bool:
        return column.to_numpy(np.float64)
    if str(column.dtype) == "boolean":  # pandas' nullable true/false
        return column.to_numpy(np.float64, na_value=np.nan)
    values = np.full(len(column), np.nan)
    for i, value in enumerate(column):
        if is_missing(value):
            continue
        key = str(value).strip().lower() if not isinstance(value, (bool, np.bool_)) else value
        if isinstance(key, (bool, np.bool_)):
            values[i] = float(key)
        elif key in _TRUE or key in ("1", "0", "1.0", "0.0"):
            values[i] = _TRUE.get(key, float(key) if key[0] in "01" else np.nan)
        else:
            raise DataError(
                f"column {name!r}, data row {_row(column, i)}: {value!r} is not true or false"
            )
    return values


def is_missing(value) -> bool:
    """None, NaN, or pandas' NA (nullable columns, common in Parquet files)."""
    import pandas as pd

    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))
