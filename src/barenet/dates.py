"""Date and time columns: detection, the encoding learned from the training rows, and
the same encoding as ONNX nodes.

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

The calendar arithmetic (civil date from a day number, after Howard Hinnant's
``civil_from_days``) is written once, over an "ops" object: NumPy's for ``encode``, and
one that emits ONNX nodes for ``onnx_export``, so the two compute the same operations.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from barenet._checks import data_row
from barenet.errors import DataError

DATETIME = "datetime"  # the format of a column with a datetime dtype
ISO8601 = "ISO8601"
PARTS = ("year", "month", "day", "weekday", "dayofyear", "hour")
PERIODS = {"month": 12.0, "day": 31.0, "weekday": 7.0, "dayofyear": 365.25, "hour": 24.0}
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
SECONDS_PER_DAY = 86400.0


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
        stamps = pd.to_datetime(column, utc=True)
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
    epoch = pd.Timestamp(0, tz="UTC")
    return ((stamps - epoch) / pd.Timedelta(seconds=1)).to_numpy(np.float64, na_value=np.nan)


def _parse(text, fmt: str):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(text, format=fmt, utc=True, errors="coerce")


class NumpyOps:
    """The calendar's arithmetic on float64 NumPy arrays."""

    add, sub, mul, div = np.add, np.subtract, np.multiply, np.divide
    floor, sin, cos = np.floor, np.sin, np.cos

    @staticmethod
    def at_least(a, b):
        """1.0 where ``a >= b``, else 0.0."""
        return np.greater_equal(a, b).astype(np.float64)


def _floordiv(ops, a, b):
    return ops.floor(ops.div(a, b))


def calendar(ops, seconds) -> dict:
    """The parts of ``seconds`` (since 1970-01-01 UTC, no NaN): year, month (1-12), day
    of the month (1-31), weekday (Monday 0), day of the year (from 0) and hour (time of
    day in hours), and the day number (days since 1970-01-01), as values of ``ops``."""
    days = _floordiv(ops, seconds, SECONDS_PER_DAY)
    shifted = ops.add(days, 719468.0)  # days since 0000-03-01: years start in March
    era = _floordiv(ops, shifted, 146097.0)  # 400-year eras
    day_of_era = ops.sub(shifted, ops.mul(era, 146097.0))
    leap_days = ops.add(
        ops.sub(_floordiv(ops, day_of_era, 1460.0), _floordiv(ops, day_of_era, 36524.0)),
        _floordiv(ops, day_of_era, 146096.0),
    )
    year_of_era = _floordiv(ops, ops.sub(day_of_era, leap_days), 365.0)
    year_start = ops.add(
        ops.mul(year_of_era, 365.0),
        ops.sub(_floordiv(ops, year_of_era, 4.0), _floordiv(ops, year_of_era, 100.0)),
    )
    day_of_march_year = ops.sub(day_of_era, year_start)  # 0 is March 1st
    month_from_march = _floordiv(ops, ops.add(ops.mul(day_of_march_year, 5.0), 2.0), 153.0)
    month_start = _floordiv(ops, ops.add(ops.mul(month_from_march, 153.0), 2.0), 5.0)
    day = ops.add(ops.sub(day_of_march_year, month_start), 1.0)
    month = ops.sub(
        ops.add(month_from_march, 3.0), ops.mul(ops.at_least(month_from_march, 10.0), 12.0)
    )
    year = ops.add(
        ops.add(year_of_era, ops.mul(era, 400.0)), ops.at_least(2.0, month)
    )  # January and February belong to the next civil year
    january_first = ops.add(
        ops.mul(ops.sub(year, 1970.0), 365.0),
        ops.add(
            ops.sub(
                _floordiv(ops, ops.sub(year, 1969.0), 4.0),
                _floordiv(ops, ops.sub(year, 1901.0), 100.0),
            ),
            _floordiv(ops, ops.sub(year, 1601.0), 400.0),
        ),
    )
    weekday_shift = ops.add(days, 3.0)  # 1970-01-01 was a Thursday
    return {
        "days": days,
        "year": year,
        "month": month,
        "day": day,
        "weekday": ops.sub(weekday_shift, ops.mul(_floordiv(ops, weekday_shift, 7.0), 7.0)),
        "dayofyear": ops.sub(days, january_first),
        "hour": ops.div(ops.sub(seconds, ops.mul(days, SECONDS_PER_DAY)), 3600.0),
    }


def features(ops, seconds, spec: dict) -> list:
    """The date features of ``spec`` (see ``feature_names``) from imputed seconds."""
    parts = calendar(ops, seconds)
    values = []
    for part in spec["parts"]:
        if part == "year":
            values.append(parts["year"])
            continue
        start = 0.0 if part in ("weekday", "dayofyear", "hour") else 1.0
        angle = ops.mul(ops.sub(parts[part], start), 2 * np.pi / PERIODS[part])
        values += [ops.sin(angle), ops.cos(angle)]
    values.append(ops.div(ops.sub(seconds, spec["origin"]), SECONDS_PER_DAY))
    return values


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

    stamp = pd.Timestamp(seconds, unit="s")
    return stamp.strftime("%Y-%m-%d" if seconds % SECONDS_PER_DAY == 0 else "%Y-%m-%d %H:%M:%S")


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


class OnnxOps:
    """The calendar's arithmetic as ONNX nodes on DOUBLE values: ``node(op, inputs,
    **attributes)`` adds a node and returns its output's name, ``constant(name, array,
    dtype)`` an initializer's name (as in ``onnx_export.to_onnx``)."""

    def __init__(self, node, constant, prefix: str, double_type: int):
        self.node, self.constant, self.prefix, self.double = node, constant, prefix, double_type
        self.constants = {}

    def value(self, x) -> str:
        if isinstance(x, str):
            return x
        if x not in self.constants:
            name = f"{self.prefix}/c{len(self.constants)}"
            self.constants[x] = self.constant(name, [[x]], np.float64)
        return self.constants[x]

    def _binary(self, op, a, b):
        return self.node(op, [self.value(a), self.value(b)])

    def add(self, a, b):
        return self._binary("Add", a, b)

    def sub(self, a, b):
        return self._binary("Sub", a, b)

    def mul(self, a, b):
        return self._binary("Mul", a, b)

    def div(self, a, b):
        return self._binary("Div", a, b)

    def floor(self, a):
        return self.node("Floor", [a])

    def sin(self, a):
        return self.node("Sin", [a])

    def cos(self, a):
        return self.node("Cos", [a])

    def at_least(self, a, b):
        return self.node("Cast", [self._binary("GreaterOrEqual", a, b)], to=self.double)


def onnx_date_features(spec: dict, seconds: str, node, constant, double_type: int) -> list:
    """The names of DOUBLE values (N, 1) holding the features of a date column, from the
    graph input ``seconds`` (seconds since 1970-01-01 UTC, NaN where missing)."""
    ops = OnnxOps(node, constant, f"{spec['name']}/date", double_type)
    missing = node("IsNaN", [seconds])
    imputed = node("Where", [missing, ops.value(spec["median"]), seconds])
    values = features(ops, imputed, spec)
    if spec["indicator"]:
        values.append(node("Cast", [missing], to=double_type))
    return values
