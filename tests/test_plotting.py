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
        {"train_loss": [1.0, 0.1], "val_loss": []},
        tmp_path / "c.svg",
        log_scale=True,
        title="custom title",
    )
    text = path.read_text()
    assert "<svg" in text and "custom title" in text


def test_plot_errors(tmp_path):
    with pytest.raises(ValueError, match="no losses"):
        plot_losses({"train_loss": [], "val_loss": []}, tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot_losses({"train_loss": [1.0]}, tmp_path / "missing" / "x.png")
