"""The training loop behind ``MLP.train``: epochs, batches, divergence, early stopping.

Each batch goes through the model's own ``forward``, ``loss``, ``backward`` and
``update``, so a change to any of them (or to a layer's methods) changes training.
When everything is barenet's unchanged built-ins, the same four steps run on
``barenet.engines.fused.step.FusedStep``, which computes the same numbers with fewer NumPy calls.
The loop uses only the model's public attributes and methods.
"""

from __future__ import annotations

import math
import signal
import threading

import numpy as np

from barenet._checks import check_features, check_positive_int, check_targets
from barenet.errors import BarenetValueError, TrainingDiverged
from barenet.optimizers import clip_grad_norm, grad_norm
from barenet.registry import ENGINES


class _StopOnSigint:
    """While active, Ctrl-C asks the model to stop after its current batch instead of
    raising in the middle of an update. A second Ctrl-C raises as usual (inside a
    compiled kernel Python sees it only when the chunk ends; the command line then
    stops at once through ``barenet.engines.interrupts``)."""

    def __init__(self, model) -> None:
        self.model = model
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.model.stop_requested:
            raise KeyboardInterrupt
        self.model.request_stop()

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _learning_rate(model) -> float:
    """The rate the next update uses: the optimiser's, or the model's plain SGD's."""
    return model.optimizer.lr if model.optimizer is not None else model.lr


def _all_finite(model) -> bool:
    return all(np.isfinite(p.value).all() for p in model.parameters())


class Trainer:
    """Runs ``epochs`` of mini-batch training of ``model``; see ``MLP.train``.

    Attributes
    ----------
    best_loss, best_epoch : float, int or None
        The best validation loss seen with early stopping, and its epoch.
    """

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
        fast=None,
        engine="auto",
        verbose=False,
    ) -> None:
        self.model = model
        self.epochs = check_positive_int(epochs, "epochs", minimum=0)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if clip_norm is not None and not (math.isfinite(clip_norm) and clip_norm > 0):
            raise BarenetValueError(f"clip_norm must be a finite number > 0, got {clip_norm}")
        self.clip_norm = clip_norm
        self.schedule = schedule
        if early_stopping is not None:
            early_stopping = check_positive_int(early_stopping, "early_stopping")
        self.patience = early_stopping
        self.restore_best = restore_best
        self.callbacks = list(callbacks)
        self.engine = ENGINES.get().check(engine, fast)  # fast: deprecated, folded in
        self.verbose = verbose
        self.best_loss = math.inf
        self.best_epoch = None
        self.best_state = None
        self.bad_epochs = 0

    def state_dict(self) -> dict:
        """Early-stopping progress, for checkpoints."""
        return {
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state: dict) -> None:
        self.best_loss = float(state["best_loss"])
        self.best_epoch = state.get("best_epoch")
        self.bad_epochs = int(state["bad_epochs"])
        self.best_state = state.get("best_state")

    def fit(self, x_train, y_train, x_val=None, y_val=None) -> dict[str, list[float]]:
        """Check the data once, then train. Returns ``model.history``."""
        model = self.model
        x = check_features(x_train, "x_train", model.dtype, model.in_dim)
        y = check_targets(y_train, "y_train", model.dtype, len(x), model.out_dim)
        has_val = x_val is not None or y_val is not None
        if has_val:
            if x_val is None or y_val is None:
                raise BarenetValueError("give both x_test and y_test, or neither")
            x_val = check_features(x_val, "x_test", model.dtype, model.in_dim)
            y_val = check_targets(y_val, "y_test", model.dtype, len(x_val), model.out_dim)
        if self.patience is not None and not has_val:
            raise BarenetValueError("early_stopping needs validation data (x_test, y_test)")
        # fail fast, before any update, on layers or targets that do not fit the data
        model.evaluate(x[:2], y[:2], engine="methods")
        model.interrupted = False
        model.stopped_mid_epoch = False  # Ctrl-C inside an epoch: partly trained weights
        model.stop_requested = False
        # the engine and its step (None: the model's own methods), from barenet.engines
        self.engine_used, step, guard = ENGINES.get().start_training(self, x, y)
        try:
            with (
                np.errstate(over="ignore", invalid="ignore", divide="ignore"),
                _StopOnSigint(model),
                guard,
                step or _Unpacking(model),
            ):
                for _ in range(self.epochs):
                    if not self._epoch(step or model, x, y, x_val, y_val):
                        break
        finally:
            model.train(True)
            if self.restore_best and self.best_state is not None:
                model.load_state_dict(self.best_state)
        return model.history

    def _epoch(self, step, x, y, x_val, y_val) -> bool:
        """Train one epoch and do the end-of-epoch work; False means stop."""
        model = self.model
        model.train(True)
        if step is not model:
            step.begin_epoch()
        train_loss = self._run_batches(step, x, y)
        if train_loss is None:  # interrupted inside the epoch
            model.interrupted = model.stopped_mid_epoch = True
            return False
        val_loss = None
        if x_val is not None:
            if step is not model and step.evaluates_as_the_model():
                val_loss = step.evaluate(x_val, y_val)  # the training steps, in eval mode
            else:
                val_loss = model.evaluate(x_val, y_val, engine=self.engine_used)
        if not (math.isfinite(train_loss) and _all_finite(model)) or (
            val_loss is not None and not math.isfinite(val_loss)
        ):
            self._diverged(model.epoch + 1, 0, "the loss or weights became non-finite")
        model.epoch += 1
        model.history["train_loss"].append(train_loss)
        model.history["val_loss"].append(math.nan if val_loss is None else val_loss)
        return not self._end_of_epoch(train_loss, val_loss)

    def _run_batches(self, step, x: np.ndarray, y: np.ndarray) -> float | None:
        """One pass over the shuffled data; the sample-weighted mean batch loss.

        ``step`` is the model itself, or an engine's step standing in for it (one that
        ``runs_chunks`` runs whole chunks of batches at once).
        """
        model = self.model
        n, batch_size = len(x), self.batch_size
        self._snapshot = model.state_dict()
        order = model.rng.permutation(n)
        if getattr(step, "runs_chunks", False):
            return self._run_chunks(step, order)
        xs, ys = x[order], y[order]  # one gather per epoch; batches are views
        fused = step is not model
        total = 0.0
        for batch, start in enumerate(range(0, n, batch_size), 1):
            x_batch, y_batch = xs[start : start + batch_size], ys[start : start + batch_size]
            prediction = step.forward(x_batch)
            loss = step.loss(prediction, y_batch)
            if not math.isfinite(loss):
                self._diverged(model.epoch + 1, batch, f"the loss became {loss}")
            step.backward()
            if self.clip_norm is not None:
                norm = clip_grad_norm(model.parameters(), self.clip_norm)
            else:  # only finiteness matters: as few arrays as possible
                norm = grad_norm(step.flat_gradients() if fused else model.parameters())
            if not math.isfinite(norm):  # checked before the update: weights still finite
                self._diverged(model.epoch + 1, batch, "a gradient became non-finite")
            step.update()
            total += loss * len(x_batch)
            if model.stop_requested:
                return None
        return total / n

    def _run_chunks(self, step, order: np.ndarray) -> float | None:
        """``_run_batches`` on an engine that runs chunks of batches at once (the compiled
        one): the same checks (before each update) and the same shuffle."""
        model = self.model
        n_batches = -(-len(order) // self.batch_size)
        chunk = step.batches_per_chunk(self.batch_size)
        total = 0.0
        for first in range(0, n_batches, chunk):
            status, loss_sum, bad_loss = step.run_batches(
                order, first, min(n_batches, first + chunk)
            )
            if status > 0:
                self._diverged(model.epoch + 1, status, f"the loss became {bad_loss}")
            if status < 0:
                self._diverged(model.epoch + 1, -status, "a gradient became non-finite")
            total += loss_sum
            if model.stop_requested:
                return None
        return total / len(order)

    def _diverged(self, epoch: int, batch: int, what: str):
        """Keep finite weights and raise ``TrainingDiverged`` (batch 0: end of epoch)."""
        model = self.model
        if self.restore_best and self.best_state is not None:
            kept = f"the best validation epoch's weights (epoch {self.best_epoch})"
        elif _all_finite(model):
            kept = "the last finite weights"
        else:
            model.load_state_dict(self._snapshot)
            kept = f"the weights from the start of epoch {epoch}"
        where = f"batch {batch}" if batch else "at the end of the epoch"
        lr = _learning_rate(model)
        clip = (
            f"a smaller clip_norm (now {self.clip_norm:g})"
            if self.clip_norm is not None
            else "clip_norm=1.0 (now off)"
        )
        raise TrainingDiverged(
            f"training diverged in epoch {epoch}, {where}: {what}. Kept {kept}. "
            f"Try a smaller learning rate (now {lr:g}) or {clip}.",
            epoch=epoch,
            batch=batch,
        )

    def _end_of_epoch(self, train_loss: float, val_loss: float | None) -> bool:
        """Early stopping, the schedule and the callbacks; True means stop."""
        model = self.model
        stop = False
        if self.patience is not None:
            if val_loss < self.best_loss:
                self.best_loss, self.bad_epochs, self.best_epoch = val_loss, 0, model.epoch
                self.best_state = model.state_dict() if self.restore_best else None
            else:
                self.bad_epochs += 1
                stop = self.bad_epochs >= self.patience
        if self.schedule is not None:
            self.schedule.step(val_loss)
        lr = _learning_rate(model)
        logs = {"train_loss": train_loss, "val_loss": val_loss, "lr": lr, "trainer": self}
        for callback in self.callbacks:
            stop = bool(callback(model, model.epoch, logs)) or stop
        if model.stop_requested:
            model.interrupted = True
            stop = True
        return stop


class _Unpacking:
    """On the model's own path: give the layers their arrays back at the end, if a
    fused optimiser packed them."""

    def __init__(self, model) -> None:
        self.model = model

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        if self.model.optimizer is not None:
            self.model.optimizer.unpack()
        return False
