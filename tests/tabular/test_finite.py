"""Finite in, finite out (barenet.tables.standardize) through the command line: infinite and huge
numbers are named where a table enters; a non-finite output is an error naming the
rows, never a blank cell or a label chosen from NaN; evaluate never scores it."""

import os

import numpy as np
import pandas as pd
import pytest

from barenet.cli import main
from barenet.errors import DataError
from barenet.tables.standardize import check_outputs, fit_scaler

TRAIN = ["--epochs", "1", "--plot", "none"]


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.standard_normal(300), "b": rng.standard_normal(300)})
    frame["y"] = 3 * frame["a"] + frame["b"]
    frame["k"] = np.where(frame["a"] > 0, "hi", "lo")
    return frame


@pytest.mark.parametrize("column", ["a", "y"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e308])
def test_infinite_or_huge_values_in_training_tables_are_named(table, capsys, column, value):
    table.loc[6, column] = value
    table.to_csv("t.csv", index=False)
    code, out, err = _run(["--data", "t.csv", "--target", "y", *TRAIN], capsys)
    assert code == 2 and out == ""
    assert f"column {column!r}, data row 7:" in err and "Traceback" not in err


def test_an_infinite_value_at_predict_is_named(table, capsys):
    table.to_csv("t.csv", index=False)
    assert _run(["--data", "t.csv", "--target", "y", *TRAIN, "--save", "m.npz"], capsys)[0] == 0
    table.loc[3, "b"] = -np.inf
    table.to_csv("new.csv", index=False)
    code, out, err = _run(["predict", "--model", "m.npz", "--data", "new.csv"], capsys)
    assert code == 2 and out == "" and "column 'b', data row 4: -inf" in err


def test_non_finite_outputs_are_an_error_in_predict_and_evaluate(table, capsys, monkeypatch):
    """A NaN output made predict write a label chosen from NaN and blank probabilities,
    and evaluate score it. Now: exit 2, naming the rows, nothing written."""
    from barenet.model import MLP

    table.to_csv("t.csv", index=False)
    assert _run(["--data", "t.csv", "--target", "k", *TRAIN, "--save", "m.npz"], capsys)[0] == 0
    predict = MLP.predict

    def some_nan(self, x, *args, **kwargs):
        out = np.array(predict(self, x, *args, **kwargs))
        out[[1, 4]] = np.nan
        return out

    monkeypatch.setattr(MLP, "predict", some_nan)
    for command in (["predict", "--proba", "--out", "p.csv"], ["evaluate"]):
        code, out, err = _run([*command, "--model", "m.npz", "--data", "t.csv"], capsys)
        assert code == 2 and out == "", command
        assert "data rows 2, 5 (2 of 300) are not finite" in err
    assert not os.path.exists("p.csv")


def test_values_far_outside_the_training_range_never_give_blank_cells(table, capsys):
    """3e38 into the tabular recipe's classifier: finite answers, or an error naming
    the rows; never a blank cell."""
    table.to_csv("t.csv", index=False)
    args = ["--data", "t.csv", "--target", "k", *TRAIN, "--recipe", "tabular"]
    assert _run([*args, "--batch-size", "16", "--save", "m.npz"], capsys)[0] == 0
    table.loc[:4, "a"] = 3e38
    table.to_csv("far.csv", index=False)
    code, out, err = _run(["predict", "--proba", "--model", "m.npz", "--data", "far.csv"], capsys)
    if code == 0:
        cells = [row.split(",") for row in out.strip().splitlines()[1:]]
        assert len(cells) == 300 and all(all(cell != "" for cell in row) for row in cells)
        assert np.isfinite(np.array([row[1:] for row in cells], dtype=float)).all()
    else:
        assert code == 2 and out == "" and "(5 of 300) are not finite" in err


def test_fit_scaler_standardises_1e200_and_refuses_what_it_cannot_represent():
    x = np.array([[1e200, 1.0], [3e200, 1.0], [2e200, 1.0]])
    scaler = fit_scaler(x, ["big", "constant"])
    np.testing.assert_allclose(scaler.mean_, [2e200, 1.0], rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, [np.sqrt(2 / 3) * 1e200, 1.0], rtol=1e-12)
    np.testing.assert_allclose(scaler.transform(x)[:, 0], [-1.2247449, 1.2247449, 0], atol=1e-6)
    with pytest.raises(DataError, match="column 'bad' cannot be standardised"):
        fit_scaler(np.array([[1.0], [np.inf]]), ["bad"])


def test_check_outputs_names_rows_from_a_frame_index():
    values = np.array([[0.5], [np.nan], [1.0], [np.inf]])
    with pytest.raises(DataError, match=r"data rows 12, 14 \(2 of 4\)"):
        check_outputs(values, np.array([11, 12, 13, 14]))
    assert check_outputs(values[[0, 2]], np.array([1, 2])) is not None
