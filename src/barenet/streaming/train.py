"""``barenet train --data FOLDER`` (or a glob): training on a table larger than memory.

One pass learns the column preprocessing (``barenet.streaming.columns``); then the folder
trains through the same ``training.fitting.fit_model`` as a file, its rows given by
``FolderRows``: each epoch reads the files in a new random order, batch by batch, keeps
the training rows, and fills a buffer of ``--shuffle-buffer`` rows; a full buffer is
one block of ``barenet.trainer.Trainer`` (shuffled and trained on with the same
mini-batch steps, checks and engines as rows in memory), then emptied. The recipe
(``auto`` too), the time limit, early stopping on the held-out rows, the schedule and
the summary mean what they mean for a file. Memory holds the
buffer, one record batch, and the two samples of ``stream_columns``, whatever the size
of the data. Test rows are chosen by hash (``barenet.streaming.source.split_of``); the test
metrics at the end are exact, over every test row, in one more pass.

With ``--checkpoint``, a checkpoint is written after a buffer is trained on (at most
every ``--checkpoint-seconds``), at the end of each epoch, and on Ctrl-C; it records
the epoch, the file and the batch to continue from, and the losses of the epoch's
buffers trained so far, so ``--resume`` continues there (after the one pass that learns
the preprocessing again, and checks it is the same) and the epoch's loss is over all
its buffers: one resumed after its last buffer is ended (its loss recorded, the
schedule stepped), then the next begins.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from barenet.errors import BarenetValueError, DataError
from barenet.streaming.blocks import BlockEncoder, ShuffleBuffer
from barenet.streaming.columns import class_indices, encode_batch, fit_stream
from barenet.streaming.options import given_options, stream_config
from barenet.streaming.report import (
    StreamProgress,
    plot_diagnostics_of,
    plot_losses_of,
    stream_summary,
)
from barenet.streaming.source import TableStream, check_split_key, row_hash, split_of
from barenet.trainer import RowsInMemory

SHUFFLE_BUFFER = 262_144  # rows: 2 MB per float64 feature; see README


def add_stream_arguments(parser) -> None:
    """The options of ``barenet train`` for a folder or glob given to ``--data``."""
    group = parser.add_argument_group("data larger than memory (--data FOLDER or GLOB)")
    group.add_argument(
        "--shuffle-buffer",
        type=int,
        default=SHUFFLE_BUFFER,
        metavar="ROWS",
        help=f"rows shuffled together within an epoch (default: {SHUFFLE_BUFFER})",
    )
    group.add_argument(
        "--split-key",
        metavar="COLUMN",
        help="hash this column's values to choose test rows (default: file and row number)",
    )
    group.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="with --checkpoint, write one within an epoch at most this often (default: 30)",
    )


class StreamRun:
    """The state of one streamed training run (see the module's description)."""

    def __init__(self, args, config, stream, fit, prep, features) -> None:
        self.args, self.config, self.stream, self.fit = args, config, stream, fit
        self.prep, self.features = prep, features
        self.model = self.encoder = self.diagnostics = None
        self.key = getattr(args, "split_key", None)
        self.validation = config.validation_fraction()
        held_out = fit.held_out  # None when no row is held out (a tiny folder)
        x_watch, y_watch = self.encode(held_out) if held_out is not None else ((), None)
        self.watch = (x_watch, y_watch) if len(x_watch) else (None, None)
        self.columns = list(
            dict.fromkeys(features + [args.target] + ([self.key] if self.key else []))
        )
        self.last_checkpoint = time.perf_counter()

    def attach(self, model) -> None:
        """Train ``model``: rows are encoded in its dtype."""
        self.model = model
        self.encoder = BlockEncoder(self.prep, model.dtype)

    def encode(self, table):
        """``(x, y)`` of raw rows: scaled features, and targets as the loss takes them."""
        x = self.prep.scaler_x.transform(self.prep.clip(encode_batch(table, self.prep.columns)))
        labels = table.column(self.args.target)
        if self.prep.classes is not None:
            y = class_indices(labels, self.prep.classes)
            known = y >= 0
            return x[known], y[known]
        y = labels.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, 1)
        return x, self.prep.scaler_y.transform(y)

    def rows_of(self, file_index, first_row, batch, which: int) -> np.ndarray:
        """The numbers of ``batch``'s rows in split ``which`` (0 training, 2 test)."""
        u = row_hash(self.stream, file_index, first_row, batch, self.key)
        return np.flatnonzero(split_of(u, self.args.test_size, self.validation) == which)

    def order(self, epoch: int) -> np.ndarray:
        """The files' order in ``epoch`` (from 0): the same on resume."""
        rng = np.random.default_rng([self.config.seed, epoch])
        return rng.permutation(len(self.stream.files))

    def validation_text(self) -> str:
        """What the validation loss is measured on (``FitResult.validation``)."""
        if not self.validation:
            return "watched rows"
        text = f"{self.validation:g} of the training rows, held out by hash"
        held = 0 if self.watch[0] is None else len(self.watch[0])
        if held < self.fit.rows["validation"]:
            text += f"; the loss on a sample of {held:,}"
        return text

    def checkpoint(self, trainer, position, force=False, losses=()) -> None:
        """Write the checkpoint (if asked for) to continue at ``position``: ``(epoch,
        file, batch)``, with ``losses``, the ``(mean loss, rows)`` of that epoch's blocks
        trained before it; ``trainer``'s early-stopping state with it."""
        path = self.args.checkpoint
        if not path:
            return
        if not force and time.perf_counter() - self.last_checkpoint < self.args.checkpoint_seconds:
            return
        from barenet.tables.preprocessing import Preprocessing
        from barenet.training.config import save_checkpoint

        where = dict(zip(("epoch", "file", "batch"), map(int, position), strict=True))
        if losses:
            where["losses"] = [[float(loss), int(rows)] for loss, rows in losses]
        prep = Preprocessing.from_json(self.prep.to_json())
        prep.extra = {**prep.extra, "stream_position": where}
        save_checkpoint(
            self.model, path, self.config, schedule=trainer.schedule, trainer=trainer,
            preprocessing=prep,
        )  # fmt: skip
        self.last_checkpoint = time.perf_counter()

    def epoch_done(self, model, epoch: int, logs: dict) -> None:
        """An epoch callback: the checkpoint to continue with the next epoch."""
        self.checkpoint(logs["trainer"], (epoch, 0, 0), force=True)


class FolderRows:
    """The training rows of a folder, epoch by epoch, through a shuffle buffer: a
    ``barenet.trainer.BatchSource``. Each block is the buffer once it holds
    ``--shuffle-buffer`` rows or more, after a whole record batch (so a checkpoint's
    position is a batch boundary); after each block the checkpoint (if asked for) is
    written, at most every ``--checkpoint-seconds``, or at once when stopping. Ctrl-C
    while the buffer fills (no update under way) ends the epoch's blocks at once: the
    trainer stops as after a block (the summary reported, the model saved, exit 130),
    and the checkpoint continues after the last block trained on.

    Parameters
    ----------
    run : StreamRun
    position : dict
        ``{"epoch", "file", "batch"}``: where the first epoch starts (a resumed one).
    progress : StreamProgress
    """

    fixed = False

    def __init__(self, run: StreamRun, position: dict, progress) -> None:
        self.run, self.start, self.progress = run, position, progress
        self.n_rows = run.fit.rows["train"]
        self.validation = run.validation_text()
        self.buffer = self.after = self.trainer = None

    def first_rows(self):
        x, y = self.run.encode(self.run.fit.sample.slice(0, 2))
        return (x, y) if len(x) else None

    def losses_before(self, model) -> list:
        """The ``(mean loss, rows)`` of the blocks of the resumed epoch trained before
        its checkpoint (none for a later epoch)."""
        if model.epoch != self.start["epoch"]:
            return []
        return [(float(loss), int(rows)) for loss, rows in self.start.get("losses", [])]

    def epoch_blocks(self, model):
        run, size, epoch = self.run, self.run.args.shuffle_buffer, model.epoch
        start = (0, 0)
        if epoch == self.start["epoch"]:
            start = (self.start["file"], self.start["batch"])
        if self.buffer is None:  # room for one more record batch than the size asks
            self.buffer = ShuffleBuffer(size + run.stream.batch_rows, run.encoder)
        buffer = self.buffer
        buffer.clear()
        for position, file_index, first_row, batch in run.stream.batches(
            run.columns, run.order(epoch), start
        ):
            if model.stop_requested:  # Ctrl-C while reading: stop as after a block
                self.stopped_filling(epoch)
                return
            self.progress.rows(buffer.add(batch, run.rows_of(file_index, first_row, batch, 0)))
            if buffer.held >= size:
                self.after = (epoch, position[0], position[1] + 1)
                yield buffer.rows()
                buffer.clear()
        if buffer.held:
            self.after = (epoch, len(run.stream.files), 0)
            yield buffer.rows()
            buffer.clear()

    def block_done(self, trainer) -> None:
        self.trainer = trainer
        stop = trainer.model.stop_requested
        self.run.checkpoint(trainer, self.after, force=stop, losses=trainer.epoch_losses)

    def stopped_filling(self, epoch: int) -> None:
        """Ctrl-C while the buffer fills: the rows read since the last block are not
        trained on; the checkpoint (if asked for) continues after that block (the one
        written at the epoch's start stays when none was trained in this epoch)."""
        self.buffer.clear()
        if self.trainer is not None and self.after is not None and self.after[0] == epoch:
            losses = self.trainer.epoch_losses
            self.run.checkpoint(self.trainer, self.after, force=True, losses=losses)


def _features(args, stream) -> list[str]:
    from barenet.cli.data_args import names_option
    from barenet.tables.columns import require_columns

    class Columns:  # require_columns reads ``.columns``
        columns = stream.names

    drop = names_option(getattr(args, "drop", None), "--drop")
    require_columns(Columns, [args.target, *drop], args.data)
    key = getattr(args, "split_key", None)
    features = names_option(args.features, "--features") or [
        c for c in stream.names if c not in (args.target, key) and c not in drop
    ]
    if args.target in features:
        raise BarenetValueError(f"the target column {args.target!r} is also listed as a feature")
    require_columns(Columns, features, args.data)
    return features


def run_stream_train(args, stdout=None, check_loss=None) -> int:
    """``barenet train`` when ``--data`` is a folder or a glob (see the module).
    ``check_loss(loss, task)`` refuses a loss that cannot fit the task (the command
    line's own check)."""
    from barenet.cli.reporting import finish_summary
    from barenet.tables.columns import describe, describe_line

    stdout = stdout or sys.stdout
    started = time.perf_counter()
    _check_stream_args(args)
    out = sys.stderr if args.json else stdout
    config, resumed = _stream_start(args)
    stream = TableStream(
        args.data, sep=args.sep, encoding=getattr(args, "encoding", None),
        decimal=getattr(args, "decimal", None), bad_rows=getattr(args, "bad_rows", "error"),
    )  # fmt: skip
    check_split_key(stream, getattr(args, "split_key", None))
    features = _features(args, stream)
    fit = fit_stream(
        stream, args.target, features, task=args.task, test_size=args.test_size,
        validation_size=config.validation_fraction(), split_key=args.split_key,
        max_categories=args.max_categories, seed=config.seed,
    )  # fmt: skip
    if getattr(args, "loss", None) is not None and check_loss is not None:
        check_loss(args.loss, fit.task)
    prep = _stream_preprocessing(args, fit, resumed)
    for notice in fit.notices:  # rows left out, as for a file
        print(f"Note: {notice}", file=out)
    if not args.json and not args.quiet:
        print(f"Data: {len(stream.files)} {stream.format} files; rows {fit.rows}", file=out)
        print(f"Task: {fit.task} ({fit.task_reason})", file=out)
        print(describe_line(describe(fit.specs, fit.dropped)), file=out)
    run = StreamRun(args, config, stream, fit, prep, features)
    result, progress = _fit_folder(args, run, config, resumed, out)
    model = result.model
    if model.interrupted and args.checkpoint:
        print(f"Interrupted: resume with --resume {args.checkpoint}", file=sys.stderr)
    summary = stream_summary(args, result, fit, run, progress)
    plot_losses_of(args, model, summary, result.config)
    plot_diagnostics_of(args, run, summary)
    finish_summary(summary, model, args, started, result.train_seconds, stdout)
    return 130 if model.interrupted else 0  # as for a file: reported, saved, and told


class SampleRows(RowsInMemory):
    """A folder's training sample in memory, as a ``BatchSource`` (``n_rows``,
    ``validation``), for recipe auto's probe: its candidates train on the sample and
    validate on the folder's held-out rows, as the fit does."""

    def __init__(self, x: np.ndarray, y: np.ndarray, validation: str) -> None:
        super().__init__(x, y)
        self.n_rows, self.validation = len(x), validation


def _fit_folder(args, run: StreamRun, config, resumed, out):
    """``(FitResult, StreamProgress)``: ``fit_model`` on the folder's rows
    (``FolderRows``), from the checkpoint's model and position when resuming; the
    configuration resolved first (as a file's: ``cli._starting_point``) for the
    training rows the one pass counted (validation rows included, as for a file), so
    that checkpoints hold it."""
    from dataclasses import replace

    from barenet.training.fitting import fit_model, fitter, resolve_config
    from barenet.training.sources import auto_off

    fit = run.fit
    x_sample, y_sample = run.encode(fit.sample)  # scaling and bins are fitted on these
    out_dim = len(fit.classes) if fit.classes is not None else 1
    # recipe auto resolves to a recipe of the same validation share (both select their
    # best epoch on 0.1 of the rows), the share the one pass split the folder by; it
    # counts the training rows before the validation hold-out, as a file's does. Its
    # probe (a small table's) trains on the training sample, which holds every training
    # row of a table this small, validating on the held-out rows as the fit does.
    probe_fit = None
    if resumed is None:
        sample = SampleRows(x_sample, y_sample, run.validation_text())
        probe_fit = fitter(x_sample, y_sample, task=fit.task, out_dim=out_dim, source=sample,
                           x_watch=run.watch[0], y_watch=run.watch[1])  # fmt: skip
    probe_started = time.perf_counter()
    n_rows = fit.rows["train"] + fit.rows["validation"]
    run.config, choice = resolve_config(config, n_rows, probe_fit)
    probe_seconds = time.perf_counter() - probe_started  # counted in the training time
    shown = choice or (None if resumed else auto_off(given_options(args), run.config))
    if shown and not args.json:
        print(f"Model: {shown}", file=out)
    resumed = resumed or {"position": {"epoch": 0, "file": 0, "batch": 0}}
    position = resumed["position"]
    epochs_left = max(0, run.config.epochs - position["epoch"])
    progress = StreamProgress(fit.rows["train"] * epochs_left, out, args.quiet)

    callbacks = [run.epoch_done, progress.epoch_callback]

    def prepare(model):
        """Before training: the preprocessing, and the diagnostics' first record (its
        fixed batch drawn from the training sample, as a file's from its rows)."""
        model.preprocessing = run.prep
        run.attach(model)
        if args.plot_diagnostics:
            from barenet.diagnostics.recorder import Diagnostics

            run.diagnostics = Diagnostics(model, x_sample, y_sample)
            callbacks.append(run.diagnostics)  # fit_model copies the callbacks after

    result = fit_model(
        run.config, x_sample, y_sample, task=fit.task, out_dim=out_dim,
        source=FolderRows(run, position, progress), x_watch=run.watch[0],
        y_watch=run.watch[1], model=resumed.get("model"), schedule=resumed.get("schedule"),
        trainer_state=resumed.get("trainer_state"), callbacks=callbacks, prepare=prepare,
        limit_name="--time-limit", verbose=not args.quiet,
    )  # fmt: skip
    return replace(
        result, choice=choice, train_seconds=result.train_seconds + probe_seconds
    ), progress


def _check_stream_args(args) -> None:
    """The options a folder needs or refuses, and its output paths, before any work."""
    from barenet.cli.outputs import check_train

    if not args.target:
        raise BarenetValueError("--data needs --target COLUMN (the column to predict)")
    if args.shuffle_buffer < 1:
        raise BarenetValueError(f"--shuffle-buffer must be >= 1, got {args.shuffle_buffer}")
    if not 0 < args.test_size < 1:
        raise BarenetValueError(f"--test-size must be between 0 and 1, got {args.test_size}")
    check_train(args, streamed=True)  # before any work: no output touches an input
    plot = None if getattr(args, "plot", "none") == "none" else args.plot
    for path in (plot, getattr(args, "plot_diagnostics", None)):
        if path:
            from barenet.diagnostics.plotting import check_plot_format

            check_plot_format(path)


def _stream_start(args):
    """``(config, resumed)``: the configuration from the flags (by the command line's
    rules, ``streaming.options.stream_config``), or with ``--resume`` the checkpoint's,
    and then ``resumed`` holds its model, schedule, early-stopping state, stream position
    and saved preprocessing (else None)."""
    from barenet.training.config import load_checkpoint, nothing_left_note

    if not args.resume:
        return stream_config(args), None
    model, config, schedule, trainer_state = load_checkpoint(args.resume)
    saved = model.preprocessing
    position = (saved.extra or {}).get("stream_position") if saved else None
    if position is None:
        raise BarenetValueError(f"{args.resume} is not a checkpoint of training on a folder")
    epochs = given_options(args).get("epochs")
    config = config.replace(epochs=epochs) if epochs is not None else config
    if note := nothing_left_note(args.resume, model, config):
        print(note, file=sys.stderr)
    resumed = {
        "model": model, "schedule": schedule, "trainer_state": trainer_state,
        "position": position, "saved": saved,
    }  # fmt: skip
    return config, resumed


def _stream_preprocessing(args, fit, resumed):
    """The preprocessing the one pass learned (the checkpoint's, when resuming on the
    same columns and classes); it remembers how the files were read, for predict."""
    from barenet.tables.preprocessing import Preprocessing

    reading = {name: getattr(args, name, None) for name in ("sep", "encoding", "decimal")}
    reading = {name: value for name, value in reading.items() if value} or None
    names = [s["name"] for s in fit.specs]
    prep = Preprocessing(
        names, args.target, fit.scaler_x, fit.scaler_y, fit.classes, {}, fit.specs,
        reading=reading, ranges=fit.ranges,
    )  # fmt: skip
    if resumed is None:
        return prep
    saved = resumed["saved"]
    if saved.columns != prep.columns or saved.classes != prep.classes:
        raise DataError(
            f"{args.data}: its columns or classes are not those {args.resume} was "
            "trained on (the data changed since)"
        )
    return Preprocessing.from_json({**saved.to_json(), "extra": {}})
