"""Messages that used to mislead (issue 30, item 7): each case is now read correctly or
is one line saying what is wrong and how to fix it, with exit 2."""

import numpy as np
import pandas as pd
import pytest

from barenet.cli import main
from barenet.errors import DataError
from barenet.tables.columns import read_table

CLIPPED = "outside the training range, clipped to it"


def regression_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"a": x, "b": rng.normal(size=n), "y": 2 * x + rng.normal(size=n) / 10})


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_file_is_read(tmp_path, encoding):
    frame = regression_frame(n=30)
    frame["town"] = ["Orléans", "Besançon", "Zürich"] * 10
    path = tmp_path / "u.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    read = read_table(path)
    assert list(read.columns) == ["a", "b", "y", "town"]
    assert read["town"].iloc[1] == "Besançon"
    np.testing.assert_allclose(read["a"], frame["a"])


def test_a_utf16_file_read_as_latin1_gets_the_right_advice(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    regression_frame().to_csv("u.csv", index=False, encoding="utf-16")
    args = ["--data", "u.csv", "--target", "y", "--epochs", "1", "--plot", "none"]
    assert main([*args, "--encoding", "latin-1"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "barenet train: error: u.csv: the file is UTF-16 text, not latin-1: give --encoding "
        "utf-16, or leave --encoding out to detect it\n"
    )
    assert main([*args, "--quiet", "--encoding", "utf-16"]) == 0


def test_a_file_that_is_not_utf8_gets_one_byte_advice(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes("a,b\n1,Orl\xe9ans\n2,x\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not utf-8-sig text .* --encoding cp1252 .*latin-1"):
        read_table(path)


def test_integers_too_large_for_float64_are_named_not_divergence(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = regression_frame()
    rng = np.random.default_rng(1)
    frame["big"] = np.uint64(9_000_000_000_000_000_000) + rng.integers(0, 500, 300, np.uint64)
    frame.to_csv("big.csv", index=False)
    args = ["--epochs", "1", "--plot", "none", "--quiet", "--data"]
    assert main([*args, "big.csv", "--target", "y"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "learning rate" not in err and "--lr" not in err
    assert "column 'big' holds integers as large as 9e+18, too large to compute" in err
    assert "leave it out with --drop big" in err
    assert main([*args, "big.csv", "--target", "big"]) == 2  # as a target too
    assert "column 'big' holds integers" in capsys.readouterr().err
    assert main([*args, "big.csv", "--target", "y", "--drop", "big"]) == 0
    spread = frame.assign(big=rng.integers(0, 2**63, 300, np.uint64))  # distinct as floats
    spread.to_csv("spread.csv", index=False)
    assert main([*args, "spread.csv", "--target", "y"]) == 0


@pytest.mark.parametrize("loss", ["bce"])
def test_bce_on_two_classes_says_to_use_cross_entropy(tmp_path, capsys, monkeypatch, loss):
    monkeypatch.chdir(tmp_path)
    frame = regression_frame()
    frame["y"] = (frame["a"] > 0).astype(int)
    frame.to_csv("c.csv", index=False)
    args = ["--data", "c.csv", "--target", "y", "--epochs", "1", "--plot", "none"]
    assert main([*args, "--loss", loss]) == 2
    out, err = capsys.readouterr()
    assert "shape" not in err and "Epoch" not in out
    assert err.startswith(f"barenet train: error: --loss {loss} scores one 0/1 output per row")
    assert "leave --loss out (or give --loss cross_entropy)" in err


def test_evaluate_a_classifier_on_a_numeric_column(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = regression_frame()
    frame["label"] = (frame["a"] > 0).astype(int)
    frame["flipped"] = 1 - frame["label"]
    frame.to_csv("c.csv", index=False)
    args = ["--data", "c.csv", "--target", "label", "--drop", "y,flipped", "--epochs", "2"]
    assert main([*args, "--plot", "none", "--quiet", "--save", "c.npz"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", "c.npz", "--data", "c.csv", "--target", "y"]) == 2
    err = capsys.readouterr().err
    # the test rows' values beyond the training rows' range are clipped and counted: c.csv
    # holds the test rows too (tests/tables/test_preprocessing_ranges.py)
    lines = [line for line in err.splitlines() if CLIPPED not in line]
    assert lines[0] == (
        "Note: scoring the model's predictions of 'label' against column 'y', which it was "
        "never trained to predict"
    )
    assert len(lines) == 2 and len(lines[1]) < 600  # not 300 labels on one line
    assert "300 labels of 'y' were not classes in training" in lines[1]
    assert "... and 295 more]; the classes are [0, 1]" in lines[1]
    assert "a quantity rather than classes" in lines[1] and "give --target label" in lines[1]
    # a column the model never predicted, with the same labels: scored, with the note
    assert main(["evaluate", "--model", "c.npz", "--data", "c.csv", "--target", "flipped"]) == 0
    assert "against column 'flipped', which it was never trained" in capsys.readouterr().err
    assert main(["evaluate", "--model", "c.npz", "--data", "c.csv"]) == 0
    err = capsys.readouterr().err
    assert all(CLIPPED in line for line in err.splitlines())  # no other note
