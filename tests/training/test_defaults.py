"""The default model of ``barenet train --data FILE --target COL`` (issue 28): the same
model on an idle and a busy machine, learned from every row, every frequent category
kept, less variance on small tables."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd

import barenet
from barenet.cli import main


def small_table(rows=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    city = rng.choice(["north", "south", "east", "west"], rows)
    effect = pd.Series(city).map({"north": 1.0, "south": -1.0, "east": 0.5, "west": 0.0})
    y = x @ [1.0, -2.0, 0.5] + effect.to_numpy() + 0.1 * rng.normal(size=rows)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "city": city, "y": y})


def train(capsys, *args):
    code = main(["train", *map(str, args), "--plot", "none", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def busy_processes(n=2):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def test_the_default_gives_the_same_model_on_an_idle_and_a_busy_machine(
    tmp_path, capsys, monkeypatch
):
    """Same seed, once alone and once beside two busy processes: the same epochs and
    bit-identical predictions (the BLAS thread count no longer follows the load)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BARENET_BLAS_THREADS", raising=False)
    small_table().to_csv("t.csv", index=False)
    args = ["--data", "t.csv", "--target", "y", "--seed", 3]
    idle = train(capsys, *args, "--save", "idle.npz")
    busy = busy_processes()
    try:
        loaded = train(capsys, *args, "--save", "busy.npz")
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert idle["config"]["time_limit"] is None and idle["time_limit_cut"] is None
    assert idle["epochs_trained"] == loaded["epochs_trained"]
    assert idle["kept_epoch"] == loaded["kept_epoch"]
    frame = pd.read_csv("t.csv")
    first, second = (barenet.load(p) for p in ("idle.npz", "busy.npz"))
    first, second = (
        first.preprocessing.predict(first, frame),
        second.preprocessing.predict(second, frame),
    )
    np.testing.assert_array_equal(first, second)


def test_the_saved_model_is_refitted_on_every_row_for_the_kept_epochs(
    tmp_path, capsys, monkeypatch
):
    """The held-out fit scores the test split and chooses the epochs; the saved model is
    then trained on all 240 rows for those epochs, and the summary says so."""
    from barenet.training import refit

    monkeypatch.chdir(tmp_path)
    small_table().to_csv("t.csv", index=False)
    seen = []
    real_fit = refit.fit_model

    def spy(config, x, y, **kwargs):
        seen.append((len(x), config.epochs, config.early_stopping, config.validation_fraction()))
        return real_fit(config, x, y, **kwargs)

    monkeypatch.setattr(refit, "fit_model", spy)
    summary = train(capsys, "--data", "t.csv", "--target", "y", "--save", "m.npz")
    kept = summary["kept_epoch"]
    assert seen == [(240, kept, None, 0.0)]
    saved = summary["saved_model"]
    assert saved["refitted"] and saved["rows"] == 240 and saved["epochs"] == kept
    assert saved["line"].startswith(
        f"Saved model: refitted on all 240 rows (172 training + 20 validation + 48 test) "
        f"for {kept} epoch{'' if kept == 1 else 's'}"
    )
    assert barenet.load("m.npz").epoch == kept
    seen.clear()
    summary = train(capsys, "--data", "t.csv", "--target", "y", "--save", "m.npz", "--no-refit")
    assert seen == [] and summary["saved_model"]["rows"] == 172
    assert barenet.load("m.npz").epoch == summary["epochs_trained"]
    options = ["--target", "y", "--plot", "none", "--save", "m.npz", "--no-refit"]
    code = main(["train", "--data", "t.csv", *options])
    out = capsys.readouterr().out
    assert code == 0 and "Saved model: learned from the 172 training rows (--no-refit)" in out


def test_without_save_nothing_is_refitted_nor_said_saved(tmp_path, capsys, monkeypatch):
    """No --save: nothing keeps a refitted model, so none is trained, and no line or key
    speaks of a saved model (on a file; a folder is never refitted)."""
    from barenet.training import refit

    monkeypatch.chdir(tmp_path)
    small_table().to_csv("t.csv", index=False)
    seen = []
    monkeypatch.setattr(refit, "fit_model", lambda *a, **k: seen.append(1))
    code = main(["train", "--data", "t.csv", "--target", "y", "--plot", "none", "--epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0 and seen == []
    assert "Refitting" not in out and "Saved model" not in out
    summary = train(capsys, "--data", "t.csv", "--target", "y", "--epochs", "1")
    assert seen == [] and "saved_model" not in summary and "model" not in summary


def test_one_epoch_is_said_in_the_singular():
    from barenet.training.refit import epochs_text

    assert (epochs_text(1), epochs_text(3)) == ("1 epoch", "3 epochs")


def test_one_hot_and_indicator_columns_pass_through_the_embedding():
    """The tabular recipe embeds the columns with 3+ distinct values only: 2 numeric
    and 5 0/1 columns give 2 * 16 + 5 inputs to the first hidden layer, not 7 * 16."""
    from barenet.gradcheck import check_gradients
    from barenet.tabular.embeddings import quantile_bins
    from barenet.tabular.passthrough import PiecewisePassthrough
    from barenet.training.config import TrainConfig, build_model

    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=(300, 2)), rng.integers(0, 2, (300, 5))])
    y = x.sum(axis=1, keepdims=True)
    model = build_model(TrainConfig(recipe="tabular"), 7, 1, "regression", x, y)
    first = model.layers[0]
    assert isinstance(first, PiecewisePassthrough) and first.embedded == [0, 1]
    assert first.out_dim == 2 * 16 + 5
    out = first.forward(x.astype(np.float32))
    np.testing.assert_array_equal(out[:, 32:], x[:, 2:])
    layer = PiecewisePassthrough(4, [0, 2], quantile_bins(x[:, [0, 2, 4]][:, :2], 6), 3,
                                 dtype=np.float64, seed=1)  # fmt: skip
    assert check_gradients(layer, x[:20, :4] + 0.01).ok


def test_the_tabular_recipe_with_passthrough_columns_saves_loads_and_trains(tmp_path):
    from barenet.sklearn.estimators import BarenetRegressor

    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(size=(400, 2)), rng.integers(0, 2, (400, 3))])
    y = x @ [1.0, 2.0, -1.0, 0.5, 3.0]
    model = BarenetRegressor(recipe="tabular", epochs=3, hidden=(16,), random_state=0)
    model.fit(x, y)
    barenet.save(model.model_, tmp_path / "m.npz")
    again = barenet.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.predict(x), model.model_.predict(x))


def test_every_frequent_category_is_one_hot_and_only_unseen_values_are_counted():
    """46 cities of 100+ rows each: all 46 levels (no "other"); a value pooled in
    training (3 rows) is not "unseen" at predict time, a new one is."""
    from barenet.tables.columns import MAX_CATEGORIES, encode, fit_columns, tally_notice

    rng = np.random.default_rng(0)
    cities = [f"city_{i:02d}" for i in range(46)]
    frame = pd.DataFrame({"city": list(np.repeat(cities, 100)) + ["tiny"] * 3})
    frame["size"] = rng.normal(size=len(frame))
    specs, _ = fit_columns(frame)
    (city,) = [s for s in specs if s["name"] == "city"]
    assert MAX_CATEGORIES >= 100 and sorted(city["levels"]) == cities
    assert city["other"] and city["pooled"] == ["tiny"]
    tally = {}
    x = encode(pd.DataFrame({"city": ["tiny", "city_45", "atlantis"], "size": 0.0}), specs, tally)
    assert x.shape == (3, 48) and x[0, 46] == 1 and x[2, 46] == 1  # both in "other"
    assert tally["city"]["unseen"] == 1 and tally["city"]["examples"] == ["atlantis"]
    assert "1 cell held a category unseen in training (city: 1, e.g. 'atlantis')" in (
        tally_notice(tally)
    )


def test_the_small_table_default_is_an_ensemble_of_eight():
    """Below 1,000 rows recipe auto is a 64-64 TabM-mini ensemble of 8 members (less
    seed variance than one network: docs/table.md gives the measured spread)."""
    from barenet.tabular.ensemble import EnsembleMean
    from barenet.training.config import TrainConfig, build_model
    from barenet.training.fitting import resolve_config

    config, why = resolve_config(TrainConfig(recipe="auto"), 300)
    assert config.recipe == "small" and config.ensemble == 8 and config.hidden == (64, 64)
    x = np.random.default_rng(0).normal(size=(300, 4))
    model = build_model(config, 4, 1, "regression", x, x[:, :1])
    assert isinstance(model.layers[-1], EnsembleMean) and model.layers[-1].k == 8


def test_the_refit_reuses_the_kept_epochs_and_holds_nothing_out():
    from types import SimpleNamespace

    from barenet.training.config import TrainConfig
    from barenet.training.refit import refit_config, why_no_refit

    config = TrainConfig(recipe="small", schedule="cosine")
    fit = SimpleNamespace(config=config, kept_epoch=57, model=SimpleNamespace(interrupted=False))
    again = refit_config(fit)
    assert (again.epochs, again.early_stopping, again.validation_fraction()) == (57, None, 0.0)
    assert again.ensemble == config.ensemble and again.lr == config.lr
    assert why_no_refit(fit) is None
    fit.config = TrainConfig(schedule="plateau", val_fraction=0.2)
    assert "plateau" in why_no_refit(fit)
    fit.model.interrupted = True
    assert why_no_refit(fit) == "training was interrupted"
