import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import california_csv, california_home, needs_california, needs_california_csv

import barenet
from barenet import cli
from barenet.cli import main
from barenet.errors import BarenetValueError, DataError

CAL_CSV = california_csv() or "cal_housing.csv (not found)"


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
    # nothing selects on a validation loss: the test loss is only watched, and named so
    assert re.search(
        r"^epoch  40/40  train \d+\.\d{4}  test \d+\.\d{4}  \(\d+s elapsed, ~\d+s left\)$",
        out,
        re.MULTILINE,
    )
    assert "Watched the test loss per epoch; nothing was selected on it." in out
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
    _, table = barenet.tables.datasets.read_csv(diabetes_csv)
    expected = model.preprocessing.predict(model, table[:, :-1])
    # written in full (the shortest text that reads back as the same float): exact
    assert [float(r[0]) for r in rows[1:]] == np.asarray(expected, dtype=np.float64).tolist()
    assert all(r[0] == repr(float(r[0])) for r in rows[1:])
    assert out == "wrote 442 rows to pred.csv\n"
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


@needs_california_csv
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
        (["--data", "{missing}", "--target", "y"], "the target 'y' is blank in every row"),
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
        (["--target", "progression"], "--target is for --data"),
        (["--dataset", "diabetes", "--target", "progression"], "--target is for --data"),
        (["--dataset", "diabetes", "--features", "bmi,bp"], "--features is for --data"),
        (  # a continuous target taken for classes: 214 "classes", most with one row
            ["--data", "{csv}", "--target", "progression", "--task", "classification"],
            "cannot split the 442 rows stratified by its 214 classes into training and test",
        ),
        (["--dataset", "diabetes", "--task", "classification"], "--task is for --data"),
        (
            ["--data", "{csv}", "--target", "progression", "--momentum", -0.5],
            "momentum must be >= 0",
        ),
        (
            ["--data", "{csv}", "--target", "progression", "--hidden", "0,4"],
            "hidden entry must be",
        ),
        (
            ["--data", "{csv}", "--target", "progression", "--val-fraction", 1],
            "val_fraction must be in",
        ),
        (  # no rows held out: early stopping would select on the test split
            ["--data", "{csv}", "--target", "progression", "--early-stopping", 3]
            + ["--val-fraction", 0],
            "val_fraction must be > 0",
        ),
        (
            ["--data", "{csv}", "--target", "progression", "--schedule", "plateau"]
            + ["--val-fraction", 0],
            "val_fraction must be > 0",
        ),
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
    assert message.replace("\\", "") in err or re.search(message, err)
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
    assert code == 0 and "Trained 6 epochs on 317 rows" in out
    straight, resumed = barenet.load("straight.npz"), barenet.load("resumed.npz")
    assert resumed.epoch == 6 and resumed.history == straight.history
    for key, value in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)
    # without --epochs, a resumed run keeps the checkpoint's (3), not the default's (30+)
    code, out, err = run([*common, "--resume", "ckpt.npz"], capsys)
    assert code == 0 and "Trained 3 epochs" in out
    assert "ckpt.npz has already trained 3 epochs (epochs 3): nothing is trained" in err


def test_resume_refuses_data_of_another_task(tmp_path, diabetes_csv, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    regression = ["--data", diabetes_csv, "--target", "progression", "--quiet", "--plot", "none"]
    assert run([*regression, "--epochs", 1, "--checkpoint", "ck.npz"], capsys)[0] == 0
    features = "age,bmi,bp,s1,s2,s3,s4,s5,s6,progression"  # ten features again
    code, _, err = run(
        ["--data", diabetes_csv, "--target", "sex", "--features", features]
        + ["--task", "classification", "--epochs", 2, "--resume", "ck.npz", "--plot", "none"],
        capsys,
    )
    assert code == 2 and "ck.npz is a regression checkpoint with 1 outputs" in err
    assert "the data is for classification with 2" in err


def test_a_class_too_rare_to_stratify_the_validation_rows(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 2))
    kind = (x[:, 0] > 0).astype(int)
    kind[:2] = 5  # one row of class 5 among the training rows, one among the test rows
    np.savetxt("rare.csv", np.column_stack([x, kind]), delimiter=",", header="a,b,k", comments="")
    code, out, _ = run(
        ["--data", "rare.csv", "--target", "k", "--task", "classification", "--epochs", 2]
        + ["--early-stopping", 2, "--json", "--plot", "none"],
        capsys,
    )
    summary = json.loads(out)
    assert code == 0 and summary["rows"] == {"train": 72, "validation": 8, "test": 20}
    assert summary["test"]["labels"] == [0, 1, 5]


def test_ctrl_c_reports_the_epochs_it_kept(tmp_path, diabetes_csv):
    """Ctrl-C during training: the summary says so, names the epoch the saved model
    stopped after, still reports the test metrics, and exits with status 130
    (docs/guarantees.md: Ctrl-C is safe, and its exit-status table). (That files stay
    whole when killed is test_robustness.py's.)"""
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
            "--plot",
            "none",
            "--save",
            "m.npz",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for the second epoch line
        line = process.stdout.readline()
        if line.startswith("epoch") and "   2/" in line:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err  # interrupted, though everything was saved
    model = barenet.load(tmp_path / "m.npz")
    assert model.epoch >= 2 and len(model.history["train_loss"]) == model.epoch
    n = model.epoch  # whole epochs; Ctrl-C lands inside the next one, or (rarely) between
    inside = f"Interrupted (Ctrl-C) during epoch {n + 1}: trained {n} full epochs and part of"
    between = f"Interrupted (Ctrl-C) after epoch {n}."
    assert inside in out or (between in out and f"Trained {n} epochs" in out), out
    assert f"kept the weights of epoch {n} (" not in out or between in out
    assert "barenet MLP" in out and "RMSE" in out


def _split_rows(n, test_size=0.2):
    """The training and test row numbers of the CLI's split (random_state 42)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(n), test_size=test_size, random_state=42)


def _reverse_test_targets(source, target):
    """The same CSV with the test rows' targets in reverse order: the same training rows
    and the same scalers (the same target values overall), other test answers."""
    header = source.read_text().splitlines()[0]
    table = np.loadtxt(source, delimiter=",", skiprows=1)
    _, test_rows = _split_rows(len(table))
    table[test_rows, -1] = table[test_rows[::-1], -1]
    np.savetxt(target, table, delimiter=",", header=header, comments="")
    return target


TRAIN_FAST = ["--target", "progression", "--hidden", 32, "--optimizer", "adam", "--lr", 0.01]


@pytest.mark.parametrize(
    "selection, n_validation",
    [
        ([], None),
        (["--early-stopping", 3], 36),
        (["--schedule", "plateau", "--val-fraction", 0.2], 71),
    ],
    ids=["watched", "early-stopping", "plateau"],
)
def test_nothing_is_selected_on_the_test_split(
    tmp_path, diabetes_csv, capsys, monkeypatch, selection, n_validation
):
    from barenet.training.metrics import regression_metrics

    monkeypatch.chdir(tmp_path)
    other = _reverse_test_targets(diabetes_csv, tmp_path / "other.csv")
    summaries, models = [], []
    for i, data in enumerate((diabetes_csv, other)):
        code, out, _ = run(
            ["--data", data, *TRAIN_FAST, "--epochs", 30, "--json", "--plot", "none"]
            # --no-refit: the held-out fit's model (the refitted one learns from the test rows)
            + ["--save", f"m{i}.npz", "--no-refit", *selection],
            capsys,
        )
        assert code == 0
        summaries.append(json.loads(out))
        models.append(barenet.load(f"m{i}.npz"))
    a, b = summaries
    if n_validation is None:
        assert a["validation"] == "test split"
        assert a["rows"] == {"train": 353, "validation": 89, "test": 89}
        assert a["history"]["val_loss"] != b["history"]["val_loss"]  # the test loss, watched
        assert a["kept_epoch"] == a["epochs_trained"] == 30
    else:
        assert a["validation"].endswith("of the training rows")
        assert a["rows"] == {"train": 353 - n_validation, "validation": n_validation, "test": 89}
        assert a["history"] == b["history"]
    assert a["rows"] == b["rows"] and a["kept_epoch"] == b["kept_epoch"]
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    for key, value in models[0].state_dict().items():  # the test answers changed nothing
        np.testing.assert_array_equal(models[1].state_dict()[key], value)
    assert a["test"] != b["test"]
    _, test_rows = _split_rows(442)
    for summary, data, model in zip(summaries, (diabetes_csv, other), models, strict=True):
        _, table = barenet.tables.datasets.read_csv(data)
        predicted = model.preprocessing.predict(model, table[test_rows, :-1])
        assert summary["test"] == pytest.approx(
            regression_metrics(table[test_rows, -1], predicted)
        )


def test_early_stopping_keeps_the_best_validation_epoch(
    tmp_path, diabetes_csv, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    common = ["--data", diabetes_csv, *TRAIN_FAST, "--json", "--plot", "none"]
    code, out, err = run(
        [*common, "--epochs", 30, "--early-stopping", 3, "--save", "es.npz"], capsys
    )
    stopped = json.loads(out)
    assert re.search(
        r"^epoch   1/30  train \d+\.\d{4}  val \d+\.\d{4}  \(\d+s elapsed, ~\d+s left\)$",
        err,
        re.MULTILINE,
    )
    kept, trained = stopped["kept_epoch"], stopped["epochs_trained"]
    val_loss = stopped["history"]["val_loss"]
    assert code == 0 and kept < trained < 30 and trained - kept == 3
    assert kept == 1 + int(np.argmin(val_loss)) and len(val_loss) == trained
    # the same validation rows, trained for just the kept epochs: the same weights
    code, out, _ = run(
        [*common, "--epochs", kept, "--val-fraction", 0.1, "--save", "short.npz"], capsys
    )
    short = json.loads(out)
    assert code == 0 and short["rows"] == stopped["rows"]
    assert short["history"]["val_loss"] == val_loss[:kept] and short["test"] == stopped["test"]
    best, same = barenet.load("es.npz"), barenet.load("short.npz")
    for key, value in same.state_dict().items():
        np.testing.assert_array_equal(best.state_dict()[key], value)


def test_json_history_is_aligned_with_null_for_epochs_without_validation(
    tmp_path, capsys, monkeypatch
):
    """A checkpoint trained in Python without validation data, resumed by the CLI:
    one history entry per epoch in both lists, null (not NaN) where there was none."""
    from barenet.tables.datasets import load_builtin
    from barenet.training.config import TrainConfig, build_model, save_checkpoint

    monkeypatch.chdir(tmp_path)
    split = load_builtin("diabetes")
    config = TrainConfig(hidden=(8,), seed=1)
    model = build_model(config, 10, 1)
    model.train(split.x_train, split.y_train, epochs=2, batch_size=32)
    save_checkpoint(model, "ck.npz", config, preprocessing=split.preprocessing)

    def no_nan(constant):
        raise AssertionError(f"{constant} is not JSON")

    code, out, _ = run(
        ["--dataset", "diabetes", "--resume", "ck.npz", "--epochs", 4, "--json"]
        + ["--plot", "curve.png"],
        capsys,
    )
    summary = json.loads(out, parse_constant=no_nan)
    history = summary["history"]
    assert code == 0 and summary["epochs_trained"] == 4 and summary["kept_epoch"] == 4
    assert len(history["train_loss"]) == len(history["val_loss"]) == 4
    assert history["train_loss"][:2] == model.history["train_loss"]
    assert history["val_loss"][:2] == [None, None]
    assert all(isinstance(v, float) for v in history["val_loss"][2:])
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_classification_csv_answers_with_the_original_labels(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    kind = np.where(x[:, 0] + x[:, 1] > 0, 7, 3)
    np.savetxt(
        "k.csv", np.column_stack([x, kind]), delimiter=",", header="a,b,c,kind", comments=""
    )
    (tmp_path / "new.csv").write_text("a,b,c\n3,3,0\n-3,-3,0\n")
    code, out, _ = run(
        ["--data", "k.csv", "--target", "kind", "--task", "classification", "--epochs", 10]
        + ["--optimizer", "adam", "--lr", 0.01, "--plot", "none", "--save", "k.npz"],
        capsys,
    )
    assert code == 0 and "epoch  10/10" in out and "accuracy" in out
    lines = out.splitlines()
    matrix = lines.index("Confusion matrix (rows: true class, columns: predicted):")
    assert lines[matrix + 1].split() == ["3", "7"]
    assert [line.split()[0] for line in lines[matrix + 2 : matrix + 4]] == ["3", "7"]
    code, out, _ = run(["predict", "--model", "k.npz", "--data", "new.csv"], capsys)
    assert code == 0 and out == "predicted_kind\n7\n3\n"
    code, out, _ = run(["evaluate", "--model", "k.npz", "--data", "k.csv", "--json"], capsys)
    metrics = json.loads(out)
    assert code == 0 and metrics["labels"] == [3, 7] and metrics["accuracy"] > 0.9
    assert np.sum(metrics["confusion_matrix"]) == 300
    # without --json: an aligned table headed by the class labels, not a nested list
    code, out, _ = run(["evaluate", "--model", "k.npz", "--data", "k.csv"], capsys)
    lines = out.splitlines()
    assert code == 0 and "[[" not in out
    top = lines.index("Confusion matrix (rows: true class, columns: predicted):")
    header, *rows = lines[top + 1 : top + 4]
    assert header.split() == ["3", "7"] and [r.split()[0] for r in rows] == ["3", "7"]
    counts = [[int(v) for v in r.split()[1:]] for r in rows]
    assert counts == metrics["confusion_matrix"]
    assert len({len(line) for line in (header, *rows)}) == 1  # aligned columns


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"barenet {barenet.__version__}\n"
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    out = capsys.readouterr().out
    # issue 17: barenet --help lists the commands, one line each, not train's options
    assert done.value.code == 0 and out.startswith("usage: barenet [-h]")
    for line in (
        "train      train a network (the default command)",
        "predict    predict with a saved model",
        "evaluate   metrics of a saved model on a labelled table",
        "tune       hyper-parameter search",
        "export-onnx",
    ):
        assert line in out
    assert "--batch-size" not in out
    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and out.startswith("usage: barenet train")
    for flag in ("--dataset", "--json", "--time-limit", "--recipe", "--batch-size"):
        assert flag in out
    assert "decided by the table, not the clock" in " ".join(out.split())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--hidden", ""], "expected comma-separated layer sizes like 64,64, got ''"),
        (["--hidden", "64,,64"], "expected comma-separated layer sizes like 64,64, got '64,,64'"),
        (["--hidden", "64,x"], "expected comma-separated integers, got '64,x'"),
        (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
        (["--epochs", "2.5"], "argument --epochs:"),
        (["--clip-norm", "big"], "argument --clip-norm:"),
    ],
)
def test_malformed_options_are_usage_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["--dataset", "diabetes", "--plot", "none", *args])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.startswith("usage: barenet train")
    assert message in err.splitlines()[-1] and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def _failing(error):
    def load_data(args):
        raise error

    return load_data


def test_a_bug_prints_its_traceback_and_exits_3(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for error in (KeyError("oops"), ValueError("not a BarenetError")):
        monkeypatch.setattr(cli, "load_data", _failing(error))
        code, out, err = run(["--dataset", "diabetes", "--plot", "none"], capsys)
        assert code == 3 and out == ""
        assert "Traceback (most recent call last)" in err
        assert f"{type(error).__name__}: " in err and "load_data" in err
        assert err.strip().splitlines()[-1] == (
            f"barenet {barenet.__version__}: this is a bug in barenet, not in your input; "
            "please report it with the lines above."
        )


def test_barenet_and_os_errors_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [
        (DataError("x.csv: something is wrong\nin detail"), "x.csv: something is wrong"),
        (BarenetValueError("bad value"), "bad value"),
        (
            PermissionError(13, "Permission denied", "m.npz"),
            "[Errno 13] Permission denied: 'm.npz'",
        ),
    ]
    for error, message in cases:
        monkeypatch.setattr(cli, "load_data", _failing(error))
        code, out, err = run(["--dataset", "diabetes", "--plot", "none"], capsys)
        assert code == 2 and out == "" and err == f"barenet train: error: {message}\n"
    monkeypatch.setattr(cli, "load_data", _failing(KeyboardInterrupt()))
    code, _, err = run(["--dataset", "diabetes", "--plot", "none"], capsys)
    assert code == 130 and err == "barenet train: interrupted\n"


def housing_like(path, n=400, seed=0):
    """A few hundred rows of the California CSV as tutorials ship it: a text column
    (ocean_proximity) and blank total_bedrooms cells; synthetic if the CSV is absent."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    if os.path.exists(CAL_CSV):
        frame = pd.read_csv(CAL_CSV).sample(n, random_state=seed).reset_index(drop=True)
    else:
        frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["longitude", "latitude", "a", "b"])
        frame["total_bedrooms"] = rng.integers(100, 1000, n).astype(float)
        frame["median_house_value"] = 2e5 + 5e4 * frame["a"] + rng.normal(0, 1e4, n)
    places = np.array(["<1H OCEAN", "INLAND", "NEAR BAY", "NEAR OCEAN"], dtype=object)
    frame["ocean_proximity"] = places[rng.integers(0, 4, n)]
    frame.loc[rng.random(n) < 0.05, "total_bedrooms"] = np.nan
    frame.to_csv(path, index=False)
    return frame


def test_a_mixed_type_csv_trains_predicts_and_evaluates(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = housing_like("housing.csv")
    code, out, _ = run(
        ["train", "--data", "housing.csv", "--target", "median_house_value", "--hidden", 32]
        + [
            "--optimizer",
            "adam",
            "--lr",
            0.01,
            "--epochs",
            3,
            "--plot",
            "none",
            "--save",
            "m.npz",
        ],
        capsys,
    )
    assert code == 0
    assert "Task: regression (the target 'median_house_value' is numeric" in out
    assert "median-imputed with a missing indicator: total_bedrooms" in out
    assert "one-hot: ocean_proximity (4 levels)" in out
    model = barenet.load("m.npz")
    assert model.preprocessing.columns[-1]["kind"] == "category"
    # new rows: columns shuffled, an extra one, a missing value and an unseen category
    new = frame.drop(columns="median_house_value").head(3).copy()
    new["id"] = ["h1", "h2", "h3"]
    new.loc[0, "total_bedrooms"] = np.nan
    new.loc[1, "ocean_proximity"] = "ISLAND"
    new[list(reversed(new.columns))].to_csv("new.csv", index=False)
    code, out, _ = run(
        ["predict", "--model", "m.npz", "--data", "new.csv", "--keep", "id"], capsys
    )
    rows = list(csv.reader(out.splitlines()))
    assert code == 0 and rows[0] == ["id", "predicted_median_house_value"]
    assert [r[0] for r in rows[1:]] == ["h1", "h2", "h3"]
    expected = model.preprocessing.predict(model, new)
    assert all(np.isfinite(expected))
    assert [float(r[1]) for r in rows[1:]] == np.asarray(expected, np.float64).tolist()  # in full
    code, out, _ = run(["evaluate", "--model", "m.npz", "--data", "housing.csv", "--json"], capsys)
    assert code == 0 and json.loads(out)["rmse"] > 1000  # dollars, not standardised units
    code, _, err = run(
        ["predict", "--model", "m.npz", "--data", "new.csv", "--keep", "nope"], capsys
    )
    assert code == 2 and "no column 'nope'" in err


def test_string_labels_predict_proba_and_json_columns(tmp_path, capsys, monkeypatch):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 2))
    species = np.where(x[:, 0] > 0.5, "virginica", np.where(x[:, 0] < -0.5, "setosa", "other"))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "species": species}).to_csv("s.csv", sep=";")
    code, out, err = run(
        ["--data", "s.csv", "--target", "species", "--epochs", 20, "--optimizer", "adam"]
        + ["--lr", 0.01, "--plot", "none", "--save", "s.npz", "--json"],
        capsys,
    )
    summary = json.loads(out)
    assert code == 0 and summary["task"] == "classification"
    assert "holds labels" in summary["task_reason"]
    assert summary["columns"]["numeric"] == ["a", "b"] and "unnamed leading column" in err
    assert summary["test"]["labels"] == ["other", "setosa", "virginica"]
    pd.DataFrame({"b": [0.0, 0.0], "a": [3.0, -3.0]}).to_csv("new.csv", index=False)
    code, out, _ = run(["predict", "--model", "s.npz", "--data", "new.csv", "--proba"], capsys)
    rows = list(csv.reader(out.splitlines()))
    assert code == 0 and rows[0] == [
        "predicted_species",
        "proba_other",
        "proba_setosa",
        "proba_virginica",
    ]
    assert [r[0] for r in rows[1:]] == ["virginica", "setosa"]
    probabilities = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert probabilities[0, 2] > 0.5 and probabilities[1, 1] > 0.5
    code, out, _ = run(["evaluate", "--model", "s.npz", "--data", "s.csv", "--json"], capsys)
    assert code == 0 and json.loads(out)["accuracy"] > 0.8


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target", "y", "--loss", "cross_entropy"], "--loss cross_entropy needs classes"),
        (["--target", "k", "--loss", "mse"], "--loss mse is a regression loss"),
        (["--target", "y", "--task", "classification"], "300 distinct non-integer values"),
        (["--target", "k", "--task", "regression", "--features", "y"], None),
        (  # integers, but one per row: the split says so, without listing every class
            ["--target", "row", "--task", "classification"],
            "stratified by its 300 classes into training and test rows: The least populated",
        ),
    ],
)
def test_task_and_loss_that_cannot_fit(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(2)
    y = rng.standard_normal(300)
    k = (y > 0).astype(int)
    table = np.column_stack([y, k, np.arange(300)])
    np.savetxt("t.csv", table, delimiter=",", header="y,k,row", comments="")
    code, out, err = run(["--data", "t.csv", *extra, "--epochs", 1, "--plot", "none"], capsys)
    if message is None:  # integers asked to be a regression: allowed, and said so
        assert code == 0 and "Task: regression (as asked by --task)" in out
    else:
        assert code == 2 and message in err and "epoch" not in out and len(err) < 400


def test_parquet_drop_true_false_labels_and_kept_ids_as_read(tmp_path, capsys, monkeypatch):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(200)
    frame = pd.DataFrame(
        {"ref": 1e9 + np.arange(200.0), "x": x, "noise": rng.standard_normal(200), "big": x > 0}
    )
    frame.to_parquet("t.parquet")
    code, out, _ = run(
        ["--data", "t.parquet", "--target", "big", "--drop", "ref,noise", "--epochs", 15]
        + ["--optimizer", "adam", "--lr", 0.01, "--plot", "none", "--save", "b.npz", "--json"],
        capsys,
    )
    summary = json.loads(out)
    assert code == 0 and summary["task"] == "classification"
    assert summary["columns"]["numeric"] == ["x"] and summary["test"]["labels"] == [False, True]
    assert barenet.load("b.npz").preprocessing.feature_names == ["x"]
    code, out, _ = run(
        ["predict", "--model", "b.npz", "--data", "t.parquet", "--keep", "ref"], capsys
    )
    rows = list(csv.reader(out.splitlines()))
    assert code == 0 and rows[1] == ["1000000000.0", str(bool(x[0] > 0))]
    code, _, err = run(["export-onnx", "--model", "b.npz", "--out", "b.onnx"], capsys)
    assert code == 0
    import onnx

    graph = onnx.load("b.onnx").graph  # the kept column by name; true/false labels as such
    assert [i.name for i in graph.input] == ["x"]
    assert graph.output[2].type.tensor_type.elem_type == onnx.TensorProto.BOOL
    housing_like("h.csv")
    assert (
        run(
            ["--data", "h.csv", "--target", "median_house_value", "--epochs", 1]
            + ["--plot", "none", "--save", "h.npz", "--quiet"],
            capsys,
        )[0]
        == 0
    )
    code, _, err = run(["export-onnx", "--model", "h.npz", "--out", "h.onnx"], capsys)
    assert code == 0  # imputation and categories are in the graph (tests/io/test_onnx_export.py)
    inputs = {i.name: i.type.tensor_type.elem_type for i in onnx.load("h.onnx").graph.input}
    assert inputs["ocean_proximity"] == onnx.TensorProto.STRING
    assert inputs["total_bedrooms"] == onnx.TensorProto.DOUBLE  # numbers in float64


def test_reader_options_reach_train_predict_and_evaluate(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 10, 200)
    lines = ["città|prezzo"] + [
        f"{'Orléans' if v > 5 else 'Besançon'}|{v:.3f}".replace(".", ",") for v in x
    ]
    (tmp_path / "eu.csv").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    reader = ["--sep", "|", "--decimal", ",", "--encoding", "latin-1"]
    code, out, err = run(
        ["--data", "eu.csv", "--target", "prezzo", *reader, "--epochs", 2, "--plot", "none"]
        + ["--save", "eu.npz", "--json"],
        capsys,
    )
    assert code == 0 and json.loads(out)["columns"]["one-hot"] == ["città (2 levels)"]
    code, predicted, _ = run(["predict", "--model", "eu.npz", "--data", "eu.csv", *reader], capsys)
    assert code == 0 and len(predicted.splitlines()) == 201
    code, out, _ = run(["evaluate", "--model", "eu.npz", "--data", "eu.csv", *reader], capsys)
    assert code == 0 and "rmse" in out
    # the model remembers how its training file was read
    code, remembered, err = run(["predict", "--model", "eu.npz", "--data", "eu.csv"], capsys)
    assert code == 0 and remembered == predicted, err
    # an option given again wins over the remembered one: here, wrongly
    code, _, err = run(
        ["predict", "--model", "eu.npz", "--data", "eu.csv", "--encoding", "utf-8"], capsys
    )
    assert code == 2 and "--encoding" in err


def test_a_plot_format_matplotlib_cannot_write_fails_before_training(tmp_path, capsys):
    code = main(["--dataset", "diabetes", "--epochs", "1", "--plot", str(tmp_path / "out.txt")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot plot to" in err and "png" in err
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


def test_resume_says_which_options_it_ignores(tmp_path, capsys):
    ck = tmp_path / "ck.npz"
    common = ["--dataset", "diabetes", "--plot", "none", "--quiet"]
    assert main([*common, "--epochs", "1", "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    assert main([*common, "--epochs", "2", "--resume", str(ck), "--lr", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "--lr 0.5 is ignored" in err and "(0.01)" in err
    assert "--epochs" not in err.split("only --epochs")[0]


def test_every_train_option_says_its_default_without_markup():
    from barenet.cli import build_parser

    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    for action in train._actions:
        if action.option_strings and action.option_strings[0] != "-h":
            assert "default" in action.help, action.option_strings
    assert "`" not in train.description and "``" not in (parser.description or "")


def test_classification_defaults_reach_logistic_regression(tmp_path, capsys):
    """The default run on iris (string labels) and on a binary problem is at least as
    accurate on the test split as the logistic-regression baseline it prints."""
    from sklearn.datasets import load_breast_cancer, load_iris

    for loader, target in ((load_iris, "species"), (load_breast_cancer, "diagnosis")):
        bunch = loader(as_frame=True)
        frame = bunch.frame.drop(columns="target")
        frame[target] = [str(bunch.target_names[i]) for i in bunch.target]
        path = tmp_path / f"{target}.csv"
        frame.to_csv(path, index=False)
        assert main(["--data", str(path), "--target", target, "--plot", "none", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        logistic = summary["baselines"]["logistic regression"]["accuracy"]
        assert summary["test"]["accuracy"] >= logistic, (target, summary["test"], logistic)


def test_review_findings_on_the_command_line(tmp_path, capsys):
    import pandas as pd

    import barenet

    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "rowid": np.arange(1, n + 1),
            "zip": [f"{i:05d}" for i in range(n)],
            "x": rng.standard_normal(n),
            "label": np.where(rng.standard_normal(n) > 0, "high", "low"),
        }
    )
    data = tmp_path / "t.csv"
    frame.to_csv(data, index=False)
    model_path = tmp_path / "m.npz"
    args = ["--data", str(data), "--target", "label", "--drop", "zip", "--epochs", "3"]
    assert main([*args, "--plot", "none", "--json", "--save", str(model_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["columns"]["dropped"] == ["rowid (a row id: consecutive integers)"]
    # barenet.load(...).predict takes a DataFrame of raw rows and gives labels
    model = barenet.load(model_path)
    assert set(model.predict(frame)) <= {"high", "low"}
    # --keep writes identifiers as they are written in the file
    assert main(["predict", "--model", str(model_path), "--data", str(data), "--keep", "zip"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("00000,")
    # evaluate refuses labels the model never saw
    frame.loc[0, "label"] = "medium"
    frame.to_csv(tmp_path / "later.csv", index=False)
    code = main(["evaluate", "--model", str(model_path), "--data", str(tmp_path / "later.csv")])
    assert code == 2 and "['medium']" in capsys.readouterr().err
    # a bad hyper-parameter fails before any data is read (no California download)
    assert main(["--momentum", "-0.5", "--data-home", str(tmp_path / "nowhere")]) == 2
    assert "momentum must be >= 0" in capsys.readouterr().err


def test_the_tabular_recipe_from_the_command_line(tmp_path, diabetes_csv, capsys, monkeypatch):
    """--recipe fills the options not given; the fitted bins travel in the model file."""
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(
        [
            "--data",
            diabetes_csv,
            "--target",
            "progression",
            "--recipe",
            "tabular",
            "--epochs",
            3,
            "--ensemble",
            2,
            "--hidden",
            "8",
            "--bins",
            4,
            "--json",
            "--plot",
            "none",
            "--save",
            "m.npz",
        ],
        capsys,
    )
    summary = json.loads(out)
    assert code == 0, out
    config = summary["config"]
    assert config["recipe"] == "tabular" and config["embedding"] == "piecewise"
    assert (config["ensemble"], config["hidden"], config["optimizer"]) == (2, [8], "adamw")
    assert summary["validation"] == "0.1 of the training rows"  # best epoch, never the test
    model = barenet.load(tmp_path / "m.npz")
    # the 0/1 column "sex" passes straight through; the others are embedded (issue 28)
    assert type(model.layers[0]).__name__ == "PiecewisePassthrough"
    assert model.layers[0].passed == [1] and model.layers[0].n_bins <= 4
    with pytest.raises(SystemExit) as usage_error:
        main(["--recipe", "fast"])
    assert usage_error.value.code == 2 and "invalid choice: 'fast'" in capsys.readouterr().err


def test_blank_targets_are_left_out_of_train_and_evaluate_and_counted(
    tmp_path, capsys, monkeypatch
):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    label = np.where(x[:, 0] > 0, "up", "down").astype(object)
    label[[3, 17, 40]] = [None, "", "  "]  # blank: empty, missing or spaces only
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": label}).to_csv("t.csv", index=False)
    code, out, _ = run(
        ["--data", "t.csv", "--target", "label", "--epochs", 3, "--plot", "none"]
        + ["--save", "m.npz"],
        capsys,
    )
    assert code == 0
    assert out.splitlines()[0] == "Note: left out 3 rows whose target 'label' is blank"
    assert "Test set: 40 rows" in out  # 20 % of the 197 rows with a target
    assert barenet.load("m.npz").preprocessing.classes == ["down", "up"]
    code, out, err = run(["evaluate", "--model", "m.npz", "--data", "t.csv", "--json"], capsys)
    assert code == 0 and json.loads(out)["accuracy"] > 0.5
    first, *others = err.splitlines()
    assert first == "Note: left out 3 rows whose target 'label' is blank"
    # the test rows' values beyond the training rows' range are clipped, and said so
    assert all("outside the training range, clipped to it" in line for line in others)
    pd.DataFrame({"a": [1.0], "b": [2.0], "label": [None]}).to_csv("none.csv", index=False)
    code, _, err = run(["evaluate", "--model", "m.npz", "--data", "none.csv"], capsys)
    assert code == 2 and "the target 'label' is blank in every row" in err
    code, out, err = run(["predict", "--model", "m.npz", "--data", "t.csv"], capsys)
    assert code == 0 and len(out.splitlines()) == 201  # no target needed
    assert all("outside the training range, clipped to it" in line for line in err.splitlines())


def test_predict_says_what_it_imputed_and_which_categories_it_did_not_know(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    frame = housing_like("housing.csv")
    code, _, _ = run(
        ["--data", "housing.csv", "--target", "median_house_value", "--epochs", 1]
        + ["--plot", "none", "--quiet", "--save", "m.npz"],
        capsys,
    )
    assert code == 0
    new = frame.drop(columns="median_house_value").head(4).copy()
    new.to_csv("clean.csv", index=False)
    code, _, err = run(["predict", "--model", "m.npz", "--data", "clean.csv"], capsys)
    assert code == 0 and err == ""  # nothing imputed, nothing unseen: nothing said
    new["total_bedrooms"] = [np.nan, np.nan, 300.0, 400.0]
    new["ocean_proximity"] = ["ISLAND", None, "INLAND", "MOON"]
    new.to_csv("new.csv", index=False)
    code, out, err = run(["predict", "--model", "m.npz", "--data", "new.csv"], capsys)
    assert code == 0 and len(out.splitlines()) == 5
    assert err == (
        "Note: imputed 3 blank cells (total_bedrooms: 2, ocean_proximity: 1); 2 cells held a "
        "category unseen in training (ocean_proximity: 2, e.g. 'ISLAND', 'MOON')\n"
    )
    new["median_house_value"] = 1e5
    new.to_csv("labelled.csv", index=False)
    code, _, err = run(["evaluate", "--model", "m.npz", "--data", "labelled.csv"], capsys)
    assert code == 0 and "Note: imputed 3 blank cells" in err  # evaluate says the same


def test_data_alone_trains_the_auto_recipe_and_a_time_limit_caps_it(
    tmp_path, diabetes_csv, capsys, monkeypatch
):
    """issue 17: --data and --target alone choose a model for tables (small below 1,000
    training rows), with no time limit unless given (issue 28); the summary says what was
    chosen and why."""
    monkeypatch.chdir(tmp_path)
    args = ["--data", diabetes_csv, "--target", "progression", "--plot", "none"]
    code, out, _ = run([*args, "--time-limit", 2, "--save", "m.npz"], capsys)
    assert code == 0
    assert "Model: recipe auto chose small (353 training rows < 1,000)" in out
    assert "Validation: 36 rows (0.1 of the training rows), not the test split." in out
    config = barenet.load("m.npz").record
    assert config["optimizer"]["type"] == "adamw"
    code, out, _ = run([*args, "--time-limit", 1e-6, "--json"], capsys)
    summary = json.loads(out)
    assert summary["config"]["recipe"] == "small" and summary["config"]["time_limit"] == 1e-6
    assert summary["time_limit_cut"] == "stopped by --time-limit (1e-06 s) after 1 of 300 epochs"
    assert summary["epochs_trained"] == 1
    # a network or training option given: the notebook's defaults fill the rest, as before
    code, out, _ = run([*args, "--epochs", 2, "--json"], capsys)
    summary = json.loads(out)
    assert summary["config"]["recipe"] is None and summary["config"]["optimizer"] == "sgd"
    assert summary["recipe_choice"] is None and summary["epochs_trained"] == 2


def test_a_diverged_run_exits_2_with_the_flags_to_change(tmp_path, diabetes_csv, capsys):
    """issue 17: one line on stderr with --lr and --clip-norm and their values, no
    summary, no model saved; the last good checkpoint is kept."""
    args = ["--data", diabetes_csv, "--target", "progression", "--plot", "none"]
    checkpoint, model = tmp_path / "c.npz", tmp_path / "m.npz"
    code, out, err = run(
        [*args, "--epochs", 3, "--lr", 1e6, "--save", model, "--checkpoint", checkpoint],
        capsys,
    )
    assert code == 2 and "Test set" not in out and "RMSE" not in out
    assert len(err.strip().splitlines()) == 1
    assert "--lr (now 1e+06)" in err and "--clip-norm (now 1)" in err
    assert "clip_norm=" not in err and not model.exists()
    # a run that was fine, then continued with a rate that diverges: the checkpoint stays
    assert run([*args, "--epochs", 1, "--checkpoint", checkpoint], capsys)[0] == 0
    before = barenet.load(checkpoint).state_dict()
    code, _, err = run(
        [*args, "--epochs", 3, "--lr", 1e6, "--clip-norm", 0, "--checkpoint", checkpoint],
        capsys,
    )
    assert code == 2 and "--clip-norm 1 (now off)" in err
    after = barenet.load(checkpoint).state_dict()
    assert all(np.isfinite(v).all() for v in after.values())
    assert before.keys() == after.keys()


def test_a_folder_as_data_says_it_is_a_folder(tmp_path, capsys):
    """issue 17: a folder was "no such file". A folder of tables is streamed
    (test_streaming.py); one with none says it is a folder and what it needs."""
    code, _, err = run(["--data", tmp_path, "--target", "y"], capsys)
    assert code == 2 and "is a folder with no .parquet or .csv files" in err
    assert "no such file" not in err


def test_zero_epochs_is_a_usage_error(tmp_path, diabetes_csv, capsys):
    """issue 17: --epochs 0 saved an untrained model and exited 0."""
    model = tmp_path / "m.npz"
    args = ["--data", diabetes_csv, "--target", "progression", "--epochs", 0, "--save", model]
    code, out, err = run(args, capsys)
    assert code == 2 and "epochs must be >= 1, got 0" in err
    assert out == "" and not model.exists()


def test_a_csv_given_as_model_is_not_a_model_file(tmp_path, diabetes_csv, capsys):
    code, _, err = run(["predict", "--model", diabetes_csv, "--data", diabetes_csv], capsys)
    assert code == 2 and "not a barenet model file (it looks like a text table)" in err
    assert "pickle" not in err


def test_plot_diagnostics_draws_what_happens_inside_training(
    tmp_path, diabetes_csv, capsys, monkeypatch
):
    """issue 21: barenet train --plot-diagnostics FILE does what plot_diagnostics does."""
    monkeypatch.chdir(tmp_path)
    args = ["--data", diabetes_csv, "--target", "progression", "--plot", "none"]
    code, out, _ = run([*args, "--epochs", 3, "--plot-diagnostics", "inside.png"], capsys)
    assert code == 0 and "Diagnostics plot: inside.png" in out
    assert (tmp_path / "inside.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run([*args, "--epochs", 3, "--plot-diagnostics", "inside.xyz"], capsys)
    assert code == 2 and "cannot plot to inside.xyz" in err
