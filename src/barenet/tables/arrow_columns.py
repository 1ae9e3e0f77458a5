"""The Arrow backend of the table encoder (``barenet.tables.encoder``): the columns of an
Arrow table or record batch (a folder's batches) in their canonical form, without a
loop over values where Arrow holds numbers, true/false, text or timestamps.

A column of another type than the one its specification reads (text where numbers are
expected, say) is read by the pandas backend's rules, so it is refused or read exactly
as a file's column would be.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import DataError
from barenet.tables.dates import to_seconds
from barenet.tables.encoder import Texts, canonical_text
from barenet.tables.frame_columns import as_bools, as_numbers


class ArrowColumns:
    """The columns of an Arrow table or record batch, as ``Encoder`` reads them."""

    def __init__(self, batch) -> None:
        self.batch = batch
        self.rows = batch.num_rows

    def _column(self, name: str):
        try:
            return self.batch.column(name)
        except KeyError:
            raise DataError(f"the data has no column {name!r}") from None

    def numbers(self, name: str, kind: str) -> np.ndarray:
        """float64 (n,), NaN where missing: numbers, or true/false as 1/0."""
        import pyarrow.types as t

        column = self._column(name)
        if t.is_integer(column.type) or t.is_floating(column.type) or t.is_boolean(column.type):
            return floats(column)
        read = as_bools if kind == "bool" else as_numbers
        return read(column.to_pandas(), name)

    def texts(self, name: str) -> Texts:
        """The column's distinct values (str; None for a missing cell) and codes."""
        import pyarrow as pa
        import pyarrow.compute as pc

        column = self._column(name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column.cast(pa.string()))
        values = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
        codes = encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
        return Texts(np.append(values, None), codes)

    def seconds(self, name: str, spec: dict) -> np.ndarray:
        """Seconds since 1970-01-01 UTC (n,), NaN where missing: timestamps and dates
        as Arrow holds them, text as ``barenet.tables.dates.to_seconds`` reads it."""
        import pyarrow.types as t

        column = self._column(name)
        if t.is_timestamp(column.type) or t.is_date(column.type):
            return timestamp_seconds(column)
        return text_seconds(column, name, spec)


def floats(array) -> np.ndarray:
    """float64 values of an Arrow number or true/false array, NaN where missing."""
    import pyarrow as pa

    return array.cast(pa.float64()).to_numpy(zero_copy_only=False)


def text_seconds(array, name: str, spec: dict) -> np.ndarray:
    """Seconds since 1970-01-01 UTC (n,) of dates written as text, NaN where missing:
    each distinct text read once (``barenet.tables.dates.to_seconds``: a column of
    daily dates holds few), then spread to its rows. A value that is not a date is a
    ``DataError`` naming its row in ``array``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    encoded = pc.dictionary_encode(array.cast(pa.string()))
    fmt, blank = spec["format"], spec.get("blank_values", ())
    try:
        distinct = to_seconds(encoded.dictionary.to_pandas(), fmt, name, blank)
    except DataError:
        to_seconds(array.to_pandas(), fmt, name, blank)  # the same error, by its row
        raise
    codes = encoded.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
    return np.append(distinct, np.nan)[codes]


def timestamp_seconds(array) -> np.ndarray:
    """Seconds since 1970-01-01 UTC (n,) of an Arrow timestamp or date array, NaN where
    missing: whole microseconds over 1e6, as ``barenet.tables.date_text`` computes them
    for pandas."""
    import pyarrow as pa

    micro = array.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    missing = micro.is_null().to_numpy(zero_copy_only=False)
    seconds = micro.fill_null(0).to_numpy(zero_copy_only=False) / 1e6
    seconds[missing] = np.nan
    return seconds


#: The characters Python's ``str.strip()`` removes (``str.isspace``; a test checks it).
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in SPACES) + "]"
_NOT_CANONICAL = f"^$|^{_SPACE_CLASS}|{_SPACE_CLASS}$"  # RE2, as Arrow reads it


def canonical_list(array) -> list[str]:
    """``barenet.tables.encoder.canonical_text`` of each value of an Arrow string array,
    as a list: Arrow finds the few values that are blank or have spaces around them,
    and only those go through Python."""
    import pyarrow.compute as pc

    odd = pc.match_substring_regex(array, _NOT_CANONICAL).fill_null(True)
    values = array.to_pylist()
    for i in np.flatnonzero(odd.to_numpy(zero_copy_only=False)):
        values[i] = canonical_text(values[i])
    return values
