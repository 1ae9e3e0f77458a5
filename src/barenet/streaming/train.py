"""``barenet train --data FOLDER`` (or a glob): training on a table larger than memory.

One pass learns the column preprocessing (``barenet.streaming.columns``); then each epoch
reads the files in a new random order, batch by batch, keeps the training rows, and
fills a buffer of ``--shuffle-buffer`` rows; a full buffer is shuffled and trained on
(the same mini-batch steps and engines as ``MLP.train``), then emptied. Memory holds the
buffer, one record batch, and the two samples of ``stream_columns``, whatever the size
of the data. Test rows are chosen by hash (``barenet.streaming.source.split_of``); the test
metrics at the end are exact, over every test row, in one more pass.

With ``--checkpoint``, a checkpoint is written after a buffer is trained on (at most
every ``--checkpoint-seconds``), at the end of each epoch, and on Ctrl-C; it records
the epoch, the file and the batch to continue from, so ``--resume`` continues there
(after the one pass that learns the preprocessing again, and checks it is the same).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from barenet.errors import BarenetValueError, DataError
from barenet.streaming.blocks import BlockEncoder, ShuffleBuffer
from barenet.streaming.columns import Moments, class_indices, encode_batch, fit_stream
from barenet.streaming.options import given_options, plot_losses_of, stream_config, train_epochs
from barenet.streaming.source import TableStream, check_split_key, row_hash, split_of
from barenet.trainer import Trainer

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


class _ChunkTrainer(Trainer):
    """``Trainer`` for one shuffled buffer: the same batches, checks and engines, but no
    epoch of its own (the stream's loop keeps the epochs, history and schedule)."""

    def _epoch(self, step, x, y, x_val, y_val) -> bool:
        self.model.train(True)
        if step is not self.model:
            step.begin_epoch()
        loss = self._run_batches(step, x, y)
        if loss is None:
            self.model.interrupted = True
            return False
        self.loss_sum = loss * len(x)
        if not math.isfinite(loss):
            self._diverged(self.model.epoch + 1, 0, f"the loss became {loss}")
        return True


class StreamRun:
    """The state of one streamed training run (see the module's description)."""

    def __init__(self, args, config, stream, fit, prep, model, schedule, features) -> None:
        self.args, self.config, self.stream, self.fit = args, config, stream, fit
        self.prep, self.model, self.schedule, self.features = prep, model, schedule, features
        self.key = getattr(args, "split_key", None)
        self.validation = config.validation_fraction()
        held_out = fit.held_out  # None when no row is held out (a tiny folder)
        x_watch, y_watch = self.encode(held_out) if held_out is not None else ((), None)
        self.watch = (x_watch, y_watch) if len(x_watch) else (None, None)
        self.columns = list(
            dict.fromkeys(features + [args.target] + ([self.key] if self.key else []))
        )
        self.last_checkpoint = time.perf_counter()
        self.encoder = self.buffer = None
        if model is not None:
            self.attach(model, schedule)

    def attach(self, model, schedule) -> None:
        """Train ``model`` (with ``schedule``, or None): rows are encoded in its dtype."""
        self.model, self.schedule = model, schedule
        self.encoder = BlockEncoder(self.prep, model.dtype)
        self.buffer = None

    def encode(self, table):
        """``(x, y)`` of raw rows: scaled features, and targets as the loss takes them."""
        x = self.prep.scaler_x.transform(encode_batch(table, self.prep.columns))
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

    def train_buffer(self, x, y) -> float:
        """One step of ``_ChunkTrainer`` over the buffer's rows ``(x, y)``; their summed
        loss."""
        config = self.config
        trainer = _ChunkTrainer(
            self.model,
            epochs=1,
            batch_size=min(config.batch_size, len(x)),
            clip_norm=config.clip_norm,
            engine=config.engine,
        )
        trainer.loss_sum = 0.0
        trainer.fit(x, y)
        return trainer.loss_sum

    def epoch(self, epoch: int, start, progress) -> bool:
        """Train epoch ``epoch`` from ``start`` (file position, batch); False if stopped.

        The buffer is trained on when it holds ``--shuffle-buffer`` rows or more, after
        a whole record batch (so a checkpoint's position is a batch boundary)."""
        model, size = self.model, self.args.shuffle_buffer
        if self.buffer is None:  # room for one more record batch than the size asks
            self.buffer = ShuffleBuffer(size + self.stream.batch_rows, self.encoder)
        buffer = self.buffer
        buffer.clear()
        loss_sum, rows = 0.0, 0
        for position, file_index, first_row, batch in self.stream.batches(
            self.columns, self.order(epoch), start
        ):
            progress.rows(buffer.add(batch, self.rows_of(file_index, first_row, batch, 0)))
            if buffer.held >= size:
                loss_sum, rows = loss_sum + self.train_buffer(*buffer.rows()), rows + buffer.held
                buffer.clear()
                after = (position[0], position[1] + 1)
                if model.stop_requested:
                    self.checkpoint(epoch, after, force=True)
                    return False
                self.checkpoint(epoch, after)
        if buffer.held:
            loss_sum, rows = loss_sum + self.train_buffer(*buffer.rows()), rows + buffer.held
            buffer.clear()
            if model.stop_requested:
                self.checkpoint(epoch, (len(self.stream.files), 0), force=True)
                return False
        train_loss = loss_sum / max(rows, 1)
        val_loss = None
        if self.watch[0] is not None:
            val_loss = model.evaluate(*self.watch, engine=self.config.engine)
        model.epoch += 1
        model.history["train_loss"].append(train_loss)
        model.history["val_loss"].append(math.nan if val_loss is None else val_loss)
        if self.schedule is not None:
            self.schedule.step(val_loss)
        progress.epoch_done(model.epoch, train_loss, val_loss)
        self.checkpoint(epoch + 1, (0, 0), force=True)
        return True

    def checkpoint(self, epoch: int, position, force=False) -> None:
        """Write the checkpoint (if asked for) to continue at ``epoch``, ``position``."""
        path = self.args.checkpoint
        if not path:
            return
        if not force and time.perf_counter() - self.last_checkpoint < self.args.checkpoint_seconds:
            return
        from barenet.tables.preprocessing import Preprocessing
        from barenet.training.config import save_checkpoint

        where = {"epoch": epoch, "file": int(position[0]), "batch": int(position[1])}
        prep = Preprocessing.from_json(self.prep.to_json())
        prep.extra = {**prep.extra, "stream_position": where}
        save_checkpoint(self.model, path, self.config, schedule=self.schedule, preprocessing=prep)
        self.last_checkpoint = time.perf_counter()

    def test_metrics(self) -> dict:
        """Metrics over every test row, in the target's units: one more pass."""
        prep, model = self.prep, self.model
        if prep.classes is not None:
            size = len(prep.classes)
            confusion = np.zeros((size, size), dtype=np.int64)
            unknown = 0
        else:
            truth_moments, sse, sae, n = Moments(), 0.0, 0.0, 0
        for _, file_index, first_row, batch in self.stream.batches(self.columns):
            rows = self.rows_of(file_index, first_row, batch, 2)
            if len(rows) == 0:
                continue
            x = np.empty((len(rows), self.encoder.width), dtype=model.dtype)
            self.encoder.features_into(batch, rows, x)
            output = model.predict(x, engine=self.config.engine)
            labels = batch.column(self.args.target)
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

    @property
    def rate(self) -> float:
        return self.done / max(time.perf_counter() - self.started, 1e-9)


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
    from barenet.training.config import build_model, build_schedule

    stdout = stdout or sys.stdout
    started = time.perf_counter()
    _check_stream_args(args)
    out = sys.stderr if args.json else stdout
    config, resumed = _stream_start(args, out)
    stream = TableStream(args.data, sep=args.sep, encoding=getattr(args, "encoding", None))
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
    if not args.json and not args.quiet:
        print(f"Data: {len(stream.files)} {stream.format} files; rows {fit.rows}", file=out)
        print(f"Task: {fit.task} ({fit.task_reason})", file=out)
        print(describe_line(describe(fit.specs, fit.dropped)), file=out)
    config = config.with_epochs_for(fit.rows["train"])
    out_dim = len(fit.classes) if fit.classes is not None else 1
    run = StreamRun(args, config, stream, fit, prep, None, None, features)
    if resumed is None:
        x_sample = y_sample = None
        if config.fits_on_training_rows():
            x_sample, y_sample = run.encode(fit.sample)
        model = build_model(config, _width(prep), out_dim, fit.task, x_sample, y_sample)
        resumed = {"model": model, "schedule": build_schedule(config, model)}
        resumed["position"] = {"epoch": 0, "file": 0, "batch": 0}
    model, schedule, position = resumed["model"], resumed["schedule"], resumed["position"]
    run.attach(model, schedule)
    model.preprocessing = prep
    total = fit.rows["train"] * max(0, config.epochs - position["epoch"])
    progress = StreamProgress(total, out, args.quiet)
    train_started = time.perf_counter()
    stopped, budget = train_epochs(run, config, position, progress, schedule)
    train_time = time.perf_counter() - train_started
    if stopped:
        where = f"; resume with --resume {args.checkpoint}" if args.checkpoint else ""
        print(f"Interrupted in epoch {model.epoch + 1}{where}", file=sys.stderr)
        return 130
    summary = _stream_summary(args, config, fit, run, budget, progress)
    plot_losses_of(args, model, summary, run.config)
    finish_summary(summary, model, args, started, train_time, stdout)
    return 0


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
    if plot:
        from barenet.diagnostics.plotting import check_plot_format

        check_plot_format(plot)


def _stream_start(args, out):
    """``(config, resumed)``: the configuration from the flags (its notes printed), or
    with ``--resume`` the checkpoint's, and then ``resumed`` holds its model, schedule,
    stream position and saved preprocessing (else None)."""
    from barenet.training.config import load_checkpoint

    if not args.resume:
        config = stream_config(args, notices := [])
        for notice in notices:
            print(f"Note: {notice}", file=out)
        return config, None
    model, config, schedule, _ = load_checkpoint(args.resume)
    saved = model.preprocessing
    position = (saved.extra or {}).get("stream_position") if saved else None
    if position is None:
        raise BarenetValueError(f"{args.resume} is not a checkpoint of training on a folder")
    epochs = given_options(args).get("epochs")
    config = config.replace(epochs=epochs) if epochs is not None else config
    resumed = {"model": model, "schedule": schedule, "position": position, "saved": saved}
    return config, resumed


def _stream_preprocessing(args, fit, resumed):
    """The preprocessing the one pass learned (the checkpoint's, when resuming on the
    same columns and classes); it remembers how the files were read, for predict."""
    from barenet.tables.preprocessing import Preprocessing

    reading = {"sep": args.sep, "encoding": getattr(args, "encoding", None)}
    reading = {name: value for name, value in reading.items() if value} or None
    names = [s["name"] for s in fit.specs]
    prep = Preprocessing(
        names, args.target, fit.scaler_x, fit.scaler_y, fit.classes, {}, fit.specs,
        reading=reading,
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


def _stream_summary(args, config, fit, run, budget, progress) -> dict:
    """The summary of training on a folder (as ``barenet train``'s on a file)."""
    from pathlib import Path

    from barenet.cli.reporting import history_for_json
    from barenet.tables.columns import describe

    model = run.model
    return {
        "dataset": Path(args.data).name or str(args.data),
        "task": fit.task,
        "rows": fit.rows,
        "validation": "held-out sample" if config.validation_fraction() else "test split",
        "config": config.to_json(),
        "recipe_choice": None,
        "time_limit_cut": None if budget is None else budget.cut,
        "epochs_trained": model.epoch,
        "kept_epoch": model.epoch,
        "interrupted": False,
        "diverged": None,
        "rows_per_second": progress.rate,
        "history": history_for_json(model.history),
        "test": run.test_metrics(),
        "baselines": {},
        "columns": describe(fit.specs, fit.dropped),
        "saved_model": folder_saved_model(fit.rows),
    }


def _width(prep) -> int:
    from barenet.tables.columns import encoded_names

    return len(encoded_names(prep.columns))


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
