"""The model refitted on every row keeps the preprocessing learned from every row:
predicting the very file it trained on clips nothing and finds no unseen category."""

import json

import numpy as np
import pandas as pd

import barenet
from barenet.cli import main
from barenet.tables.columns import encode, encoded_names, fit_columns


def table(rows=200, seed=1):
    """A table whose largest a and b, 3 of the 6 rows of a level and the last date are
    among the test rows of barenet train's 80/20 split (seed 42)."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    _, test = train_test_split(np.arange(rows), test_size=0.2, random_state=42)
    a = rng.normal(size=rows)
    b = rng.exponential(size=rows)
    a[test[0]], b[test[1]] = 9.0, 40.0
    b[rng.choice(rows, 5, replace=False)] = np.nan
    city = rng.choice(["north", "south", "east"], rows).astype(object)
    train = np.setdiff1d(np.arange(rows), test)
    city[np.r_[train[:3], test[:3]]] = "west"  # 3 training rows: pooled into "other"
    day = pd.date_range("2020-01-01", periods=rows, freq="D").strftime("%Y-%m-%d").to_numpy()
    day[[test[2], rows - 1]] = day[[rows - 1, test[2]]]
    y = 2 * a - np.nan_to_num(b) + (city == "west") + 0.1 * rng.normal(size=rows)
    return pd.DataFrame({"a": a, "b": b, "city": city, "day": day, "y": y})


def train_and_predict(capsys, *options):
    code = main(["train", "--data", "t.csv", "--target", "y", "--save", "m.npz"]
                + ["--epochs", "3", "--plot", "none", "--json", *options])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    code = main(["predict", "--model", "m.npz", "--data", "t.csv", "--out", "p.csv"])
    captured = capsys.readouterr()
    assert code == 0
    return summary, captured.out + captured.err


def test_predicting_the_training_file_notes_nothing_clipped_nor_unseen(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    table().to_csv("t.csv", index=False)
    frame = pd.read_csv("t.csv")  # as barenet reads it (pandas 2 rounds some digits)
    summary, said = train_and_predict(capsys)
    saved = summary["saved_model"]
    assert saved["refitted"] and saved["rows"] == 200
    assert saved["line"].startswith("Saved model: refitted on all 200 rows (160 training")
    assert "clipped" not in said and "unseen" not in said
    assert "imputed 5 blank cells (b: 5)" in said  # the blanks are still said
    prep = barenet.load("m.npz").preprocessing
    everything, _ = fit_columns(frame.drop(columns="y"))
    assert prep.columns == everything  # levels, medians, dates: from every row
    assert prep.ranges["low"] == [frame.a.min(), frame.b.min()]
    assert prep.ranges["high"] == [9.0, 40.0] == [frame.a.max(), frame.b.max()]
    city = next(s for s in prep.columns if s["name"] == "city")
    assert "west" in city["levels"] and not city["other"]  # its 6 rows: a level
    day = next(s for s in prep.columns if s["name"] == "day")
    assert (day["origin_text"], day["end_text"]) == ("2020-01-01", "2020-07-18")
    x = encode(frame.drop(columns="y"), everything)
    np.testing.assert_allclose(prep.scaler_x.mean_, x.mean(axis=0))
    np.testing.assert_allclose(prep.scaler_y.mean_, [frame.y.mean()])
    assert prep.feature_names == ["a", "b", "city", "day"]
    assert len(encoded_names(prep.columns)) == barenet.load("m.npz").in_dim


def test_the_held_out_fit_keeps_the_training_rows_preprocessing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = table()
    frame.to_csv("t.csv", index=False)
    summary, said = train_and_predict(capsys, "--no-refit")
    assert summary["saved_model"]["rows"] == 160 and not summary["saved_model"]["refitted"]
    prep = barenet.load("m.npz").preprocessing
    assert prep.ranges["high"][0] < 9.0 and prep.ranges["high"][1] < 40.0  # test rows
    day = next(s for s in prep.columns if s["name"] == "day")
    assert day["end_text"] < "2020-07-18"
    city = next(s for s in prep.columns if s["name"] == "city")
    assert "west" not in city["levels"] and city["pooled"] == ["west"]  # 3 training rows
    # it learned from the training rows only: predicting every row says so
    assert "2 values were outside the training range, clipped to it (a: 1, b: 1)" in said
    assert "1 date was outside the training range" in said


def test_a_checkpointed_run_says_it_saved_the_model_as_trained(tmp_path, capsys, monkeypatch):
    """--checkpoint (and --resume) keep the run as trained, not refitted: the summary's
    saved_model says so, as --no-refit's does."""
    monkeypatch.chdir(tmp_path)
    table().to_csv("t.csv", index=False)
    argv = ["train", "--data", "t.csv", "--target", "y", "--epochs", "2", "--plot", "none"]
    assert main([*argv, "--json", "--checkpoint", "ck.npz", "--save", "m.npz"]) == 0
    saved = json.loads(capsys.readouterr().out)["saved_model"]
    assert saved["refitted"] is False and saved["rows"] == 160
    assert saved["why"] == "--checkpoint: a checkpointed run is kept"
    assert main([*argv, "--epochs", "3", "--resume", "ck.npz", "--save", "m2.npz"]) == 0
    out = capsys.readouterr().out
    assert "Saved model: learned from the 160 training rows (--resume: a checkpointed run" in out
