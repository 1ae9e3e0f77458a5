"""The training loop behind ``MLP.train``: epochs, batches, divergence, early stopping.

Kept apart from the model so that the model module stays the notebook's API and
this one holds the loop's bookkeeping.
"""

from __future__ import annotations

import math
import signal
import threading

import numpy as np

from barenet._checks import check_positive_int
from barenet.layers import Linear
from barenet.optimizers import clip_grad_norm, grad_norm


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during training.

    The model keeps finite weights and its history up to the failure; ``epoch``
    and ``batch`` (1-based) say where it happened.
    """

    def __init__(self, message: str, epoch: int, batch: int) -> None:
        super().__init__(message)
        self.epoch, self.batch = epoch, batch


class _StopOnSigint:
    """While active, Ctrl-C asks the model to stop after its current batch instead of
    raising in the middle of an update. A second Ctrl-C raises as usual."""

    def __init__(self, model) -> None:
        self.model = model
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.model._stop_requested:
            raise KeyboardInterrupt
        self.model.request_stop()

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _all_finite(model) -> bool:
    return all(np.isfinite(p.value).all() for p in model.parameters())


class Trainer:
    """Runs ``epochs`` of mini-batch training of ``model``; see ``MLP.train``."""

    def __init__(
        self,
        model,
        *,
        epochs,
        batch_size,
        clip_norm=None,
        schedule=None,
        early_stopping=None,
        restore_best=True,
        callbacks=(),
    ) -> None:
        self.model = model
        self.epochs = check_positive_int(epochs, "epochs", minimum=0)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if clip_norm is not None and not (math.isfinite(clip_norm) and clip_norm > 0):
            raise ValueError(f"clip_norm must be a finite number > 0, got {clip_norm}")
        self.clip_norm = clip_norm
        self.schedule = schedule
        if early_stopping is not None:
            early_stopping = check_positive_int(early_stopping, "early_stopping")
        self.patience = early_stopping
        self.restore_best = restore_best
        self.callbacks = list(callbacks)
        self.best_loss = math.inf
        self.best_state = None
        self.bad_epochs = 0

    def state_dict(self) -> dict:
        """Early-stopping progress, for checkpoints."""
        return {
            "best_loss": self.best_loss,
            "bad_epochs": self.bad_epochs,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state: dict) -> None:
        self.best_loss = float(state["best_loss"])
        self.bad_epochs = int(state["bad_epochs"])
        self.best_state = state.get("best_state")

    def fit(self, x_train, y_train, x_test=None, y_test=None) -> dict[str, list[float]]:
        model = self.model
        x = model._check_x(x_train, "x_train")
        y = model._check_y(y_train, "y_train", len(x))
        has_val = x_test is not None or y_test is not None
        if has_val:
            if x_test is None or y_test is None:
                raise ValueError("give both x_test and y_test, or neither")
            x_val = model._check_x(x_test, "x_test")
            y_val = model._check_y(y_test, "y_test", len(x_val))
        if self.patience is not None and not has_val:
            raise ValueError("early_stopping needs validation data (x_test, y_test)")
        # fail fast, before any update, on layers or targets that do not fit the data
        model.loss_fun(model._predict_checked(x[:2]), y[:2])
        model.interrupted = False
        model._stop_requested = False
        history = model.history
        try:
            with (
                np.errstate(over="ignore", invalid="ignore", divide="ignore"),
                _StopOnSigint(model),
            ):
                for _ in range(self.epochs):
                    model._set_mode(True)
                    train_loss = self._run_epoch(x, y)
                    if train_loss is None:  # interrupted inside the epoch
                        model.interrupted = True
                        break
                    model.epoch += 1
                    val_loss = model._evaluate_checked(x_val, y_val) if has_val else None
                    if not (math.isfinite(train_loss) and _all_finite(model)) or (
                        val_loss is not None and not math.isfinite(val_loss)
                    ):
                        self._diverged(model.epoch, 0, "the loss or weights became non-finite")
                    history["train_loss"].append(train_loss)
                    if has_val:
                        history["val_loss"].append(val_loss)
                    if self._end_of_epoch(train_loss, val_loss):
                        break
        finally:
            model._set_mode(True)
            if self.restore_best and self.best_state is not None:
                model.load_state_dict(self.best_state)
        return history

    def _run_epoch(self, x: np.ndarray, y: np.ndarray) -> float | None:
        """One pass over the shuffled data; the sample-weighted mean batch loss."""
        model, layers, loss_fun = self.model, self.model.layers, self.model.loss_fun
        first = layers[0]
        # the first layer's input gradient is never used: Linear can skip it
        skip_first = isinstance(first, Linear)
        upper_layers = layers[:0:-1] if skip_first else layers[::-1]
        n, batch_size = len(x), self.batch_size
        self._snapshot = model.state_dict()
        order = model.rng.permutation(n)
        xs, ys = x[order], y[order]  # one gather per epoch; batches are views
        gradients = model._gradient_source()
        total = 0.0
        for batch, start in enumerate(range(0, n, batch_size), 1):
            out, target = xs[start : start + batch_size], ys[start : start + batch_size]
            for layer in layers:
                out = layer.forward(out)
            loss = loss_fun.forward(out, target)
            if not math.isfinite(loss):
                self._diverged(model.epoch + 1, batch, f"the loss became {loss}")
            grad = loss_fun.backward()
            for layer in upper_layers:
                grad = layer.backward(grad)
            if skip_first:
                first.backward(grad, need_input_grad=False)
            if self.clip_norm is not None:
                norm = clip_grad_norm(gradients, self.clip_norm)
            else:
                norm = grad_norm(gradients)
            if not math.isfinite(norm):  # checked before the update: weights still finite
                self._diverged(model.epoch + 1, batch, "a gradient became non-finite")
            model.update()
            total += loss * len(out)
            if model._stop_requested:
                return None
        return total / n

    def _diverged(self, epoch: int, batch: int, what: str):
        """Keep finite weights and raise ``TrainingDiverged`` (batch 0: end of epoch)."""
        model = self.model
        if self.restore_best and self.best_state is not None:
            kept = "the best validation epoch's weights"
        elif _all_finite(model):
            kept = "the last finite weights"
        else:
            model.load_state_dict(self._snapshot)
            kept = f"the weights from the start of epoch {epoch}"
        where = f"batch {batch}" if batch else "at the end of the epoch"
        lr = getattr(model.optimizer, "lr", model.lr)
        raise TrainingDiverged(
            f"training diverged in epoch {epoch}, {where}: {what}. Kept {kept}. "
            f"Try a smaller learning rate (now {lr:g}) or clip_norm=1.0.",
            epoch=epoch,
            batch=batch,
        )

    def _end_of_epoch(self, train_loss: float, val_loss: float | None) -> bool:
        """Early stopping, the schedule and the callbacks; True means stop."""
        model = self.model
        stop = False
        if self.patience is not None:
            if val_loss < self.best_loss:
                self.best_loss, self.bad_epochs = val_loss, 0
                self.best_state = model.state_dict() if self.restore_best else None
            else:
                self.bad_epochs += 1
                stop = self.bad_epochs >= self.patience
        if self.schedule is not None:
            self.schedule.step(val_loss)
        lr = model.optimizer.lr if model.optimizer is not None else model.lr
        logs = {"train_loss": train_loss, "val_loss": val_loss, "lr": lr, "trainer": self}
        for callback in self.callbacks:
            stop = bool(callback(model, model.epoch, logs)) or stop
        if model._stop_requested:
            model.interrupted = True
            stop = True
        return stop
