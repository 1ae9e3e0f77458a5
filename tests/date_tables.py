"""Generated tables with a date column, for the tests and benchmarks/dates.py: daily
weather with five text labels, and cars with years written as dates and blank targets.
Nothing is downloaded; the same seed gives the same table."""

from __future__ import annotations

import numpy as np
import pandas as pd

LABELS = ("sun", "rain", "drizzle", "fog", "snow")


def weather_frame(start="2012-01-01", years=5, seed=0) -> pd.DataFrame:
    """One row a day: ``date`` (ISO text), ``temp_max``, ``temp_min``, ``precipitation``,
    ``wind`` and ``weather``, one of five labels that follow the season (snow in
    winter, sun in summer, fog in autumn) more closely than the noisy measurements do."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, periods=int(round(365.25 * years)), freq="D")
    n = len(days)
    season = 2 * np.pi * (days.day_of_year.to_numpy() - 1) / 365.25
    summer = -np.cos(season)  # 1 in early July, -1 in early January
    autumn = np.cos(season - 2 * np.pi * 0.8)  # highest in mid-October
    trend = (days.year.to_numpy() - days.year[0]) / max(years - 1, 1)
    logits = np.column_stack(
        [
            2.5 * summer + 0.8 * trend,  # sun
            -1.0 * summer + 0.2,  # rain
            0.8 * autumn - 0.2 * summer,  # drizzle
            2.0 * autumn - 0.5,  # fog
            -3.0 * summer - 2.0,  # snow
        ]
    )
    logits += rng.gumbel(size=logits.shape) * 0.8
    label = np.asarray(LABELS, dtype=object)[np.argmax(logits, axis=1)]
    temp_max = 14 + 10 * summer + rng.normal(0, 5, n)
    wet = np.isin(label, ["rain", "drizzle", "snow"])
    precipitation = np.where(wet, rng.gamma(1.2, 3.0, n), rng.gamma(0.3, 0.8, n)).round(1)
    return pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d"),
            "precipitation": precipitation,
            "temp_max": temp_max.round(1),
            "temp_min": (temp_max - rng.uniform(3, 12, n)).round(1),
            "wind": rng.gamma(3.0, 1.2, n).round(1),
            "weather": label,
        }
    )


def cars_frame(n=300, blank_targets=6, seed=0) -> pd.DataFrame:
    """Cars: ``model_year`` as dates (``1970-01-01`` ... ``1982-01-01``), a ``name``
    column, numbers with blank cells, and ``mpg`` (rising with the year, falling with
    the weight) blank in ``blank_targets`` rows."""
    rng = np.random.default_rng(seed)
    year = rng.integers(1970, 1983, n)
    weight = rng.uniform(1600, 5000, n).round()
    cylinders = np.where(weight > 3500, 8, np.where(weight > 2500, 6, 4))
    horsepower = (weight / 30 + rng.normal(0, 10, n)).round()
    mpg = 45 - weight / 200 + (year - 1970) * 0.8 + rng.normal(0, 1.5, n)
    frame = pd.DataFrame(
        {
            "mpg": mpg.round(1),
            "cylinders": cylinders,
            "horsepower": horsepower,
            "weight": weight,
            "model_year": [f"{y}-01-01" for y in year],
            "name": rng.choice([f"make{i} model" for i in range(40)], n),
        }
    )
    frame.loc[rng.choice(n, 5, replace=False), "horsepower"] = np.nan
    frame.loc[rng.choice(n, blank_targets, replace=False), "mpg"] = np.nan
    return frame
