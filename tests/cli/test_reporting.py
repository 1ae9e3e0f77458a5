import io
import re

import numpy as np
import pytest

from barenet.cli.reporting import (
    Progress,
    baselines,
    finish_summary,
    history_for_json,
    number,
    report_metrics,
    summary_text,
    time_estimate,
)
from barenet.tables.datasets import load_builtin, preprocess
from barenet.training.config import TrainConfig, build_model
from barenet.training.metrics import classification_metrics, regression_metrics


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_prints_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(3, stream=stream)
    progress(None, 1, {"train_loss": 0.5, "val_loss": 0.25})
    progress(None, 2, {"train_loss": 0.4, "val_loss": None})
    progress.close()
    lines = stream.getvalue().splitlines()
    assert [line.split("  (")[0] for line in lines] == [
        "epoch   1/3  train 0.5000  val 0.2500",
        "epoch   2/3  train 0.4000",
    ]
    assert all(re.search(r"\(\d+s elapsed, ~\d+s left\)$", line) for line in lines)
    watched = io.StringIO()
    Progress(3, stream=watched, val_name="test")(None, 1, {"train_loss": 0.5, "val_loss": 0.25})
    assert watched.getvalue().startswith("epoch   1/3  train 0.5000  test 0.2500  (")
    quiet = io.StringIO()
    Progress(3, quiet=True, stream=quiet)(None, 1, {"train_loss": 0.5, "val_loss": None})
    assert quiet.getvalue() == ""


def test_progress_bar_on_a_terminal(capsys):
    stream = FakeTerminal()
    progress = Progress(4, 1, stream=stream, val_name="test")
    assert progress.bar is not None and progress.bar.n == 1  # resumed at epoch 1
    progress(None, 2, {"train_loss": 0.5, "val_loss": 0.25})
    assert progress.bar.n == 2 and "test" in str(progress.bar.postfix)
    progress.close()
    assert stream.getvalue() == ""  # the bar writes to stderr, not the per-epoch lines
    assert "2/4" in capsys.readouterr().err


@pytest.fixture(scope="module")
def diabetes():
    return load_builtin("diabetes")


def test_report_metrics_are_in_original_units(diabetes):
    split = diabetes
    model = build_model(TrainConfig(hidden=(8,), seed=0), 10, 1)
    model.train(split.x_train, split.y_train, epochs=2, batch_size=32)
    truth = split.scaler_y.inverse_transform(split.y_test)
    predicted = split.scaler_y.inverse_transform(model.predict(split.x_test))
    assert report_metrics(model, split) == pytest.approx(regression_metrics(truth, predicted))
    assert 25 <= truth.min() and truth.max() <= 346  # the diabetes target's own units


def test_report_metrics_of_a_classifier_use_the_class_labels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    labels = np.where(x[:, 0] > 0, 20, 10)
    split = preprocess(x, labels, classification=True)
    assert split.classes == [10, 20] and set(np.unique(split.y_train)) == {0, 1}
    model = build_model(TrainConfig(hidden=(4,), seed=0), 2, 2, "classification")
    model.train(split.x_train, split.y_train, epochs=5, batch_size=16)
    metrics = report_metrics(model, split)
    expected_labels = np.array([10, 20])[np.argmax(model.predict(split.x_test), axis=1)]
    truth = np.array([10, 20])[split.y_test]
    assert metrics == classification_metrics(truth, expected_labels, [10, 20])
    assert metrics["labels"] == [10, 20]


def test_regression_baselines(diabetes):
    split = diabetes
    result = baselines(split)
    assert set(result) == {"training mean", "least squares"}
    truth = split.scaler_y.inverse_transform(split.y_test)[:, 0]
    mean = split.scaler_y.inverse_transform(split.y_train).mean()
    assert result["training mean"]["rmse"] == pytest.approx(np.sqrt(np.mean((truth - mean) ** 2)))
    assert result["least squares"]["rmse"] < result["training mean"]["rmse"]
    assert 40 < result["least squares"]["rmse"] < 70  # original units, not standardised


def test_classification_baselines_use_the_training_majority():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    labels = np.where(x[:, 0] > 0.6, 7, 3)  # about 73 % are 3
    split = preprocess(x, labels, classification=True)
    result = baselines(split)
    truth = np.array([3, 7])[split.y_test]
    assert result["majority class"]["accuracy"] == pytest.approx(np.mean(truth == 3))
    assert result["majority class"]["confusion_matrix"][1] == [int(np.sum(truth == 7)), 0]
    assert result["logistic regression"]["accuracy"] > 0.9


def _summary(**changes):
    summary = {
        "rows": {"train": 317, "validation": 36, "test": 89},
        "validation": "0.1 of the training rows",
        "interrupted": False,
        "diverged": None,
        "task": "regression",
        "dataset": "diabetes",
        "epochs_trained": 9,
        "kept_epoch": 6,
        "test": {"mse": 4.0, "rmse": 2.0, "mae": 1.5, "r2": 0.5},
        "baselines": {"training mean": {"mse": 9.0, "rmse": 3.0, "mae": 2.5, "r2": 0.0}},
        "wall_seconds": 1.0,
        "train_seconds": 0.5,
    }
    summary.update(changes)
    return summary


def test_summary_text_states_the_validation_and_the_kept_epoch():
    text = summary_text(_summary(plot="losses.png", model="m.npz"))
    assert "Trained 9 epochs on 317 rows; kept the weights of epoch 6 (the best validation" in text
    assert "Validation: 36 rows (0.1 of the training rows), not the test split." in text
    assert "89 rows of diabetes (original units)" in text
    assert "barenet MLP          MSE 4.0000  RMSE 2.0000" in text
    assert "Loss plot: losses.png" in text and "Model saved: m.npz" in text
    assert "Interrupted" not in text and "Diverged" not in text

    watched = summary_text(
        _summary(
            validation="test split",
            kept_epoch=9,
            rows={"train": 353, "validation": 89, "test": 89},
        )
    )
    assert "kept the weights of epoch 9 (the last epoch)" in watched
    assert "Watched the test loss per epoch; nothing was selected on it." in watched
    assert "Validation:" not in watched

    stopped = summary_text(_summary(interrupted=True, diverged="training diverged in epoch 3"))
    assert "Interrupted (Ctrl-C) after epoch 9." in stopped
    assert "Diverged: training diverged in epoch 3" in stopped


def test_summary_text_labels_the_confusion_matrix_with_class_names():
    test = {"accuracy": 0.75, "labels": ["cat", "hippo"], "confusion_matrix": [[2, 1], [0, 1]]}
    text = summary_text(
        _summary(task="classification", test=test, baselines={"majority class": test})
    )
    lines = text.splitlines()
    start = lines.index("Confusion matrix (rows: true class, columns: predicted):")
    assert lines[start + 1].split() == ["cat", "hippo"]
    assert lines[start + 2].split() == ["cat", "2", "1"]
    assert lines[start + 3].split() == ["hippo", "0", "1"]
    assert "accuracy 0.7500" in text and "original units" not in text


def test_time_estimate_is_the_mean_epoch_time_bounded_by_the_budget():
    from barenet.training.fitting import TimeBudget

    assert time_estimate(10.0, 2, 8) == "10s elapsed, ~40s left"
    budget = TimeBudget(15.0, epochs=10)  # just started: about 15 s of it left
    assert time_estimate(10.0, 2, 8, budget) == "10s elapsed, ~15s left"


def test_summary_says_what_auto_chose_and_what_the_time_limit_cut():
    summary = _summary()
    summary["recipe_choice"] = "recipe auto chose tabular (16,512 training rows >= 1,000)"
    summary["time_limit_cut"] = "stopped by --time-limit (75 s) after 61 of 150 epochs"
    summary["config"] = {"epochs": 150, "early_stopping": None}
    text = summary_text(summary)
    # the choice is printed once, before training (run_train), never again in the summary
    assert "recipe auto chose" not in text
    assert "Time limit: stopped by --time-limit (75 s) after 61 of 150 epochs." in text
    assert "Stopped early" not in text  # the time limit is the reason, said once


def test_a_streamed_summary_ends_with_its_throughput():
    text = summary_text(_summary(model="m.npz", rows_per_second=512345.6))
    assert text.splitlines()[-2:] == ["Model saved: m.npz", "Throughput: 512,346 training rows/s"]
    assert "Throughput" not in summary_text(_summary())


def test_finish_summary_saves_times_and_prints_json_or_text(tmp_path):
    import json
    from types import SimpleNamespace

    model = build_model(TrainConfig(hidden=(4,)), 3, 1, "regression")
    model.history["train_loss"] += [0.5, 0.25]
    model.history["val_loss"] += [float("nan"), 0.3]
    assert history_for_json(model.history) == {"train_loss": [0.5, 0.25], "val_loss": [None, 0.3]}
    out = io.StringIO()
    args = SimpleNamespace(save=str(tmp_path / "m.npz"), json=True)
    summary = _summary()
    del summary["wall_seconds"], summary["train_seconds"]
    finish_summary(summary, model, args, started=0.0, train_seconds=2.5, stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["model"] == str(tmp_path / "m.npz") and (tmp_path / "m.npz").exists()
    assert printed["train_seconds"] == 2.5 and printed["wall_seconds"] > 0
    text = io.StringIO()
    finish_summary(_summary(), model, SimpleNamespace(save=None, json=False), 0.0, 1.0, text)
    assert text.getvalue().startswith("Trained 9 epochs") and "Model saved" not in text.getvalue()


def test_the_summary_says_each_line_once_with_correct_plurals():
    text = summary_text(_summary(epochs_trained=1, kept_epoch=1, validation="test split"))
    assert "Trained 1 epoch on 317 rows; kept the weights of epoch 1 (the last epoch)." in text
    lines = text.splitlines()
    assert len(lines) == len(set(lines))


def test_the_summary_states_early_stopping_as_the_reason():
    summary = _summary(epochs_trained=59, kept_epoch=39)
    summary["config"] = {"epochs": 60, "early_stopping": 20}
    text = summary_text(summary)
    assert (
        "Stopped early, after epoch 59 of 60: the validation loss had not improved for "
        "20 epochs (--early-stopping 20)." in text
    )
    assert "kept the weights of epoch 39 (the best validation epoch)" in text
    summary["config"] = {"epochs": 59, "early_stopping": 20}  # all the epochs asked for
    assert "Stopped early" not in summary_text(summary)


def test_ctrl_c_inside_an_epoch_never_claims_a_whole_epochs_weights():
    summary = _summary(interrupted=True, stopped_mid_epoch=True, epochs_trained=0, kept_epoch=0)
    text = summary_text(summary)
    assert "kept the weights of epoch 0" not in text
    assert (
        "Interrupted (Ctrl-C) during epoch 1: trained 0 full epochs and part of epoch 1 on "
        "317 rows; kept the weights as they were when it stopped." in text
    )
    # early stopping's best epoch restored: those are a whole epoch's weights
    restored = summary_text(
        _summary(interrupted=True, stopped_mid_epoch=True, epochs_trained=9, kept_epoch=6)
    )
    assert "Interrupted (Ctrl-C) after epoch 9." in restored
    assert "kept the weights of epoch 6 (the best validation epoch)" in restored


@pytest.mark.parametrize(
    "value, shown",
    [
        (826121011.0007, "826,121,011"),
        (12345.678, "12,346"),
        (4.0, "4.0000"),
        (0.5697, "0.5697"),
        (0.0, "0.0000"),
        (2.5e-05, "2.500e-05"),
        (999_999_999_999_999.0, "999,999,999,999,999"),
        (1e15, "1.0000e+15"),
        (-2.8036403918e29, "-2.8036e+29"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
    ],
)
def test_summary_numbers_are_formatted_for_their_size(value, shown):
    assert number(value) == shown


def test_a_large_mse_reads_sensibly_in_the_summary():
    test = {"mse": 826121011.0007, "rmse": 28742.34, "mae": 17001.5, "r2": 0.8712}
    text = summary_text(_summary(test=test))
    assert "MSE 826,121,011  RMSE 28,742  MAE 17,002  R^2 0.8712" in text
