"""Does the date encoding help? ``barenet train --data ... --target ...`` with its
defaults, on generated tables (tests/date_tables.py), with the date column encoded,
written so that it is not detected (text), and left out.

- weather: a daily date over five years, a seasonal signal, five text labels (accuracy);
- cars: a model year written as dates (``1970-01-01``), blank targets (RMSE in mpg).

Beside each: the run's own linear baseline (logistic regression or least squares, on the
same features), and scikit-learn's HistGradientBoosting on the same split with the date
split into year, month and day of year by hand (an anchor, not barenet).

Usage: ``python benchmarks/dates.py [--seeds 3] [--out dates.json]``. Each seed makes a
new table and a new split (``--seed``); the figures are means over the seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from date_tables import cars_frame, weather_frame  # noqa: E402

from barenet.cli import main  # noqa: E402

VARIANTS = ("date encoded", "date as text", "no date")


def variant(frame, column: str, how: str):
    """The table with ``column`` as generated, as undetectable text, or left out."""
    frame = frame.copy()
    if how == "date as text":  # what barenet did before: text levels, or an identifier
        frame[column] = "d" + frame[column].astype(str)
    elif how == "no date":
        frame = frame.drop(columns=column)
    return frame


def train(path: Path, target: str, seed: int) -> dict:
    args = ["--data", str(path), "--target", target, "--seed", str(seed)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([*args, "--plot", "none", "--quiet", "--json"])
    if code != 0:
        raise SystemExit(f"barenet train failed on {path.name} (exit {code})")
    summary = json.loads(out.getvalue())
    linear = summary["baselines"].get("logistic regression") or summary["baselines"].get(
        "least squares"
    )
    return {"test": summary["test"], "linear": linear}


def gradient_boosting(frame, column: str, target: str, metric: str) -> float:
    """HGB on barenet's split (80/20, random_state 42, stratified for classes), the date
    as year, month and day of year, text as native categories."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.model_selection import train_test_split

    frame = frame[frame[target].notna()].reset_index(drop=True)
    stamps = pd.to_datetime(frame.pop(column))
    frame["year"], frame["month"] = stamps.dt.year, stamps.dt.month
    frame["day_of_year"] = stamps.dt.day_of_year
    y = frame.pop(target)
    for name in frame.columns:
        if frame[name].dtype.kind == "O":
            frame[name] = frame[name].astype("category")
    classes = metric == "accuracy"
    train, test = train_test_split(
        np.arange(len(y)), test_size=0.2, random_state=42, stratify=y if classes else None
    )
    kind = HistGradientBoostingClassifier if classes else HistGradientBoostingRegressor
    model = kind(categorical_features="from_dtype", random_state=0)
    model.fit(frame.iloc[train], y.iloc[train])
    predicted = model.predict(frame.iloc[test])
    if classes:
        return float(np.mean(predicted == y.iloc[test].to_numpy()))
    return float(np.sqrt(np.mean((predicted - y.iloc[test].to_numpy()) ** 2)))


def run(seeds: int) -> dict:
    tables = {
        "weather": (weather_frame, "date", "weather", "accuracy"),
        "cars": (cars_frame, "model_year", "mpg", "rmse"),
    }
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for table, (make, column, target, metric) in tables.items():
            for how in VARIANTS:
                scores, linear = [], []
                for seed in range(seeds):
                    path = Path(folder) / f"{table}.csv"
                    variant(make(seed=seed), column, how).to_csv(path, index=False)
                    run = train(path, target, seed)
                    scores.append(run["test"][metric])
                    linear.append(run["linear"][metric])
                results[f"{table}, {how}"] = {
                    "metric": metric,
                    "barenet": float(np.mean(scores)),
                    "each": scores,
                    "linear baseline": float(np.mean(linear)),
                }
                print(
                    f"{table:8s} {how:13s} {metric} barenet {np.mean(scores):.4f} "
                    f"(each {', '.join(f'{v:.4f}' for v in scores)}); "
                    f"linear baseline {np.mean(linear):.4f}"
                )
            anchor = [
                gradient_boosting(make(seed=s), column, target, metric) for s in range(seeds)
            ]
            results[f"{table}, HGB with the date split by hand"] = {
                "metric": metric,
                "mean": float(np.mean(anchor)),
                "each": anchor,
            }
            print(f"{table:8s} HGB, date split by hand: {metric} {np.mean(anchor):.4f}")
    return results


def main_cli(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", help="write the figures as JSON")
    args = parser.parse_args(argv)
    results = run(args.seeds)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main_cli())
