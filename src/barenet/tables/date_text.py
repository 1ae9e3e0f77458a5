"""Dates written as text: which format a column uses, reading it into seconds since
1970-01-01 UTC, and the few values of a date column that are not dates.

Rules (``barenet.tables.dates`` builds the column specs on them):

- a date is text with a digit; relative words (``now``, ``today``, ``tomorrow``,
  ``yesterday``, ...) are never dates, so a result never depends on the clock;
- ISO 8601 (``2010-01-31``, ``2010-01-31T06:30:00Z``, ``2010-01``) or one format pandas
  infers from the values (``31/01/2010``, ``Jan 31, 2010``), with a 4-digit year, a month
  and a day; a time zone is an offset (``+01:00``), ``Z``, ``UTC`` or ``GMT`` in any case,
  or an IANA name after an ISO date and time (``2021-05-01 10:00 Europe/Paris``, each
  zone read at once); a zone name no zone has, an abbreviation (``CET``), or a local time
  the zone skips or repeats makes that value unreadable, never an exception (the zone is
  looked at before pandas reads the value, so pandas 2 and 3 read the same dates);
- any number of fractional digits of a second (read to the microsecond);
- a column is a date column when all its values are dates of one format, or all but a
  few odd ones (``ODD_VALUES_AT_MOST`` distinct values in at most 1% of the rows, with at
  least ``MIN_DATES`` dates): a single ``?`` or ``2020/01/05`` among ISO dates. Those
  are read as blank cells, and ``odd_notice`` names them.
"""

from __future__ import annotations

import functools
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
    r"\s*(Z|UTC|GMT|[+-]\d{2}(:?\d{2})?|[A-Za-z]+(/[A-Za-z0-9_+-]+)+)?",
    re.IGNORECASE,
)
# an ISO date and time followed by an IANA time-zone name (``Europe/Paris``)
_ZONE_NAME = re.compile(r"(.*\d)\s*([A-Za-z]+(?:/[A-Za-z0-9_+-]+)+)")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_RELATIVE_WORDS = r"\b(?:now|today|tonight|tomorrow|yesterday|ago|next|last|this)\b"
RELATIVE = re.compile(_RELATIVE_WORDS, re.IGNORECASE)
# no digit (``now``, ``today``: the only relative words pandas reads) or a plain number;
# a relative word with a digit (``3 days ago``) is no date pandas reads either
_NOT_A_DATE = re.compile(rf"\D*|\s*{NUMBER.pattern}\s*")
_UTC_SUFFIX = re.compile(r"\s*(?:Z|UTC|GMT)$", re.IGNORECASE)
_RETRY = re.compile(r".*[.,]\d{7}.*|.*(?:Z|UTC|GMT)\s*", re.IGNORECASE | re.DOTALL)
_NANOSECONDS = re.compile(r"(?<=[.,]\d{6})\d+")  # beyond microseconds: dropped
# a word after a time (and after AM or PM, if any) is its time zone
_ZONE_AFTER_TIME = re.compile(
    r"\d:\d\d(?::\d\d)?(?:[.,]\d+)?\s*(?:[AaPp][Mm]\s+)?([A-Za-z][\w/+-]*)\s*$"
)
_WORDS_READ = frozenset({"Z", "UTC", "GMT", "AM", "PM"})  # in any case
# a time with an offset (``Z``, ``+01:00``), for pandas 2 (see ``_to_datetime``)
_OFFSET = re.compile(r".*\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*", re.I)


def candidates(text) -> list[str]:
    """The formats a column of date text (a pandas Series of str) may have: ISO 8601,
    then what pandas infers from its first few distinct values, month first and day
    first."""
    from pandas.tseries.api import guess_datetime_format

    formats = []
    for first in text.head(1000).drop_duplicates().head(3):
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


def maybe_date(text) -> np.ndarray:
    """True (n,) where a value of ``text`` (a Series of str or None) may be a date: it
    has a digit (so is no relative word pandas reads) and is not a plain number."""
    return _matches(_NOT_A_DATE, text, where=False)


def _matches(pattern, text, where: bool = True) -> np.ndarray:
    """True (n,) where a value of ``text`` is a str that ``pattern`` fully matches
    (``where=True``) or does not (``where=False``); False where it is not a str. One
    pass of Python's ``re``, quicker than pandas' ``str`` methods."""
    return np.fromiter(
        (isinstance(v, str) and (pattern.fullmatch(v) is not None) == where for v in text),
        dtype=bool,
        count=len(text),
    )


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
    date of that format; never raises. Values pandas does not read are read again with
    the digits beyond microseconds dropped and, for ISO 8601, ``utc``, ``gmt`` or ``z``
    (any case) as ``+00:00``."""
    import pandas as pd

    # ISO text has digits, is no plain number and no relative word; a time zone is
    # looked at before pandas reads it (pandas 2 reads CET as UTC, europe/paris as a zone)
    keep = _matches(ISO, text) if fmt == ISO8601 else maybe_date(text)
    keep[keep] = zones_read(text[keep])
    text = text.where(pd.Series(keep, index=text.index), None)
    seconds, nano = _read_chunks(text, fmt)
    retry = np.isnan(seconds) & keep
    if retry.any():
        if not nano:  # else pandas read the batch in ns: any date before 1677 is NaT
            retry[retry] = _matches(_RETRY, text[retry])
        again = text[retry].str.replace(_NANOSECONDS, "", regex=True)
        if fmt == ISO8601:
            again = again.str.replace(_UTC_SUFFIX, "+00:00", regex=True)
        seconds[retry] = _read_chunks(again, fmt)[0]
    zoned = np.isnan(seconds) & keep
    if fmt == ISO8601 and zoned.any():
        seconds[zoned] = _read_zone_names(text[zoned])
    return seconds


def zones_read(text) -> np.ndarray:
    """True (n,) where a value of ``text`` (a Series of str) has no time zone after a
    time, or one barenet reads: ``Z``, ``UTC`` or ``GMT`` in any case, or an IANA name
    spelled as in the zone database (``Europe/Paris``); False where it has another
    (``CET``, ``europe/paris``, ``Mars/Olympus``), whatever pandas would make of it."""
    names = _iana_names()
    found = (_ZONE_AFTER_TIME.search(v) if _may_have_zone(v) else None for v in text)
    return np.fromiter(
        (
            m is None or m[1].upper() in _WORDS_READ or ("/" in m[1] and m[1] in names)
            for m in found
        ),
        dtype=bool,
        count=len(text),
    )


def _may_have_zone(value: str) -> bool:
    """Quick: most dates end in a digit, as no zone word does but ``Etc/GMT+1`` and the
    like, or in a letter after a digit (``Z``, a zone word alone)."""
    if value[-2:-1].isdigit():
        return False
    return not value[-1:].isdigit() or "/" in value


@functools.cache
def _iana_names() -> frozenset:
    """The names of the IANA time zones Python's ``zoneinfo`` knows."""
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def _read_zone_names(text) -> np.ndarray:
    """Seconds since 1970 (n,) of ISO text ending in an IANA time-zone name
    (``2021-05-01 10:00 Europe/Paris``): each zone's values read at once as local
    times of that zone; NaN where a value has no name, a name no zone has, or a local
    time the zone skips or repeats (a change of clocks)."""
    import zoneinfo

    import pandas as pd

    parts = text.str.extract(_ZONE_NAME)
    seconds = np.full(len(text), np.nan)
    for zone in set(parts[1].dropna().unique()) & _iana_names():
        here = (parts[1] == zone).to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            local = pd.to_datetime(parts[0][here], format=ISO8601, errors="coerce")
            # a ZoneInfo, not the name: pandas 2 would look a name up in pytz
            where = zoneinfo.ZoneInfo(zone)
            stamps = local.dt.tz_localize(where, ambiguous="NaT", nonexistent="NaT")
        seconds[here] = _seconds(stamps.dt.tz_convert("UTC"))
    return seconds


def _read_chunks(text, fmt: str, chunk: int = 2048) -> tuple[np.ndarray, bool]:
    """``(seconds, nano)``: ``_seconds`` of ``_to_datetime``, and whether pandas read a
    date in nanoseconds (then a date outside 1677 to 2262 in the same batch is NaT).
    Where pandas raises (a time zone name it cannot find) rather than giving NaT: chunk
    by chunk, then value by value in a chunk that raises, so one bad value costs at
    most a chunk's time."""
    try:
        stamps = _to_datetime(text, fmt)
        return _seconds(stamps), stamps.dt.unit == "ns"
    except Exception:
        if len(text) <= 1:
            return np.full(len(text), np.nan), False
        size = chunk if len(text) > chunk else 1
        read = [
            _read_chunks(text.iloc[i : i + size], fmt, chunk) for i in range(0, len(text), size)
        ]
        return np.concatenate([r[0] for r in read]), any(r[1] for r in read)


def _to_datetime(text, fmt: str):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == ISO8601 and int(pd.__version__.split(".")[0]) < 3:
            # pandas 2 reads a time without offset after one with an offset at that
            # offset (an hour off after +01:00): the two kinds are read apart
            offset = _matches(_OFFSET, text)
            if offset.any() and (~offset & text.notna().to_numpy()).any():
                plain, zoned = text.where(~offset, None), text.where(offset, None)
                plain = pd.to_datetime(plain, format=fmt, utc=True, errors="coerce")
                zoned = pd.to_datetime(zoned, format=fmt, utc=True, errors="coerce")
                return plain.where(plain.notna(), zoned)
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
        why += (
            "; give a time zone as an offset (+01:00), Z, UTC or an IANA name "
            "(Europe/Paris); abbreviations such as CET or PST are not read"
        )
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
