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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

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


def _weighted_mean(losses: list[tuple[float, int]]) -> float:
    """The row-weighted mean of blocks' mean losses ``[(loss, rows), ...]``."""
    rows = sum(n for _, n in losses)
    return sum(loss * n for loss, n in losses) / max(rows, 1)


@dataclass
class TrainOptions:
    """How ``Trainer`` trains: ``MLP.train``'s keywords, grouped once (``MLP.train``
    builds them from its keywords, ``training.fitting.fit_model`` from a ``TrainConfig``).

    Attributes
    ----------
    epochs, batch_size : int
        Every training row is seen once per epoch, in a new random order; the last
        batch may be smaller.
    clip_norm : float, optional
        Clip the gradients' global L2 norm to this value before each step.
    schedule : Schedule, optional
        Stepped after each epoch (with the validation loss).
    early_stopping : int, optional
        Stop when the validation loss has not improved for this many epochs.
    restore_best : bool
        With early stopping, end with the weights of the best validation epoch,
        however training ends.
    callbacks : iterable of callables ``f(model, epoch, logs) -> bool | None``
        Called after each epoch with ``logs = {"train_loss", "val_loss", "lr",
        "trainer"}``; returning True stops training.
    trainer_state : dict, optional
        Early-stopping state from a checkpoint (``logs["trainer"].state_dict()``).
    fast : bool, optional
        Deprecated (a ``FutureWarning``): ``fast=False`` is ``engine="methods"``;
        ``fast=True`` was the default.
    engine : ``"auto"``, ``"methods"``, ``"fused"`` or ``"compiled"``
        What runs each step (``barenet.engines.select``): ``methods`` the model's own
        ``forward``/``loss``/``backward``/``update``; ``fused`` the same formulas in
        ``barenet.engines.FusedStep`` when every part is an unchanged built-in;
        ``compiled`` numba kernels over chunks of batches; ``auto`` the first of
        ``compiled``, ``fused``, ``methods`` that can run the model unchanged.
        ``"numpy"``: deprecated, ``fused`` else ``methods``.
    verbose : bool
        Say so (on stderr) when ``auto`` falls back for want of numba.
    """

    epochs: int = 30
    batch_size: int = 32
    clip_norm: float | None = None
    schedule: object = None
    early_stopping: int | None = None
    restore_best: bool = True
    callbacks: Sequence = ()
    trainer_state: dict | None = None
    fast: bool | None = None
    engine: str = "auto"
    verbose: bool = False


class RowsInMemory:
    """The training rows of every epoch held in memory: one block, the same arrays each
    epoch, so an engine's step is started once per fit (a ``BatchSource``).

    Parameters
    ----------
    x : ndarray, shape (n_rows, in_dim), checked
    y : ndarray, shape (n_rows,) or (n_rows, out_dim), checked
    """

    fixed = True

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y

    def first_rows(self):
        return self.x[:2], self.y[:2]

    def epoch_blocks(self, model):
        yield self.x, self.y

    def block_done(self, trainer) -> None:
        """Nothing to remember between blocks."""


class BatchSource(Protocol):
    """Where ``Trainer.fit_source`` takes the training rows of each epoch from.

    Each block of ``epoch_blocks`` is shuffled by the model's ``rng`` and trained on in
    batches (the same steps, checks and engines for every source); the trainer calls
    ``block_done`` after each block it trained on, interrupted or not, and asks for no
    more blocks once the model is asked to stop. ``RowsInMemory`` is today's arrays;
    ``barenet.streaming.train.FolderRows`` fills a shuffle buffer from a folder.

    Attributes
    ----------
    fixed : bool
        True when every epoch is the same single block (the engine's step is then
        started once per fit; else once per block).
    """

    fixed: bool

    def first_rows(self) -> tuple[np.ndarray, np.ndarray] | None:
        """A couple of checked rows ``(x, y)``, to fail before any update on layers or
        targets that do not fit the data (None: none at hand)."""

    def epoch_blocks(self, model) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The training rows of epoch ``model.epoch + 1``, block by block: ``(x, y)``,
        shapes (n, in_dim) and (n,) or (n, out_dim), in the model's dtype. It may end
        early once ``model.stop_requested`` (Ctrl-C): the epoch is then interrupted."""

    def block_done(self, trainer) -> None:
        """Called with the ``Trainer`` after each block it trained on (the last one when
        ``trainer.model.stop_requested``): a folder writes its checkpoints here, with
        ``trainer.epoch_losses``, the ``(mean loss, rows)`` of the epoch's blocks so far."""

    # Optional: ``losses_before(model)``, the ``(mean loss, rows)`` of the blocks of epoch
    # ``model.epoch + 1`` trained before a resume (a folder's checkpoint holds them), so
    # that the epoch's loss is over all its blocks, and an epoch resumed at its end is
    # ended (its loss recorded, the schedule stepped), not trained on zero rows.


class Trainer:
    """Runs ``epochs`` of mini-batch training of ``model``; see ``MLP.train``.

    Parameters
    ----------
    model : MLP
    options : TrainOptions, optional
        How to train; keywords (``epochs=``, ...) replace its fields.

    Attributes
    ----------
    best_loss, best_epoch : float, int or None
        The best validation loss seen with early stopping, and its epoch.
    """

    def __init__(self, model, options: TrainOptions | None = None, **keywords) -> None:
        options = replace(options or TrainOptions(), **keywords)
        self.model = model
        self.epochs = check_positive_int(options.epochs, "epochs", minimum=0)
        self.batch_size = check_positive_int(options.batch_size, "batch_size")
        clip_norm = options.clip_norm
        if clip_norm is not None and not (math.isfinite(clip_norm) and clip_norm > 0):
            raise BarenetValueError(f"clip_norm must be a finite number > 0, got {clip_norm}")
        self.clip_norm = clip_norm
        self.schedule = options.schedule
        early_stopping = options.early_stopping
        if early_stopping is not None:
            early_stopping = check_positive_int(early_stopping, "early_stopping")
        self.patience = early_stopping
        self.restore_best = options.restore_best
        self.callbacks = list(options.callbacks)
        self.engine = ENGINES.get().check(options.engine, options.fast)  # fast: deprecated
        self.verbose = options.verbose
        self.best_loss = math.inf
        self.best_epoch = None
        self.best_state = None
        self.bad_epochs = 0
        self.epoch_losses: list = []  # (mean loss, rows) of the epoch's blocks so far
        self.engine_used = None
        if options.trainer_state is not None:
            self.load_state_dict(options.trainer_state)

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
        return self.fit_source(RowsInMemory(x, y), x_val, y_val)

    def fit_source(self, source: BatchSource, x_val=None, y_val=None) -> dict[str, list[float]]:
        """Train on the rows ``source`` gives each epoch (a ``BatchSource``: checked rows);
        ``x_val``, ``y_val``: the validation rows, checked here. Returns ``model.history``."""
        model = self.model
        x_val, y_val = self._validation(x_val, y_val)
        first = source.first_rows()
        if first is not None:  # fail fast, before any update, on layers or targets that
            model.evaluate(*first, engine="methods")  # do not fit the data
        model.interrupted = False
        model.stopped_mid_epoch = False  # Ctrl-C inside an epoch: partly trained weights
        model.stop_requested = False
        try:
            with (
                np.errstate(over="ignore", invalid="ignore", divide="ignore"),
                _StopOnSigint(model),
            ):
                if source.fixed:  # the engine and its step, once per fit
                    self.engine_used, step, guard = ENGINES.get().start_training(
                        self, source.x, source.y
                    )
                    with guard, step or _Unpacking(model):
                        self._epochs(source, step or model, x_val, y_val)
                else:
                    self._epochs(source, None, x_val, y_val)
        finally:
            model.train(True)
            if self.restore_best and self.best_state is not None:
                model.load_state_dict(self.best_state)
        return model.history

    def _validation(self, x_val, y_val):
        """The validation rows, checked (None, None without them)."""
        model = self.model
        has_val = x_val is not None or y_val is not None
        if has_val:
            if x_val is None or y_val is None:
                raise BarenetValueError("give both x_test and y_test, or neither")
            x_val = check_features(x_val, "x_test", model.dtype, model.in_dim)
            y_val = check_targets(y_val, "y_test", model.dtype, len(x_val), model.out_dim)
        if self.patience is not None and not has_val:
            raise BarenetValueError("early_stopping needs validation data (x_test, y_test)")
        return x_val, y_val

    def _epochs(self, source, step, x_val, y_val) -> None:
        for _ in range(self.epochs):
            if not self._epoch(source, step, x_val, y_val):
                break

    def _epoch(self, source, step, x_val, y_val) -> bool:
        """Train one epoch and do the end-of-epoch work; False means stop. ``step``: the
        engine's step started for the fit (None: one is started for each block)."""
        model = self.model
        model.train(True)
        before = getattr(source, "losses_before", None)  # blocks trained before a resume
        # (mean batch loss, rows) of each block of the epoch
        losses = self.epoch_losses = list(before(model)) if before else []
        for x, y in source.epoch_blocks(model):
            loss = self._block(step, x, y)
            if loss is not None:
                losses.append((loss, len(x)))
            source.block_done(self)
            # interrupted inside the epoch: in a block, or (more blocks to come) after one
            if loss is None or (model.stop_requested and not source.fixed):
                model.interrupted = model.stopped_mid_epoch = True
                return False
        if model.stop_requested and not source.fixed:  # while a block was being read
            model.interrupted, model.stopped_mid_epoch = True, bool(losses)
            return False
        if not losses:  # no loss is made of zero batches
            raise BarenetValueError(
                f"epoch {model.epoch + 1} has no training rows: its data source gave none "
                "(a folder whose files were removed since its checkpoint?); train again"
            )
        train_loss = losses[0][0] if len(losses) == 1 else _weighted_mean(losses)
        val_loss = None
        if x_val is not None:
            if step is not None and step is not model and step.evaluates_as_the_model():
                val_loss = step.evaluate(x_val, y_val)  # the training steps, in eval mode
            else:
                val_loss = model.evaluate(x_val, y_val, engine=self.engine_used or self.engine)
        if not (math.isfinite(train_loss) and _all_finite(model)) or (
            val_loss is not None and not math.isfinite(val_loss)
        ):
            self._diverged(model.epoch + 1, 0, "the loss or weights became non-finite")
        model.epoch += 1
        model.history["train_loss"].append(train_loss)
        model.history["val_loss"].append(math.nan if val_loss is None else val_loss)
        return not self._end_of_epoch(train_loss, val_loss)

    def _block(self, step, x, y) -> float | None:
        """``_run_batches`` over one block; with no ``step`` yet, the engine's step is
        started for this block alone (a block of a folder: new rows each time)."""
        if step is not None:
            if step is not self.model:
                step.begin_epoch()
            return self._run_batches(step, x, y)
        self.engine_used, step, guard = ENGINES.get().start_training(self, x, y)
        with guard, step or _Unpacking(self.model):
            return self._block(step or self.model, x, y)

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
