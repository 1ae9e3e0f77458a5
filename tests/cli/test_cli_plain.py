"""predict and evaluate read new rows as train read its file, say what they wrote, and
write numbers in full."""

import csv
import re

import numpy as np
import pandas as pd
import pytest

import barenet
from barenet import cli
from barenet.cli.data_args import reading_options, with_model_reading
from barenet.tables.preprocessing import Preprocessing


def run(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def european_csv(path, rows=60, seed=0):
    """A table written with ';' between fields and ',' as the decimal mark."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"size": rng.uniform(20, 200, rows), "rooms": rng.integers(1, 6, rows)})
    frame["price"] = 1_000_000 + 9_000 * frame["size"] + rng.normal(0, 1000, rows)
    frame.to_csv(path, sep=";", decimal=",", index=False)
    return path


@pytest.fixture
def european_model(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    european_csv(tmp_path / "train.csv")
    code, _, err = run(
        [
            "train",
            "--data",
            "train.csv",
            "--target",
            "price",
            "--sep",
            ";",
            "--decimal",
            ",",
            "--epochs",
            "3",
            "--hidden",
            "4",
            "--plot",
            "none",
            "--save",
            "model.npz",
        ],
        capsys,
    )
    assert code == 0, err
    return tmp_path / "model.npz"


def test_the_model_remembers_the_training_files_reading_options(european_model):
    model = barenet.load(european_model)
    assert model.preprocessing.reading == {"sep": ";", "decimal": ","}


def test_predict_reads_new_rows_as_train_read_its_file(european_model, tmp_path, capsys):
    european_csv(tmp_path / "new.csv", rows=7, seed=1)
    code, out, err = run(
        ["predict", "--model", "model.npz", "--data", "new.csv", "--out", "p.csv"], capsys
    )
    assert code == 0, err
    assert out == "wrote 7 rows to p.csv\n"
    rows = list(csv.reader(open(tmp_path / "p.csv")))
    assert rows[0] == ["predicted_price"] and len(rows) == 8
    values = [float(r[0]) for r in rows[1:]]
    assert all(v > 1e5 for v in values)  # around a million: never 1.10937e+06
    assert all("e+" not in r[0] and r[0] == repr(float(r[0])) for r in rows[1:])
    code, out, err = run(["evaluate", "--model", "model.npz", "--data", "new.csv"], capsys)
    assert code == 0 and "rmse" in out, err
    assert re.search(r"^mse: \d{1,3}(,\d{3})+$", out, re.MULTILINE), out  # grouped, no decimals


def test_an_option_given_to_predict_wins_over_the_remembered_one():
    prep = Preprocessing(["a"], reading={"sep": ";", "decimal": ","})
    args = cli.build_parser().parse_args(
        ["predict", "--model", "m.npz", "--data", "d.csv", "--decimal", "."]
    )
    merged = with_model_reading(args, prep)
    assert merged.sep == ";" and merged.decimal == "." and merged.encoding is None
    assert args.sep is None  # the command's own arguments are left as they were
    assert with_model_reading(args, Preprocessing(["a"])).sep is None  # an older model file


def test_reading_options_are_only_those_given():
    parser = cli.build_parser()
    plain = parser.parse_args(["train", "--data", "t.csv", "--target", "y"])
    assert reading_options(plain) is None
    given = parser.parse_args(
        ["train", "--data", "t.csv", "--target", "y", "--encoding", "cp1252"]
    )
    assert reading_options(given) == {"encoding": "cp1252"}


def test_an_older_model_file_without_reading_options_still_loads():
    prep = Preprocessing(["a"], "y", reading={"sep": ";"})
    data = prep.to_json()
    assert data["reading"] == {"sep": ";"}
    del data["reading"]  # as written before the field existed
    assert Preprocessing.from_json(data).reading is None


def test_a_decimal_comma_in_predict_names_the_file_and_gives_the_hint(tmp_path, capsys):
    tmp_path.joinpath("train.csv").write_text(
        "x,y\n" + "".join(f"{i / 10},{i}\n" for i in range(40))
    )
    code, _, err = run(
        [
            "train",
            "--data",
            str(tmp_path / "train.csv"),
            "--target",
            "y",
            "--epochs",
            "2",
            "--plot",
            "none",
            "--save",
            str(tmp_path / "m.npz"),
        ],
        capsys,
    )
    assert code == 0, err
    new = tmp_path / "new.csv"
    new.write_text('x\n"0,23"\n1.5\n')  # one decimal comma among points
    code, out, err = run(
        ["predict", "--model", str(tmp_path / "m.npz"), "--data", str(new)], capsys
    )
    assert code == 2 and out == ""
    assert err.startswith(f"barenet predict: error: {new}: column 'x', data row 1: '0,23'")
    assert "give --decimal ," in err and len(err.splitlines()) == 1
