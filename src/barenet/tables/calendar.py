"""The calendar arithmetic of date features, written once over an "ops" object:
``NumpyOps`` for ``barenet.tables.dates`` (float64 arrays), ``OnnxOps`` for ``onnx_export``
(nodes on DOUBLE values), so both compute the same operations.

A date is a number: seconds since 1970-01-01 UTC. Its civil date comes from its day
number with Floor/Div arithmetic (Howard Hinnant's ``civil_from_days``: integers well
inside float64's exact range; tested against pandas from 1600 to 2400); the periodic
parts become sin/cos of their angle over ``PERIODS``. The year and the days since the
first training date are clipped to the training range (``features``): the same
``clip`` in NumPy and in the graph.
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_DAY = 86400.0
PERIODS = {"month": 12.0, "day": 31.0, "weekday": 7.0, "dayofyear": 365.25, "hour": 24.0}


class NumpyOps:
    """The calendar's arithmetic on float64 NumPy arrays."""

    add, sub, mul, div = np.add, np.subtract, np.multiply, np.divide
    floor, sin, cos = np.floor, np.sin, np.cos

    @staticmethod
    def clip(a, low: float, high: float):
        """``a`` clipped to ``[low, high]``."""
        return np.clip(a, low, high)

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
    """The date features of ``spec`` (see ``feature_names``) from imputed seconds. With
    the training range in ``spec`` (``origin`` to ``end``), the year and the days since
    ``origin`` are clipped to it; the periodic parts are kept."""
    parts = calendar(ops, seconds)
    low, high = _range(spec)
    values = []
    for part in spec["parts"]:
        if part == "year":
            values.append(_clip(ops, parts["year"], low["year"], high["year"]))
            continue
        start = 0.0 if part in ("weekday", "dayofyear", "hour") else 1.0
        angle = ops.mul(ops.sub(parts[part], start), 2 * np.pi / PERIODS[part])
        values += [ops.sin(angle), ops.cos(angle)]
    days = ops.div(ops.sub(seconds, spec["origin"]), SECONDS_PER_DAY)
    values.append(_clip(ops, days, low["days"], high["days"]))
    return values


def _range(spec: dict) -> tuple[dict, dict]:
    """The year and the days since ``origin`` at the training range's ends (floats), or
    infinities for a spec without ``end`` (model files before 0.3)."""
    if "end" not in spec:
        return {"year": -np.inf, "days": -np.inf}, {"year": np.inf, "days": np.inf}
    ends = np.array([spec["origin"], spec["end"]])
    years = calendar(NumpyOps, ends)["year"]
    days = (ends - spec["origin"]) / SECONDS_PER_DAY
    return {"year": float(years[0]), "days": 0.0}, {"year": float(years[1]), "days": days[1]}


def _clip(ops, a, low: float, high: float):
    return a if np.isinf(low) else ops.clip(a, low, float(high))


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

    def clip(self, a, low: float, high: float):
        return self._binary("Min", self._binary("Max", a, low), high)


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
