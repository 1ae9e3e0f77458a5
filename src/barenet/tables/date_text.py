"""Dates written as text: which format a column uses, reading it into seconds since
1970-01-01 UTC, and the few values of a date column that are not dates.

Rules (``barenet.tables.dates`` builds the column specs on them):

- a date is text with a digit; relative words (``now``, ``today``, ``tomorrow``,
  ``yesterday``, ...) are never dates, so a result never depends on the clock;
- ISO 8601 (``2010-01-31``, ``2010-01-31T06:30:00Z``, ``2010-01``) or one format pandas
  infers from the values (``31/01/2010``, ``Jan 31, 2010``), with a 4-digit year, a month
  and a day; a time zone is an offset (``+01:00``), ``Z``, ``UTC`` or ``GMT`` in any case,
  or a name pandas knows (``Europe/Paris``); a zone name it does not know makes that value
  unreadable, never an exception;
- any number of fractional digits of a second (read to the microsecond);
- a column is a date column when all its values are dates of one format, or all but a
  few odd ones (``ODD_VALUES_AT_MOST`` distinct values in at most 1% of the rows, with at
  least ``MIN_DATES`` dates): a single ``?`` or ``2020/01/05`` among ISO dates. Those
  are read as blank cells, and ``odd_notice`` names them.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from barenet._checks import data_row

DATETIME = "datetime"  # the format of a column with a datetime dtype
ISO8601 = "ISO8601"
MIN_DATES = 20  # a column with odd values needs at least this many dates
ODD_VALUES_AT_MOST = 3  # distinct odd values a date column may hold
ISO = re.compile(
    r"\d{4}-\d{1,2}(-\d{1,2}([T ]\d{1,2}(:\d{2}(:\d{2}([.,]\d+)?)?)?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(:?\d{2})?)?",
    re.IGNORECASE,
)
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
RELATIVE = re.compile(
    r"\b(?:now|today|tonight|tomorrow|yesterday|ago|next|last|this)\b", re.IGNORECASE
)
_UTC_SUFFIX = re.compile(r"\s*(?:Z|UTC|GMT)$", re.IGNORECASE)
_NANOSECONDS = re.compile(r"(?<=[.,]\d{6})\d+")  # beyond microseconds: dropped


def candidates(text) -> list[str]:
    """The formats a column of date text (a pandas Series of str) may have: ISO 8601,
    then what pandas infers from its first few distinct values, month first and day
    first."""
    from pandas.tseries.api import guess_datetime_format

    formats = []
    for first in text.drop_duplicates().head(3):
        if ISO.fullmatch(first) and ISO8601 not in formats:
            formats.append(ISO8601)
        for dayfirst in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                guess = guess_datetime_format(first, dayfirst=dayfirst)
            if guess and _full_date(guess) and guess not in formats:
                formats.append(guess)
    return formats


def _full_date(fmt: str) -> bool:
    """A 4-digit year, a month and a day: not a version number or a time alone."""
    return "%Y" in fmt and any(m in fmt for m in ("%m", "%b", "%B")) and "%d" in fmt


def maybe_date(text):
    """True (n,) where a value of ``text`` (a Series of str or None) may be a date: it
    has a digit, is not a plain number and has no relative word."""

    def test(method, pattern):
        return method(pattern).fillna(False).to_numpy(dtype=bool)

    has_digit = test(text.str.contains, r"\d")
    return has_digit & ~test(text.str.fullmatch, NUMBER) & ~test(text.str.contains, RELATIVE)


def find_format(text) -> tuple[str, list[str]] | None:
    """``(format, odd values)`` of a column of text (a Series of str, no missing
    values): the candidate format that reads every value, or all but a few odd ones
    (see the module docstring); None if there is none."""
    best = best_format(text)
    if best is None:
        return None
    fmt, odd = best
    values = list(dict.fromkeys(text[odd].tolist()))
    return (fmt, values) if tolerated(int(odd.sum()), len(text), len(values)) else None


def best_format(text) -> tuple[str, np.ndarray] | None:
    """``(format, odd)``: the candidate format that reads the most values of ``text`` (a
    Series of str, no missing values), and True (n,) where a value is not a date of it;
    None if no format reads at least half of them."""
    maybe = maybe_date(text)
    dates = text[maybe]
    best = None
    for fmt in candidates(dates) if len(dates) else []:
        odd = np.ones(len(text), dtype=bool)
        odd[np.flatnonzero(maybe)[~np.isnan(parse(dates, fmt))]] = False
        if best is None or odd.sum() < best[1].sum():
            best = (fmt, odd)
        if not odd.any():
            break
    return best if best is not None and best[1].mean() <= 0.5 else None


def tolerated(odd_rows: int, rows: int, odd_values: int) -> bool:
    """Whether a column of ``rows`` values with ``odd_rows`` that are not dates (of
    ``odd_values`` distinct values) is still a date column."""
    return (
        odd_rows == 0
        or rows - odd_rows >= MIN_DATES
        and odd_values <= ODD_VALUES_AT_MOST
        and odd_rows <= max(1, rows // 100)
    )


def parse(text, fmt: str) -> np.ndarray:
    """Seconds since 1970-01-01 UTC (n,) of a Series of text (str or None) in ``fmt``
    (for ``ISO8601``, only text ``ISO`` matches), NaN where a value is missing or not a
    date of that format; never raises."""
    import pandas as pd

    text = text.where(pd.Series(maybe_date(text), index=text.index), None)
    text = text.str.replace(_NANOSECONDS, "", regex=True)
    if fmt == ISO8601:  # as ``ISO`` writes it: pandas also reads 2020/01/05 as ISO 8601
        iso = text.str.fullmatch(ISO).fillna(False).astype(bool)
        text = text.where(iso, None).str.replace(_UTC_SUFFIX, "+00:00", regex=True)
    try:
        return _seconds(_to_datetime(text, fmt))
    except Exception:  # an unknown time zone name, a date beyond pandas' range
        seconds = {}
        for value in text.dropna().unique():
            try:
                seconds[value] = _seconds(_to_datetime(pd.Series([value]), fmt))[0]
            except Exception:
                seconds[value] = np.nan
        return np.array(text.map(seconds).to_numpy(dtype=np.float64, na_value=np.nan))


def _to_datetime(text, fmt: str):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(text, format=fmt, utc=True, errors="coerce")


def _seconds(stamps) -> np.ndarray:
    """Seconds since 1970 (n,) of a Series of UTC timestamps, NaN where NaT. Microseconds
    in int64 hold any date pandas parses (years 1 to 9999), whatever its unit."""
    micro = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    return np.where(np.isnat(micro), np.nan, micro.astype(np.int64) / 1e6)


def datetime_seconds(column) -> np.ndarray:
    """Seconds since 1970 (n,) of a column of datetimes (any unit or time zone) or of
    ``datetime.date`` objects, NaN where missing."""
    import pandas as pd

    return _seconds(pd.to_datetime(column, utc=True, errors="coerce"))


def not_a_date(name: str, column, position: int, fmt: str) -> str:
    """The message for a value of a date column that is not a date."""
    value = column.iloc[position]
    value = value.item() if isinstance(value, np.generic) else value
    shown = "ISO 8601" if fmt in (DATETIME, ISO8601) else f"{fmt} or ISO 8601"
    why = f"a date ({shown}, as in the training rows)"
    if isinstance(value, str) and RELATIVE.search(value):
        why += "; a relative word is never read as the clock: write the date itself"
    elif isinstance(value, str) and re.search(r"\d:\d\d.*[A-Za-z]{2,}", value):
        why += "; give a time zone as an offset (+01:00), Z, UTC or a name (Europe/Paris)"
    return f"column {name!r}, data row {data_row(column, position)}: {value!r} is not {why}"


def odd_notice(name: str, column, odd: list[str], dates: int) -> str:
    """The notice for the odd values of a date column (read as blank cells), naming
    each with its first data row."""
    text = column.astype(str).str.strip()
    shown = []
    for value in odd:
        position = int(np.flatnonzero((text == value).to_numpy())[0])
        shown.append(f"{value!r} (data row {data_row(column, position)})")
    one = len(odd) == 1
    return (
        f"column {name!r}: {len(odd)} {'value is not a date' if one else 'values are not dates'}"
        f" like its other {dates} values and {'is' if one else 'are'} read as blank: "
        f"{', '.join(shown)}; write the date there, or leave the cell "
        "empty"
    )
