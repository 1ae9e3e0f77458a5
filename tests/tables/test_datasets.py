import urllib.error

import numpy as np
import pytest
from conftest import california_home, needs_california

from barenet.tables.datasets import (
    DataError,
    DataUnavailableError,
    csv_header,
    load_builtin,
    load_california_housing,
    preprocess,
    read_csv,
)


@needs_california
def test_california_matches_the_notebook_preprocessing(california):
    from sklearn.datasets import fetch_california_housing
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    bunch = fetch_california_housing(data_home=california_home())
    x = StandardScaler().fit_transform(bunch.data)
    y = StandardScaler().fit_transform(bunch.target.reshape(-1, 1))
    expected = train_test_split(x, y, test_size=0.2, random_state=42)
    s = california
    for got, want in zip(s[:4], expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert s.x_train.shape == (16512, 8) and s.y_test.shape == (4128, 1)
    original = s.scaler_y.inverse_transform(s.y_test)
    assert 0.1 < original.min() and original.max() <= 5.00001  # $100,000 units
    assert s.feature_names[0] == "MedInc"


@needs_california
def test_scikit_learn_data_variable_is_honoured(monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", california_home())
    assert load_california_housing(download_if_missing=False).x_test.shape == (4128, 8)


def test_missing_data_gives_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(DataUnavailableError, match=str(tmp_path)) as info:
        load_california_housing(tmp_path, download_if_missing=False)
    assert "SCIKIT_LEARN_DATA" in str(info.value)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("sklearn.datasets.fetch_california_housing", offline)
    with pytest.raises(DataUnavailableError, match="could not be downloaded"):
        load_california_housing(tmp_path)


def test_a_miss_without_network_is_one_line_creates_nothing_and_does_not_wait(
    tmp_path, monkeypatch, capsys
):
    calls = []

    def no_network(url, path):
        calls.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("sklearn.datasets._base.urlretrieve", no_network)
    home = tmp_path / "not" / "here"
    with pytest.raises(DataUnavailableError) as info:
        load_california_housing(home)
    message = str(info.value)
    assert "\n" not in message and str(home) in message
    assert "cal_housing_py3.pkz" in message and "SCIKIT_LEARN_DATA" in message
    assert len(calls) == 2, "no network: one quick retry, no seconds of waiting"
    assert not (tmp_path / "not").exists(), "a miss must not leave a folder behind"

    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(home))
    from barenet.cli import main

    assert main(["train", "--dataset", "california", "--quiet", "--plot", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cal_housing_py3.pkz" in err[0] and "SCIKIT_LEARN_DATA" in err[0]
    assert not (tmp_path / "not").exists()


def test_an_existing_empty_data_folder_is_kept(tmp_path, monkeypatch):
    def no_network(url, path):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("sklearn.datasets._base.urlretrieve", no_network)
    with pytest.raises(DataUnavailableError, match="could not be downloaded"):
        load_california_housing(tmp_path)
    assert tmp_path.is_dir() and not any(tmp_path.iterdir())


def test_bundled_datasets():
    diabetes = load_builtin("diabetes")
    assert diabetes.x_train.shape == (353, 10) and diabetes.y_test.shape == (89, 1)
    assert diabetes.classes is None and diabetes.preprocessing.task == "regression"
    assert diabetes.preprocessing.target_name == "progression"
    digits = load_builtin("digits", test_size=0.25)
    assert digits.x_train.shape[1] == 64 and digits.scaler_y is None
    assert len(digits.x_test) == 450 and digits.classes == list(range(10))
    assert set(np.unique(digits.y_train)) == set(range(10))
    assert digits.preprocessing.task == "classification"
    with pytest.raises(ValueError, match="unknown dataset"):
        load_builtin("mnist")


def test_classification_split_holds_class_indices_and_maps_back():
    rng = np.random.default_rng(0)
    ids = np.arange(100.0)  # a feature that names the row
    x = np.column_stack([ids, rng.standard_normal(100)])
    labels = np.array([-5, 3, 40])[rng.integers(0, 3, 100)]
    split = preprocess(x, labels, classification=True, feature_names=["id", "b"])
    assert split.classes == [-5, 3, 40] and split.y_train.ndim == 1
    assert set(np.unique(split.y_train)) == {0, 1, 2}
    prep = split.preprocessing
    assert prep.feature_names == ["id", "b"] and prep.scaler_y is None
    rows = np.rint(prep.scaler_x.inverse_transform(split.x_test)[:, 0]).astype(int)
    assert prep.targets(split.y_test).tolist() == labels[rows].tolist()
    for k, label in enumerate(split.classes):  # stratified: each class keeps its share
        assert abs(np.mean(split.y_test == k) - np.mean(labels == label)) < 0.05
    from_csv = preprocess(x, labels.astype(np.float64), classification=True)  # read_csv's floats
    assert from_csv.classes == [-5, 3, 40] and all(type(c) is int for c in from_csv.classes)
    halves = preprocess(x, labels / 2, classification=True).classes
    assert halves == [-2.5, 1.5, 20.0]


def test_data_that_cannot_be_split_is_a_data_error():
    with pytest.raises(DataError, match="cannot split the 1 rows randomly"):
        preprocess(np.ones((1, 2)), [1.0])
    x = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(DataError, match="cannot split the 50 rows stratified by its 50 classes"):
        preprocess(x, np.arange(50.0), classification=True)  # a value per row is no class


def test_regression_split_preprocessing_gives_original_units():
    rng = np.random.default_rng(1)
    x = rng.normal(50, 10, (60, 3))
    y = 1000 + 100 * x[:, 0]
    split = preprocess(x, y, test_size=0.25, feature_names=["p", "q", "r"], target_name="t")
    assert split.y_train.shape == (45, 1) and abs(split.y_train.mean()) < 0.5
    prep = split.preprocessing
    raw_test = prep.scaler_x.inverse_transform(split.x_test)
    np.testing.assert_allclose(prep.targets(split.y_test), 1000 + 100 * raw_test[:, 0])
    np.testing.assert_allclose(prep.transform(raw_test), split.x_test, atol=1e-12)


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_csv_reads_and_selects_columns(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5.5,-6e1\n")
    header, data = read_csv(path)
    assert header == ["a", "b", "c"]
    np.testing.assert_array_equal(data, [[1, 2, 3], [4, 5.5, -60]])
    header, data = read_csv(path, columns=["c", "a"])
    np.testing.assert_array_equal(data, [[3, 1], [-60, 4]])


@pytest.mark.parametrize(
    "text, columns, message",
    [
        ("", None, "empty"),
        ("a,b\n", None, "no data rows"),
        ("a,b\n1,2\n", ["a", "z"], "no column 'z'"),
        ("a,b\n1,2\n3,x\n", None, r"column 'b', data row 2: 'x' is not a finite number"),
        ("a,b\n1,\n", None, r"column 'b', data row 1: '' is not a finite number"),
        ("a,b\n1,nan\n", None, "column 'b', data row 1"),
        ("a,b\n1,2,3\n", None, "data row 1 has 3 fields"),
        ("a,a\n1,2\n", None, "repeats a column"),
    ],
)
def test_read_csv_errors_name_the_place(tmp_path, text, columns, message):
    with pytest.raises(DataError, match=message):
        read_csv(write(tmp_path, text), columns=columns)


def test_read_csv_missing_and_binary_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_csv(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="no such file"):
        csv_header(tmp_path / "absent.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(DataError, match="b.csv"):
        read_csv(binary)
    with pytest.raises(DataError, match="b.csv"):
        csv_header(binary)


def test_csv_header(tmp_path):
    assert csv_header(write(tmp_path, "\ufeff a , b\n1,2\n")) == ["a", "b"]  # BOM, spaces
    with pytest.raises(DataError, match="empty"):
        csv_header(write(tmp_path, ""))
