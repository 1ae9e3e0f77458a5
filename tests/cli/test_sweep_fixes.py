"""Command-line defects a hostile sweep found (issue 30)."""

import numpy as np
import pandas as pd
import pytest

from barenet.cli import main

TRAIN = ["train", "--epochs", "1", "--hidden", "4", "--plot", "none", "--quiet"]


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def small_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "y": rng.normal(size=n)})


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_predict_and_evaluate_ignore_a_column_the_model_does_not_use(
    tmp_path, capsys, monkeypatch, suffix
):
    monkeypatch.chdir(tmp_path)
    frame = small_frame()
    big = np.arange(len(frame), dtype=np.uint64) + np.uint64(9_000_000_000_000_000_000)
    frame.insert(1, "u", big)
    data = f"u64.{suffix}"
    frame.to_parquet(data) if suffix == "parquet" else frame.to_csv(data, index=False)
    assert (
        run([*TRAIN, "--data", data, "--target", "y", "--drop", "u", "--save", "u.npz"], capsys)[0]
        == 0
    )
    code, out, err = run(["predict", "--model", "u.npz", "--data", data], capsys)
    assert code == 0, err
    assert out.splitlines()[0] == "predicted_y" and len(out.splitlines()) == len(frame) + 1
    code, out, err = run(["predict", "--model", "u.npz", "--data", data, "--keep", "u"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "u,predicted_y"
    assert lines[1].startswith("9000000000000000000,")  # copied as written, exactly
    assert lines[2].startswith("9000000000000000001,")
    code, out, err = run(["evaluate", "--model", "u.npz", "--data", data], capsys)
    assert code == 0, err
    assert "mse:" in out
    # a column the model uses is still checked
    assert run([*TRAIN, "--data", data, "--target", "y"], capsys)[0] == 2


def test_export_onnx_refuses_to_overwrite_a_model_or_a_table(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small_frame().to_csv("t.csv", index=False)
    for name in ("m.npz", "other.npz"):
        assert run([*TRAIN, "--data", "t.csv", "--target", "y", "--save", name], capsys)[0] == 0
    before = {p: (tmp_path / p).read_bytes() for p in ("other.npz", "t.csv")}
    (tmp_path / "renamed.onnx").write_bytes(before["other.npz"])  # a model named .onnx
    before["renamed.onnx"] = before["other.npz"]
    for out in before:
        code, printed, err = run(["export-onnx", "--model", "m.npz", "--out", out], capsys)
        assert code == 2 and err.count("\n") == 1, err
        assert f"--out {out}: already exists" in err and "ending in .onnx" in err
        assert (tmp_path / out).read_bytes() == before[out]
    assert run(["export-onnx", "--model", "m.npz", "--out", "m.onnx"], capsys)[0] == 0
    first = (tmp_path / "m.onnx").read_bytes()
    assert not first.startswith(b"PK")
    assert run(["export-onnx", "--model", "m.npz", "--out", "m.onnx"], capsys)[0] == 0  # again


def test_evaluate_prints_huge_errors_in_scientific_notation(tmp_path, capsys, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    frame = small_frame()
    frame.to_csv("t.csv", index=False)
    frame.assign(y=frame["y"] * 1e29).to_csv("huge.csv", index=False)
    assert run([*TRAIN, "--data", "t.csv", "--target", "y", "--save", "m.npz"], capsys)[0] == 0
    code, out, err = run(["evaluate", "--model", "m.npz", "--data", "huge.csv"], capsys)
    assert code == 0, err
    shown = dict(line.split(": ") for line in out.splitlines())
    assert all(len(shown[key]) < 14 for key in ("mse", "rmse", "mae")), shown
    assert shown["mae"].endswith(("e+28", "e+29")) and "," not in shown["mae"]
    code, out, _ = run(["evaluate", "--model", "m.npz", "--data", "huge.csv", "--json"], capsys)
    assert code == 0 and float(shown["mae"]) == pytest.approx(json.loads(out)["mae"], rel=1e-3)


@pytest.mark.parametrize(
    "cell, words",
    [
        ("1e400", "'1e400' overflows float64"),
        ("-1E+400", "'-1E+400' overflows float64"),
        ("inf", "inf is not a finite number"),
    ],
)
def test_a_cell_beyond_float64_is_named_as_written(tmp_path, capsys, monkeypatch, cell, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o.csv").write_text(f"x,y\n1,2\n{cell},3\n2,4\n")
    code, _, err = run([*TRAIN, "--data", "o.csv", "--target", "y"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"o.csv: column 'x', data row 2: {words}" in err


def test_as_numbers_names_an_overflowing_text_cell_as_written():
    from barenet.errors import DataError
    from barenet.tables.columns import as_numbers

    with pytest.raises(DataError, match=r"column 'x', data row 2: '1e400' overflows float64"):
        as_numbers(pd.Series(["1.5", "1e400"], dtype=object), "x")


@pytest.mark.parametrize(
    "column, cell, words",
    [
        ("when", "2020-13-45", "'2020-13-45' is not a date"),
        ("flag", "maybe", "'maybe' is not true or false"),
        ("a", "abc", "'abc' is not a number"),
    ],
)
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_cell_errors_name_the_file(tmp_path, capsys, monkeypatch, command, column, cell, words):
    monkeypatch.chdir(tmp_path)
    frame = small_frame(40)
    frame["when"] = pd.date_range("2020-01-01", periods=40).strftime("%Y-%m-%d")
    frame["flag"] = ["true", "false"] * 20
    frame.to_csv("d.csv", index=False)
    assert run([*TRAIN, "--data", "d.csv", "--target", "y", "--save", "d.npz"], capsys)[0] == 0
    frame = frame.astype({"a": object})
    frame.loc[2, column] = cell
    frame.to_csv("bad.csv", index=False)
    code, _, err = run([command, "--model", "d.npz", "--data", "bad.csv"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"error: bad.csv: column '{column}', data row 3: {words}" in err


def test_a_category_column_of_numbers_in_new_rows_is_read_as_written(
    tmp_path, capsys, monkeypatch
):
    """A text column the model one-hot encodes may hold only numbers in the rows to
    predict: "1", "2" and "007" stay the text training saw, not 1.0, 2.0 and 7.0."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    values = rng.choice(["1", "2", "007", "pear", "fig", "kiwi"], 600)
    target = np.select([values == "1", values == "2", values == "007"], [1.0, 9.0, 20.0], 5.0)
    pd.DataFrame({"t": values, "y": target}).to_csv("train.csv", index=False)
    args = ["train", "--data", "train.csv", "--target", "y", "--save", "m.npz"]
    assert run([*args, "--plot", "none", "--quiet"], capsys)[0] == 0
    with open("new.csv", "w") as f:
        f.write("t\n1\n2\n2.5\n007\n")  # pandas alone would read 1.0, 2.0, 2.5, 7.0
    code, out, err = run(["predict", "--model", "m.npz", "--data", "new.csv"], capsys)
    assert code == 0, err
    predicted = [float(v) for v in out.splitlines()[1:]]
    assert abs(predicted[0] - 1.0) < 1.0 and abs(predicted[1] - 9.0) < 1.0
    assert abs(predicted[3] - 20.0) < 2.0
    assert "unseen in training (t: 1, e.g. '2.5')" in err and "'1.0'" not in err
    code, out, err = run(["evaluate", "--model", "m.npz", "--data", "train.csv"], capsys)
    assert code == 0 and "unseen" not in err
    # a folder of such rows (CSV: Arrow alone would read integers) predicts the same
    (tmp_path / "new").mkdir()
    with open("new/part0.csv", "w") as f:
        f.write("t\n1\n2\n007\n")
    args = ["predict", "--model", "m.npz", "--data", "new", "--out", "out"]
    assert run(args, capsys)[0] == 0
    folder = pd.read_parquet("out")["predicted_y"].to_numpy()
    np.testing.assert_allclose(folder, [predicted[0], predicted[1], predicted[3]], rtol=1e-9)
