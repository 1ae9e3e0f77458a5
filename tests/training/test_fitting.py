"""The one fit path: recipe auto, the epoch rule, the time budget, shared by CLI and estimators."""

import numpy as np
import pytest

from barenet.errors import BarenetTypeError
from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor
from barenet.training import fitting, hyperparams
from barenet.training.config import TrainConfig
from barenet.training.fitting import TimeBudget, fit_model, resolve_config


def rows(n, seed=0, d=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, (x @ np.arange(1.0, d + 1) + 0.1 * rng.normal(size=n)).reshape(-1, 1)


def test_auto_chooses_small_below_the_threshold_and_tabular_above():
    small, why = resolve_config(TrainConfig(recipe="auto"), 999)
    assert small.recipe == "small" and why == "recipe auto chose small (999 training rows < 1,000)"
    # no time limit: the epochs follow from the table, not from the clock (issue 28)
    assert small.optimizer == "adamw" and small.early_stopping == 40 and small.time_limit is None
    large, why = resolve_config(TrainConfig(recipe="auto"), 16512)
    assert large.recipe == "tabular" and "16,512 training rows >= 1,000" in why
    assert large.ensemble == hyperparams.RECIPES["tabular"]["ensemble"]
    assert large.time_limit is None and large.epochs == hyperparams.RECIPES["tabular"]["epochs"]


def test_auto_keeps_the_values_given():
    config, _ = resolve_config(TrainConfig(recipe="auto", lr=0.05, time_limit=3.0), 5000)
    assert (config.recipe, config.lr, config.time_limit) == ("tabular", 0.05, 3.0)
    assert config.batch_size == hyperparams.RECIPES["tabular"]["batch_size"]
    plain, why = resolve_config(TrainConfig(hidden=(8,)), 5000)
    assert why is None and plain.recipe is None and plain.epochs is not None


def test_time_budget_stops_before_an_epoch_predicted_to_cross_it(monkeypatch):
    clock = iter([100.0, 104.0, 108.0])  # started at 100; 4 s per epoch
    monkeypatch.setattr(fitting.time, "perf_counter", lambda: next(clock))
    budget = TimeBudget(10.0, epochs=50, name="--time-limit")
    assert budget(None, 1, {}) is False  # 4 s spent, the next ends at 8 s
    assert budget(None, 2, {}) is True  # 8 s spent, the next would end at 12 s
    assert budget.cut == "stopped by --time-limit (10 s) after 2 of 50 epochs"


def test_time_budget_shortens_a_cosine_schedule_to_the_epochs_that_fit(monkeypatch):
    from barenet.schedules import CosineAnnealingLR

    class Target:
        lr = 0.1

    schedule = CosineAnnealingLR(Target(), t_max=60)
    clock = iter([0.0, 5.0, 9.0])  # 5 s, then 4 s per epoch on average... of 100 s
    monkeypatch.setattr(fitting.time, "perf_counter", lambda: next(clock))
    budget = TimeBudget(100.0, epochs=60, schedule=schedule)
    assert budget(None, 1, {}) is False and schedule.t_max == 20  # 100 s / 5 s
    assert budget(None, 2, {}) is False and schedule.t_max == 22  # 100 s / 4.5 s
    assert budget.planned_t_max == 60


def test_a_time_limit_stops_training_and_keeps_the_best_epoch():
    x, y = rows(300)
    config = TrainConfig(
        hidden=(8,), optimizer="adam", lr=1e-3, epochs=500, early_stopping=400, time_limit=1e-6
    )
    fit = fit_model(config, x, y, task="regression", out_dim=1)
    assert fit.model.epoch == 1 and fit.kept_epoch == 1
    assert fit.time_cut == "stopped by time_limit (1e-06 s) after 1 of 500 epochs"
    assert fit.validation == "0.1 of the training rows" and len(fit.x_val) == 30


def test_a_batch_larger_than_the_rows_is_an_error_unless_shrunk():
    x, y = rows(20)
    config = TrainConfig(hidden=(4,), epochs=1, batch_size=64)
    with pytest.raises(ValueError, match="fewer than one batch"):
        fit_model(config, x, y, task="regression", out_dim=1)
    fit = fit_model(config, x, y, task="regression", out_dim=1, shrink_batch=True)
    assert fit.model.epoch == 1


def test_estimator_recipe_trains_the_recipes_epochs(monkeypatch):
    # review-2 item 2: BarenetRegressor(recipe="tabular") trained 200 epochs, not 150
    monkeypatch.setitem(
        hyperparams.RECIPES,
        "tabular",
        {**hyperparams.RECIPES["tabular"], "epochs": 7, "early_stopping": None},
    )
    x, y = rows(120)
    model = BarenetRegressor(
        recipe="tabular", hidden=(8,), ensemble=2, bins=4, embedding_dim=2, random_state=0
    ).fit(x, y.ravel())
    assert model.config_.epochs == 7 and model.n_iter_ == 7


def test_estimator_epochs_none_takes_the_small_table_rule():
    x, y = rows(100)  # 4 batches of 32: 250 epochs reach 1,000 updates
    model = BarenetRegressor(hidden=(4,), epochs=None, batch_size=32, random_state=0)
    model.fit(x, y.ravel())
    assert model.config_.epochs == 250 and model.n_iter_ == 250


def test_estimator_auto_is_the_command_lines_choice():
    x, y = rows(200)
    model = BarenetRegressor(recipe="auto", time_limit=30.0, random_state=0).fit(x, y.ravel())
    assert model.config_.recipe == "small" and model.config_.time_limit == 30.0
    assert model.recipe_choice_ == (
        "recipe auto chose small (200 training rows < 1,000); no probe: a time limit is given"
    )
    assert model.score(x, y.ravel()) > 0.9


def test_estimator_time_limit_cuts_training():
    x, y = rows(200)
    labels = (y.ravel() > 0).astype(int)
    model = BarenetClassifier(hidden=(4,), epochs=300, time_limit=1e-6, random_state=0)
    model.fit(x, labels)
    assert model.n_iter_ == 1
    assert model.time_limit_cut_ == "stopped by time_limit (1e-06 s) after 1 of 300 epochs"


@pytest.mark.parametrize(
    ("given", "meant"),
    [("learning_rate_init", "'lr'"), ("batchsize", "'batch_size'"), ("max_iter", "'epochs'")],
)
def test_unknown_estimator_parameter_says_did_you_mean(given, meant):
    with pytest.raises(BarenetTypeError, match=f"did you mean {meant} for '{given}'"):
        BarenetRegressor(**{given: 3})


def test_an_unrelated_unknown_parameter_has_no_suggestion():
    with pytest.raises(BarenetTypeError) as error:
        BarenetRegressor(zzzz=1)
    assert "did you mean" not in str(error.value) and "'zzzz'" in str(error.value)


@pytest.mark.parametrize(
    "setting, cores, expected",
    [(None, 2, 1), (None, 4, 2), ("auto", 2, 1), ("2", 2, 2), ("1", 4, 1)],
)
def test_training_runs_blas_on_the_threads_asked(monkeypatch, setting, cores, expected):
    """By default half the cores (from the core count alone, never the load); the
    BARENET_BLAS_THREADS setting otherwise; the limit ends with training."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    if setting is None:
        monkeypatch.delenv("BARENET_BLAS_THREADS", raising=False)
    else:
        monkeypatch.setenv("BARENET_BLAS_THREADS", setting)

    def blas_threads():
        return [
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        ]

    with threadpoolctl.threadpool_limits(limits=3, user_api="blas"):
        seen = []
        x, y = rows(64)
        fit_model(
            TrainConfig(epochs=2, batch_size=16),
            x,
            y,
            task="regression",
            out_dim=1,
            callbacks=[lambda model, epoch, logs: seen.append(blas_threads())],
        )
        assert seen and all(set(s) == {expected} for s in seen)
        assert set(blas_threads()) == {3}  # given back after training


def test_the_default_blas_threads_depend_on_the_core_count_only(monkeypatch):
    assert [fitting.default_blas_threads(c) for c in (1, 2, 3, 4, 8, 64)] == [1, 1, 1, 2, 4, 4]
    monkeypatch.setattr("os.getloadavg", lambda: (9.0, 9.0, 9.0), raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert fitting.default_blas_threads() == 1  # a busy machine changes nothing


def test_a_cut_fit_anneals_its_cosine_schedule_within_the_time_left():
    """Through fit_model, on a fake clock of 1 s per epoch and a 10 s limit: the cosine
    planned over 100 epochs is shortened to the 10 that fit, so the rate ends near 0
    instead of at its full value."""
    x, y = rows(64)
    ticks, lrs = [], []

    def clock():  # one tick per reading; each epoch reads it once
        return float(len(ticks))

    config = TrainConfig(
        hidden=(4,), optimizer="adam", lr=0.01, epochs=100, batch_size=16,
        schedule="cosine", time_limit=10.0,
    )  # fmt: skip
    fit = fit_model(
        config, x, y, task="regression", out_dim=1, clock=clock,
        callbacks=[lambda model, epoch, logs: ticks.append(lrs.append(logs["lr"]))],
    )  # fmt: skip
    assert fit.time_cut == "stopped by time_limit (10 s) after 10 of 100 epochs"
    assert fit.schedule.t_max == 10
    assert lrs[0] > 0.0099 and lrs[-1] < 0.001  # after each epoch's step


def test_a_bad_blas_thread_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("BARENET_BLAS_THREADS", "many")
    x, y = rows(32)
    with pytest.raises(ValueError, match="BARENET_BLAS_THREADS must be a whole number"):
        fit_model(TrainConfig(epochs=1, batch_size=16), x, y, task="regression", out_dim=1)


@pytest.mark.parametrize(
    "values, said",
    [
        ({"batch_size": 64}, "(--batch-size 64)"),
        ({"recipe": "tabular"}, "(batch size 256, the tabular recipe's)"),
        ({}, "(batch size 32, the default)"),
    ],
)
def test_a_batch_larger_than_the_rows_says_where_the_batch_size_came_from(values, said):
    """Not "--batch-size 256" when the user never gave one: the recipe's, or the default."""
    x, y = rows(20)
    config = TrainConfig(**{"hidden": (4,), "epochs": 1, **values})
    with pytest.raises(ValueError) as caught:
        fit_model(config, x, y, task="regression", out_dim=1)
    message = str(caught.value)
    assert said in message
    assert "give --batch-size" in message and "or smaller, or train on more rows" in message
