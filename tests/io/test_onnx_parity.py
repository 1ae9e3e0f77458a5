"""ONNX answers as ``barenet predict`` does (issue 30): for every configuration of
``benchmarks/onnx_parity.py`` (each recipe ``barenet train --recipe`` offers, the plain
default, the two scalings) and both tasks, onnxruntime on random raw rows (blanks,
unseen categories, text with spaces around it, dates, 1e8 plus noise, numbers of any
sign and magnitude up to 1e300) gives the labels of ``barenet predict`` and predictions
within 1e-5 relative, far rows included: both clip a numeric column to its training
range before the float32 network (``Preprocessing.clip``)."""

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import barenet
from barenet.cli import main
from barenet.tabular.scaling import QuantileScaling, merge_close

onnxruntime = pytest.importorskip("onnxruntime")
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "onnx_parity.py"


def _parity():
    spec = importlib.util.spec_from_file_location("onnx_parity", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


parity = _parity()


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory):
    return parity.write_rows(
        parity.raw_rows(400, seed=7), tmp_path_factory.mktemp("rows") / "r.csv"
    )


@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("config", list(parity.CONFIGS))
def test_onnx_answers_as_predict_on_random_raw_rows(tmp_path, rows_csv, config, task):
    paths = parity.train_and_export(tmp_path, config, task, n_train=1100, epochs=2)
    result = parity.compare(*paths, rows_csv)
    assert result["compared"] == 400 and result["left out"] == 0  # 1e300 is clipped too
    assert result["labels differ"] == 0
    assert result["max relative difference"] < 1e-5
    # rows with a value beyond 1e4 standard deviations (x = 1e8, or -3e250): clipped to
    # the training range, they are edge rows, not float32 activations of 1e8
    assert result["far rows"] >= 30 and result[parity.FAR_DIFF] < 1e-5


def _onnx_answers(onnx_path, text):
    session = onnxruntime.InferenceSession(str(onnx_path))
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, parity.onnx_feeds(text, session)), strict=True))


def test_labels_equal_the_text_barenet_predict_writes(tmp_path, capsys):
    model, onnx_path = parity.train_and_export(tmp_path, "plain", "classification", 600, 2)
    text = parity.raw_rows(200, seed=3)
    text = text[~text["big"].str.contains("e300") & ~text["x"].str.contains("e300")]
    path = parity.write_rows(text, tmp_path / "new.csv")
    assert main(["predict", "--model", str(model), "--data", str(path)]) == 0
    written = [row[0] for row in csv.reader(capsys.readouterr().out.splitlines()[1:])]
    got = _onnx_answers(onnx_path, pd.read_csv(path, dtype=str, keep_default_na=False))
    assert written == got["label"].astype(str).tolist()


def test_a_column_of_1e8_plus_noise_keeps_its_information(tmp_path):
    model, onnx_path = parity.train_and_export(tmp_path, "plain", "regression", 600, 2)
    base = {"x": "0.5", "flag": "true", "colour": "red", "when": "2021-06-01 12:00:00"}
    text = pd.DataFrame([{**base, "big": f"{1e8 + k * 0.25!r}"} for k in range(-8, 9)])
    got = _onnx_answers(onnx_path, text)["prediction"][:, 0]
    path = parity.write_rows(text, tmp_path / "big.csv")
    loaded = barenet.load(model)
    from barenet.tables.columns import read_table

    expected = loaded.preprocessing.predict(loaded, read_table(path))
    assert len(np.unique(got)) > 10  # float32 inputs would give 2 or 3 distinct answers
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_text_with_spaces_around_it_is_the_level_in_predict_and_onnx(tmp_path):
    model, onnx_path = parity.train_and_export(tmp_path, "plain", "regression", 600, 2)
    base = {"big": "100000000", "x": "0.5", "flag": "true", "when": "2021-06-01 12:00:00"}
    spellings = ["red", " red", "red ", "\tred\u00a0", "", "   ", "purple", " dark grey "]
    text = pd.DataFrame([{**base, "colour": c} for c in spellings])
    got = _onnx_answers(onnx_path, text)["prediction"][:, 0]
    loaded = barenet.load(model)
    expected = loaded.preprocessing.predict(loaded, text.replace({"colour": {"": None}}))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert got[0] == got[1] == got[2] == got[3] and got[4] == got[5]
    assert got[0] != got[4] and got[7] != got[6]


def test_quantile_points_closer_than_float32_are_merged_at_fit():
    points, values = merge_close([0.0, 1e-15, 0.5, 1.0], [0.0, 1.0, 2.0, 3.0], [1, 1, 1, 1])
    np.testing.assert_array_equal(points, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(values, [0.5, 2.0, 3.0])
    rng = np.random.default_rng(0)
    hour = rng.integers(0, 24, 3000)
    # the same hour's sine computed two ways: values 1e-16 apart
    angle = 2 * np.pi * hour / 24
    column = np.where(rng.random(3000) < 0.5, np.sin(angle), np.sin(angle + 2 * np.pi))
    assert len(np.unique(column)) > 24
    layer = QuantileScaling.fit(column[:, None])
    gaps, span = np.diff(layer.points[0]), np.ptp(layer.points[0])
    assert (gaps > np.finfo(np.float32).eps * span).all()
    x32 = np.sin(angle).astype(np.float32)[:, None]
    nudged = np.nextafter(x32, np.float32(np.inf))
    # a float32 step never crosses a jump: the output moves by less than 0.2
    assert np.abs(layer.forward(x32) - layer.forward(nudged)).max() < 0.2


def test_old_quantile_points_still_load():
    layer = QuantileScaling([[0.0, 1e-15, 1.0]], [[-1.0, 1.0, 2.0]])
    assert layer.points[0][1] == 1e-15


_MAGNITUDES = st.builds(
    lambda sign, mantissa, exponent: sign * mantissa * 10.0**exponent,
    st.sampled_from([-1.0, 1.0]),
    st.floats(1.0, 9.99),
    st.integers(-300, 299),
)
_NUMBERS = st.one_of(st.floats(-1e300, 1e300, allow_nan=False), _MAGNITUDES, st.none())


@pytest.fixture(scope="module")
def tabular_best(tmp_path_factory):
    """``{task: (model path, onnx path, scratch folder)}``, trained with ``tabular-best``."""
    folder = tmp_path_factory.mktemp("tabular_best")
    return {
        task: (*parity.train_and_export(folder, "tabular-best", task, 1100, 2), folder)
        for task in ("regression", "classification")
    }


@pytest.mark.parametrize("task", ["regression", "classification"])
@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.tuples(_NUMBERS, _NUMBERS), min_size=1, max_size=12))
def test_onnx_equals_predict_for_any_finite_number(tabular_best, task, values):
    """Any finite number up to 1e300 in size, of either sign, in either numeric column
    (or blank): the same labels and predictions within 1e-5 relative."""
    model_path, onnx_path, folder = tabular_best[task]
    base = {"flag": "true", "colour": "red", "when": "2021-06-01 12:00:00"}
    text = pd.DataFrame(
        [
            {**base, "big": "" if b is None else repr(b), "x": "" if x is None else repr(x)}
            for b, x in values
        ]
    )
    path = parity.write_rows(text, folder / f"rows_{task}.csv")
    result = parity.compare(model_path, onnx_path, path)
    assert result["left out"] == 0 and result["labels differ"] == 0
    assert result["max relative difference"] < 1e-5 and result[parity.FAR_DIFF] < 1e-5


def test_a_table_estimator_clips_and_its_onnx_graph_alike(tmp_path):
    from barenet.sklearn.estimators import BarenetRegressor

    train = parity.training_table(400, "regression")
    X, y = train[["big", "x"]], train["y"]
    estimator = BarenetRegressor(hidden=(16,), epochs=2, random_state=0).fit(X, y)
    high = estimator.preprocessing_.ranges["high"]
    far = pd.DataFrame({"big": [1e300, -1e300, 3e9, high[0]], "x": [1e250, -7e12, 0.5, high[1]]})
    predicted = estimator.predict(far)
    np.testing.assert_allclose(predicted[0], predicted[3], rtol=1e-6)  # 1e300: the maximum
    onnx_path = tmp_path / "e.onnx"
    from barenet.io.onnx.export import export_onnx

    export_onnx(estimator, onnx_path)
    session = onnxruntime.InferenceSession(str(onnx_path))
    got = session.run(["prediction"], {name: far[[name]].to_numpy() for name in ("big", "x")})
    np.testing.assert_allclose(got[0][:, 0], predicted, rtol=1e-5, atol=1e-5)
