"""What the command line shows: progress per epoch, test metrics, baselines, summary."""

from __future__ import annotations

import sys

import numpy as np

from barenet.metrics import classification_metrics, regression_metrics


class Progress:
    """An epoch callback: a tqdm bar when stdout is a terminal, else one line per epoch."""

    def __init__(self, epochs: int, start: int = 0, *, quiet: bool = False, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.epochs = epochs
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
            losses["val"] = logs["val_loss"]
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in losses.items()}, refresh=True)
        elif not self.quiet:
            parts = "  ".join(f"{k} {v:.4f}" for k, v in losses.items())
            print(f"epoch {epoch:3d}/{self.epochs}  {parts}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _original_units(scaler, y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return y if scaler is None else scaler.inverse_transform(y)


def report_metrics(model, prep, split) -> dict:
    """Test-set metrics: MSE, RMSE, MAE, R^2 in original units, or accuracy and the
    confusion matrix for a classifier."""
    output = model.predict(split.x_test)
    if prep.classes is not None:
        return classification_metrics(split.y_test, np.argmax(output, axis=1), len(prep.classes))
    return regression_metrics(
        _original_units(prep.scaler_y, split.y_test), _original_units(prep.scaler_y, output)
    )


def baselines(prep, split) -> dict:
    """The same metrics for two simple models fitted on the same training split."""
    if prep.classes is not None:
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(split.y_train).reshape(-1)
        majority = np.bincount(labels.astype(int)).argmax()
        logistic = LogisticRegression(max_iter=2000).fit(split.x_train, labels)
        n = len(prep.classes)
        return {
            "majority class": classification_metrics(
                split.y_test, np.full(len(split.y_test), majority), n
            ),
            "logistic regression": classification_metrics(
                split.y_test, logistic.predict(split.x_test), n
            ),
        }
    from sklearn.linear_model import LinearRegression

    y_test = _original_units(prep.scaler_y, split.y_test)
    y_train = _original_units(prep.scaler_y, split.y_train)
    ols = LinearRegression().fit(split.x_train, y_train)
    return {
        "training mean": regression_metrics(
            y_test, np.broadcast_to(y_train.mean(axis=0), y_test.shape)
        ),
        "least squares": regression_metrics(y_test, ols.predict(split.x_test)),
    }


def _metric_line(name: str, metrics: dict) -> str:
    if "accuracy" in metrics:
        return f"  {name:<20} accuracy {metrics['accuracy']:.4f}"
    return (
        f"  {name:<20} MSE {metrics['mse']:.4f}  RMSE {metrics['rmse']:.4f}  "
        f"MAE {metrics['mae']:.4f}  R^2 {metrics['r2']:.4f}"
    )


def summary_text(summary: dict) -> str:
    """The human-readable end-of-training report."""
    rows = summary["rows"]
    lines = []
    if summary["interrupted"]:
        lines.append(
            f"Interrupted: stopped after epoch {summary['epochs_trained']}, "
            "keeping the weights trained so far."
        )
    if summary["diverged"]:
        lines.append(f"Diverged: {summary['diverged']}")
    units = " (original units)" if summary["task"] == "regression" else ""
    lines.append(
        f"Test set: {rows['test']} rows of {summary['dataset']}{units}, after "
        f"{summary['epochs_trained']} epochs on {rows['train']} rows"
    )
    lines.append(_metric_line("barenet MLP", summary["test"]))
    for name, metrics in summary["baselines"].items():
        lines.append(_metric_line(name, metrics))
    if "confusion_matrix" in summary["test"]:
        lines.append("Confusion matrix (rows: true class, columns: predicted):")
        lines.extend(
            "  " + " ".join(f"{v:4d}" for v in row) for row in summary["test"]["confusion_matrix"]
        )
    lines.append(
        f"Wall time: {summary['wall_seconds']:.1f} s (training {summary['train_seconds']:.1f} s)"
    )
    if "plot" in summary:
        lines.append(f"Loss plot: {summary['plot']}")
    if "model" in summary:
        lines.append(f"Model saved: {summary['model']}")
    return "\n".join(lines)
