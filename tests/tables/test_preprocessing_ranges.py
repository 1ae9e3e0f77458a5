"""A table model clips each numeric column to its training range before scaling
(``Preprocessing.ranges``, issue 30): a far value is an edge value, ``predict`` says how
many it clipped, the test rows of ``train`` are clipped alike, model files without
ranges predict as before, and damaged ranges are refused when the file is loaded."""

import numpy as np
import pandas as pd
import pytest

import barenet
from barenet.cli import main
from barenet.errors import ModelFileError
from barenet.tables.columns import encode, read_table
from barenet.tables.preprocessing import Preprocessing, fit_ranges, range_notice

TRAIN = ["--epochs", "2", "--plot", "none", "--quiet", "--seed", "0"]


@pytest.fixture
def trained(tmp_path, monkeypatch):
    """A regression model on a, b (with blanks), a true/false and a text column."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.standard_normal(300), "b": rng.standard_normal(300)})
    frame.loc[::10, "b"] = np.nan
    frame["flag"] = np.where(rng.random(300) < 0.5, "true", "false")
    frame["k"] = np.where(frame["a"] > 0, "hi", "lo")
    frame["y"] = 3 * frame["a"] + frame["b"].fillna(0)
    frame.to_csv("t.csv", index=False)
    assert main(["--data", "t.csv", "--target", "y", *TRAIN, "--save", "m.npz"]) == 0
    return frame


def _predict(path, capsys):
    code = main(["predict", "--model", "m.npz", "--data", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return np.array([float(line) for line in out.splitlines()[1:]]), err


def test_ranges_are_those_of_the_training_rows_numeric_columns_only(trained):
    prep = barenet.load("m.npz").preprocessing
    names = [spec["name"] for spec in prep.columns]
    assert sorted(names) == ["a", "b", "flag", "k"]
    features = prep.ranges["features"]
    from barenet.tables.columns import encoded_names

    assert [encoded_names(prep.columns)[i] for i in features] == ["a", "b"]
    low, high = np.array(prep.ranges["low"]), np.array(prep.ranges["high"])
    assert (low < high).all()
    # the training rows only (80 % of 300), within the whole table's range
    assert trained["a"].min() <= low[0] and high[0] <= trained["a"].max()


def test_predict_clips_far_values_to_the_training_range_and_says_how_many(trained, capsys):
    prep = barenet.load("m.npz").preprocessing
    low, high = prep.ranges["low"], prep.ranges["high"]
    rows = pd.DataFrame(
        {
            "a": [1e300, high[0], 5e7, -1e300, low[0], 0.25, 0.25],
            "b": [0.5, 0.5, 0.5, 0.5, 0.5, -3e250, low[1]],
            "flag": ["true"] * 7,
            "k": ["hi"] * 7,
        }
    )
    rows.to_csv("far.csv", index=False)
    predicted, err = _predict("far.csv", capsys)
    # beyond the top: the top (within float32 rounding: rows of one batch may take
    # different BLAS kernels)
    np.testing.assert_allclose(predicted[[1, 2]], predicted[0], rtol=1e-6)
    np.testing.assert_allclose(predicted[4], predicted[3], rtol=1e-6)
    np.testing.assert_allclose(predicted[6], predicted[5], rtol=1e-6)
    assert np.isfinite(predicted).all()
    assert "4 values were outside the training range, clipped to it (a: 3, b: 1)" in err


def test_rows_inside_the_range_give_no_notice_and_are_unchanged(trained, capsys):
    trained.drop(columns="y").iloc[:20].to_csv("same.csv", index=False)
    _, err = _predict("same.csv", capsys)
    assert "training range" not in err


def test_train_clips_its_test_rows_as_predict_does():
    from barenet.cli.data_args import _scaled_split

    specs = [{"name": "a", "kind": "numeric", "median": 0.0, "indicator": False}]
    x_train, x_test = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([[1e9], [-5.0], [1.5]])
    y_train, y_test = np.arange(4.0)[:, None], np.arange(3.0)[:, None]
    split = _scaled_split((x_train, x_test, y_train, y_test), specs, "y", None, {}, "t.csv")
    assert split.ranges == {"features": [0], "low": [0.0], "high": [3.0]}
    assert split.preprocessing.ranges == split.ranges
    expected = split.scaler_x.transform(np.array([[3.0], [0.0], [1.5]]))
    np.testing.assert_array_equal(split.x_test, expected)


def test_a_model_file_without_ranges_predicts_as_before(trained, capsys):
    model = barenet.load("m.npz")
    model.preprocessing.ranges = None  # as model files before ranges were kept
    barenet.save(model, "old.npz")
    old = barenet.load("old.npz")
    assert old.preprocessing.ranges is None
    rows = trained.drop(columns="y").iloc[[0] * 5].assign(a=[3.0, 30.0, 300.0, 3e3, 3e4])
    rows.to_csv("far.csv", index=False)
    frame = read_table("far.csv")
    unclipped = old.preprocessing.scaler_x.transform(encode(frame, old.preprocessing.columns))
    expected = old.preprocessing.answers(old.predict(unclipped))
    np.testing.assert_array_equal(old.preprocessing.predict(old, frame), expected)
    assert len(np.unique(expected)) == 5  # not clipped: five different answers
    model = barenet.load("m.npz")
    clipped = model.preprocessing.predict(model, frame)
    np.testing.assert_allclose(clipped[1:], clipped[1], rtol=1e-6)  # the training maximum


@pytest.mark.parametrize(
    "ranges, problem",
    [
        ({"features": [9], "low": [0.0], "high": [1.0]}, "outside the"),
        ({"features": [0], "low": [2.0], "high": [1.0]}, "a low is above its high"),
        ({"features": [0], "low": ["a"], "high": [1.0]}, "not numbers"),
        ({"features": [0, 1], "low": [0.0], "high": [1.0]}, "different numbers"),
        ({"features": "0", "low": [0.0], "high": [1.0]}, "not lists"),
        ([1, 2], "not lists"),
    ],
)
def test_damaged_ranges_are_refused_when_the_file_is_loaded(trained, ranges, problem):
    model = barenet.load("m.npz")
    model.preprocessing.ranges = ranges
    barenet.save(model, "bad.npz")
    with pytest.raises(ModelFileError, match=problem):
        barenet.load("bad.npz")


def test_fit_ranges_and_the_notice():
    specs = [
        {"name": "n", "kind": "numeric", "median": 0.0, "indicator": True},
        {"name": "f", "kind": "bool", "median": 0.0, "indicator": False},
    ]
    x = np.array([[1.0, 0.0, 1.0], [-2.0, 1.0, 0.0], [5.0, 0.0, 1.0]])
    ranges = fit_ranges(x, specs)
    assert ranges == {"features": [0], "low": [-2.0], "high": [5.0]}
    assert fit_ranges(x[:, 2:], specs[1:]) is None  # no numeric column
    prep = Preprocessing(["n", "f"], columns=specs, ranges=ranges)
    tally = {"n": {}, "f": {}}
    clipped = prep.clip(np.array([[9.0, 1.0, 7.0], [-9.0, 0.0, 1.0], [0.0, 0.0, 0.0]]), tally)
    np.testing.assert_array_equal(clipped[:, 0], [5.0, -2.0, 0.0])
    np.testing.assert_array_equal(clipped[:, 1:], [[1.0, 7.0], [0.0, 1.0], [0.0, 0.0]])
    assert range_notice(tally) == "2 values were outside the training range, clipped to it (n: 2)"
    assert range_notice({"n": {"outside_range": 0}}) is None
