"""The same rows as one file and as a folder of parts (``barenet train --data folder/``):
both train through ``training.fitting.fit_model``, so the same options resolve to the
same configuration (recipe auto included), the time limit cuts and anneals alike, the
summaries have the same keys, and what a folder cannot apply is refused by name
(barenet.streaming.options.stream_config)."""

import json

import numpy as np
import pandas as pd
import pytest
from stream_tables import table, write_parts

from barenet.cli import main
from barenet.training.config import TrainConfig

TARGET = ["--target", "y", "--json"]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """The same 3,000 rows as ``t.csv`` and as the folder ``d`` of four CSV parts."""
    root = tmp_path_factory.mktemp("same_rows")
    frame = table(3000)
    frame.to_csv(root / "t.csv", index=False)
    write_parts(frame, root / "d", kind="csv")
    return root


def train(capsys, data, *options):
    code = main(["train", "--data", str(data), *TARGET, *options])
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else None, out.err


def test_the_same_options_resolve_and_report_alike(places, capsys, monkeypatch):
    monkeypatch.chdir(places)
    options = ["--epochs", "3", "--seed", "1", "--lr", "0.02", "--plot", "p.png"]
    options += ["--time-limit", "1e-6"]  # spent by any first epoch: stopped after it
    code_file, file, _ = train(capsys, "t.csv", *options, "--save", "f.npz")
    code_folder, folder, _ = train(capsys, "d", *options, "--save", "d.npz")
    assert code_file == code_folder == 0
    assert (
        file["config"]
        == folder["config"]
        == TrainConfig(epochs=3, seed=1, lr=0.02, time_limit=1e-6).to_json()
    )
    for key in ("task", "columns", "validation", "recipe_choice", "epochs_trained"):
        assert file[key] == folder[key], key
    assert file["time_limit_cut"] == folder["time_limit_cut"]
    assert folder["time_limit_cut"] == "stopped by --time-limit (1e-06 s) after 1 of 3 epochs"
    assert file["plot"] == folder["plot"] == "p.png" and (places / "p.png").stat().st_size
    # every row is a training or a test row on both routes; which rows differs (a random
    # split of a file, a split by row hash of a folder: barenet.streaming.source.split_of)
    assert file["rows"]["train"] + file["rows"]["test"] == 3000
    assert folder["rows"]["train"] + folder["rows"]["test"] == 3000
    # what one route reports and the other does not, named here so a new one fails
    assert set(file) - set(folder) == {"task_reason"}
    assert set(folder) - set(file) == {"rows_per_second"}
    assert folder["baselines"] == {} and "least squares" in file["baselines"]
    assert set(file["test"]) == set(folder["test"])


def test_data_alone_is_recipe_auto_on_both_routes_resolved_alike(places, capsys, monkeypatch):
    """``--data`` alone means ``--recipe auto`` for a folder too: resolved (by
    ``fit_model``) for the training rows the one pass counted, with its early stopping
    on the held-out rows; the time limit cuts both after the first epoch."""
    monkeypatch.chdir(places)
    options = ["--plot", "none", "--time-limit", "1e-6"]
    code_file, file, _ = train(capsys, "t.csv", *options)
    code_folder, folder, err = train(capsys, "d", *options)
    assert code_file == code_folder == 0 and "Note:" not in err
    resolved = TrainConfig(recipe="tabular", time_limit=1e-6).to_json()
    assert file["config"] == folder["config"] == resolved
    for summary in (file, folder):  # about 2,000 training rows on each route
        assert summary["recipe_choice"].startswith("recipe auto chose tabular (")
        assert (
            summary["time_limit_cut"] == "stopped by --time-limit (1e-06 s) after 1 of 60 epochs"
        )
        assert summary["validation"].startswith("0.1 of the training rows")
        assert summary["epochs_trained"] == summary["kept_epoch"] == 1
        assert summary["history"]["val_loss"][0] is not None  # early stopping watched it
    assert set(file) - set(folder) == {"task_reason"}
    assert set(folder) - set(file) == {"rows_per_second"}


def test_recipe_auto_counts_a_folders_rows_as_a_files_near_the_threshold(
    tmp_path, capsys, monkeypatch
):
    """1,300 rows: about 1,040 training rows before the validation hold-out (>= 1,000:
    tabular), about 940 after it. A file counts them before the hold-out; so does a
    folder, so the same rows resolve the same recipe on both routes."""
    monkeypatch.chdir(tmp_path)
    frame = table(1300)
    frame.to_csv("r1300.csv", index=False)
    write_parts(frame, tmp_path / "d", kind="csv")
    options = ["--plot", "none", "--time-limit", "1e-6"]
    code_file, file, _ = train(capsys, "r1300.csv", *options)
    code_folder, folder, _ = train(capsys, "d", *options)
    assert code_file == code_folder == 0
    rows = folder["rows"]
    assert rows["train"] < 1000 <= rows["train"] + rows["validation"]  # near the threshold
    assert file["recipe_choice"] == "recipe auto chose tabular (1,040 training rows >= 1,000)"
    before_hold_out = f"{rows['train'] + rows['validation']:,}"
    assert folder["recipe_choice"] == (
        f"recipe auto chose tabular ({before_hold_out} training rows >= 1,000)"
    )
    assert file["config"] == folder["config"]


def test_the_time_limit_cuts_and_anneals_a_file_and_a_folder_alike(places, capsys, monkeypatch):
    from barenet.training import config as config_module
    from barenet.training import fitting

    class OneSecondAnEpoch(fitting.TimeBudget):
        """``TimeBudget`` on a clock that reads the epochs done as seconds, so its cut
        and the cosine's shortened length follow from the epochs alone."""

        def __init__(self, *args, **keywords):
            self.epochs_done = 0
            super().__init__(*args, **{**keywords, "clock": lambda: float(self.epochs_done)})

        def __call__(self, model, epoch, logs):
            self.epochs_done = epoch
            return super().__call__(model, epoch, logs)

    monkeypatch.setattr(fitting, "TimeBudget", OneSecondAnEpoch)
    monkeypatch.chdir(places)
    options = ["--epochs", "60", "--schedule", "cosine", "--time-limit", "20", "--plot", "none"]
    cut, t_max = {}, {}
    for data in ("t.csv", "d"):
        checkpoint = places / f"{data}.ckpt.npz"
        code, summary, err = train(capsys, data, *options, "--checkpoint", str(checkpoint))
        assert code == 0, err
        cut[data] = summary["time_limit_cut"]
        t_max[data] = config_module.load_checkpoint(checkpoint)[2].t_max
    # 1 s an epoch: cut once the next epoch would cross 20 s, after epoch 20
    assert cut["t.csv"] == cut["d"] == "stopped by --time-limit (20 s) after 20 of 60 epochs"
    # the checkpoint of epoch 20, written before its budget check: the cosine was
    # shortened (at epoch 19) to the 20 epochs predicted to fit, not the 60 configured
    assert t_max["t.csv"] == t_max["d"] == 20


@pytest.mark.parametrize(
    "options, named",
    [
        (["--recipe", "tabular-best"], "--retrieval (and --recipe tabular-best) reads every"),
        (["--retrieval", "1"], "a folder or glob holds only a sample of its rows in memory"),
    ],
)
def test_what_a_folder_cannot_apply_is_refused_by_name(places, capsys, options, named):
    code, _, err = train(capsys, places / "d", "--plot", "none", *options)
    assert code == 2 and named in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_batch_larger_than_the_training_rows_is_refused_on_both_routes(places, capsys):
    for data in ("t.csv", "d"):
        code, _, err = train(capsys, places / data, "--plot", "none", "--batch-size", "4096")
        assert code == 2 and "rows, fewer than one batch (--batch-size 4096)" in err, err


def test_early_stopping_on_a_folder_keeps_its_best_held_out_epoch(places, capsys, monkeypatch):
    """The trainer selects on the rows the folder's hash split held out, as a file's on
    the rows ``fit_model`` held out: every epoch has a validation loss, and the kept epoch
    is the one of the lowest."""
    import numpy as np

    import barenet

    monkeypatch.chdir(places)
    options = ["--early-stopping", "2", "--epochs", "12", "--lr", "0.3", "--plot", "none"]
    code, folder, err = train(capsys, "d", *options, "--save", "best.npz")
    assert code == 0, err
    val = folder["history"]["val_loss"]
    assert folder["validation"] == "0.1 of the training rows, held out by hash"
    assert folder["rows"]["validation"] > 0 and None not in val
    assert folder["kept_epoch"] == 1 + int(np.argmin(val))
    model = barenet.load(places / "best.npz")
    assert model.epoch == folder["epochs_trained"] >= folder["kept_epoch"]


def test_diagnostics_watch_a_folder_as_a_file(places, capsys, monkeypatch):
    """``--plot-diagnostics`` draws its fixed batch from the folder's training sample, as
    from a file's training rows, and records every epoch on both routes."""
    from barenet.diagnostics import recorder

    watched = []
    original = recorder.Diagnostics.__init__

    def remember(self, model, x, y, **keywords):
        original(self, model, x, y, **keywords)
        watched.append(self)

    monkeypatch.setattr(recorder.Diagnostics, "__init__", remember)
    monkeypatch.chdir(places)
    options = ["--epochs", "2", "--plot", "none"]
    for data in ("t.csv", "d"):
        code, summary, err = train(capsys, data, *options, "--plot-diagnostics", f"{data}.png")
        assert code == 0, err
        assert summary["diagnostics_plot"] == f"{data}.png"
        assert (places / f"{data}.png").stat().st_size > 0
    assert [w.history["epoch"] for w in watched] == [[0, 1, 2], [0, 1, 2]]
    assert [len(w.x) for w in watched] == [256, 256]


def test_a_folder_model_clips_far_values_to_its_training_range_as_a_file_model(
    places, capsys, monkeypatch
):
    """A model trained on a folder keeps each numeric column's training range, as one
    trained on a file does; predicting a folder clips far values to it and says how many,
    so a value of 1e12 gets the answer of the training edge on either route."""
    import barenet

    monkeypatch.chdir(places)
    code, _, _ = train(capsys, "d", "--epochs", "2", "--plot", "none", "--save", "dm.npz")
    assert code == 0
    prep = barenet.load("dm.npz").preprocessing
    frame = pd.read_csv("t.csv")
    numeric = [spec["name"] for spec in prep.columns if spec["kind"] == "numeric"]
    assert numeric == ["x1", "x2"] and len(prep.ranges["features"]) == 2
    for name, low, high in zip(numeric, prep.ranges["low"], prep.ranges["high"], strict=True):
        assert frame[name].min() <= low < high <= frame[name].max()  # its training rows'
    far = frame.head(4).drop(columns=["y"]).assign(x1=[1e12, -1e12, 0.0, 0.5])
    edge = far.assign(x1=[prep.ranges["high"][0], prep.ranges["low"][0], 0.0, 0.5])
    write_parts(far, places / "far", parts=1, kind="csv")
    write_parts(edge, places / "edge", parts=1, kind="csv")
    for name in ("far", "edge"):
        code = main(["predict", "--model", "dm.npz", "--data", name, "--out", f"{name}_out"])
        assert code == 0
    err = capsys.readouterr().err
    assert "2 values were outside the training range, clipped to it (x1: 2)" in err
    far_answers = pd.read_parquet(places / "far_out")["predicted_y"].to_numpy()
    edge_answers = pd.read_parquet(places / "edge_out")["predicted_y"].to_numpy()
    assert np.array_equal(far_answers, edge_answers)
    file_answers = barenet.load("dm.npz").preprocessing.predict(barenet.load("dm.npz"), far)
    np.testing.assert_allclose(np.ravel(file_answers), far_answers, rtol=1e-6)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_row_ids_and_identifiers_are_dropped_alike_on_both_routes(tmp_path, capsys, kind):
    """A numeric column numbering the rows (1..n, shuffled, spread over the parts) and a
    text column with a different value in every row (one word) are dropped by a file and a
    folder alike, and the summary line says so, where free text that differs in every row
    is free text on both; a column of integers with one value repeated
    (one gap) is a number on both. The one pass counts every row, of every split, as a
    file's check does (``barenet.streaming.row_ids``)."""
    import barenet

    rng = np.random.default_rng(3)
    frame = table(600).assign(n=rng.permutation(600) + 1001)
    frame["near"] = frame["n"].where(frame["n"] != 1500, 1501)  # 1501 twice, no 1500
    words = rng.choice(["good fit", "bad price", "fine"], 600)
    frame["review"] = [f"{w} {i}" for i, w in enumerate(words)]  # free text, every row differs
    frame.to_csv(tmp_path / "t.csv", index=False)
    write_parts(frame, tmp_path / "d", parts=3, kind=kind)
    columns, specs, lines = {}, {}, {}
    for data in ("t.csv", "d"):
        code, summary, err = train(capsys, tmp_path / data, "--epochs", "1", "--plot", "none",
                                   "--save", str(tmp_path / f"{data}.npz"))  # fmt: skip
        assert code == 0, err
        columns[data] = summary["columns"]
        prep = barenet.load(tmp_path / f"{data}.npz").preprocessing
        specs[data] = [(spec["name"], spec["kind"]) for spec in prep.columns]
        main(["train", "--data", str(tmp_path / data), "--target", "y", "--epochs", "1",
              "--plot", "none"])  # fmt: skip
        lines[data] = [x for x in capsys.readouterr().out.splitlines() if "Columns:" in x]
    assert columns["t.csv"] == columns["d"]
    assert columns["d"]["dropped"] == [
        "n (a row id: consecutive integers)",
        "id (an identifier: a different value in every row)",
    ]
    assert specs["t.csv"] == specs["d"] and ("near", "numeric") in specs["d"]
    assert ("review", "text") in specs["d"]
    assert lines["t.csv"] == lines["d"] and len(lines["d"]) == 1
    assert "; 2 dropped: n (a row id: consecutive integers), id (an identifier" in lines["d"][0]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_file_and_a_folder_learn_the_same_categories_ties_rare_values_and_cap(tmp_path, kind):
    """Both routes learn a category column through ``category_spec``: levels with 5 rows
    or more, most frequent first, ties in text order (not in the order rows come, nor
    split by the parts), at most ``max_categories``, the rest pooled in text order, blanks
    not among them; a value that is no text in a file's frame (the integer 7) is its text
    ("7"), as a folder reads it."""
    from barenet.streaming.columns import fit_stream
    from barenet.streaming.source import TableStream
    from barenet.tables.columns import fit_columns

    counts = {"apple": 9, 7: 7, "mango": 6, "éclair": 6, "Zebra": 6, "kiwi": 5, " kiwi ": 1}
    counts |= {"pear": 4, "plum": 2, "fig": 1, None: 3, "  ": 1}
    values = [value for value, n in counts.items() for _ in range(n)]
    rng = np.random.default_rng(12)
    values = [values[i] for i in rng.permutation(len(values))]
    tied = [v for v in dict.fromkeys(values) if v in ("mango", "éclair", "Zebra", "kiwi")]
    assert tied == ["éclair", "mango", "kiwi", "Zebra"]  # the rows bring the ties backwards
    rows = len(values)
    frame = pd.DataFrame({"fruit": values, "x": rng.normal(size=rows), "y": np.arange(rows)})
    as_text = frame.assign(fruit=[None if v is None else str(v) for v in values])
    write_parts(as_text, tmp_path / "d", parts=3, kind=kind)
    fit = fit_stream(
        TableStream(tmp_path / "d", batch_rows=8), "y", ["fruit", "x"], test_size=0.0,
        max_categories=4,
    )  # fmt: skip
    file_specs, file_dropped = fit_columns(frame[["fruit", "x"]], max_categories=4)
    assert fit.specs == file_specs and fit.dropped == file_dropped == []
    assert fit_columns(as_text[["fruit", "x"]], max_categories=4)[0] == file_specs
    assert file_specs[0] == {
        "name": "fruit",
        "kind": "category",
        "levels": ["apple", "7", "Zebra", "kiwi"],  # 9, 7, then 6 rows each in text order
        "other": True,
        "pooled": ["fig", "mango", "pear", "plum", "éclair"],  # past the cap, or rare
    }


def test_a_small_folder_is_probed_as_a_small_file(tmp_path, capsys, monkeypatch):
    """900 rows whose target jumps at thresholds: recipe auto's probe (small, with and
    without piecewise embeddings) runs on both routes, a folder's on its training
    sample (which holds every training row), and both keep the embeddings."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(900, 3)), columns=["a", "b", "c"])
    frame["y"] = 5.0 * (frame["a"] > 0.3) + 3.0 * (frame["b"] > -0.5)
    frame["y"] += 0.1 * rng.normal(size=900)
    frame.to_csv("step.csv", index=False)
    write_parts(frame, tmp_path / "d", kind="csv")
    summaries = [train(capsys, data, "--plot", "none")[1] for data in ("step.csv", "d")]
    for summary in summaries:
        assert summary["recipe_choice"].startswith("recipe auto chose small (")
        assert ", with piecewise embeddings (best validation loss" in summary["recipe_choice"]
        assert summary["config"]["embedding"] == "piecewise"
