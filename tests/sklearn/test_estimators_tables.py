"""The estimators take tables as ``barenet train`` does (barenet.sklearn.inputs): text,
``category`` and nullable columns, blanks and dates in a DataFrame or a pyarrow Table,
features and target standardised on the training rows, the whole stored by
``barenet.save`` and exported to ONNX."""

import csv

import numpy as np
import pandas as pd
import pytest

import barenet
from barenet.cli import main
from barenet.errors import DataError
from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor

SETTINGS = {"epochs": 60, "lr": 0.01, "hidden": (32,), "random_state": 0, "dtype": "float64"}


def houses(n=240, seed=0):
    """A raw table as a user has it: text with blanks, a ``category``, nullable integers
    and floats with pd.NA, nullable true/false, dates; and a price in dollars."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "lux"], n).astype(object)
    plan[rng.random(n) < 0.1] = None
    frame = pd.DataFrame(
        {
            "plan": plan,
            "town": pd.Categorical(rng.choice(["north", "south"], n)),
            "rooms": pd.array(rng.integers(1, 7, n), dtype="Int64"),
            "size": pd.array(rng.normal(80, 25, n), dtype="Float64"),
            "garden": pd.array(rng.choice([True, False], n), dtype="boolean"),
            "sold": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        }
    )
    frame.loc[rng.random(n) < 0.1, "size"] = pd.NA
    frame.loc[rng.random(n) < 0.1, "rooms"] = pd.NA
    size = frame["size"].astype(float).fillna(80).to_numpy()
    bonus = {"basic": 0.0, "plus": 20_000.0, "lux": 60_000.0}
    price = 2_000 * size + np.array([bonus.get(p, 10_000.0) for p in plan])
    price += 15_000 * (frame["town"] == "south").to_numpy() + rng.normal(0, 5_000, n)
    return frame, pd.Series(price, name="price")


def test_a_raw_table_fits_and_predicts_in_the_targets_units():
    frame, price = houses()
    model = BarenetRegressor(**SETTINGS).fit(frame[:200], price[:200])
    assert list(model.feature_names_in_) == list(frame.columns) and model.n_features_in_ == 6
    names = list(model.get_feature_names_out())
    assert {"plan=basic", "town=south", "rooms_missing", "size_missing", "garden"} <= set(names)
    assert any(name.startswith("sold_") for name in names)  # calendar features of the date
    predicted = model.predict(frame[200:])
    assert predicted.shape == (40,) and np.isfinite(predicted).all()
    baseline = np.sqrt(np.mean((price[200:] - price[:200].mean()) ** 2))
    assert np.sqrt(np.mean((predicted - price[200:]) ** 2)) < 0.5 * baseline


def test_unseen_values_and_blanks_are_answered():
    frame, price = houses()
    model = BarenetRegressor(**SETTINGS).fit(frame, price)
    odd = frame.head(3).copy()
    odd.loc[odd.index[:2], "plan"] = ["penthouse", None]  # unseen, blank; row 3 as it was
    odd.loc[odd.index[:2], "size"] = pd.NA
    predicted = model.predict(odd)
    assert np.isfinite(predicted).all()
    assert predicted[2] == pytest.approx(model.predict(frame.head(3))[2])  # row by row


def test_a_pyarrow_table_gives_the_dataframes_answers():
    pa = pytest.importorskip("pyarrow")
    frame, price = houses()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    from_arrow = BarenetRegressor(**SETTINGS).fit(table, price)
    from_pandas = BarenetRegressor(**SETTINGS).fit(frame, price)
    np.testing.assert_allclose(from_arrow.predict(table), from_pandas.predict(frame))
    assert list(from_arrow.feature_names_in_) == list(frame.columns)


def test_a_classifier_takes_a_table_and_text_labels():
    frame, price = houses()
    labels = np.where(price > price.median(), "dear", "cheap")
    model = BarenetClassifier(**SETTINGS).fit(frame[:200], labels[:200])
    assert list(model.classes_) == ["cheap", "dear"]
    assert model.score(frame[200:], labels[200:]) > 0.8
    proba = model.predict_proba(frame[200:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_features_are_standardised_so_their_units_do_not_matter():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 3))
    y = x[:, 0] - x[:, 1] * x[:, 2]
    units = BarenetRegressor(**SETTINGS).fit(x, y)
    shifted = BarenetRegressor(**SETTINGS).fit(x * [1e4, 1e-3, 50] + [3e5, 7, -20], y)
    np.testing.assert_allclose(
        shifted.predict(x * [1e4, 1e-3, 50] + [3e5, 7, -20]), units.predict(x), atol=1e-6
    )


def test_the_saved_file_answers_as_the_estimator_on_the_command_line_too(tmp_path, capsys):
    frame, price = houses()
    model = BarenetRegressor(**SETTINGS).fit(frame[:200], price[:200])
    path = barenet.save(model, tmp_path / "m.npz")
    loaded = barenet.load(path)
    new = frame[200:]
    np.testing.assert_allclose(loaded.preprocessing.predict(loaded, new), model.predict(new))
    new.to_csv(tmp_path / "new.csv", index=False)
    code = main(["predict", "--model", str(path), "--data", str(tmp_path / "new.csv")])
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert code == 0 and rows[0] == ["predicted_target"]
    # the CSV holds the dates as text and the blanks as empty cells: the same answers
    answers = np.array([float(row[0]) for row in rows[1:]])
    np.testing.assert_allclose(answers, model.predict(new), rtol=1e-5)  # 6 digits written


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_a_table_estimator_exports_to_onnx_and_answers_as_predict(tmp_path, kind):
    ort = pytest.importorskip("onnxruntime")
    from barenet.io.onnx.export import export_onnx

    frame, price = houses()
    frame = frame.drop(columns=["sold"])  # dates are exported; the feeds below are columns
    if kind == "regressor":
        model = BarenetRegressor(**SETTINGS).fit(frame, price)
    else:
        model = BarenetClassifier(**SETTINGS).fit(frame, price > price.median())
    session = ort.InferenceSession(str(export_onnx(model, tmp_path / "m.onnx")))
    feeds = {
        "plan": frame["plan"].fillna("").to_numpy(object).reshape(-1, 1),
        "town": frame["town"].astype(str).to_numpy(object).reshape(-1, 1),
        "rooms": frame["rooms"].astype(float).to_numpy(np.float64).reshape(-1, 1),
        "size": frame["size"].astype(float).to_numpy(np.float64).reshape(-1, 1),
        "garden": frame["garden"].astype(float).to_numpy(np.float64).reshape(-1, 1),
    }
    wanted = {i.name for i in session.get_inputs()}
    outputs = session.run(None, {name: feeds[name] for name in wanted})
    if kind == "regressor":
        np.testing.assert_allclose(outputs[0][:, 0], model.predict(frame), rtol=1e-4, atol=50)
    else:
        assert outputs[2].tolist() == model.predict(frame).tolist()


def test_a_table_without_a_usable_column_is_a_clear_error():
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(30)], "same": [1.0] * 30})
    with pytest.raises(DataError, match=r"no usable feature column \(id .*, same \(constant\)"):
        BarenetRegressor(epochs=1).fit(frame, np.arange(30.0))


@pytest.mark.parametrize(
    "change",
    [lambda f: f.rename(columns={"plan": "layout"}), lambda f: f[f.columns[::-1]]],
    ids=["renamed", "reordered"],
)
def test_predicting_on_other_columns_is_refused_by_scikit_learns_check(change):
    frame, price = houses()
    model = BarenetRegressor(epochs=1, random_state=0).fit(frame, price)
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(change(frame))


def test_partial_fit_learns_the_columns_on_its_first_block_and_keeps_them():
    frame, price = houses()
    labels = np.where(price > price.median(), "dear", "cheap")
    model = BarenetClassifier(**SETTINGS)
    model.partial_fit(frame[:120], labels[:120], classes=["cheap", "dear"])
    names, scale = list(model.get_feature_names_out()), model.preprocessing_.scaler_x.scale_
    later = frame[120:].copy()
    later["plan"] = "penthouse"  # a level the first block never saw: no new feature
    model.partial_fit(later, labels[120:])
    assert list(model.get_feature_names_out()) == names and model.n_iter_ == 2
    np.testing.assert_array_equal(model.preprocessing_.scaler_x.scale_, scale)
    assert model.predict(later).shape == (120,)


def test_free_text_is_word_indicators_for_the_estimators_from_pandas_arrow_and_onnx(tmp_path):
    """A free-text column (``tests/text_tables.py``) gets the command line's word
    features (``barenet.tables.free_text``) from a DataFrame or a pyarrow Table, and
    the estimator's ONNX graph answers as it does."""
    pa = pytest.importorskip("pyarrow")
    ort = pytest.importorskip("onnxruntime")
    from text_tables import titled

    from barenet.io.onnx.export import export_onnx

    frame = titled(600)
    X, y = frame[["job", "x"]], frame["y"]
    model = BarenetRegressor(**{**SETTINGS, "epochs": 5}).fit(X, y)
    spec = model.preprocessing_.columns[0]
    assert spec["kind"] == "text" and "manager" in spec["words"]
    from_arrow = BarenetRegressor(**{**SETTINGS, "epochs": 5})
    from_arrow.fit(pa.Table.from_pandas(X, preserve_index=False), y)
    np.testing.assert_allclose(from_arrow.predict(X), model.predict(X))
    session = ort.InferenceSession(str(export_onnx(model, tmp_path / "m.onnx")))
    feeds = {
        "job": X["job"].fillna("").to_numpy(object).reshape(-1, 1),
        "x": X["x"].to_numpy(np.float64).reshape(-1, 1),
    }
    got = session.run(["prediction"], feeds)[0][:, 0]
    np.testing.assert_allclose(got, model.predict(X), rtol=1e-5, atol=1e-5)
