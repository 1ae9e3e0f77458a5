import urllib.error

import numpy as np
import pytest
from conftest import california_home, needs_california

from barenet.datasets import (
    DataError,
    DataUnavailableError,
    load_builtin,
    load_california_housing,
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


def test_bundled_datasets():
    diabetes = load_builtin("diabetes")
    assert diabetes.x_train.shape[1] == 10 and diabetes.scaler_y is not None
    digits = load_builtin("digits")
    assert digits.x_train.shape[1] == 64 and digits.scaler_y is None
    assert set(np.unique(digits.y_train)) == set(range(10))
    with pytest.raises(ValueError, match="unknown dataset"):
        load_builtin("mnist")


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
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(DataError):
        read_csv(binary)
