"""ONNX answers as ``barenet predict`` does (issue 30): for every configuration of
``benchmarks/onnx_parity.py`` (each recipe ``barenet train --recipe`` offers, the plain
default, the two scalings) and both tasks, onnxruntime on random raw rows (blanks,
unseen categories, text with spaces around it, dates, 1e8 plus noise, 1e300) gives the
labels of ``barenet predict`` and predictions within 1e-5 relative (1e-3 for rows with
a feature beyond 1e4 standard deviations, whose float32 activations are that large)."""

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
    assert result["compared"] >= 300  # rows of 1e300 and their like are refused, not many
    assert result["labels differ"] == 0
    assert result["max relative difference"] < 1e-5
    # rows with a feature beyond 1e4 standard deviations (x = 1e8): float32 products
    # of activations that large round differently in NumPy and onnxruntime
    assert result["far rows"] >= 3 and result[parity.FAR_DIFF] < 1e-3


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
