import io

import numpy as np

from barenet.datasets import load_builtin
from barenet.persistence import Preprocessing
from barenet.reporting import Progress, baselines, summary_text


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_prints_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(3, stream=stream)
    progress(None, 1, {"train_loss": 0.5, "val_loss": 0.25})
    progress(None, 2, {"train_loss": 0.4, "val_loss": None})
    progress.close()
    assert stream.getvalue().splitlines() == [
        "epoch   1/3  train 0.5000  val 0.2500",
        "epoch   2/3  train 0.4000",
    ]
    quiet = io.StringIO()
    Progress(3, quiet=True, stream=quiet)(None, 1, {"train_loss": 0.5, "val_loss": None})
    assert quiet.getvalue() == ""


def test_progress_bar_on_a_terminal(capsys):
    stream = FakeTerminal()
    progress = Progress(4, 1, stream=stream)
    assert progress.bar is not None and progress.bar.n == 1  # resumed at epoch 1
    progress(None, 2, {"train_loss": 0.5, "val_loss": 0.25})
    assert progress.bar.n == 2 and "val" in str(progress.bar.postfix)
    progress.close()
    assert stream.getvalue() == ""  # the bar writes to stderr, not the per-epoch lines
    assert "2/4" in capsys.readouterr().err


def test_baselines_and_summary_text():
    split = load_builtin("diabetes")
    prep = Preprocessing(list(split.feature_names), "progression", split.scaler_x, split.scaler_y)
    result = baselines(prep, split)
    assert result["least squares"]["rmse"] < result["training mean"]["rmse"]
    summary = {
        "rows": {"train": 353, "test": 89},
        "interrupted": True,
        "diverged": None,
        "task": "regression",
        "dataset": "diabetes",
        "epochs_trained": 4,
        "test": result["least squares"],
        "baselines": result,
        "wall_seconds": 1.0,
        "train_seconds": 0.5,
        "plot": "losses.png",
    }
    text = summary_text(summary)
    assert text.startswith("Interrupted: stopped after epoch 4")
    assert "89 rows of diabetes (original units)" in text and "Loss plot: losses.png" in text
    assert np.isfinite(result["training mean"]["mse"])
