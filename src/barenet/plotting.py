"""Loss curves as a PNG, drawn headless with matplotlib's Agg canvas."""

from __future__ import annotations

import math
from pathlib import Path

from barenet._files import atomic_path
from barenet.errors import BarenetValueError


def check_plot_format(path) -> None:
    """Raise before any training if matplotlib cannot write ``path``'s format."""
    from matplotlib.figure import Figure

    suffix = Path(path).suffix.lstrip(".").lower()
    supported = Figure().canvas.get_supported_filetypes()
    if suffix not in supported:
        raise BarenetValueError(
            f"cannot plot to {path}: matplotlib writes {', '.join(sorted(supported))} "
            "(name the file with one of these suffixes, or --plot none)"
        )


def plot_losses(
    history: dict,
    path="losses.png",
    *,
    log_scale: bool = False,
    title: str | None = None,
    val_label: str = "validation",
) -> Path:
    """Plot train and validation loss per epoch and write the figure to ``path``.

    Parameters
    ----------
    history : dict
        ``{"train_loss": [...], "val_loss": [...]}`` as returned by ``MLP.train``.
    path : str or Path
        Output file; its suffix picks the format (``.png``, ``.svg``, ``.pdf``).
    log_scale : bool
        Logarithmic loss axis.
    title : str, optional
        Defaults to the final train and validation losses.
    val_label : str
        The legend of the second curve. Epochs without validation (``nan``) are gaps.

    Returns
    -------
    Path
        The file written (atomically: a crash never leaves half a file).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    train = [float(v) for v in history.get("train_loss", [])]
    val = [math.nan if v is None else float(v) for v in history.get("val_loss", [])]
    if all(math.isnan(v) for v in val):
        val = []
    if not train and not val:
        raise BarenetValueError("plot_losses: the history has no losses to plot")
    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    if train:
        ax.plot(range(1, len(train) + 1), train, marker="o", markersize=3, label="train")
    if val:
        ax.plot(range(1, len(val) + 1), val, marker="o", markersize=3, label=val_label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" + (" (log scale)" if log_scale else ""))
    if log_scale:
        ax.set_yscale("log")
    if title is None:
        parts = []
        if train:
            parts.append(f"train {train[-1]:.4f}")
        if val and not math.isnan(val[-1]):
            parts.append(f"{val_label} {val[-1]:.4f}")
        title = f"Loss per epoch (final: {', '.join(parts)})"
    ax.set_title(title, fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend()
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    return path
