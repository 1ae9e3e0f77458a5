"""Every option of ``barenet train`` means the same for a folder as for one file, or is
refused by name where it cannot apply (issues 29 and 30)."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from stream_tables import table, write_parts

from barenet.cli import main


@pytest.fixture(scope="module")
def eu(tmp_path_factory):
    """A folder of two CSV parts with decimal commas and ';' separators."""
    root = tmp_path_factory.mktemp("eu")
    frame = table(800).drop(columns=["id"])
    (root / "eu").mkdir()
    for i in range(2):
        part = frame.iloc[i * 400 : (i + 1) * 400]
        part.to_csv(root / "eu" / f"p{i}.csv", sep=";", decimal=",", index=False)
    return root


def train(capsys, *options):
    code = main(["train", "--target", "y", "--epochs", "1", *options])
    return code, capsys.readouterr()


def test_decimal_comma_reads_a_folders_numbers(eu, capsys, monkeypatch):
    monkeypatch.chdir(eu)
    code, out = train(capsys, "--data", "eu", "--sep", ";", "--decimal", ",", "--json")
    assert code == 0, out.err
    columns = json.loads(out.out)["columns"]
    assert columns["numeric"] == ["x1", "x2"] and columns["dropped"] == []
    # the model remembers the decimal mark: predict reads a folder as train did
    code = main(["train", "--data", "eu", "--target", "y", "--epochs", "1", "--sep", ";"]
                + ["--decimal", ",", "--save", "m.npz", "--quiet"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main(["predict", "--model", "m.npz", "--data", "eu", "--out", "p"]) == 0
    assert list((eu / "p").glob("*.parquet"))
    capsys.readouterr()
    code = main(["predict", "--model", "m.npz", "--data", "eu", "--out", "q", "--thousands", ","])
    assert code == 2 and "--thousands ,: a folder or glob" in capsys.readouterr().err


def test_thousands_on_a_folder_is_refused_by_name(eu, capsys, monkeypatch):
    monkeypatch.chdir(eu)
    code, out = train(capsys, "--data", "eu", "--sep", ";", "--thousands", ",")
    assert code == 2
    assert "--thousands ," in out.err and "give one file to --data" in out.err


@pytest.mark.parametrize(
    "option", [["--split-key", "nosuch"], ["--shuffle-buffer", "10"]], ids=lambda o: o[0]
)
def test_folder_options_on_one_file_are_refused_by_name(eu, capsys, monkeypatch, option):
    monkeypatch.chdir(eu)
    code, out = train(capsys, "--data", "eu/p0.csv", "--sep", ";", "--decimal", ",", *option)
    assert code == 2
    assert f"{option[0]} is for a folder or glob given to --data" in out.err
    assert "eu/p0.csv, one file," in out.err and f"leave {option[0]} out" in out.err
    assert "Traceback" not in out.err


@pytest.mark.parametrize("values", [1, 3])
def test_a_split_key_with_few_values_that_empties_a_split_is_refused(
    tmp_path, capsys, monkeypatch, values
):
    from stream_tables import write_parts

    frame = table(600)
    frame["g"] = [i % values for i in range(len(frame))]
    write_parts(frame, tmp_path / "few", parts=2, kind="csv")
    monkeypatch.chdir(tmp_path)
    code, out = train(capsys, "--data", "few", "--split-key", "g")
    assert code == 2, out.out  # not "Test set: 0 rows ... MSE nan"
    many = "1 distinct value" if values == 1 else f"{values} distinct values"
    assert f"--split-key 'g': its {many} put no row in the" in out.err
    assert "leave --split-key out" in out.err and "Traceback" not in out.err
    assert not (tmp_path / "losses.png").exists()


def test_a_split_key_with_many_values_splits(tmp_path, capsys, monkeypatch):
    from stream_tables import write_parts

    write_parts(table(600), tmp_path / "many", parts=2, kind="csv")
    monkeypatch.chdir(tmp_path)
    code, out = train(capsys, "--data", "many", "--split-key", "id", "--json")
    rows = json.loads(out.out)["rows"]
    assert code == 0 and rows["test"] > 0 and rows["train"] + rows["test"] == 600


def test_blank_targets_are_left_out_and_counted_as_for_a_file(tmp_path, capsys, monkeypatch):
    import math

    import numpy as np
    from stream_tables import write_parts

    frame = table(1200)
    frame.loc[np.arange(0, 1200, 7), "y"] = np.nan  # 172 blank targets
    write_parts(frame, tmp_path / "blank", parts=3, kind="csv")
    frame.to_csv(tmp_path / "blank.csv", index=False)
    monkeypatch.chdir(tmp_path)
    notes = []
    for data in ("blank", "blank.csv"):
        code, out = train(capsys, "--data", data, "--json")
        assert code == 0, out.err
        notes.append([line for line in out.err.splitlines() if line.startswith("Note: left")])
        summary = json.loads(out.out)
        assert summary["rows"]["train"] + summary["rows"]["test"] == 1200 - 172
        assert math.isfinite(summary["test"]["mse"])
    assert notes[0] == notes[1] == ["Note: left out 172 rows whose target 'y' is blank"]


def test_blank_text_labels_are_left_out_of_a_folders_classes(tmp_path, capsys, monkeypatch):
    from stream_tables import write_parts

    frame = table(900)
    frame["y"] = np.where(frame["x2"] > 25, "high", "low").astype(object)
    frame.loc[frame.index % 10 == 0, "y"] = None
    frame.loc[frame.index % 10 == 5, "y"] = "  "
    write_parts(frame, tmp_path / "labels", parts=3, kind="csv")
    monkeypatch.chdir(tmp_path)
    code, out = train(capsys, "--data", "labels", "--json")
    assert code == 0, out.err
    assert "Note: left out 180 rows whose target 'y' is blank" in out.err
    summary = json.loads(out.out)
    assert summary["rows"]["train"] + summary["rows"]["test"] == 720
    assert sorted(summary["test"]["labels"]) == ["high", "low"]


@pytest.mark.parametrize("data", ["eu", "eu/*.csv"])
def test_evaluate_refuses_a_folder_with_the_ways_to_score_one(eu, capsys, monkeypatch, data):
    monkeypatch.chdir(eu)
    code = main(["evaluate", "--model", "m.npz", "--data", data, "--target", "y"])
    err = capsys.readouterr().err
    assert code == 2 and "no such file" not in err and "Traceback" not in err
    assert f"--data {data}: a folder or glob; barenet evaluate scores one" in err
    assert f"barenet predict --model m.npz --data {data} --out PREDICTIONS" in err


@pytest.fixture
def ragged(tmp_path):
    """A folder of two CSV parts of 400 rows each; the second also has a row with too
    many fields (data row 101) and one with too few (data row 302); ``one.csv`` holds
    the same lines as one file."""
    frame = table(800).drop(columns=["id"])
    (tmp_path / "r").mkdir()
    lines = []
    for i in range(2):
        text = frame.iloc[i * 400 : (i + 1) * 400].to_csv(index=False).splitlines()
        if i == 1:
            text.insert(101, text[100] + ",1")
            text.insert(302, "1.5,2")
        (tmp_path / "r" / f"p{i}.csv").write_text("\n".join(text) + "\n")
        lines += text[i > 0 :]
    (tmp_path / "one.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_bad_rows_on_a_folder_are_named_or_skipped_and_counted_as_for_a_file(
    ragged, capsys, monkeypatch
):
    monkeypatch.chdir(ragged)
    code, out = train(capsys, "--data", "one.csv")  # the default: an error naming the row
    assert code == 2 and "--bad-rows skip to leave such rows out" in out.err, out.err
    code, out = train(capsys, "--data", "r")
    assert code == 2 and out.err.strip() == (
        "barenet train: error: r/p1.csv, data row 101: too many fields (6, the header has 5); "
        "fix the row, or give --bad-rows skip to leave such rows out"
    )
    rows = {}
    for data in ("one.csv", "r"):  # skip: left out and counted, every other row trained on
        code, out = train(capsys, "--data", data, "--bad-rows", "skip", "--json")
        assert code == 0, out.err
        summary = json.loads(out.out)
        rows[data] = summary["rows"]["train"] + summary["rows"]["test"]
        assert "with the wrong number of fields" in out.err
    assert rows == {"one.csv": 800, "r": 800}
    said = "skipped 2 rows of r/p1.csv with the wrong number of fields (data rows 101, 302)"
    assert out.err.count(said) == 1  # once, not once per epoch or per reading
    # predict reads a folder as train does: such rows refused by name, or skipped
    code, out = train(capsys, "--data", "r", "--bad-rows", "skip", "--save", "m.npz")
    assert code == 0 and said in out.out
    predict = ["predict", "--model", "m.npz", "--data", "r"]
    assert main([*predict, "--out", "p"]) == 2
    assert "r/p1.csv, data row 101: too many fields" in capsys.readouterr().err
    assert main([*predict, "--out", "q", "--bad-rows", "skip"]) == 0
    assert said in capsys.readouterr().err
    assert len(pq.read_table(ragged / "q")) == 800
    # --scheduler refuses --bad-rows skip: its error says what works there
    assert main([*predict, "--out", "s", "--scheduler", "local"]) == 2
    err = capsys.readouterr().err
    assert "r/p1.csv, data row 101: too many fields" in err and "give --bad-rows skip to" in err
    assert "leave --scheduler out and give --bad-rows skip" in err


def test_one_skipped_row_of_a_folder_is_one_row(tmp_path, capsys):
    write_parts(table(200), tmp_path / "r", parts=2, kind="csv")
    with open(tmp_path / "r" / "part1.csv", "a") as file:
        file.write("1,2,3,4,5,6,7,8,9,10\n")
    code, out = train(
        capsys, "--data", str(tmp_path / "r"), "--bad-rows", "skip", "--plot", "none"
    )
    assert code == 0, out.err
    assert "skipped 1 row of " in out.out and "fields (data row 101)" in out.out
