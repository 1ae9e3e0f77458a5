"""Raw arrays against the same rows standardised by hand, through ``BarenetRegressor``.

    python benchmarks/estimator_inputs.py                     # both splits, 4 fits
    python benchmarks/estimator_inputs.py --recipe tabular    # a faster recipe

The estimators standardise every feature on their training rows, as ``barenet train``
does, so raw California Housing arrays should train as well as the same rows put
through a ``StandardScaler`` first. For each split (``train_test_split(...,
random_state=7)``, and the notebook's ``random_state=42``) it fits
``BarenetRegressor(recipe=..., random_state=0)`` on the raw training rows and on the
same rows standardised by hand (the scaler fitted on the training rows), one fit at a
time, and prints the test RMSE ($100,000) of each, their difference, the seconds each
fit took and the load average before it; ``--out`` writes them as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def fit_rmse(recipe: str, x_train, y_train, x_test, y_test) -> tuple[float, float]:
    """``(test RMSE, seconds)`` of one ``BarenetRegressor(recipe, random_state=0)``."""
    from barenet.sklearn.estimators import BarenetRegressor

    started = time.perf_counter()
    model = BarenetRegressor(recipe=recipe, random_state=0).fit(x_train, y_train)
    seconds = time.perf_counter() - started
    rmse = float(np.sqrt(np.mean((model.predict(x_test) - y_test) ** 2)))
    return rmse, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="tabular-best")
    parser.add_argument("--splits", default="7,42", help="train_test_split random_state values")
    parser.add_argument("--out", help="append the results here as JSON lines")
    args = parser.parse_args()
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from barenet.tables.datasets import fetch_california

    data = fetch_california()
    for split in [int(s) for s in args.splits.split(",")]:
        x_train, x_test, y_train, y_test = train_test_split(
            data.data, data.target, test_size=0.2, random_state=split
        )
        scaler = StandardScaler().fit(x_train)
        row = {"recipe": args.recipe, "split": split}
        for name, (fit_x, test_x) in {
            "raw": (x_train, x_test),
            "standardised": (scaler.transform(x_train), scaler.transform(x_test)),
        }.items():
            row[f"load_before_{name}"] = os.getloadavg()[0]
            row[name], row[f"seconds_{name}"] = fit_rmse(
                args.recipe, fit_x, y_train, test_x, y_test
            )
            print(f"split {split} {name}: test RMSE {row[name]:.4f}", flush=True)
        row["difference"] = row["raw"] - row["standardised"]
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as file:
                file.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
