"""What ``barenet train --data FOLDER`` reports: progress lines with rows per second,
the test metrics over every test row (one more pass), the summary (the keys of a
file's), and the plots, as for a table in memory."""

from __future__ import annotations

import math
import time

import numpy as np

from barenet.streaming.columns import Moments, class_indices


class StreamProgress:
    """Lines with rows per second and the estimated time left (every ``every`` s)."""

    def __init__(self, total_rows: int, stream, quiet: bool, every: float = 5.0) -> None:
        self.total, self.stream, self.quiet, self.every = total_rows, stream, quiet, every
        self.done = 0
        self.started = self.shown = time.perf_counter()

    def rows(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if not self.quiet and now - self.shown >= self.every:
            self.shown = now
            print(self.line(now), file=self.stream, flush=True)

    def line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        left = max(self.total - self.done, 0) / max(rate, 1e-9)
        return (
            f"  {self.done:,}/{self.total:,} rows  {rate:,.0f} rows/s  "
            f"ETA {time.strftime('%H:%M:%S', time.gmtime(left))}"
        )

    def epoch_done(self, epoch: int, train_loss: float, val_loss) -> None:
        if self.quiet:
            return
        watched = "" if val_loss is None else f"  held-out sample {val_loss:.4f}"
        print(
            f"epoch {epoch}  train {train_loss:.4f}{watched}  {self.line(time.perf_counter())}",
            file=self.stream,
            flush=True,
        )

    def epoch_callback(self, model, epoch: int, logs: dict) -> None:
        """``epoch_done`` as an epoch callback of ``MLP.train``."""
        self.epoch_done(epoch, logs["train_loss"], logs["val_loss"])

    @property
    def rate(self) -> float:
        return self.done / max(time.perf_counter() - self.started, 1e-9)


def metrics_on_test_rows(run) -> dict:
    """Metrics over every test row of ``run`` (a ``StreamRun``), in the target's units:
    one more pass over the folder."""
    prep, model = run.prep, run.model
    if prep.classes is not None:
        size = len(prep.classes)
        confusion = np.zeros((size, size), dtype=np.int64)
        unknown = 0
    else:
        truth_moments, sse, sae, n = Moments(), 0.0, 0.0, 0
    for _, file_index, first_row, batch in run.stream.batches(run.columns):
        rows = run.rows_of(file_index, first_row, batch, 2)
        if len(rows) == 0:
            continue
        x = np.empty((len(rows), run.encoder.width), dtype=model.dtype)
        run.encoder.features_into(batch, rows, x)
        output = model.predict(x, engine=run.config.engine)
        labels = batch.column(run.args.target)
        if prep.classes is not None:
            truth = class_indices(labels, prep.classes)[rows]
            unknown += int((truth < 0).sum())
            known = truth >= 0
            np.add.at(confusion, (truth[known], np.argmax(output[known], axis=1)), 1)
        else:
            answers = prep.answers(output).reshape(-1)
            truth = labels.to_numpy(zero_copy_only=False)[rows]
            error = answers - truth.astype(np.float64)
            sse, sae, n = (
                sse + float(error @ error),
                sae + float(np.abs(error).sum()),
                n + len(x),
            )
            truth_moments.add(truth.astype(np.float64))
    if prep.classes is not None:
        total = int(confusion.sum()) + unknown
        return {
            "accuracy": float(np.trace(confusion) / max(total, 1)),
            "labels": list(prep.classes),
            "confusion_matrix": confusion.tolist(),
        }
    if n == 0:
        return {"mse": math.nan, "rmse": math.nan, "mae": math.nan, "r2": math.nan}
    mse = sse / n
    r2 = 1 - sse / truth_moments.m2 if truth_moments.m2 > 0 else math.nan
    return {"mse": mse, "rmse": math.sqrt(mse), "mae": sae / n, "r2": r2}


def _dataset_name(data: str, files: int) -> str:
    """What the report calls the data: a folder's name; a glob as given, quoted, and
    how many files it matched (not ``*.csv``, the last part of the pattern)."""
    from pathlib import Path

    from barenet.streaming.folder import GLOB_CHARS

    if any(c in data for c in GLOB_CHARS):
        return f"{files} file{'s' if files != 1 else ''} matching '{data}'"
    return Path(data).name or data


def stream_summary(args, result, fit, run, progress) -> dict:
    """The summary of training on a folder (as ``barenet train``'s on a file), from the
    ``FitResult``."""

    from barenet.cli.reporting import history_for_json
    from barenet.tables.columns import describe

    model = result.model
    validation = result.validation
    return {
        "dataset": _dataset_name(str(args.data), len(run.stream.files)),
        "task": fit.task,
        "rows": fit.rows,
        "validation": "test split" if validation == "watched rows" else validation,
        "config": result.config.to_json(),
        "recipe_choice": result.choice,
        "time_limit_cut": result.time_cut,
        "epochs_trained": model.epoch,
        "kept_epoch": result.kept_epoch,
        "interrupted": model.interrupted,
        "diverged": None,
        "rows_per_second": progress.rate,
        "history": history_for_json(model.history),
        "test": metrics_on_test_rows(run),
        "baselines": {},
        "columns": describe(fit.specs, fit.dropped),
        "saved_model": folder_saved_model(fit.rows),
    }


def plot_losses_of(args, model, summary: dict, config) -> None:
    """The loss plot (``--plot``, ``--log-scale``), as for a table in memory."""
    if getattr(args, "plot", "none") == "none" or not model.history["train_loss"]:
        return
    from barenet.diagnostics.plotting import plot_losses

    test = summary["test"]
    final = (
        f"test accuracy {test['accuracy']:.3f}"
        if "accuracy" in test
        else f"test RMSE {test['rmse']:.4g}, R^2 {test['r2']:.3f}"
    )
    title = f"{summary['dataset']}, {model.epoch} epochs (standardised losses)\nfinal: {final}"
    val_label = "validation" if config.validation_fraction() else "test (watched only)"
    summary["plot"] = str(
        plot_losses(
            model.history, args.plot, log_scale=args.log_scale, title=title, val_label=val_label
        )
    )


def plot_diagnostics_of(args, run, summary: dict) -> None:
    """The diagnostics figure (``--plot-diagnostics``), as for a table in memory."""
    if run.diagnostics is None:
        return
    from barenet.diagnostics.plotting import plot_diagnostics

    title = f"Inside training: {summary['dataset']}"
    summary["diagnostics_plot"] = str(
        plot_diagnostics(run.diagnostics, args.plot_diagnostics, title=title)
    )


def folder_saved_model(rows: dict) -> dict:
    """For the summary: which rows a folder's saved model learned from. A folder's model
    is not refitted on every row (that would be a second pass over the folder for every
    epoch); its test rows stay held out, and the summary says so."""
    why = "a folder's model is not refitted on every row"
    line = (
        f"Saved model: learned from the {rows['train']} training rows ({why}); "
        f"the {rows['test']} test rows were held out."
    )
    return {"refitted": False, "rows": rows["train"], "why": why, "line": line}
