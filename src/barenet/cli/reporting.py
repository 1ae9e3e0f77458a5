"""What the command line shows: progress per epoch, test metrics, baselines, summary."""

from __future__ import annotations

import sys
import time

import numpy as np

from barenet.training.metrics import classification_metrics, quiet_warnings, regression_metrics


def time_estimate(elapsed: float, done: int, left: int, budget=None) -> str:
    """``"12s elapsed, ~30s left"``: the remaining epochs at the mean epoch time so far,
    bounded by what is left of a time budget (``fitting.TimeBudget``)."""
    remaining = elapsed / max(1, done) * left
    if budget is not None:
        remaining = min(remaining, max(0.0, budget.seconds - budget.elapsed()))
    return f"{elapsed:.0f}s elapsed, ~{remaining:.0f}s left"


class Progress:
    """An epoch callback: a tqdm bar when stdout is a terminal, else one line per epoch,
    each with the time elapsed and an estimate of the time left (bounded by ``budget``,
    a ``fitting.TimeBudget``, when there is a time limit)."""

    def __init__(
        self,
        epochs: int,
        start: int = 0,
        *,
        quiet: bool = False,
        stream=None,
        val_name="val",
        budget=None,
    ) -> None:
        self.stream = stream or sys.stdout
        self.val_name = val_name
        self.epochs = epochs
        self.start = start
        self.budget = budget
        self.started = time.perf_counter()
        self.quiet = quiet
        self.bar = None
        if not quiet and getattr(self.stream, "isatty", lambda: False)():
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=epochs, initial=start, unit="epoch", file=sys.stderr, dynamic_ncols=True
            )

    def __call__(self, model, epoch: int, logs: dict) -> None:
        losses = {"train": logs["train_loss"]}
        if logs["val_loss"] is not None:
            losses[self.val_name] = logs["val_loss"]
        elapsed = time.perf_counter() - self.started
        when = time_estimate(elapsed, epoch - self.start, self.epochs - epoch, self.budget)
        if self.bar is not None:
            self.bar.update(1)
            postfix = {k: f"{v:.4f}" for k, v in losses.items()}
            if self.budget is not None:
                postfix["left"] = when.split("~")[1]
            self.bar.set_postfix(postfix, refresh=True)
        elif not self.quiet:
            parts = "  ".join(f"{k} {v:.4f}" for k, v in losses.items())
            print(
                f"epoch {epoch:3d}/{self.epochs}  {parts}  ({when})", file=self.stream, flush=True
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def report_metrics(model, split) -> dict:
    """Test-set metrics in answers' terms (``Preprocessing.answers``): MSE, RMSE, MAE
    and R^2 in original units, or accuracy and the confusion matrix by class label."""
    prep = split.preprocessing
    answers = prep.answers(model.predict(split.x_test))
    truth = prep.targets(split.y_test)
    if prep.classes is not None:
        return classification_metrics(truth, answers, prep.classes)
    return regression_metrics(truth, answers)


def baselines(split) -> dict:
    """The same metrics for two simple models fitted on the same training split
    (scikit-learn's and SciPy's warnings, on a huge target say, are not shown)."""
    with quiet_warnings():
        return _baselines(split)


def _baselines(split) -> dict:
    prep = split.preprocessing
    truth = prep.targets(split.y_test)
    if prep.classes is not None:
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(split.y_train).reshape(-1).astype(int)
        majority = np.full(len(split.x_test), np.bincount(labels).argmax())
        logistic = LogisticRegression(max_iter=2000).fit(split.x_train, labels)
        return {
            "majority class": classification_metrics(truth, prep.targets(majority), prep.classes),
            "logistic regression": classification_metrics(
                truth, prep.targets(logistic.predict(split.x_test)), prep.classes
            ),
        }
    from sklearn.linear_model import LinearRegression

    y_train = prep.targets(split.y_train)
    ols = LinearRegression().fit(split.x_train, y_train)
    return {
        "training mean": regression_metrics(
            truth, np.broadcast_to(np.mean(y_train, axis=0), np.shape(truth))
        ),
        "least squares": regression_metrics(truth, ols.predict(split.x_test)),
    }


def plural(count: int, word: str) -> str:
    """``"1 epoch"``, ``"2 epochs"``: a count with its noun."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def number(value: float) -> str:
    """A metric as shown in the summary: 4 decimals, thousands grouped and no decimals
    from 10,000 on (``826,121,011``), scientific below 0.001 (``2.500e-05``) and from
    1e15 on (``2.8036e+29``, not 30 digits of which only 17 mean anything)."""
    size = abs(value)
    if size >= 1e15 and np.isfinite(value):
        return f"{value:.4e}"
    if size >= 1e4:
        return f"{value:,.0f}"
    if size >= 1e-3 or size == 0 or not np.isfinite(value):
        return f"{value:.4f}"
    return f"{value:.3e}"


def _metric_line(name: str, metrics: dict) -> str:
    if "accuracy" in metrics:
        return f"  {name:<20} accuracy {metrics['accuracy']:.4f}"
    return (
        f"  {name:<20} MSE {number(metrics['mse'])}  RMSE {number(metrics['rmse'])}  "
        f"MAE {number(metrics['mae'])}  R^2 {metrics['r2']:.4f}"
    )


def stop_lines(summary: dict) -> list[str]:
    """Why training stopped and whose weights the model has: Ctrl-C (at an epoch's end or
    inside one), the time limit, early stopping, or all the epochs asked for."""
    done = summary["epochs_trained"]
    rows = summary["rows"]["train"]
    kept = summary.get("kept_epoch", done)
    planned = (summary.get("config") or {}).get("epochs")
    lines = []
    if summary.get("time_limit_cut"):
        lines.append(f"Time limit: {summary['time_limit_cut']}.")
    if summary["interrupted"] and summary.get("stopped_mid_epoch") and kept == done:
        lines.append(
            f"Interrupted (Ctrl-C) during epoch {done + 1}: trained {plural(done, 'full epoch')} "
            f"and part of epoch {done + 1} on {rows} rows; kept the weights as they were when "
            "it stopped."
        )
        return lines
    if summary["interrupted"]:
        lines.append(f"Interrupted (Ctrl-C) after epoch {done}.")
    elif not summary.get("time_limit_cut") and planned and done < planned:
        patience = (summary.get("config") or {}).get("early_stopping")
        why = (
            f"the validation loss had not improved for {plural(patience, 'epoch')} "
            f"(--early-stopping {patience})"
            if patience
            else "a callback asked to stop"
        )
        lines.append(f"Stopped early, after epoch {done} of {planned}: {why}.")
    which = "the last epoch" if kept == done else "the best validation epoch"
    lines.append(
        f"Trained {plural(done, 'epoch')} on {rows} rows; kept the weights of epoch {kept} "
        f"({which})."
    )
    return lines


def summary_text(summary: dict) -> str:
    """The human-readable end-of-training report (the ``Model:`` line of ``--recipe
    auto``'s choice is printed before training, not again here)."""
    rows = summary["rows"]
    lines = []
    if summary["diverged"]:
        lines.append(f"Diverged: {summary['diverged']}")
    units = " (original units)" if summary["task"] == "regression" else ""
    lines += stop_lines(summary)
    if units:
        lines[-1] += " Losses per epoch are on the standardised target."
    if summary.get("validation") == "test split":
        lines.append("Watched the test loss per epoch; nothing was selected on it.")
    elif summary.get("validation"):
        lines.append(
            f"Validation: {rows['validation']} rows ({summary['validation']}), not the test split."
        )
    lines.append(f"Test set: {rows['test']} rows of {summary['dataset']}{units}")
    lines.append(_metric_line("barenet MLP", summary["test"]))
    for name, metrics in summary["baselines"].items():
        lines.append(_metric_line(name, metrics))
    if "confusion_matrix" in summary["test"]:
        test = summary["test"]
        lines.append(confusion_table(test["confusion_matrix"], test["labels"]))
    lines.append(
        f"Wall time: {summary['wall_seconds']:.1f} s (training {summary['train_seconds']:.1f} s)"
    )
    if "plot" in summary:
        lines.append(f"Loss plot: {summary['plot']}")
    if "diagnostics_plot" in summary:
        lines.append(f"Diagnostics plot: {summary['diagnostics_plot']}")
    if "saved_model" in summary:
        lines.append(summary["saved_model"]["line"])
    if "model" in summary:
        lines.append(f"Model saved: {summary['model']}")
    if "rows_per_second" in summary:  # streamed training
        lines.append(f"Throughput: {summary['rows_per_second']:,.0f} training rows/s")
    return "\n".join(lines)


def history_for_json(history: dict) -> dict:
    """``model.history`` with each NaN (an epoch without a validation loss) as None."""
    return {k: [None if np.isnan(v) else v for v in vs] for k, vs in history.items()}


def finish_summary(summary: dict, model, args, started: float, train_seconds: float, stdout):
    """The end of ``barenet train``, for a table in memory or a streamed one: save the
    model (``--save``), add the times (``started``: ``time.perf_counter()`` when the
    command began), and print the summary as JSON (``--json``) or as text."""
    if args.save:
        from barenet.io.persistence import save

        summary["model"] = str(save(model, args.save))
    else:  # nothing saved: no word of a saved model
        summary.pop("saved_model", None)
    summary["train_seconds"] = train_seconds
    summary.setdefault("stopped_mid_epoch", bool(getattr(model, "stopped_mid_epoch", False)))
    summary["wall_seconds"] = time.perf_counter() - started
    if args.json:
        from barenet.cli import strict_json

        print(strict_json.dumps(summary, indent=2), file=stdout)
    else:
        print(summary_text(summary), file=stdout)


def confusion_table(matrix, labels) -> str:
    """The confusion matrix as an aligned table: a row per true class, a column per
    predicted class, each headed by its label."""
    labels = [str(label) for label in labels]
    width = max(4, *(len(label) for label in labels), *(len(str(v)) for r in matrix for v in r))
    lines = ["Confusion matrix (rows: true class, columns: predicted):"]
    lines.append(" " * (width + 3) + " ".join(f"{label:>{width}}" for label in labels))
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"  {label:>{width}} " + " ".join(f"{v:>{width}d}" for v in row))
    return "\n".join(lines)
