import math

import pytest

from barenet import plot_losses


def test_plot_losses_writes_a_png(tmp_path):
    path = plot_losses(
        {"train_loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.4]}, tmp_path / "curve.png"
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_plot_log_scale_svg_and_train_only(tmp_path):
    path = plot_losses(
        {"train_loss": [1.0, 0.1], "val_loss": [math.nan, math.nan]},
        tmp_path / "c.svg",
        log_scale=True,
        title="custom title",
        val_label="held out",
    )
    text = path.read_text()
    assert "<svg" in text and "custom title" in text and "log scale" in text
    assert "held out" not in text  # no validation at all: no second curve in the legend


def test_epochs_without_validation_are_gaps_and_the_label_is_used(tmp_path):
    history = {"train_loss": [1.0, 0.5, 0.3, 0.2], "val_loss": [None, math.nan, 0.4, 0.35]}
    text = plot_losses(history, tmp_path / "c.svg", val_label="test (watched only)").read_text()
    assert "test (watched only)" in text
    assert "final: train 0.2000, test (watched only) 0.3500" in text  # the default title


def test_plot_errors(tmp_path):
    with pytest.raises(ValueError, match="no losses"):
        plot_losses({"train_loss": [], "val_loss": []}, tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot_losses({"train_loss": [1.0]}, tmp_path / "missing" / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_written_files_respect_the_umask(tmp_path):
    import os

    from barenet.io.atomic import atomic_path

    previous = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o640
