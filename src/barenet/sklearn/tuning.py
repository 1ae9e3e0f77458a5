"""Hyper-parameter search with scikit-learn, on one machine or on a Dask cluster.

``search(...)`` runs ``GridSearchCV`` / ``RandomizedSearchCV`` over a barenet
estimator; with ``scheduler=`` it runs the fits through joblib's Dask backend, on
the given cluster (``"tcp://host:8786"``) or on a local cluster it starts
(``"local"``). The estimators are seeded, so the results are the same as the serial
run's. ``barenet tune --grid grid.json`` does this from the command line.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np

from barenet.cli.data_args import add_data_arguments, load_data
from barenet.errors import BarenetError, BarenetValueError
from barenet.training import hyperparams
from barenet.training.sources import config_from_candidate, estimator_params, train_command


def _estimator_params() -> dict:
    """Each estimator parameter's name -> its ``hyperparams.Param`` (None for ``verbose``)."""
    return {**{p.for_estimator[0]: p for p in hyperparams.PARAMS}, "verbose": None}


def estimator_name(name: str) -> str:
    """A ``barenet train`` parameter name (``seed``, ``batch_size``; dashes allowed) as the
    estimators call it (``random_state``, ``batch_size``); anything unknown is an error."""
    name = name.replace("-", "_")
    known = {p.name: p.for_estimator[0] for p in hyperparams.PARAMS}
    if name in known:
        return known[name]
    if name in known.values() or name == "verbose":
        return name
    raise BarenetValueError(
        f"unknown parameter {name!r} in the grid; use the names of barenet train's options: "
        f"{sorted(known)}"
    )


def train_name(name: str) -> str:
    """An estimator parameter's name as ``barenet train`` calls it (``random_state`` ->
    ``seed``), for reports."""
    param = _estimator_params().get(name)
    return name if param is None else param.name


def _check_value(name: str, value, path) -> None:
    """Refuse a value the estimators would refuse, before any fit runs."""
    param = _estimator_params()[name]
    try:
        if param is None:
            hyperparams.flag(value, name)
        else:
            param.validate(value)
    except (BarenetError, TypeError, ValueError) as error:
        raise BarenetValueError(f"{path}: {train_name(name)}: {error}") from None


def read_grid(path) -> tuple[dict, dict]:
    """Read ``{"estimator": {fixed params}, "grid": {param: [values]}}`` (or just the
    grid) from a JSON file. Parameters are named as ``barenet train``'s options
    (``hidden``, ``lr``, ``batch_size``, ``seed``) and returned as the estimators name
    them (``seed`` -> ``random_state``); lists of hidden sizes become tuples. Unknown
    names and invalid values are refused here, before any training."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BarenetValueError(f"{path}: no such grid file") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise BarenetValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise BarenetValueError(f"{path}: expected a JSON object of parameter lists")
    fixed, grid = (data.get("estimator", {}), data["grid"]) if "grid" in data else ({}, data)
    if not isinstance(fixed, dict) or not isinstance(grid, dict):
        raise BarenetValueError(f"{path}: expected JSON objects of parameters")
    if not grid or not all(isinstance(v, list) and v for v in grid.values()):
        raise BarenetValueError(f"{path}: every grid entry must be a non-empty list of values")

    def fix(name, value):
        value = tuple(value) if name == "hidden" and isinstance(value, list) else value
        _check_value(name, value, path)
        return value

    fixed = {estimator_name(k): fix(estimator_name(k), v) for k, v in fixed.items()}
    grid = {estimator_name(k): [fix(estimator_name(k), v) for v in vs] for k, vs in grid.items()}
    return fixed, grid


@contextlib.contextmanager
def dask_backend(scheduler: str | None, n_workers: int = 2):
    """Run joblib work on a Dask cluster: ``None`` (no Dask: serial), ``"local"`` (start a
    LocalCluster of ``n_workers`` processes on loopback), or a scheduler address."""
    if scheduler is None:
        yield None
        return
    try:
        import joblib
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise BarenetValueError(
            "barenet tune on a cluster needs Dask: pip install 'dask[distributed]' "
            "(or, in a barenet checkout, pip install -e '.[dask]'); --scheduler none runs serially"
        ) from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        )
        client = Client(cluster)
    else:
        client = Client(scheduler, timeout="20s")
    try:
        with joblib.parallel_backend("dask"):
            yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def candidates(grid: dict, *, kind: str = "grid", n_iter: int = 10, random_state: int = 0):
    """The grid's candidates (dicts of estimator parameters), in search order: every
    combination (``kind="grid"``), or ``n_iter`` drawn as ``RandomizedSearchCV`` draws."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    if kind == "grid":
        return list(ParameterGrid(grid))
    if kind == "random":
        return list(ParameterSampler(grid, n_iter, random_state=random_state))
    raise BarenetValueError(f"unknown search {kind!r}; choose grid or random")


def candidate_options(candidate: dict, fixed: dict, random_state: int) -> dict:
    """A candidate (and the fixed parameters) as ``barenet train``'s options given:
    ``barenet train``'s names, the seed included."""
    params = {"random_state": random_state, **fixed, **candidate}
    return {train_name(k): v for k, v in params.items() if k != "verbose"}


def search(
    x,
    y,
    grid: dict,
    *,
    task: str = "regression",
    fixed: dict | None = None,
    kind: str = "grid",
    n_iter: int = 10,
    cv: int = 3,
    random_state: int = 0,
    scheduler: str | None = None,
    n_workers: int = 2,
    data: bool = True,
):
    """Cross-validate a barenet estimator for each candidate of ``grid`` (every
    combination, or ``n_iter`` drawn with ``kind="random"``) and refit the best.

    Each candidate (with ``fixed``; estimator parameter names) trains what
    ``barenet train`` trains with those options given (``training.sources``): the
    command line's defaults, its recipe rules (``data``: the options are for a
    ``--data`` table), resolved for the ``len(x)`` training rows. With ``scheduler``
    the fits run on Dask; otherwise serially. Returns the fitted ``GridSearchCV``, with
    ``candidates_`` (the candidates as given) and ``options_`` (as ``barenet train``'s
    options), both in ``cv_results_`` order.
    """
    from sklearn.model_selection import GridSearchCV

    from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor

    fixed = fixed or {}
    drawn = candidates(grid, kind=kind, n_iter=n_iter, random_state=random_state)
    options = [candidate_options(c, fixed, random_state) for c in drawn]
    probe_fit = _probe_fit(x, y, task) if data else None  # recipe auto's, as on train
    configs = [
        config_from_candidate(o, data=data, n_rows=len(x), probe_fit=probe_fit) for o in options
    ]
    verbose = {"verbose": fixed["verbose"]} if "verbose" in fixed else {}
    full = [{**estimator_params(c), **verbose} for c in configs]
    estimator = (BarenetClassifier if task == "classification" else BarenetRegressor)()
    searcher = GridSearchCV(
        estimator,
        [{k: [v] for k, v in params.items()} for params in full],
        cv=cv,
        n_jobs=-1 if scheduler else None,
    )
    with dask_backend(scheduler, n_workers):
        searcher.fit(x, y)
    searcher.candidates_, searcher.options_ = drawn, options
    return searcher


def _probe_fit(x, y, task: str):
    """Recipe auto's probe for a candidate that leaves the recipe to ``barenet train``:
    its candidates fitted on the tune's training rows, as ``barenet train`` fits them
    (``fitting.fitter``), so the candidate trains what the printed command trains."""
    from barenet.training.fitting import fitter

    y = np.asarray(y)
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f" and y.dtype.kind in "iuf"):
        return None  # a table as it comes: each estimator encodes it; no probe
    if task == "classification":
        return fitter(x, y, task=task, out_dim=int(y.max()) + 1)
    y = y.reshape(len(y), -1)  # values (n_rows, out_dim), as barenet train fits them
    return fitter(x, y, task=task, out_dim=y.shape[1])


def add_parser(subparsers) -> None:
    from barenet.cli.help_text import command_text

    tune = subparsers.add_parser("tune", **command_text("tune"))
    tune.add_argument(
        "--grid",
        required=True,
        metavar="GRID.json",
        help="the candidates: a JSON object of value lists by barenet train's option names, "
        '{"hidden": [[64, 64], [128]], "lr": [0.01, 0.003]}, or {"estimator": {fixed '
        'parameters}, "grid": {lists}}',
    )
    tune.add_argument(
        "--scheduler",
        default="local",
        help="Dask scheduler address (tcp://HOST:8786), 'local' to start a "
        "local cluster (default), or 'none' to run serially",
    )
    tune.add_argument(
        "--workers", type=int, default=2, help="local cluster worker processes (default: 2)"
    )
    tune.add_argument(
        "--search",
        choices=["grid", "random"],
        default="grid",
        help="grid: every combination; random: --n-iter combinations drawn at random "
        "(default: grid)",
    )
    tune.add_argument(
        "--n-iter",
        type=int,
        default=10,
        metavar="N",
        help="how many candidates --search random tries (default: 10)",
    )
    tune.add_argument(
        "--cv",
        type=int,
        default=3,
        metavar="FOLDS",
        help="cross-validation folds of the training rows per candidate (default: 3)",
    )
    tune.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the networks and of --search random's draws (default: 0)",
    )
    tune.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    add_data_arguments(tune)


def _one_column_as_1d(y) -> np.ndarray:
    """scikit-learn's estimators take a single target as shape (n,)."""
    y = np.asarray(y)
    return y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y


def _report(params: dict) -> dict:
    """Parameters as ``barenet train`` names them, JSON-able (tuples as lists)."""
    return {train_name(k): list(v) if isinstance(v, tuple) else v for k, v in params.items()}


#: ``barenet train``'s data options, with their defaults (left out of a command).
DATA_OPTIONS = {
    "data": None,
    "dataset": None,
    "target": None,
    "features": None,
    "drop": None,
    "task": None,
    "max_categories": 20,
    "sep": None,
    "decimal": ".",
    "encoding": None,
    "thousands": None,
    "bad_rows": "error",
    "test_size": 0.2,
    "data_home": None,
}


def data_arguments(args) -> list[str]:
    """The data options of ``args`` that differ from their defaults, as words of a
    ``barenet train`` command (the same rows, split and preprocessed alike)."""
    words = []
    for name, default in DATA_OPTIONS.items():
        value = getattr(args, name, default)
        if value is not None and value != default:
            words += ["--" + name.replace("_", "-"), str(value)]
    return words


def run_tune(args, stdout) -> int:
    from barenet.cli.outputs import check_reads

    check_reads(args)  # --data -: a clear message
    fixed, grid = read_grid(args.grid)
    name, split = load_data(args)
    prep = split.preprocessing
    scheduler = None if args.scheduler == "none" else args.scheduler
    y_train, y_test = _one_column_as_1d(split.y_train), _one_column_as_1d(split.y_test)
    searcher = search(
        split.x_train,
        y_train,
        grid,
        task=prep.task,
        fixed=fixed,
        kind=args.search,
        n_iter=args.n_iter,
        cv=args.cv,
        random_state=args.seed,
        scheduler=scheduler,
        n_workers=args.workers,
        data=bool(args.data),
    )
    results, best = searcher.cv_results_, searcher.best_index_
    summary = {
        "dataset": name,
        "scheduler": args.scheduler,
        "best_params": _report(searcher.candidates_[best]),
        "best_cv_score": float(searcher.best_score_),
        "test_score": float(searcher.score(split.x_test, y_test)),
        "train_command": train_command(searcher.options_[best], data_arguments(args)),
        "best_config": searcher.best_estimator_.config_.to_json(),
        "candidates": [
            {"params": _report(p), "mean_cv_score": float(m), "std_cv_score": float(s)}
            for p, m, s in zip(
                searcher.candidates_,
                results["mean_test_score"],
                results["std_test_score"],
                strict=True,
            )
        ],
    }
    if args.json:
        from barenet.cli import strict_json

        print(strict_json.dumps(summary, indent=2), file=stdout)
        return 0
    _print_summary(summary, prep.task, stdout)
    return 0


def _print_summary(summary: dict, task: str, stdout) -> None:
    score = "accuracy" if task == "classification" else "R^2"
    for c in sorted(summary["candidates"], key=lambda c: -c["mean_cv_score"]):
        print(
            f"  {score} {c['mean_cv_score']:.4f} +- {c['std_cv_score']:.4f}  {c['params']}",
            file=stdout,
        )
    print(f"Best parameters: {summary['best_params']}", file=stdout)
    print(
        f"Best cross-validated {score}: {summary['best_cv_score']:.4f}; "
        f"on the test split: {summary['test_score']:.4f}",
        file=stdout,
    )
    print(f"The same model: {summary['train_command']}", file=stdout)
