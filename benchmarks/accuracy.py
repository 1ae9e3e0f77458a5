"""Test accuracy side by side: barenet's recipe and the anchors (scikit-learn's
HistGradientBoosting, MLP and linear models; LightGBM, XGBoost and CatBoost through the
``bench`` extra) on the same splits, in one run.

    python benchmarks/accuracy.py                        # everything, 3 seeds
    python benchmarks/accuracy.py --datasets california --models barenet,hgb
    python benchmarks/accuracy.py --models barenet --barenet-params '{"epochs": 50}'
    python benchmarks/accuracy.py --quick                # 1 seed, 600 rows, few iterations
    python benchmarks/accuracy.py --threads 1            # fair fit times on a busy machine

Regression is scored by test RMSE in the target's original units (California: $100,000),
classification by test accuracy; each row gives the mean ± standard deviation over
seeds (deterministic models run once) and the mean fit time. Prints a Markdown table,
then the checks of issue 12's targets, and writes everything as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from contextlib import nullcontext
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_models import (  # noqa: E402
    BUNDLED,
    DATASET_HELP,
    DEFAULT_MODELS,
    MODELS,
    QUICK_ROWS,
    barenet_has_recipe,
    describe,
    expand_datasets,
    installed,
    load_dataset,
    subsample,
)

DEFAULT_DATASETS = ["california", "california_splits", *BUNDLED]
NOTEBOOK_TARGET_RMSE = 0.44
BEST_TARGET_RMSE, BEST_STRETCH_RMSE = 0.425, 0.405  # issue 19, for recipe='tabular-best'


def score(split, predictions) -> float:
    """Test RMSE in the target's original units, or test accuracy."""
    predictions = np.asarray(predictions)
    if split.scaler_y is None:
        return float(np.mean(predictions.ravel() == split.y_test.ravel()))
    unscale = split.scaler_y.inverse_transform
    predicted = unscale(predictions.reshape(len(split.y_test), -1))
    truth = unscale(split.y_test.reshape(len(split.y_test), -1))
    return float(np.sqrt(np.mean((predicted - truth) ** 2)))


def thread_limit(threads: int | None):
    """Limit OpenMP and BLAS (HistGradientBoosting, NumPy) to ``threads``, or nothing."""
    if threads is None:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads)


def run_model(spec, split, seeds: int, quick: bool, overrides: dict, threads=None) -> dict:
    """Fit and score one model on one split for each seed (``threads``: see --threads)."""
    task = "regression" if split.scaler_y is not None else "classification"
    y_train = split.y_train.ravel()
    own = overrides if spec.name == "barenet" else None
    label = describe(spec, task) + (f" + {json.dumps(own)}" if own else "")
    result = {"label": label, "scores": [], "fit_seconds": [], "seeds": []}
    caught = set()
    for seed in range(seeds if spec.seeded else 1):
        model = spec.build(task, seed, quick, own, threads or os.cpu_count() or 1)
        with warnings.catch_warnings(record=True) as records, thread_limit(threads):
            warnings.simplefilter("always")
            start = time.perf_counter()
            model.fit(split.x_train, y_train)
            result["fit_seconds"].append(time.perf_counter() - start)
            result["scores"].append(score(split, model.predict(split.x_test)))
        result["seeds"].append(seed)
        caught |= {f"{w.category.__name__}: {str(w.message)[:160]}" for w in records}
    scores = np.array(result["scores"])
    result["mean"] = float(scores.mean())
    result["std"] = float(scores.std(ddof=1)) if len(scores) > 1 else 0.0
    result["mean_fit_seconds"] = float(np.mean(result["fit_seconds"]))
    if caught:
        result["warnings"] = sorted(caught)
    return result


def run(datasets, models, seeds, quick, overrides, threads=None, log=sys.stderr) -> dict:
    """Every model on every data set: {"results": {dataset: {model: row}}, ...}."""
    results, metrics, skipped = {}, {}, {}
    for name in models:
        spec = MODELS[name]
        if spec.requires and not installed(spec.requires):
            skipped[name] = f"{spec.requires} is not installed (pip install -e '.[bench]')"
            print(f"skipping {name}: {skipped[name]}", file=log, flush=True)
    for dataset in datasets:
        split = load_dataset(dataset)
        if quick:
            split = subsample(split, QUICK_ROWS)
        metrics[dataset] = "accuracy" if split.scaler_y is None else "RMSE"
        results[dataset] = {}
        for name in models:
            if name in skipped:
                continue
            try:
                row = run_model(MODELS[name], split, seeds, quick, overrides, threads)
            except Exception as error:  # one broken model must not lose the others' figures
                row = {"label": name, "error": f"{type(error).__name__}: {error}"}
            results[dataset][name] = row
            figure = row.get("error") or (
                f"{row['mean']:.4f}, {format_seconds(row['mean_fit_seconds'])} s a fit"
            )
            print(f"  {dataset} {name}: {figure}", file=log, flush=True)
    return {"results": results, "metrics": metrics, "skipped": skipped}


def format_figure(metric: str, row: dict) -> str:
    """``0.4621 ± 0.0032`` (RMSE) or ``97.22 % ± 0.31`` (accuracy)."""
    if "error" in row:
        return f"error: {row['error']}"
    if metric == "accuracy":
        return f"{100 * row['mean']:.2f} % ± {100 * row['std']:.2f}"
    digits = 4 if abs(row["mean"]) < 10 else 2
    return f"{row['mean']:.{digits}f} ± {row['std']:.{digits}f}"


def format_seconds(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 1 else f"{seconds:.1f}"


def split_name(dataset: str) -> str:
    if dataset == "california":
        return "California, notebook's split (RMSE, $100k)"
    if dataset.startswith("california@"):
        return f"California, random_state={dataset.split('@')[1]} (RMSE, $100k)"
    return {
        "diabetes": "diabetes (RMSE)",
        "breast_cancer": "breast cancer (accuracy)",
        "digits": "digits (accuracy)",
    }.get(dataset, dataset)


def markdown_table(report: dict) -> str:
    lines = [
        "| data set (split, metric) | model | test mean ± std | seeds | fit s |",
        "|---|---|---|---|---|",
    ]
    for dataset, rows in report["results"].items():
        metric = report["metrics"][dataset]
        for row in rows.values():
            seeds = len(row.get("scores", []))
            fit = format_seconds(row["mean_fit_seconds"]) if "mean_fit_seconds" in row else "-"
            lines.append(
                f"| {split_name(dataset)} | {row['label']} | {format_figure(metric, row)} "
                f"| {seeds} | {fit} |"
            )
    return "\n".join(lines)


def _ok(row) -> bool:
    return row is not None and "error" not in row


def check_targets(report: dict) -> list[dict]:
    """Issue 12's targets, each {"target", "figure", "met"} (met is None: not measured).

    "Within one standard deviation" allows the larger of the two rows' spreads.
    """
    results, checks = report["results"], []
    barenet = {dataset: rows.get("barenet") for dataset, rows in results.items()}
    notebook = barenet.get("california")
    if _ok(notebook):
        seeds = len(notebook["scores"])
        checks.append(
            {
                "target": f"notebook split: RMSE <= {NOTEBOOK_TARGET_RMSE}, mean of 3 seeds",
                "figure": f"{notebook['mean']:.4f} (mean of {seeds} seed{'s' * (seeds > 1)})",
                "met": notebook["mean"] <= NOTEBOOK_TARGET_RMSE and seeds >= 3,
            }
        )
    for dataset, rows in results.items():
        if dataset.startswith("california@") and _ok(rows.get("barenet")):
            hgb = rows.get("hgb")
            mine = rows["barenet"]["mean"]
            checks.append(
                {
                    "target": f"{dataset}: RMSE below HistGradientBoosting default",
                    "figure": f"{mine:.4f} vs {hgb['mean']:.4f}" if _ok(hgb) else "no hgb row",
                    "met": mine < hgb["mean"] if _ok(hgb) else None,
                }
            )
    checks += best_targets(results)
    for dataset in BUNDLED:
        rows = results.get(dataset, {})
        anchors = [rows[name] for name in ("hgb", "linear") if _ok(rows.get(name))]
        if not _ok(rows.get("barenet")) or not anchors:
            continue
        mine = rows["barenet"]
        sign = 1 if report["metrics"][dataset] == "RMSE" else -1  # +1: lower is better
        best = min(anchors, key=lambda row: sign * row["mean"])
        allowed = max(mine["std"], best["std"])
        metric = report["metrics"][dataset]
        checks.append(
            {
                "target": f"{dataset}: no worse than the better of "
                f"{' and '.join(row['label'] for row in anchors)}, within one std",
                "figure": f"{format_figure(metric, mine)} vs {best['label']} "
                f"{format_figure(metric, best)}",
                "met": sign * (mine["mean"] - best["mean"]) <= allowed,
            }
        )
    return checks


def best_targets(results: dict) -> list[dict]:
    """Issue 19's targets for recipe='tabular-best' on the notebook's split: below the
    tuned CatBoost's 0.425 (stretch 0.405), mean of 3 seeds; training within 10 minutes."""
    best = results.get("california", {}).get("barenet_best")
    if not _ok(best):
        return []
    seeds = len(best["scores"])
    figure = f"{best['mean']:.4f} (mean of {seeds} seed{'s' * (seeds > 1)})"
    minutes = best["mean_fit_seconds"] / 60
    return [
        {
            "target": f"notebook split, tabular-best: RMSE <= {limit}, mean of 3 seeds",
            "figure": figure,
            "met": best["mean"] <= limit and seeds >= 3,
        }
        for limit in (BEST_TARGET_RMSE, BEST_STRETCH_RMSE)
    ] + [
        {
            "target": "tabular-best trains within 10 minutes",
            "figure": f"{minutes:.1f} minutes a fit",
            "met": minutes <= 10,
        }
    ]


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
    for package in ("barenet", "numpy", "scikit-learn", "lightgbm", "xgboost", "catboost"):
        for distribution in (package, f"{package}-cpu"):
            try:
                info[package] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datasets", default=",".join(DEFAULT_DATASETS), help=f"comma-separated: {DATASET_HELP}"
    )
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated, from {', '.join(MODELS)}",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per stochastic model")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 seed, 600 rows, few iterations, one thread",
    )
    parser.add_argument(
        "--barenet-params",
        default="{}",
        help="JSON dict of estimator parameters for the barenet row, e.g. '{\"epochs\": 50}'",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="limit every model to this many threads (OpenMP and BLAS through threadpoolctl, "
        "n_jobs / thread_count for LightGBM, XGBoost, CatBoost); default: the libraries' "
        "own, with the GBDT libraries given every core; --quick: 1. On a busy machine, "
        "OpenMP's spinning threads can make a fit 10-100x slower: use 1",
    )
    parser.add_argument("--json", help="also write the report to this JSON file")
    args = parser.parse_args(argv)
    models = [name for name in args.models.split(",") if name]
    unknown = [name for name in models if name not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    try:
        overrides = json.loads(args.barenet_params)
    except json.JSONDecodeError as error:
        parser.error(f"--barenet-params is not JSON: {error}")
    if not isinstance(overrides, dict):
        parser.error("--barenet-params must be a JSON object, e.g. '{\"epochs\": 50}'")
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    threads = 1 if args.quick and args.threads is None else args.threads
    seeds = 1 if args.quick else args.seeds
    datasets = expand_datasets([name for name in args.datasets.split(",") if name])

    report = run(datasets, models, seeds, args.quick, overrides, threads)
    report.update(
        threads=threads,
        machine=machine(),
        seeds=seeds,
        quick=args.quick,
        barenet_recipe_available=barenet_has_recipe(),
        barenet_params=overrides,
    )
    report["targets"] = check_targets(report)
    print(markdown_table(report))
    for name, why in report["skipped"].items():
        print(f"\nskipped {name}: {why}")
    if report["targets"]:
        print("\nIssue 12's targets:")
        for check in report["targets"]:
            verdict = {True: "met", False: "NOT met", None: "not measured"}[check["met"]]
            print(f"- {check['target']}: {check['figure']}: {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"\nwritten to {args.json}")
    rows = [row for by_model in report["results"].values() for row in by_model.values()]
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
