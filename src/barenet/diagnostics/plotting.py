"""Loss curves and training diagnostics as figures, drawn headless with matplotlib's
Agg canvas."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from barenet.errors import BarenetValueError
from barenet.io.atomic import atomic_path


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
    train = [float(v) for v in history.get("train_loss", [])]
    val = [math.nan if v is None else float(v) for v in history.get("val_loss", [])]
    if all(math.isnan(v) for v in val):
        val = []
    if not train and not val:
        raise BarenetValueError("plot_losses: the history has no losses to plot")
    figure = new_figure((7, 4.5))
    ax = figure.add_subplot()
    for values, name in ((train, "train"), (val, val_label)):
        if values:
            ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" + (" (log scale)" if log_scale else ""))
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(title or losses_title(train, val, val_label), fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend()
    figure.tight_layout()
    return save_figure(figure, path)


def losses_title(train: list, val: list, val_label: str) -> str:
    """ "Loss per epoch (final: train 0.1234, validation 0.2345)"."""
    parts = [f"train {train[-1]:.4f}"] if train else []
    if val and not math.isnan(val[-1]):
        parts.append(f"{val_label} {val[-1]:.4f}")
    return f"Loss per epoch (final: {', '.join(parts)})"


def new_figure(size: tuple[float, float]):
    """A matplotlib ``Figure`` on the headless Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path) -> Path:
    """Write ``figure`` to ``path`` atomically, in the format its suffix names."""
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    return path


def plot_diagnostics(history: dict, path="diagnostics.png", *, title: str | None = None) -> Path:
    """Draw a ``barenet.Diagnostics`` record in one figure of six panels.

    Panels: the gradient norm of each layer's weights per epoch; the update-to-weight
    ratio per epoch; each activation's mean with its spread; the share of dead (Relu)
    or saturated (Sigmoid, Tanh) units; and histograms of the weights and of the
    activations at the first and last recorded epochs.

    Parameters
    ----------
    history : Diagnostics or dict
        A ``barenet.Diagnostics`` callback, or its ``history``.
    path : str or Path
        Output file; its suffix picks the format.

    Returns
    -------
    Path
        The file written (atomically).
    """
    return save_figure(diagnostics_figure(history, title=title), path)


def diagnostics_figure(history: dict, *, title: str | None = None):
    """The matplotlib ``Figure`` that ``plot_diagnostics`` writes (six panels)."""
    history = getattr(history, "history", history)  # a Diagnostics, or its record
    epochs = list(history.get("epoch", []))
    layers = history.get("layers", [])
    if not epochs or not layers:
        raise BarenetValueError("plot_diagnostics: the history has no records to draw")
    weighted = [e for e in layers if e["grad_norm"]]
    activations = [e for e in layers if not e["grad_norm"]] or weighted  # parameter-free
    figure = new_figure((13, 7.5))
    axes = figure.subplots(2, 3)
    _gradient_panels(axes[0, 0], axes[0, 1], epochs, weighted)
    _activation_panel(axes[0, 2], epochs, activations)
    _health_panel(axes[1, 0], epochs, layers)
    _histograms(axes[1, 1], epochs, [e for e in weighted if _weight_hists(e)], _weight_hists)
    axes[1, 1].set_title("weight histograms (dotted: first, solid: last)")
    pick = [e for e in activations if e["output_hist"]]
    _histograms(axes[1, 2], epochs, pick, lambda e: e["output_hist"])
    axes[1, 2].set_title("activation histograms (dotted: first, solid: last)")
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    for ax in (axes[0, 0], axes[0, 1]):
        if any(line.get_ydata().size for line in ax.get_lines()):
            ax.set_yscale("log")
    for ax in (*axes[0, :3], axes[1, 0]):
        ax.set_xlabel("epoch")
    figure.suptitle(
        title or f"Inside training: {len(epochs)} records, epochs {epochs[0]}-{epochs[-1]}"
    )
    figure.tight_layout()
    return figure


def _label(entry, param=None) -> str:
    return f"{entry['index']} {entry['name']}" + (f".{param}" if param else "")


def _first_param(entry) -> str:
    return "w" if "w" in entry["grad_norm"] else next(iter(entry["grad_norm"]))


def _weight_hists(entry) -> list:
    hists = entry["weight_hist"]
    return hists.get("w") or next(iter(hists.values()), [])


def _gradient_panels(norm_ax, ratio_ax, epochs: list, weighted: list) -> None:
    """Each weighted layer's gradient norm, and its update/weight ratio, per epoch."""
    for entry in weighted:
        name = _first_param(entry)
        style = {"marker": "o", "markersize": 3, "label": _label(entry, name)}
        norm_ax.plot(epochs, entry["grad_norm"][name], **style)
        ratio_ax.plot(epochs[1:], entry["update_ratio"][name][1:], **style)
    norm_ax.set_title("gradient norm (fixed batch)")
    ratio_ax.set_title("update / weight ratio per epoch")


def _activation_panel(ax, epochs: list, activations: list) -> None:
    for entry in activations:
        mean, std = np.asarray(entry["mean"]), np.asarray(entry["std"])
        (line,) = ax.plot(epochs, mean, label=_label(entry))
        ax.fill_between(epochs, mean - std, mean + std, alpha=0.15, color=line.get_color())
    ax.set_title("activations: mean ± spread")


def _health_panel(ax, epochs: list, layers: list) -> None:
    """The share of dead (Relu) or saturated (Sigmoid, Tanh) units per epoch."""
    health = [e for e in layers if e["health"] is not None]
    for entry in health:
        label = f"{_label(entry)} ({entry['health']})"
        ax.plot(epochs, entry["share"], marker="o", markersize=3, label=label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("dead (Relu) or saturated (Sigmoid, Tanh) share")
    if not health:
        ax.text(
            0.5,
            0.5,
            "no Relu, Sigmoid or Tanh layer",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )


def _histograms(ax, epochs: list, pick: list, what) -> None:
    """Each entry's first and last histogram, as densities, in one colour."""
    for entry in pick:
        colour = None
        for at, style in ((0, ":"), (-1, "-")):
            hist = what(entry)[at]
            if not hist["counts"]:
                continue
            edges, counts = np.asarray(hist["edges"]), np.asarray(hist["counts"])
            density = counts / max(counts.sum(), 1) / np.maximum(np.diff(edges), 1e-300)
            label = f"{_label(entry)}, epoch {epochs[at]}"
            middles = (edges[:-1] + edges[1:]) / 2
            (line,) = ax.plot(middles, density, style, color=colour, label=label)
            colour = line.get_color()
