"""Date and time columns: detection, parsing, and the encoding learned from the
training rows.

A column is a date column when it has a datetime dtype (tz-aware ones and Parquet
timestamps included), or when every value present is text that parses as a date with
one format (all but a few odd values): ISO 8601 (``2010-01-31``,
``2010-01-31T06:30:00Z``, ``2010-01``), or a format pandas infers from the first values
and that then reads every value (``31/01/2010``, ``Jan 31, 2010``), with a 4-digit year,
a month and a day. A column of plain numbers, text labels, identifiers, or of dates
written in several formats, is not.

Times are taken in UTC: a time with an offset or a time zone is converted to UTC, one
without is read as UTC. The learned specification is plain JSON (``tables`` keeps it in
its column specs, stored in model files)::

    {"name", "kind": "date", "format", "origin", "origin_text", "end", "end_text",
     "median", "indicator", "parts", "blank_values"}

``format`` is how the training rows were written (``"ISO8601"``, a strftime format, or
``"datetime"`` for a datetime dtype); ``origin``, ``end`` and ``median`` are the
earliest, the latest and the median training date in seconds since 1970-01-01 UTC;
``blank_values`` are the few odd values of the column read as blank cells (``?``, one
date written differently: see ``barenet.tables.date_text``, and ``settle_odd_dates``
for the notice naming them). Relative words (``now``, ``today``) are never dates. The
features are, in order:

- ``year``, ``month``, ``day`` (of the month), ``weekday``, ``dayofyear`` and ``hour``
  (time of day in hours), each only if it varies in the training rows; weekday and day
  of year only if the day of the month varies (for first-of-the-month or
  first-of-the-year dates they are calendar artefacts); all but the year as sin/cos of
  their angle over the period (12 months, 31 days, 7 weekdays, 365.25 days, 24 hours);
- the days since ``origin`` (fractional), which carries the order of the dates: a column
  of years written as dates (``1970-01-01``, ``1971-01-01``) becomes year and days, never
  text levels;
- a date outside the training range keeps its periodic parts, but its year and days
  are clipped to the range (``encode_date`` counts such dates for ``predict``'s notice),
  so year 9999 is read as the last training date's year, never extrapolated;
- a missing date is the training median; ``indicator`` adds a 0/1 "was missing"
  feature when the training rows had missing dates.

The calendar arithmetic is in ``barenet.tables.calendar``, written once for NumPy and
for ONNX (``onnx_export`` takes a date as seconds since 1970-01-01 UTC).
"""

from __future__ import annotations

import re

import numpy as np

from barenet._checks import data_row
from barenet.errors import DataError
from barenet.tables.calendar import SECONDS_PER_DAY, NumpyOps, calendar, features
from barenet.tables.date_text import (
    DATETIME,
    ISO,
    ISO8601,
    best_format,
    datetime_seconds,
    find_format,
    not_a_date,
    odd_notice,
    parse,
    tolerated,
)

PARTS = ("year", "month", "day", "weekday", "dayofyear", "hour")
LABELS = {
    "year": "year",
    "month": "month sin/cos",
    "day": "day sin/cos",
    "weekday": "weekday sin/cos",
    "dayofyear": "day of year sin/cos",
    "hour": "hour sin/cos",
}
_DATE_OBJECTS = ("date", "datetime", "datetime64")
# an ISO date and time with a word after it: a time zone written in a way not read
_ZONE_WORD = re.compile(
    r"\s*\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}(:\d{2}){0,2}([.,]\d+)?\s*[A-Za-z][\w/+-]*\s*"
)


def date_format(column) -> str | None:
    """How ``column`` writes dates (``DATETIME``, ``ISO8601`` or a strftime format), or
    None if it is not a date column, or one with odd values (see ``find_date``)."""
    found = find_date(column)
    return found[0] if found is not None and not found[1] else None


def find_date(column) -> tuple[str, list[str]] | None:
    """``(format, odd values)`` of a date column (see the module docstring and
    ``barenet.tables.date_text``): the odd values are the few that are not dates, to be
    read as blank cells; None if ``column`` is not a date column."""
    if column.dtype.kind == "M":
        return DATETIME, []
    if column.dtype.kind != "O" or column.notna().sum() == 0:
        return None
    held = _held(column)
    if held in _DATE_OBJECTS:
        return DATETIME, []  # e.g. Parquet date32 columns, read as datetime.date objects
    if held != "string":
        return None
    return find_format(column.dropna().str.strip())


def mostly_dates(column) -> str | None:
    """Why a text column that is not a date column is almost one: ``"mostly dates, but
    ..."`` naming a few of the values that are not dates and their data rows; None if
    at most half of its values are dates of one format."""
    if column.dtype.kind != "O" or _held(column) != "string":
        return None
    text = column.dropna().str.strip()
    best = best_format(text)
    if best is None:
        return _unread_zones(text)
    fmt, odd = best
    shown = ", ".join(
        f"{text.iloc[i]!r} (data row {data_row(text, i)})" for i in np.flatnonzero(odd)[:3]
    )
    return (
        f"mostly dates ({fmt}), but {int(odd.sum())} values are not, e.g. {shown}: correct "
        "them, or leave those cells empty, to use it as a date column"
    )


def _unread_zones(text) -> str | None:
    """Why a text column of dates and times with a time zone barenet does not read
    (``CET``, ``Mars/Base``) is no date column; None if at most half its first 1000
    values are."""
    text = text.head(1000)
    zoned = np.fromiter((_ZONE_WORD.fullmatch(v) is not None for v in text), bool, len(text))
    if not len(text) or zoned.mean() <= 0.5:
        return None
    first = int(np.flatnonzero(zoned)[0])
    return (
        f"dates with a time zone that is not read, e.g. {text.iloc[first]!r} (data row "
        f"{data_row(text, first)}): write the zone as an offset (+01:00), Z, UTC or an "
        "IANA name (Europe/Paris) to use it as a date column"
    )


def _held(column) -> str:
    """What an object column holds, as pandas' ``infer_dtype`` names it ("string",
    "date", "floating", "mixed", ...), missing values aside."""
    from pandas.api.types import infer_dtype

    return infer_dtype(column, skipna=True)


def to_seconds(column, fmt: str, name: str, blank=()) -> np.ndarray:
    """Seconds since 1970-01-01 UTC (n,), float64, NaN where missing or one of the text
    values ``blank``. Text is read with ``fmt``, else as ISO 8601; a value that is
    neither is a ``DataError`` naming the column and its 1-based data row."""
    import pandas as pd

    present = column.notna().to_numpy()
    if column.dtype.kind == "M" or (
        column.dtype.kind == "O" and present.any() and _held(column) in _DATE_OBJECTS
    ):
        seconds = datetime_seconds(column)
    else:
        text = pd.Series(None, index=column.index, dtype=object)
        text[present] = column[present].astype(str).str.strip()
        if len(blank):
            present = present & ~text.isin(list(blank)).to_numpy()
            text[~present] = None
        seconds = _read_text(text, fmt)
    bad = np.flatnonzero(np.isnan(seconds) & present)
    if len(bad):
        raise DataError(not_a_date(name, column, bad[0], fmt))
    return seconds


def _read_text(text, fmt: str) -> np.ndarray:
    """Seconds (n,) of a Series of text (str or None) written in ``fmt``, else in ISO
    8601; NaN where missing or neither."""
    seconds = parse(text, fmt if fmt != DATETIME else ISO8601)
    retry = np.isnan(seconds) & text.notna().to_numpy()
    if retry.any() and fmt not in (DATETIME, ISO8601):
        iso = text[retry].str.fullmatch(ISO).fillna(False).astype(bool)
        seconds[retry] = parse(text[retry].where(iso, None), ISO8601)
    return seconds


def feature_names(spec: dict) -> list[str]:
    """The names of a date column's features, in order."""
    name = spec["name"]
    names = []
    for part in spec["parts"]:
        names += (
            [f"{name}_year"] if part == "year" else [f"{name}_{part}_sin", f"{name}_{part}_cos"]
        )
    names.append(f"{name}_days")
    return names + ([f"{name}_missing"] if spec["indicator"] else [])


def fit_date(name: str, column, fmt: str, odd=()) -> dict:
    """The specification of a date column learned from its training rows; ``odd`` lists
    text values to read as blank cells (see ``find_date``)."""
    seconds = to_seconds(column, fmt, name, odd)
    missing = np.isnan(seconds)
    present = seconds[~missing]
    parts = calendar(NumpyOps, present)
    varies = {part: bool(np.ptp(parts[part]) > 0) for part in PARTS}
    if not varies["day"]:
        varies["weekday"] = varies["dayofyear"] = False
    origin, end = float(present.min()), float(present.max())
    return {
        "name": name,
        "kind": "date",
        "format": fmt,
        "origin": origin,
        "origin_text": _text(origin),
        "end": end,
        "end_text": _text(end),
        "median": float(np.median(present)),
        "indicator": bool(missing.any()),
        "parts": [part for part in PARTS if varies[part]],
        "blank_values": list(odd),
    }


def with_range(spec: dict, origin: float, end: float) -> dict:
    """``spec`` with the training range ``origin`` to ``end`` (seconds since 1970-01-01
    UTC): a folder's exact earliest and latest training dates, where its other keys
    were fitted on a sample of the rows."""
    return {
        **spec,
        "origin": float(origin),
        "origin_text": _text(origin),
        "end": float(end),
        "end_text": _text(end),
    }


def _text(seconds: float) -> str:
    """A date as ISO text, with its time of day unless it is midnight."""
    import pandas as pd

    text = pd.Timestamp(seconds, unit="s").isoformat(sep=" ")  # 0001-01-01 00:00:00
    return text[:10] if seconds % SECONDS_PER_DAY == 0 else text[:19]


def encode_date(column, spec: dict, tally: dict | None = None) -> np.ndarray:
    """The features (n, len(feature_names(spec))) of a date column, float64 (see
    ``date_features``)."""
    seconds = to_seconds(column, spec["format"], spec["name"], spec.get("blank_values", ()))
    return np.column_stack(date_features(seconds, spec, tally))


def date_features(seconds: np.ndarray, spec: dict, tally: dict | None = None) -> list:
    """The features of a date column (float64 arrays (n,), in ``feature_names`` order)
    from its seconds since 1970-01-01 UTC (n,), NaN where missing: the training median
    where missing, then the calendar parts (``barenet.tables.calendar.features``), and
    the "was missing" flag if the spec has an indicator. ``tally`` (a dict) receives
    the number of missing dates under ``"imputed"`` and the number of dates outside the
    training range, if any (their year and days are clipped to it), under
    ``"clipped"``."""
    missing = np.isnan(seconds)
    if tally is not None:
        tally["imputed"] = int(missing.sum())
        if "end" in spec:  # model files before 0.3 have no end: no clipping
            with np.errstate(invalid="ignore"):
                outside = (seconds < spec["origin"]) | (seconds > spec["end"])
            if outside.any():
                tally["clipped"] = int(outside.sum())
    values = features(NumpyOps, np.where(missing, spec["median"], seconds), spec)
    if spec["indicator"]:
        values.append(missing.astype(np.float64))
    return values


def settle_odd_dates(specs: list[dict], frame) -> list[str]:
    """Notices for the odd values of the date columns of ``specs`` in ``frame`` (all
    the rows read: training and test), which become blank cells: the training rows'
    odd values, and those of the other rows if they are few (see ``find_date``); more
    stay errors naming their row when the rows are encoded."""
    notices = []
    for spec in specs:
        if spec["kind"] != "date" or spec["format"] == DATETIME:
            continue
        column = frame[spec["name"]]
        text = column[column.notna()].astype(str).str.strip()
        unread = np.isnan(_read_text(text, spec["format"]))
        odd = list(dict.fromkeys(text[unread].tolist()))
        if tolerated(int(unread.sum()), len(text), len(odd)):
            spec["blank_values"] = list(dict.fromkeys(spec.get("blank_values", []) + odd))
        if spec.get("blank_values"):
            dates = len(text) - int(unread.sum())
            notices.append(odd_notice(spec["name"], column, spec["blank_values"], dates))
    return notices


def describe_date(spec: dict) -> str:
    """What a date column became, e.g. ``day (year, month sin/cos, days since
    2010-01-01)``."""
    parts = [LABELS[part] for part in spec["parts"]]
    return f"{spec['name']} ({', '.join([*parts, 'days since ' + spec['origin_text']])})"
