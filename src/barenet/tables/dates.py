"""Date and time columns: detection, parsing, and the encoding learned from the
training rows.

A column is a date column when it has a datetime dtype (tz-aware ones and Parquet
timestamps included), or when every value present is text that parses as a date with
one format: ISO 8601 (``2010-01-31``, ``2010-01-31T06:30:00Z``, ``2010-01``), or a
format pandas infers from the first value and that then reads every value
(``31/01/2010``, ``Jan 31, 2010``), with a 4-digit year, a month and a day. A column of
plain numbers, text labels, identifiers, or of dates written in several formats, is not.

Times are taken in UTC: a time with an offset or a time zone is converted to UTC, one
without is read as UTC. The learned specification is plain JSON (``tables`` keeps it in
its column specs, stored in model files)::

    {"name", "kind": "date", "format", "origin", "origin_text", "median", "indicator",
     "parts"}

``format`` is how the training rows were written (``"ISO8601"``, a strftime format, or
``"datetime"`` for a datetime dtype); ``origin`` and ``median`` are the earliest and
the median training date in seconds since 1970-01-01 UTC. The features are, in order:

- ``year``, ``month``, ``day`` (of the month), ``weekday``, ``dayofyear`` and ``hour``
  (time of day in hours), each only if it varies in the training rows; weekday and day
  of year only if the day of the month varies (for first-of-the-month or
  first-of-the-year dates they are calendar artefacts); all but the year as sin/cos of
  their angle over the period (12 months, 31 days, 7 weekdays, 365.25 days, 24 hours);
- the days since ``origin`` (fractional), which carries the order of the dates: a column
  of years written as dates (``1970-01-01``, ``1971-01-01``) becomes year and days, never
  text levels;
- a missing date is the training median; ``indicator`` adds a 0/1 "was missing"
  feature when the training rows had missing dates.

The calendar arithmetic is in ``barenet.tables.calendar``, written once for NumPy and
for ONNX (``onnx_export`` takes a date as seconds since 1970-01-01 UTC).
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from barenet._checks import data_row
from barenet.errors import DataError
from barenet.tables.calendar import SECONDS_PER_DAY, NumpyOps, calendar, features

DATETIME = "datetime"  # the format of a column with a datetime dtype
ISO8601 = "ISO8601"
PARTS = ("year", "month", "day", "weekday", "dayofyear", "hour")
LABELS = {
    "year": "year",
    "month": "month sin/cos",
    "day": "day sin/cos",
    "weekday": "weekday sin/cos",
    "dayofyear": "day of year sin/cos",
    "hour": "hour sin/cos",
}
_ISO = re.compile(
    r"\d{4}-\d{1,2}(-\d{1,2}([T ]\d{1,2}(:\d{2}(:\d{2}([.,]\d+)?)?)?)?)?"
    r"\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)?",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def date_format(column) -> str | None:
    """How ``column`` writes dates (``DATETIME``, ``ISO8601`` or a strftime format), or
    None if it is not a date column (see the module docstring)."""
    if column.dtype.kind == "M":
        return DATETIME
    if column.dtype.kind != "O" or column.notna().sum() == 0:
        return None
    held = _held(column)
    if held in _DATE_OBJECTS:
        return DATETIME  # e.g. Parquet date32 columns, read as datetime.date objects
    if held != "string":
        return None
    text = column.dropna().str.strip()
    formats = _candidates(text.iloc[0])  # from the first value: most columns stop here
    if not formats or text.str.fullmatch(_NUMBER).any():
        return None  # a number among the values: not a date column
    for fmt in formats:
        if (fmt != ISO8601 or text.str.fullmatch(_ISO).all()) and _parses(text, fmt):
            return fmt
    return None


def _candidates(first: str) -> list[str]:
    """The formats a column whose first value is ``first`` may have: ISO 8601, then
    what pandas infers, month first and day first."""
    from pandas.tseries.api import guess_datetime_format

    formats = [ISO8601] if _ISO.fullmatch(first) else []
    for dayfirst in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            guess = guess_datetime_format(first, dayfirst=dayfirst)
        if guess and _full_date(guess) and guess not in formats:
            formats.append(guess)
    return formats


_DATE_OBJECTS = ("date", "datetime", "datetime64")


def _held(column) -> str:
    """What an object column holds, as pandas' ``infer_dtype`` names it ("string",
    "date", "floating", "mixed", ...), missing values aside."""
    from pandas.api.types import infer_dtype

    return infer_dtype(column, skipna=True)


def _full_date(fmt: str) -> bool:
    """A 4-digit year, a month and a day: not a version number or a time alone."""
    return "%Y" in fmt and any(m in fmt for m in ("%m", "%b", "%B")) and "%d" in fmt


def _parses(text, fmt: str) -> bool:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, format=fmt, utc=True, errors="coerce")
    return bool(parsed.notna().all())


def to_seconds(column, fmt: str, name: str) -> np.ndarray:
    """Seconds since 1970-01-01 UTC (n,), float64, NaN where missing. Text is read with
    ``fmt``, else as ISO 8601; a value that is neither is a ``DataError`` naming the
    column and its 1-based data row."""
    import pandas as pd

    present = column.notna().to_numpy()
    if column.dtype.kind == "M" or (
        column.dtype.kind == "O" and present.any() and _held(column) in _DATE_OBJECTS
    ):
        stamps = pd.to_datetime(column, utc=True, errors="coerce")
    else:
        text = pd.Series(None, index=column.index, dtype=object)
        text[present] = column[present].astype(str).str.strip()
        stamps = _parse(text, fmt if fmt != DATETIME else ISO8601)
        retry = stamps.isna().to_numpy() & present
        if retry.any() and fmt not in (DATETIME, ISO8601):
            iso = text[retry].str.fullmatch(_ISO).fillna(False).astype(bool)
            stamps[retry] = _parse(text[retry].where(iso, None), ISO8601)
    bad = np.flatnonzero(stamps.isna().to_numpy() & present)
    if len(bad):
        shown = "ISO 8601" if fmt in (DATETIME, ISO8601) else f"{fmt} or ISO 8601"
        value = column.iloc[bad[0]]
        value = value.item() if isinstance(value, np.generic) else value
        raise DataError(
            f"column {name!r}, data row {data_row(column, bad[0])}: {value!r} "
            f"is not a date ({shown}, as in the training rows)"
        )
    # microseconds since 1970 in int64 hold any date pandas parses (years 1 to 9999)
    micro = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    seconds = micro.astype(np.int64) / 1e6
    return np.where(np.isnat(micro), np.nan, seconds)


def _parse(text, fmt: str):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(text, format=fmt, utc=True, errors="coerce")


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


def fit_date(name: str, column, fmt: str) -> dict:
    """The specification of a date column learned from its training rows."""
    seconds = to_seconds(column, fmt, name)
    missing = np.isnan(seconds)
    present = seconds[~missing]
    parts = calendar(NumpyOps, present)
    varies = {part: bool(np.ptp(parts[part]) > 0) for part in PARTS}
    if not varies["day"]:
        varies["weekday"] = varies["dayofyear"] = False
    origin = float(present.min())
    return {
        "name": name,
        "kind": "date",
        "format": fmt,
        "origin": origin,
        "origin_text": _text(origin),
        "median": float(np.median(present)),
        "indicator": bool(missing.any()),
        "parts": [part for part in PARTS if varies[part]],
    }


def _text(seconds: float) -> str:
    """A date as ISO text, with its time of day unless it is midnight."""
    import pandas as pd

    text = pd.Timestamp(seconds, unit="s").isoformat(sep=" ")  # 0001-01-01 00:00:00
    return text[:10] if seconds % SECONDS_PER_DAY == 0 else text[:19]


def encode_date(column, spec: dict, tally: dict | None = None) -> np.ndarray:
    """The features (n, len(feature_names(spec))) of a date column, float64. ``tally``
    (a dict) receives the number of missing dates under ``"imputed"``."""
    seconds = to_seconds(column, spec["format"], spec["name"])
    missing = np.isnan(seconds)
    if tally is not None:
        tally["imputed"] = int(missing.sum())
    values = features(NumpyOps, np.where(missing, spec["median"], seconds), spec)
    if spec["indicator"]:
        values.append(missing.astype(np.float64))
    return np.column_stack(values)


def describe_date(spec: dict) -> str:
    """What a date column became, e.g. ``day (year, month sin/cos, days since
    2010-01-01)``."""
    parts = [LABELS[part] for part in spec["parts"]]
    return f"{spec['name']} ({', '.join([*parts, 'days since ' + spec['origin_text']])})"
