"""The ``barenet`` command line: train, predict, evaluate (and tune, export-onnx).

``barenet`` with no arguments (or ``python -m barenet``) trains the notebook's
network on California Housing.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import traceback

import numpy as np

from barenet._version import __version__
from barenet.cli import evaluation, outputs, strict_json
from barenet.cli.data_args import (
    add_data_arguments,
    add_reader_arguments,
    check_feature_numbers,
    check_route_options,
    load_data,
    names_option,
    predict_rows,
    read_data,
    with_model_reading,
)
from barenet.cli.help_text import command_text, misspelled_command
from barenet.cli.reporting import (
    Progress,
    baselines,
    confusion_table,
    finish_summary,
    history_for_json,
    number,
    plural,
    report_metrics,
)
from barenet.diagnostics.plotting import check_plot_format, plot_diagnostics, plot_losses
from barenet.diagnostics.recorder import Diagnostics
from barenet.engines import interrupts
from barenet.engines.names import ALIASES as ENGINE_ALIASES
from barenet.errors import (
    BarenetError,
    BarenetValueError,
    DataError,
    ModelFileError,
    TrainingDiverged,
)
from barenet.io.onnx.export import run_export
from barenet.io.persistence import load
from barenet.sklearn import tuning
from barenet.streaming.predict import add_predict_arguments, run_stream_predict
from barenet.streaming.source import is_dataset_path
from barenet.streaming.train import SHUFFLE_BUFFER, add_stream_arguments, run_stream_train
from barenet.tables.column_fit import TEXT_KINDS
from barenet.tables.preprocessing import Preprocessing
from barenet.training import hyperparams
from barenet.training.config import TrainConfig, load_checkpoint, save_checkpoint
from barenet.training.fitting import fit_model, fitter, resolve_config
from barenet.training.sources import auto_off, config_from_flags

COMMANDS = ("train", "predict", "evaluate", "tune", "export-onnx")


def _cli_type(parse):
    """An argparse type from a hyper-parameter's parser, its errors shown as usage errors."""

    def convert(text):
        try:
            return parse(text)
        except (BarenetError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


NOT_GIVEN = argparse.SUPPRESS  # a flag left out sets no attribute: its recipe or default applies


def add_hyperparameter_flags(group) -> None:
    """One flag per ``hyperparams.PARAMS`` entry: ``--batch-size`` for ``batch_size``.

    A flag that is not given sets nothing, so ``--recipe`` can fill it in."""
    for param in hyperparams.PARAMS:
        flag = "--" + param.name.replace("_", "-")
        default = param.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        shown = "none" if default is None else shown
        help_text = param.help if "(default" in param.help else f"{param.help} (default: {shown})"
        if param.parse is None:
            group.add_argument(flag, action="store_true", default=NOT_GIVEN, help=help_text)
        elif param.choices:
            group.add_argument(flag, choices=param.choices, default=NOT_GIVEN, help=help_text)
        else:
            group.add_argument(
                flag,
                type=_cli_type(param.parse),
                default=NOT_GIVEN,
                help=help_text,
                metavar="64,64" if param.name == "hidden" else param.parse.__name__.upper(),
            )


def given_hyperparameters(args) -> dict:
    """The hyper-parameters given on the command line (no others)."""
    return {p.name: getattr(args, p.name) for p in hyperparams.PARAMS if hasattr(args, p.name)}


def _show_defaults(parser) -> None:
    """Every option's help says its default (off, none, or the value)."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.help:
            continue
        if "default" in action.help:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            action.help += " (default: off)"
        elif action.default is None:
            action.help += " (default: none)"
        else:
            action.help += f" (default: {action.default})"


MODEL_HELP = "a model file written by barenet train --save (or barenet.save)"


def build_parser() -> argparse.ArgumentParser:
    """The ``barenet`` parser: train (the default command), predict, evaluate, tune and
    export-onnx, each with its purpose, examples and help for every option."""
    parser = argparse.ArgumentParser(
        prog="barenet",
        description="barenet: a small neural-network library. barenet with no command "
        "trains (barenet --epochs 5 is barenet train --epochs 5).",
        epilog="barenet COMMAND --help describes each command's options, with examples.",
    )
    parser.add_argument(
        "--version", action="version", version=f"barenet {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(
        dest="command", title="commands", metavar="COMMAND", help="train when none is given"
    )
    train = sub.add_parser("train", **command_text("train"))
    add_data_arguments(train)
    add_hyperparameter_flags(train.add_argument_group("network and training"))
    add_stream_arguments(train)
    _add_output_arguments(train.add_argument_group("output"))
    _add_predict_parser(sub)
    _add_evaluate_parser(sub)
    _show_defaults(train)
    tuning.add_parser(sub)
    export = sub.add_parser("export-onnx", **command_text("export-onnx"))
    export.add_argument("--model", required=True, metavar="MODEL.npz", help=MODEL_HELP)
    export.add_argument(
        "--out", required=True, metavar="PATH.onnx", help="the ONNX file to write (needs onnx)"
    )
    return parser


def _add_output_arguments(out) -> None:
    """``barenet train``'s outputs: plots, the model, checkpoints, what is printed."""
    out.add_argument(
        "--plot",
        default="losses.png",
        metavar="PATH.png",
        help="loss plot (default: losses.png; 'none' for no plot)",
    )
    out.add_argument("--log-scale", action="store_true", help="logarithmic loss axis")
    out.add_argument(
        "--plot-diagnostics",
        metavar="PATH.png",
        help="what happens inside training, per layer and epoch: gradient norms, update "
        "ratios, activations, dead or saturated units, histograms (barenet.Diagnostics)",
    )
    out.add_argument("--save", metavar="PATH", help="save the trained model here")
    out.add_argument(
        "--no-refit",
        action="store_true",
        help="with --data: save the model of the held-out fit, not the one refitted on "
        "every row (training, validation and test) for the epochs the held-out fit kept",
    )
    out.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint after every epoch")
    out.add_argument("--resume", metavar="PATH", help="continue from a checkpoint")
    out.add_argument("--quiet", action="store_true", help="print only the summary")
    out.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON on stdout (every column, the history per epoch); "
        "progress and notices go to stderr",
    )


def _add_predict_parser(sub) -> None:
    predict = sub.add_parser("predict", **command_text("predict"))
    predict.add_argument("--model", required=True, metavar="MODEL.npz", help=MODEL_HELP)
    predict.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="raw rows (CSV or .parquet): the training columns in any order; others ignored",
    )
    predict.add_argument(
        "--out",
        metavar="PATH.csv",
        help="write the predictions here, as CSV (a folder of Parquet parts for a folder or "
        "glob --data), and say how many rows (default: CSV on standard output)",
    )
    predict.add_argument(
        "--keep", metavar="ID,...", help="columns copied to the output (identifiers)"
    )
    predict.add_argument(
        "--proba", action="store_true", help="a classifier's probability of each class too"
    )
    add_reader_arguments(predict)
    add_predict_arguments(predict)


def _add_evaluate_parser(sub) -> None:
    evaluate = sub.add_parser("evaluate", **command_text("evaluate"))
    evaluate.add_argument("--model", required=True, metavar="MODEL.npz", help=MODEL_HELP)
    evaluate.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="labelled rows (CSV or .parquet): the training columns and the target",
    )
    evaluate.add_argument(
        "--target",
        metavar="COLUMN",
        help="the column of true answers (default: the training target)",
    )
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_reader_arguments(evaluate)


def config_from_args(args) -> TrainConfig:
    """The configuration of the flags given (``training.sources.config_from_flags``:
    ``--data`` with no network or training flag means ``--recipe auto``)."""
    return config_from_flags(given_hyperparameters(args), data=bool(getattr(args, "data", None)))


def _ignored_on_resume(args, config: TrainConfig) -> list[str]:
    """A notice for each option given with --resume that the checkpoint overrides."""
    notices = []
    for name, given in given_hyperparameters(args).items():
        param = hyperparams.BY_NAME[name]
        if name in ("epochs", "engine"):
            continue
        kept = getattr(config, name)
        if param.validate(given) != kept:
            flag = "--" + name.replace("_", "-")
            notices.append(
                f"note: {flag} {given} is ignored: --resume continues with the checkpoint's "
                f"{name} ({kept}); only --epochs and --engine change on resume"
            )
    return notices


def run_train(args, stdout=None) -> int:
    """``barenet train``: a folder or glob streams (``run_stream_train``); a file or a
    built-in data set is read, fitted (``fit_model``), reported and saved."""
    streamed = bool(args.data) and is_dataset_path(args.data)
    outputs.check_train(args, streamed)  # before any work: no output touches an input
    check_route_options(args, streamed, SHUFFLE_BUFFER)  # what its --data cannot apply
    if streamed:  # a folder or glob
        return run_stream_train(args, stdout, check_loss)
    stdout = stdout or sys.stdout
    started = time.perf_counter()
    plots = [p for p in (None if args.plot == "none" else args.plot, args.plot_diagnostics) if p]
    for path in plots:
        check_plot_format(path)
    if not args.resume:
        config_from_args(args)  # bad hyper-parameters fail before any data is read
    name, split = load_data(args)
    prep = split.preprocessing
    if getattr(args, "loss", None) is not None:
        check_loss(args.loss, prep.task)
    _print_report(args, split.report, stdout)
    start = _starting_point(args, split, stdout)
    choice = start["choice"] or _auto_off(args, start["config"])
    if choice and not args.json:
        print(f"Model: {choice}", file=stdout)
    out_dim = _out_dim(split)
    stream = sys.stderr if args.json else stdout
    fit, watched = _fit(args, split, start, out_dim, stream)
    summary = _train_summary(name, split, start, fit)
    _draw_plots(args, summary, fit, name, watched)
    saved = fit.model
    if args.data and args.save:  # refitted on every row, unless the summary says why not
        saved, summary["saved_model"] = _refit_for_saving(args, fit, split, out_dim, stream)
    # the training time counts recipe auto's probe (its candidates' fits) too
    finish_summary(
        summary, saved, args, started, fit.train_seconds + start["probe_seconds"], stdout
    )
    return 130 if fit.model.interrupted else 0  # saved what it promised; a script can tell


def _print_report(args, report, stdout) -> None:
    """What reading the table found: its notices, the task and the columns' kinds."""
    if report is None:
        return
    from barenet.tables.columns import describe_line

    for notice in report.get("notices", []):
        print(f"Note: {notice}", file=sys.stderr if args.json else stdout)
    if not args.json:
        print(f"Task: {report['task']} ({report['task_reason']})", file=stdout)
        print(describe_line(report["columns"]), file=stdout)


def _auto_off(args, config) -> str | None:
    """``training.sources.auto_off`` for a file (not when resuming a checkpoint)."""
    if not args.data or args.resume:
        return None
    return auto_off(given_hyperparameters(args), config)


def _out_dim(split) -> int:
    """The network's outputs: the classes, or the target columns."""
    prep = split.preprocessing
    return len(prep.classes) if prep.classes is not None else split.y_train.shape[1]


def _probe_fit(args, split, config, stdout):
    """Recipe auto's probe's ``fit(config)`` on the training rows (``resolve_config``'s
    ``probe_fit``), saying first, when the probe will run, that it does."""
    from barenet.training import probe

    n_rows = len(split.x_train)
    resolved, why = resolve_config(config, n_rows)
    if why and probe.why_not(resolved, n_rows) is None and not (args.quiet or args.json):
        print(
            "Probing: the small recipe with and without piecewise embeddings "
            "(recipe auto; two short fits)...",
            file=stdout,
        )
    task, out_dim = split.preprocessing.task, _out_dim(split)
    return fitter(split.x_train, split.y_train, task=task, out_dim=out_dim)


def _starting_point(args, split, stdout) -> dict:
    """The configuration (resolved for the training rows: recipe auto's choice), and with
    ``--resume`` the checkpoint's model, schedule and early-stopping state."""
    model = schedule = trainer_state = None
    if args.resume:
        model, config, schedule, trainer_state = load_checkpoint(args.resume)
        _check_resume(args, model, split, split.preprocessing)
        for message in _ignored_on_resume(args, config):
            print(message, file=sys.stderr)
        # only what is given changes: the checkpoint's epochs (a recipe's, say) otherwise
        changes = {
            name: getattr(args, name) for name in ("epochs", "engine") if hasattr(args, name)
        }
        config = config.replace(**changes)
        from barenet.training.config import nothing_left_note

        if note := nothing_left_note(args.resume, model, config):
            print(note, file=sys.stderr)
    else:
        config = config_from_args(args)
    # recipe auto's probe (a checkpoint's configuration is resolved already)
    probe_fit = None if model is not None else _probe_fit(args, split, config, stdout)
    probe_started = time.perf_counter()  # the probe trains while resolving
    config, choice = resolve_config(config, len(split.x_train), probe_fit)
    return {
        "config": config,
        "choice": choice,
        "probe_seconds": time.perf_counter() - probe_started,
        "model": model,
        "schedule": schedule,
        "trainer_state": trainer_state,
    }


def _fit(args, split, start, out_dim: int, stream):
    """``fit_model`` with the command line's progress lines, checkpoints and diagnostics;
    returns the ``FitResult`` and the diagnostics watched (a list of 0 or 1)."""
    config, prep = start["config"], split.preprocessing
    progress, callbacks, watched = [], [], []

    def show_progress(config, model, budget):
        val_name = "val" if config.validation_fraction() else "test"
        shown = Progress(
            config.epochs, model.epoch, quiet=args.quiet, stream=stream, val_name=val_name,
            budget=budget,
        )  # fmt: skip
        progress.append(shown)
        return progress[0]

    def prepare(model):
        """Before training: the preprocessing, and the diagnostics' first record."""
        model.preprocessing = prep
        if args.plot_diagnostics:
            watched.append(Diagnostics(model, split.x_train, split.y_train))
            callbacks.append(watched[0])  # fit_model copies the callbacks after prepare

    if args.checkpoint:

        def checkpoint(model, epoch, logs):
            trainer = logs["trainer"]
            save_checkpoint(
                model, args.checkpoint, config, schedule=trainer.schedule, trainer=trainer,
                preprocessing=prep,
            )  # fmt: skip

        callbacks.append(checkpoint)  # before the progress line, so a printed epoch is saved
    try:
        fit = fit_model(
            config, split.x_train, split.y_train, task=prep.task, out_dim=out_dim,
            x_watch=split.x_test, y_watch=split.y_test, model=start["model"],
            schedule=start["schedule"], trainer_state=start["trainer_state"],
            callbacks=callbacks, progress=show_progress, verbose=not args.quiet,
            prepare=prepare, limit_name="--time-limit",
        )  # fmt: skip
    except TrainingDiverged as error:
        message = diverged_message(str(error), config)
        raise TrainingDiverged(message, error.epoch, error.batch) from None
    finally:
        for shown in progress:
            shown.close()
    return fit, watched


def _train_summary(name: str, split, start: dict, fit) -> dict:
    """The run's summary (printed, and written whole under ``--json``)."""
    model, report, prep = fit.model, split.report, split.preprocessing
    rows = {"train": len(fit.x_train), "validation": len(fit.x_val), "test": len(split.x_test)}
    summary = {
        "dataset": name,
        "task": prep.task,
        "rows": rows,
        "validation": "test split" if fit.validation == "watched rows" else fit.validation,
        "config": start["config"].to_json(),
        "recipe_choice": start["choice"],
        "time_limit_cut": fit.time_cut,
        "epochs_trained": model.epoch,
        "kept_epoch": fit.kept_epoch,
        "interrupted": model.interrupted,
        "diverged": None,
        "history": history_for_json(model.history),
        "test": report_metrics(model, split),
        "baselines": baselines(split),
    }
    if report is not None:
        summary["task_reason"] = report["task_reason"]
        summary["columns"] = report["columns"]
    return summary


def _draw_plots(args, summary: dict, fit, name: str, watched: list) -> None:
    """The loss curves (``--plot``) and the diagnostics figure (``--plot-diagnostics``)."""
    model, history = fit.model, fit.model.history
    if args.plot != "none" and history["train_loss"]:
        test = summary["test"]
        final = (
            f"test accuracy {test['accuracy']:.3f}"
            if "accuracy" in test
            else f"test RMSE {test['rmse']:.4g}, R^2 {test['r2']:.3f}"
        )
        title = f"{name}, {model.epoch} epochs (standardised losses)\nfinal: {final}"
        watched_only = summary["validation"] == "test split"
        summary["plot"] = str(
            plot_losses(
                history, args.plot, log_scale=args.log_scale, title=title,
                val_label="test (watched only)" if watched_only else "validation",
            )
        )  # fmt: skip
    if watched:
        title = f"Inside training: {name}"
        summary["diagnostics_plot"] = str(
            plot_diagnostics(watched[0], args.plot_diagnostics, title=title)
        )


def _refit_for_saving(args, fit, split, out_dim, stream):
    """``training.refit.saved_model`` for ``barenet train --data``: the model refitted on
    every row unless ``--no-refit`` (a line says so while it trains)."""
    from barenet.training.refit import epochs_text, saved_model

    kept = "--no-refit"  # a run that checkpoints, or continues one, is kept as trained
    if args.resume or args.checkpoint:
        kept = f"{'--resume' if args.resume else '--checkpoint'}: a checkpointed run is kept"
    refit = not args.no_refit and not (args.resume or args.checkpoint)
    if refit and not args.quiet and not fit.model.interrupted:
        rows = len(split.x_train) + len(split.x_test)
        print(f"Refitting on all {rows} rows for {epochs_text(fit.kept_epoch)}...", file=stream)
    task = split.preprocessing.task
    return saved_model(fit, split, refit=refit, task=task, out_dim=out_dim, kept=kept)


def _check_resume(args, model, split, prep) -> None:
    """A clear error when a checkpoint does not fit the data it is to continue on."""
    if "stream_position" in (getattr(model.preprocessing, "extra", None) or {}):
        raise BarenetValueError(
            f"{args.resume} is a checkpoint of training on a folder, not on a file (its "
            "test rows are chosen by hash): resume it with --data and that folder"
        )
    if model.in_dim != split.x_train.shape[1]:
        raise BarenetValueError(
            f"{args.resume} was trained on {model.in_dim} features, "
            f"the data has {split.x_train.shape[1]}"
        )
    task = (model.record or {}).get("task", prep.task)
    out_dim = _out_dim(split)
    if task != prep.task or model.out_dim != out_dim:
        raise BarenetValueError(
            f"{args.resume} is a {task} checkpoint with {model.out_dim} outputs; "
            f"the data is for {prep.task} with {out_dim}"
        )


def diverged_message(trainer_message: str, config: TrainConfig) -> str:
    """The trainer's divergence message in the command line's words: where it happened,
    what was kept, and the flags to change with their current values."""
    where = trainer_message.split(" Try ")[0]
    clip = (
        f"a smaller --clip-norm (now {config.clip_norm:g})"
        if config.clip_norm is not None
        else "--clip-norm 1 (now off)"
    )
    return f"{where} Use a smaller --lr (now {config.lr:g}) or {clip}; no summary, no model saved."


REGRESSION_LOSSES = ("mse", "mae", "l1", "huber")
CLASSIFICATION_LOSSES = ("cross_entropy", "bce", "bce_with_logits")


def check_loss(loss: str, task: str) -> None:
    """A ``BarenetValueError`` for a loss that cannot fit the task, before training."""
    if task == "classification" and loss in REGRESSION_LOSSES:
        raise BarenetValueError(
            f"--loss {loss} is a regression loss; the task is classification "
            "(use cross_entropy, or --task regression for a numeric target)"
        )
    if task == "classification" and loss in ("bce", "bce_with_logits"):
        raise BarenetValueError(
            f"--loss {loss} scores one 0/1 output per row; barenet's classifiers have one "
            "output per class, scored by cross_entropy, which for two classes is the same "
            "logistic loss: leave --loss out (or give --loss cross_entropy)"
        )
    if task == "regression" and loss in CLASSIFICATION_LOSSES:
        raise BarenetValueError(
            f"--loss {loss} needs classes; the target is continuous and the task regression "
            "(use mse, mae or huber, or --task classification)"
        )


def _number_text(value) -> str:
    """A number in full: the shortest text that reads back as the same float
    (``1109370.4765625``, ``0.1``), never rounded to a few digits."""
    return str(value) if isinstance(value, np.floating) else repr(float(value))


def _cell(value, passed: bool = False) -> str:
    """A value as written by ``predict``: numbers in full (``_number_text``), and
    columns passed through (``--keep``) as read."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)) and not passed:
        return _number_text(value)
    return str(value)


def _read_rows(args, prep, where, text=(), also=()):
    """The raw rows of ``--data``, with the columns the model needs (a clear error
    naming the file and the first missing column otherwise), ``text`` (``--keep``: read
    as written) and ``also`` (the target); the others are never read into numbers."""
    from barenet.tables.columns import require_columns

    reading = with_model_reading(args, prep)  # the training file's --sep, --decimal, ...
    text = [n for n in text if n not in prep.feature_names]
    wanted = [*prep.feature_names, *text, *also]
    # a category or free-text column is read as written: "1" and "007" stay the text
    # training saw, not 1.0 and 7.0, however the new rows look
    as_text = [spec["name"] for spec in prep.columns or () if spec["kind"] in TEXT_KINDS]
    frame = read_data(reading, args.data, text=[*text, *as_text], columns=wanted)
    require_columns(frame, prep.feature_names, where)
    check_feature_numbers(frame, prep, where)
    return frame


def run_predict(args, stdout=None) -> int:
    import io

    stdout = stdout or sys.stdout
    outputs.check_predict(args, is_dataset_path(args.data))  # before any work
    model = load(args.model)
    prep = _require_preprocessing(model, args.model)
    if args.proba and prep.classes is None:
        raise BarenetValueError("--proba is for classifiers; this model is a regressor")
    keep = names_option(args.keep, "--keep")
    if is_dataset_path(args.data):  # a folder or glob: streamed to Parquet parts
        return run_stream_predict(args, model, keep, stdout)
    frame = _read_rows(args, prep, args.data, text=keep)
    from barenet.tables.columns import require_columns

    require_columns(frame, keep, args.data)
    tally = {}
    predictions = predict_rows(prep, model, frame, args.data, tally)
    _print_tally(tally)
    column = f"predicted_{prep.target_name}"
    header = list(keep) + (
        [column]
        if predictions.ndim == 1
        else [f"{column}_{i}" for i in range(predictions.shape[1])]
    )
    kept = [[_cell(v, passed=True) for v in frame[name].tolist()] for name in keep]
    answers = [[_cell(v) for v in c] for c in predictions.reshape(len(predictions), -1).T]
    columns = kept + answers
    if args.proba:
        header += [f"proba_{label}" for label in prep.classes]
        columns += [[_cell(v) for v in c] for c in prep.probabilities(model, frame).T]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*columns, strict=True))
    text = buffer.getvalue()
    if args.out:
        from barenet.io.atomic import atomic_path

        with atomic_path(args.out) as tmp:
            tmp.write_text(text)
        print(f"wrote {plural(len(predictions), 'row')} to {args.out}", file=stdout)
    else:
        stdout.write(text)
    return 0


def run_evaluate(args, stdout=None) -> int:
    stdout = stdout or sys.stdout
    from barenet.training.metrics import (
        classification_metrics,
        metric_notes,
        regression_metrics,
    )

    evaluation.check_one_file(args)  # a folder: refused, with the ways to score one
    outputs.check_reads(args)
    model = load(args.model)
    prep = _require_preprocessing(model, args.model)
    from barenet.tables.columns import (
        blank_targets,
        blank_targets_notice,
        require_columns,
        target_values,
    )

    target = args.target or prep.target_name
    frame = _read_rows(args, prep, args.data, also=[target])
    require_columns(frame, [target], args.data)
    if notice := evaluation.target_notice(target, prep.target_name):
        print(f"Note: {notice}", file=sys.stderr)
    blank = blank_targets(frame[target])
    if blank.all():
        raise DataError(f"{args.data}: the target {target!r} is blank in every row")
    if blank.any():  # nothing to compare their predictions with
        print(f"Note: {blank_targets_notice(int(blank.sum()), target)}", file=sys.stderr)
        frame = frame[~blank]
    truth = target_values(frame[target], target)
    tally = {}
    predictions = predict_rows(prep, model, frame, args.data, tally)
    _print_tally(tally)
    if prep.classes is not None:
        labels = prep.labels(truth)
        evaluation.check_labels(labels, prep.classes, target, prep.target_name, args.data)
        metrics = classification_metrics(labels, predictions, prep.classes)
    else:
        from barenet.tables.columns import as_numbers

        metrics = regression_metrics(as_numbers(frame[target], target), predictions)
        for note in metric_notes(metrics, len(frame)):
            print(f"Note: {note}", file=sys.stderr)
    if args.json:
        print(strict_json.dumps(metrics, indent=2), file=stdout)
        return 0
    for key, value in metrics.items():
        if key == "confusion_matrix":
            print(confusion_table(value, metrics["labels"]), file=stdout)
        elif not isinstance(value, list):
            print(f"{key}: {number(value)}", file=stdout)
    return 0


def _print_tally(tally: dict) -> None:
    """The one-line notice of blank cells imputed, unseen categories and values
    clipped to the training range, on stderr."""
    from barenet.tables.preprocessing import predict_notice

    notice = predict_notice(tally)
    if notice:
        print(f"Note: {notice}", file=sys.stderr)


def _require_preprocessing(model, path) -> Preprocessing:
    if model.preprocessing is None:
        raise ModelFileError(
            f"{path}: the model has no preprocessing or feature names; "
            "save it with its preprocessing to use it from the command line"
        )
    return model.preprocessing


RUNNERS = {
    "train": run_train,
    "predict": run_predict,
    "evaluate": run_evaluate,
    "tune": tuning.run_tune,
    "export-onnx": run_export,
}


def main(argv=None) -> int:
    """The ``barenet`` command. Errors barenet raises on purpose (``BarenetError``) and
    OS errors are one line on stderr (exit 2); anything else is a bug, shown in full."""
    argv = list(sys.argv[1:] if argv is None else argv)
    misspelled = misspelled_command(argv, COMMANDS)
    if misspelled:
        print(misspelled, file=sys.stderr)
        return 2
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv.insert(0, "train")
    args = build_parser().parse_args(argv)
    if args.command is None:  # only --version or --help reach here without a command
        args.command = "train"
    if getattr(args, "engine", None) in ENGINE_ALIASES:  # "numpy": deprecated, what it ran
        new = ENGINE_ALIASES[args.engine]
        print(
            f"barenet: --engine {args.engine} is deprecated: pass --engine {new}", file=sys.stderr
        )
        args.engine = new
    interrupts.enable()  # a second Ctrl-C stops at once, even in a compiled kernel
    try:
        return RUNNERS[args.command](args, sys.stdout)
    except KeyboardInterrupt:
        print(f"barenet {args.command}: interrupted", file=sys.stderr)
        return 130
    except (BarenetError, OSError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"barenet {args.command}: error: {message}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print(
            f"barenet {__version__}: this is a bug in barenet, not in your input; "
            "please report it with the lines above.",
            file=sys.stderr,
        )
        return 3
