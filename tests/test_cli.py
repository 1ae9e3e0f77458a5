import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import california_home, needs_california

import barenet
from barenet.cli import main

CAL_CSV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cal_housing.csv")


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_on_csv_with_plot_save_predict_and_evaluate(
    tmp_path, diabetes_csv, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(
        [
            "train",
            "--data",
            diabetes_csv,
            "--target",
            "progression",
            "--epochs",
            40,
            "--hidden",
            "16",
            "--save",
            "model.npz",
        ],
        capsys,
    )
    assert code == 0
    assert "epoch  40/40" in out and "training mean" in out and "least squares" in out
    assert "RMSE" in out and "R^2" in out and "Wall time" in out
    assert (tmp_path / "losses.png").read_bytes()[:4] == b"\x89PNG"
    model = barenet.load(tmp_path / "model.npz")
    assert model.preprocessing.target_name == "progression"

    code, out, _ = run(
        ["predict", "--model", "model.npz", "--data", diabetes_csv, "--out", "pred.csv"], capsys
    )
    assert code == 0
    rows = list(csv.reader(open(tmp_path / "pred.csv")))
    assert rows[0] == ["predicted_progression"] and len(rows) == 443
    _, table = barenet.datasets.read_csv(diabetes_csv)
    expected = model.preprocessing.predict(model, table[:, :-1])
    np.testing.assert_allclose([float(r[0]) for r in rows[1:]], expected, rtol=1e-12)
    assert 25 < float(rows[1][0]) < 346  # original units of the diabetes target

    code, out, _ = run(
        ["evaluate", "--model", "model.npz", "--data", diabetes_csv, "--json"], capsys
    )
    metrics = json.loads(out)
    assert code == 0 and set(metrics) == {"mse", "rmse", "mae", "r2"} and metrics["r2"] > 0.2


def test_json_summary_and_features_option(tmp_path, diabetes_csv, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        [
            "--data",
            diabetes_csv,
            "--target",
            "progression",
            "--features",
            "bmi,bp,s5",
            "--epochs",
            2,
            "--json",
            "--plot",
            "none",
        ],
        capsys,
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["epochs_trained"] == 2 and len(summary["history"]["val_loss"]) == 2
    assert summary["config"]["hidden"] == [64, 64] and summary["task"] == "regression"
    assert set(summary["baselines"]) == {"training mean", "least squares"}
    assert "epoch" in err and not (tmp_path / "losses.png").exists()


@needs_california
def test_default_command_is_the_notebook_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", california_home())
    code, out, _ = run(["--epochs", 2, "--quiet"], capsys)
    assert code == 0 and "epoch   1/2" not in out
    assert "4128 rows of california" in out and (tmp_path / "losses.png").exists()


@needs_california
def test_user_csv_of_california(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(
        [
            "--data",
            CAL_CSV,
            "--target",
            "median_house_value",
            "--epochs",
            2,
            "--json",
            "--plot",
            "none",
        ],
        capsys,
    )
    summary = json.loads(out)
    assert code == 0 and summary["rows"]["test"] == 4128
    assert 30000 < summary["test"]["rmse"] < 120000  # dollars, the CSV's own units


def test_digits_classification_reports_accuracy_and_confusion(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(
        [
            "--dataset",
            "digits",
            "--epochs",
            3,
            "--json",
            "--plot",
            "none",
            "--optimizer",
            "adam",
            "--lr",
            "0.003",
        ],
        capsys,
    )
    summary = json.loads(out)
    assert code == 0 and summary["task"] == "classification"
    assert summary["test"]["accuracy"] > 0.8
    matrix = np.array(summary["test"]["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    assert set(summary["baselines"]) == {"majority class", "logistic regression"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "absent.csv", "--target", "y"], "absent.csv: no such file"),
        (["--data", "{csv}", "--target", "nope"], "no column 'nope'"),
        (["--data", "{bad}", "--target", "y"], r"column 'a', data row 2: 'oops'"),
        (["--data", "{missing}", "--target", "y"], r"column 'y', data row 1: ''"),
        (["--data", "{empty}", "--target", "y"], "empty"),
        (
            ["--data", "{csv}", "--target", "progression", "--batch-size", 1000],
            "fewer than one batch",
        ),
        (["--data", "{csv}", "--target", "progression", "--lr", 0], "lr must be"),
        (["--data", "{csv}", "--target", "progression", "--lr", -0.1], "lr must be"),
        (["--data", "{csv}", "--target", "progression", "--batch-size", 0], "batch_size"),
        (
            ["--data", "{csv}", "--target", "progression", "--save", "no/such/dir/m.npz"],
            "folder does not exist",
        ),
        (["--data", "{csv}"], "--target"),
    ],
)
def test_bad_input_gives_one_line_and_writes_nothing(
    tmp_path, diabetes_csv, capsys, monkeypatch, args, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text("a,y\n1,2\noops,3\n")
    (tmp_path / "missing.csv").write_text("a,y\n1,\n")
    (tmp_path / "empty.csv").write_text("")
    files = {"csv": diabetes_csv, "bad": "bad.csv", "missing": "missing.csv", "empty": "empty.csv"}
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run([str(a).format(**files) for a in args], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert message.replace("\\", "") in err or __import__("re").search(message, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_model_that_does_not_match_the_data(tmp_path, diabetes_csv, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert (
        run(
            [
                "--data",
                diabetes_csv,
                "--target",
                "progression",
                "--epochs",
                1,
                "--save",
                "m.npz",
                "--quiet",
                "--plot",
                "none",
            ],
            capsys,
        )[0]
        == 0
    )
    (tmp_path / "other.csv").write_text("age,sex\n1,2\n")
    code, _, err = run(["predict", "--model", "m.npz", "--data", "other.csv"], capsys)
    assert code == 2 and "no column 'bmi'" in err
    (tmp_path / "junk.npz").write_bytes(b"junk")
    code, _, err = run(["predict", "--model", "junk.npz", "--data", "other.csv"], capsys)
    assert code == 2 and "junk.npz" in err and "Traceback" not in err


def test_checkpoint_resume_ends_with_the_same_weights(tmp_path, diabetes_csv, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = [
        "--data",
        diabetes_csv,
        "--target",
        "progression",
        "--hidden",
        "16,16",
        "--optimizer",
        "adam",
        "--lr",
        "0.003",
        "--dropout",
        "0.1",
        "--schedule",
        "plateau",
        "--early-stopping",
        4,
        "--quiet",
        "--plot",
        "none",
        "--seed",
        3,
    ]
    assert run([*common, "--epochs", 6, "--save", "straight.npz"], capsys)[0] == 0
    assert run([*common, "--epochs", 3, "--checkpoint", "ckpt.npz"], capsys)[0] == 0
    code, out, _ = run(
        [*common, "--epochs", 6, "--resume", "ckpt.npz", "--save", "resumed.npz"], capsys
    )
    assert code == 0 and "after 6 epochs" in out
    straight, resumed = barenet.load("straight.npz"), barenet.load("resumed.npz")
    assert resumed.history == straight.history
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


def test_ctrl_c_stops_after_the_batch_and_still_writes_everything(tmp_path, diabetes_csv):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "barenet",
            "--data",
            str(diabetes_csv),
            "--target",
            "progression",
            "--epochs",
            "100000",
            "--batch-size",
            "8",
            "--save",
            "m.npz",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for the second epoch line
        line = process.stdout.readline()
        if line.startswith("epoch") and "   2/" in line:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Interrupted" in out and "RMSE" in out
    model = barenet.load(tmp_path / "m.npz")
    assert model.epoch >= 2 and len(model.history["train_loss"]) == model.epoch
    assert (tmp_path / "losses.png").stat().st_size > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
