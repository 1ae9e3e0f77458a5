import json

import numpy as np
import pytest

from barenet.cli import main
from barenet.sklearn.tuning import read_grid, search


def needs_dask():
    pytest.importorskip("dask.distributed")


GRID = {"lr": [0.001, 0.01], "hidden": [(8,), (16,)]}
FIXED = {"epochs": 8, "batch_size": 16}


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    return x, x[:, 0] - 2 * x[:, 1] * x[:, 2]


@pytest.fixture(scope="module")
def cluster():
    needs_dask()
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as local:
        yield local


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster_equals_the_serial_run(cluster):
    x, y = data()
    serial = search(x, y, GRID, fixed=FIXED, cv=3, scheduler=None)
    distributed = search(x, y, GRID, fixed=FIXED, cv=3, scheduler=cluster.scheduler_address)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], distributed.cv_results_["mean_test_score"]
    )
    assert serial.best_params_ == distributed.best_params_
    assert len(serial.cv_results_["params"]) == 4


def test_randomized_search_and_cross_val_score_on_dask(cluster):
    import joblib
    from sklearn.model_selection import cross_val_score

    from barenet.sklearn.estimators import BarenetRegressor

    x, y = data()
    serial = search(x, y, GRID, fixed=FIXED, kind="random", n_iter=3, scheduler=None)
    distributed = search(
        x, y, GRID, fixed=FIXED, kind="random", n_iter=3, scheduler=cluster.scheduler_address
    )
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], distributed.cv_results_["mean_test_score"]
    )
    estimator = BarenetRegressor(epochs=5, random_state=0)
    scores = cross_val_score(estimator, x, y, cv=3)
    from dask.distributed import Client

    with Client(cluster.scheduler_address), joblib.parallel_backend("dask"):
        on_dask = cross_val_score(estimator, x, y, cv=3, n_jobs=-1)
    np.testing.assert_array_equal(scores, on_dask)


@pytest.mark.slow
def test_tune_command_starts_its_own_local_cluster(tmp_path, capsys):
    needs_dask()
    from barenet.sklearn.estimators import BarenetRegressor
    from barenet.tables.datasets import load_builtin
    from barenet.training.config import TrainConfig
    from barenet.training.sources import estimator_params

    grid = _write(
        tmp_path, {"estimator": {"epochs": 5, "hidden": [8]}, "grid": {"lr": [0.0001, 0.03]}}
    )
    code = main(["tune", "--grid", str(grid), "--dataset", "diabetes", "--cv", "2", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["scheduler"] == "local" and summary["dataset"] == "diabetes"
    candidates = summary["candidates"]
    assert [c["params"] for c in candidates] == [{"lr": 0.0001}, {"lr": 0.03}]
    best = max(candidates, key=lambda c: c["mean_cv_score"])
    assert summary["best_params"] == best["params"] == {"lr": 0.03}  # lr 1e-4 barely moves
    assert summary["best_cv_score"] == best["mean_cv_score"]
    # the test score is the best parameters refitted on all the training rows
    split = load_builtin("diabetes")
    # with barenet train's defaults (SGD, clipping), as barenet train --lr 0.03 trains
    config = TrainConfig(epochs=5, hidden=(8,), lr=0.03, seed=0)
    assert config.optimizer == "sgd" and summary["best_config"] == config.to_json()
    refit = BarenetRegressor(**estimator_params(config))
    refit.fit(split.x_train, split.y_train.ravel())
    expected = refit.score(split.x_test, split.y_test.ravel())
    assert summary["test_score"] == pytest.approx(expected, rel=1e-9)


def test_tune_grids_use_the_train_option_names(tmp_path, capsys):
    grid = _write(
        tmp_path, {"estimator": {"epochs": 2, "batch-size": 64}, "grid": {"seed": [0, 1]}}
    )
    code = main(
        ["tune", "--grid", str(grid), "--dataset", "diabetes", "--cv", "2", "--scheduler", "none"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "Best parameters: {'seed': " in out and "random_state" not in out
    assert out.count("{'seed': ") == 3  # two candidates and the best


def test_grid_file_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_grid(bad)
    bad.write_text(json.dumps({"lr": []}))
    with pytest.raises(ValueError, match="non-empty list"):
        read_grid(bad)
    assert main(["tune", "--grid", str(tmp_path / "absent.json"), "--dataset", "diabetes"]) == 2
    assert "no such grid file" in capsys.readouterr().err
    fixed, grid = read_grid(_write(tmp_path, {"grid": {"hidden": [[4, 4]]}}))
    assert grid == {"hidden": [(4, 4)]} and fixed == {}
    fixed, grid = read_grid(
        _write(tmp_path, {"estimator": {"seed": 3, "batch-size": 8}, "grid": {"seed": [0, 1]}})
    )
    assert fixed == {"random_state": 3, "batch_size": 8} and grid == {"random_state": [0, 1]}


@pytest.mark.parametrize(
    "content, message",
    [
        ({"grid": {"hidden_layer_sizes": [[4]]}}, "unknown parameter 'hidden_layer_sizes'"),
        ({"estimator": {"learning_rate": 0.1}, "grid": {"lr": [0.1]}}, "unknown parameter"),
        ({"grid": {"lr": [0.01, -1]}}, "lr: lr must be > 0"),
        ({"grid": {"hidden": [[8, 0]]}}, "hidden: hidden entry must be >= 1"),
        ({"estimator": {"activation": "softsign"}, "grid": {"lr": [0.1]}}, "unknown activation"),
        ({"grid": {"seed": [-1]}}, "seed: seed must be >= 0"),
    ],
)
def test_unknown_names_and_bad_values_are_clear_errors(tmp_path, capsys, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(ValueError, match=message):
        read_grid(path)
    code = main(["tune", "--grid", str(path), "--dataset", "diabetes", "--scheduler", "none"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("barenet tune: error: ") and message.split(": ")[-1] in err


def _write(tmp_path, content):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(content))
    return path


def test_tune_prints_the_train_command_that_reproduces_its_best_model(tmp_path, capsys):
    import shlex

    rng = np.random.default_rng(0)
    n = 300
    plan = rng.choice(["basic", "plus", "lux"], n)
    size = rng.normal(80, 20, n)
    price = 2 * size + np.where(plan == "lux", 60, 0) + rng.normal(0, 5, n)
    rows = zip(size, plan, price, strict=True)
    lines = ["size,plan,price"] + [f"{s:.3f},{p},{v:.3f}" for s, p, v in rows]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    grid = _write(
        tmp_path, {"estimator": {"epochs": 4, "hidden": [8]}, "grid": {"lr": [1e-4, 0.03]}}
    )
    data = ["--data", str(tmp_path / "t.csv"), "--target", "price", "--test-size", "0.25"]
    code = main(["tune", "--grid", str(grid), *data, "--cv", "2", "--scheduler", "none", "--json"])
    tuned = json.loads(capsys.readouterr().out)
    assert code == 0 and tuned["best_params"] == {"lr": 0.03}
    command = tuned["train_command"]
    assert command.startswith("barenet train --data ") and "--test-size 0.25" in command
    assert "--lr 0.03" in command and "--seed 0" in command
    # barenet train's defaults, not the estimators': SGD, clipping at 1.0
    assert tuned["best_config"]["optimizer"] == "sgd" and tuned["best_config"]["clip_norm"] == 1.0
    out = tmp_path / "out"
    out.mkdir()
    words = shlex.split(command)[1:] + ["--json", "--plot", "none", "--save", str(out / "m.npz")]
    assert main(words) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["config"] == tuned["best_config"]  # the same configuration, resolved
    assert trained["rows"]["train"] + trained["rows"]["test"] == n
    # the same rows and network: the same test R^2, to rounding (tune standardises the
    # command line's standardised features once more, a change in the last bits)
    assert trained["test"]["r2"] == pytest.approx(tuned["test_score"], abs=1e-4)


def test_a_tune_candidate_left_to_recipe_auto_is_probed_as_barenet_train_probes(tmp_path, capsys):
    """A grid of seeds only leaves the recipe to ``barenet train`` (recipe auto): on 900
    rows that is the small recipe and its probe, run by tune on its training rows as by
    ``barenet train`` on the same rows, so the printed command trains the same
    configuration (piecewise embeddings, for a target that jumps at thresholds)."""
    import shlex

    rng = np.random.default_rng(0)
    x = rng.normal(size=(900, 3))
    y = 5.0 * (x[:, 0] > 0.3) + 3.0 * (x[:, 1] > -0.5) + 0.1 * rng.normal(size=900)
    table = np.column_stack([x, y])
    lines = ["a,b,c,y"] + [",".join(f"{v:.4f}" for v in row) for row in table]
    (tmp_path / "step.csv").write_text("\n".join(lines) + "\n")
    grid = _write(tmp_path, {"seed": [0]})
    data = ["--data", str(tmp_path / "step.csv"), "--target", "y"]
    code = main(["tune", "--grid", str(grid), *data, "--cv", "2", "--scheduler", "none", "--json"])
    tuned = json.loads(capsys.readouterr().out)
    assert code == 0 and tuned["best_config"]["embedding"] == "piecewise"
    words = shlex.split(tuned["train_command"])[1:] + ["--json", "--plot", "none"]
    assert main(words) == 0
    trained = json.loads(capsys.readouterr().out)
    assert "with piecewise embeddings" in trained["recipe_choice"]
    # every value the same; the estimator's recipe is None (its values are all given)
    assert trained["config"] == {**tuned["best_config"], "recipe": "small"}
