"""The one fit path: a ``TrainConfig`` and data turned into a trained model.

``barenet train`` (``cli.run_train``) and the scikit-learn estimators both call
``fit_model``, so a recipe (``auto`` included), the small-table epoch rule, the
held-out validation rows, the schedule, early stopping and the time budget mean
the same everywhere. ``MLP.train`` stays the notebook's lower-level API.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from barenet.errors import BarenetValueError
from barenet.model import MLP
from barenet.trainer import BatchSource, Trainer, TrainOptions
from barenet.training import probe
from barenet.training.config import TrainConfig, build_model, build_schedule, hold_out_validation


class TimeBudget:
    """An epoch callback that stops training within ``seconds``.

    After each epoch it predicts the next epoch's time as the mean so far; it stops
    when the budget is spent or when the next epoch would cross it. ``cut`` then says
    what the limit cut ("stopped by the time limit (75 s) after 61 of 150 epochs").

    With a cosine ``schedule``, its length follows the epochs predicted to fit in the
    budget (never more than configured), so a run the limit cuts still anneals.
    ``clock`` (seconds, ``time.perf_counter`` by default) can be replaced in tests.
    """

    def __init__(
        self,
        seconds: float,
        epochs: int,
        start_epoch: int = 0,
        name="the time limit",
        schedule=None,
        clock=None,
    ):
        self.seconds = float(seconds)
        self.epochs = epochs
        self.start_epoch = start_epoch
        self.name = name
        self.schedule = schedule if hasattr(schedule, "t_max") else None
        self.planned_t_max = None if self.schedule is None else self.schedule.t_max
        self.clock = clock or time.perf_counter
        self.started = self.clock()
        self.cut = None

    def elapsed(self) -> float:
        return self.clock() - self.started

    def __call__(self, model, epoch: int, logs: dict) -> bool:
        done = epoch - self.start_epoch
        elapsed = self.elapsed()
        per_epoch = elapsed / max(1, done)
        if epoch < self.epochs and elapsed + per_epoch > self.seconds:
            self.cut = (
                f"stopped by {self.name} ({self.seconds:g} s) after {epoch} of "
                f"{self.epochs} epochs"
            )
            return True
        if self.schedule is not None:
            fits = self.start_epoch + int(self.seconds / per_epoch)
            self.schedule.t_max = max(epoch + 1, min(self.planned_t_max, fits))
        return False


@dataclass
class FitResult:
    """What ``fit_model`` returns.

    Attributes
    ----------
    model : MLP
        Trained; with early stopping, holding its best validation epoch's weights.
    config : TrainConfig
        The configuration trained with: recipe ``auto`` resolved, ``epochs`` decided.
    validation : str
        Where the validation loss came from: "none", "watched rows" (given, only
        watched) or the share of the training rows held out.
    x_train, y_train, x_val, y_val : arrays
        The rows trained on and validated on (``x_val`` None without validation).
    choice : str or None
        Why recipe ``auto`` chose what it chose.
    time_cut : str or None
        What the time limit cut, if it stopped training.
    kept_epoch : int
        The epoch whose weights the model ends with.
    train_seconds : float
    schedule : Schedule or None
    """

    model: MLP
    config: TrainConfig
    validation: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    choice: str | None = None
    time_cut: str | None = None
    kept_epoch: int = 0
    train_seconds: float = 0.0
    schedule: object = None
    extra: dict = field(default_factory=dict)


def resolve_config(
    config: TrainConfig, n_rows: int, probe_fit: Callable | None = None
) -> tuple[TrainConfig, str | None]:
    """``(config, why)``: recipe ``auto`` resolved for ``n_rows`` training rows and
    ``epochs`` decided by the small-table rule (``TrainConfig.with_epochs_for``).

    With ``probe_fit`` (``probe_fit(config)`` trains a configuration on the training
    rows and returns its ``FitResult``), recipe auto's small recipe is chosen with or
    without piecewise embeddings by ``barenet.training.probe``; without, it is the
    small recipe as it is."""
    config, why = config.resolve_auto(n_rows)
    config = config.with_epochs_for(n_rows)
    if why is not None and probe_fit is not None:
        config, why = probe.choose(config, why, n_rows, probe_fit)
    return config, why


def fitter(x, y, *, task: str, out_dim: int, **options) -> Callable:
    """``fit(config)``: ``fit_model`` of a configuration on these rows, with these
    ``FitOptions`` (for recipe auto's probe: ``resolve_config``'s ``probe_fit``)."""
    return lambda config: fit_model(config, x, y, task=task, out_dim=out_dim, **options)


def split_validation(config: TrainConfig, x, y, *, task: str, x_watch=None, y_watch=None):
    """``(x_train, y_train, x_val, y_val, where)``: rows held out from the training rows
    when something selects on the validation loss (or ``val_fraction`` asks); else the
    watched rows if given (only watched, as the notebook watches its test split)."""
    held_out = hold_out_validation(x, y, config, classification=task == "classification")
    if held_out is not None:
        return (*held_out, f"{config.validation_fraction():g} of the training rows")
    if x_watch is not None:
        return x, y, x_watch, y_watch, "watched rows"
    return x, y, None, None, "none"


@dataclass
class FitOptions:
    """``fit_model``'s keywords beyond the configuration and the data.

    Attributes
    ----------
    x_watch, y_watch : arrays, optional
        Rows whose loss is watched per epoch when nothing selects on validation; with a
        ``source``, the validation rows the source's own split held out.
    model, schedule, trainer_state : optional
        Continue this model (a checkpoint, ``partial_fit``) instead of building one.
    epochs : int, optional
        Train this many more epochs instead of up to ``config.epochs``.
    shrink_batch : bool
        A batch larger than the training rows becomes all of them (the estimators);
        otherwise it is an error naming ``--batch-size``.
    callbacks : list
        Epoch callbacks (``MLP.train``), run before ``progress``.
    progress : callable ``(config, model, budget) -> callback``, optional
        Builds the progress display once the configuration is resolved.
    verbose : bool
        As ``MLP.train``'s.
    prepare : callable ``(model) -> None``, optional
        Called on the model before training (to attach preprocessing, say).
    limit_name : str
        How the time limit is named in ``FitResult.time_cut`` ("--time-limit").
    clock : callable, optional
        The time limit's clock in seconds (``time.perf_counter``; a test's fake clock).
    source : BatchSource, optional
        Where the training rows come from, epoch by epoch (``barenet.trainer``), when
        they are not ``x`` and ``y`` (a folder: ``barenet.streaming.train.FolderRows``).
        ``x`` and ``y`` are then a sample of them (to fit the scaling and bins on), and
        ``source.n_rows`` (the number of training rows) and ``source.validation`` (what
        the validation rows are) are read.
    """

    x_watch: np.ndarray | None = None
    y_watch: np.ndarray | None = None
    model: MLP | None = None
    schedule: object = None
    trainer_state: dict | None = None
    epochs: int | None = None
    shrink_batch: bool = False
    callbacks: Sequence = ()
    progress: Callable | None = None
    verbose: bool = False
    prepare: Callable | None = None
    limit_name: str = "time_limit"
    clock: Callable | None = None
    source: BatchSource | None = None


def fit_model(
    config: TrainConfig,
    x,
    y,
    *,
    task: str,
    out_dim: int,
    options: FitOptions | None = None,
    **keywords,
) -> FitResult:
    """Train a model as ``config`` says, on ``x`` (n_rows, n_features) and ``y``
    (class indices (n_rows,) or values (n_rows, out_dim)).

    Parameters
    ----------
    config : TrainConfig
        Resolved here (``resolve_config``) for the number of training rows.
    task : "regression" or "classification"
    out_dim : int
        Outputs of the network (the number of classes for classification).
    options : FitOptions, optional
        The rest; keywords (``x_watch=``, ``callbacks=``, ...) replace its fields.

    Raises
    ------
    TrainingDiverged
        As ``MLP.train``; the model keeps finite weights.
    """
    options = replace(options or FitOptions(), **keywords)
    source = options.source
    config, why = _resolve(config, x, y, task, out_dim, options)
    x_train, y_train, x_val, y_val, where = _split(config, x, y, task, options)
    model, schedule = options.model, options.schedule
    if model is None:
        model = build_model(config, x_train.shape[1], out_dim, task, x_train, y_train)
        schedule = build_schedule(config, model)
    n_train = len(x_train) if source is None else source.n_rows
    batch_size = _batch_size(config, n_train, options.shrink_batch)
    if options.prepare is not None:
        options.prepare(model)
    todo = max(0, config.epochs - model.epoch) if options.epochs is None else options.epochs
    callbacks, budget = _epoch_callbacks(config, model, todo, schedule, options)
    trainer = Trainer(model, TrainOptions(
        epochs=todo, batch_size=batch_size, clip_norm=config.clip_norm, schedule=schedule,
        early_stopping=config.early_stopping, callbacks=callbacks,
        trainer_state=options.trainer_state, engine=config.engine, verbose=options.verbose,
    ))  # fmt: skip
    started = time.perf_counter()
    with blas_threads():
        if source is None:
            trainer.fit(x_train, y_train, x_val, y_val)
        else:
            trainer.fit_source(source, x_val, y_val)
    return FitResult(
        model=model, config=config, validation=where, x_train=x_train, y_train=y_train,
        x_val=x_val, y_val=y_val, choice=why, time_cut=None if budget is None else budget.cut,
        kept_epoch=kept_epoch(model, config), train_seconds=time.perf_counter() - started,
        schedule=schedule,
    )  # fmt: skip


def _resolve(config: TrainConfig, x, y, task: str, out_dim: int, options: FitOptions):
    """``resolve_config`` for ``fit_model``: recipe auto's probe trains on ``x`` and
    ``y`` (a fresh model's; not on a source's sample)."""
    if options.source is not None:
        return resolve_config(config, options.source.n_rows)
    probe_fit = None
    if options.model is None:
        probe_fit = fitter(x, y, task=task, out_dim=out_dim, shrink_batch=options.shrink_batch)
    return resolve_config(config, len(x), probe_fit)


def _split(config: TrainConfig, x, y, task: str, options: FitOptions):
    """``split_validation``; with a source, its sample rows and the validation rows its
    own split held out (``options.x_watch``, ``y_watch``)."""
    if options.source is None:
        return split_validation(
            config, x, y, task=task, x_watch=options.x_watch, y_watch=options.y_watch
        )
    return x, y, options.x_watch, options.y_watch, options.source.validation


def _batch_size(config: TrainConfig, n_train: int, shrink: bool) -> int:
    """``config.batch_size``, or with ``shrink`` all of fewer training rows (else an error)."""
    if n_train >= config.batch_size:
        return config.batch_size
    if not shrink:
        size = config.batch_size
        if "batch_size" in config._given:
            where = f"--batch-size {size}"
        else:  # the user never gave it: say where it came from
            where = f"batch size {size}, " + (
                f"the {config.recipe} recipe's" if config.recipe else "the default"
            )
        raise BarenetValueError(
            f"the training split has {n_train} rows, fewer than one batch ({where}): give "
            f"--batch-size {n_train} or smaller, or train on more rows"
        )
    return n_train


def _epoch_callbacks(config: TrainConfig, model: MLP, todo: int, schedule, options: FitOptions):
    """``(callbacks, budget)``: the given callbacks, the time limit's ``TimeBudget``
    (None without one) and the progress display, in that order."""
    callbacks, budget = list(options.callbacks), None
    if config.time_limit is not None:
        budget = TimeBudget(
            config.time_limit, model.epoch + todo, model.epoch, name=options.limit_name,
            schedule=schedule, clock=options.clock,
        )  # fmt: skip
        callbacks.append(budget)
    if options.progress is not None:
        callbacks.append(options.progress(config, model, budget))
    return callbacks, budget


def blas_threads():
    """A context in which NumPy's BLAS runs on ``BARENET_BLAS_THREADS`` threads while
    training; by default (``auto``) on ``default_blas_threads()``, a number decided by
    the core count alone, so that a seed gives the same model on an idle and a busy
    machine (a BLAS may group its sums by thread, so the thread count can change the
    rounding; the machine's load never does).

    ``BARENET_BLAS_THREADS=N`` sets N threads; ``0`` leaves them as they are.
    The compiled engine's products already run on one thread.
    """
    import contextlib
    import os

    text = os.environ.get("BARENET_BLAS_THREADS", "auto").strip().lower()
    if text == "auto":
        text = str(default_blas_threads())
    if not text.isdigit():
        raise BarenetValueError(
            f"BARENET_BLAS_THREADS must be a whole number (0: leave as is) or auto, got {text!r}"
        )
    if int(text) == 0:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=int(text), user_api="blas")
    except Exception:  # threadpoolctl missing or failing: leave the threads alone
        return contextlib.nullcontext()


def default_blas_threads(cores: int | None = None) -> int:
    """The BLAS threads a fit uses by default: half the cores, at least 1 and at most 4,
    from ``os.cpu_count()`` only (never from the load, which would make the model depend
    on what else runs).

    Why half: on the fused and methods engines, OpenBLAS's extra threads spin waiting for a core
    whenever anything else runs. On a 2-core machine with one other busy process, an
    epoch of the tabular recipe took 5.5 s with two threads against 0.9 s with one;
    idle, two threads trained the recipe in 24 s against 33 s with one. One thread per
    two cores keeps the busy case fast and costs the idle case less than the spin costs
    the busy one; past 4 threads the recipe's small products gain nothing.
    """
    import os

    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, min(4, cores // 2))


def kept_epoch(model: MLP, config: TrainConfig) -> int:
    """The epoch whose weights the model ends with (the best one, with early stopping)."""
    if config.early_stopping is None or not model.history["val_loss"]:
        return model.epoch
    val = np.asarray(model.history["val_loss"], dtype=np.float64)
    return int(np.nanargmin(val)) + 1 if not np.all(np.isnan(val)) else model.epoch
