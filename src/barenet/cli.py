"""The ``barenet`` command line: train, predict, evaluate (and tune, export-onnx).

``barenet`` with no arguments (or ``python -m barenet``) trains the notebook's
network on California Housing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from barenet.activations import ACTIVATIONS
from barenet.datasets import (
    DataError,
    DataUnavailableError,
    csv_header,
    load_builtin,
    preprocess,
    read_csv,
)
from barenet.initializers import INITIALIZERS
from barenet.losses import LOSSES
from barenet.optimizers import OPTIMIZERS
from barenet.persistence import ModelFileError, Preprocessing
from barenet.recipes import TrainConfig, build_model, build_schedule, load_checkpoint
from barenet.reporting import Progress, baselines, report_metrics, summary_text
from barenet.schedules import SCHEDULES
from barenet.trainer import TrainingDiverged

COMMANDS = ("train", "predict", "evaluate", "tune", "export-onnx")
USER_ERRORS = (DataError, DataUnavailableError, ModelFileError, ValueError, TypeError, OSError)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="barenet", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    d = TrainConfig()
    train = sub.add_parser("train", help="train a network (the default command)")
    data = train.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=["california", "diabetes", "digits"],
        help="a built-in data set (default: california)",
    )
    data.add_argument("--data", metavar="PATH.csv", help="a numeric CSV file with a header row")
    data.add_argument("--target", metavar="COLUMN", help="the CSV column to predict")
    data.add_argument(
        "--features", metavar="A,B,C", help="CSV feature columns (default: all other columns)"
    )
    data.add_argument(
        "--task", choices=["regression", "classification"], help="for --data (default: regression)"
    )
    data.add_argument("--test-size", type=float, default=0.2, help="held-out test fraction")
    data.add_argument(
        "--val-fraction",
        type=float,
        default=0.0,
        help="fraction of the training rows held out for validation (default 0: "
        "validate on the test split, as the notebook does)",
    )
    data.add_argument(
        "--data-home",
        help="scikit-learn's data folder (default: $SCIKIT_LEARN_DATA or ~/scikit_learn_data)",
    )
    net = train.add_argument_group("network and training")
    net.add_argument("--hidden", type=_int_list, default=d.hidden, metavar="64,64")
    net.add_argument("--activation", choices=sorted(ACTIVATIONS), default=d.activation)
    net.add_argument(
        "--init",
        choices=sorted(INITIALIZERS),
        default=d.init,
        help="weight initialiser of the Linear layers",
    )
    net.add_argument("--loss", choices=sorted(LOSSES), default=None)
    net.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=d.optimizer)
    net.add_argument("--lr", type=float, default=d.lr)
    net.add_argument("--momentum", type=float, default=d.momentum)
    net.add_argument("--weight-decay", type=float, default=d.weight_decay)
    net.add_argument("--schedule", choices=sorted(SCHEDULES), default=None)
    net.add_argument("--dropout", type=float, default=d.dropout)
    net.add_argument("--batchnorm", action="store_true")
    net.add_argument("--early-stopping", type=int, metavar="PATIENCE", default=None)
    net.add_argument(
        "--clip-norm",
        type=float,
        default=d.clip_norm,
        help="clip the gradients' global norm (default 1.0; 0 turns it off)",
    )
    net.add_argument("--epochs", type=int, default=d.epochs)
    net.add_argument("--batch-size", type=int, default=d.batch_size)
    net.add_argument("--seed", type=int, default=d.seed)
    net.add_argument("--dtype", choices=["float32", "float64"], default=d.dtype)
    out = train.add_argument_group("output")
    out.add_argument(
        "--plot",
        default="losses.png",
        metavar="PATH.png",
        help="loss plot (default losses.png; 'none' for no plot)",
    )
    out.add_argument("--log-scale", action="store_true", help="logarithmic loss axis")
    out.add_argument("--save", metavar="PATH", help="save the trained model here")
    out.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint after every epoch")
    out.add_argument("--resume", metavar="PATH", help="continue from a checkpoint")
    out.add_argument("--quiet", action="store_true", help="print only the summary")
    out.add_argument("--json", action="store_true", help="print a JSON summary on stdout")

    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("--model", required=True)
    predict.add_argument("--data", required=True, metavar="PATH.csv")
    predict.add_argument("--out", metavar="PATH.csv", help="default: standard output")

    evaluate = sub.add_parser("evaluate", help="metrics of a saved model on a labelled CSV")
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--data", required=True, metavar="PATH.csv")
    evaluate.add_argument("--target", metavar="COLUMN", help="default: the training target")
    evaluate.add_argument("--json", action="store_true")

    from barenet import tuning

    tuning.add_parser(sub)
    export = sub.add_parser("export-onnx", help="export a saved model to ONNX")
    export.add_argument("--model", required=True)
    export.add_argument("--out", required=True, metavar="PATH.onnx")
    return parser


def config_from_args(args) -> TrainConfig:
    return TrainConfig(
        hidden=args.hidden,
        activation=args.activation,
        loss=args.loss,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        clip_norm=args.clip_norm or None,
        dropout=args.dropout,
        batchnorm=args.batchnorm,
        schedule=args.schedule,
        early_stopping=args.early_stopping,
        init=args.init,
        dtype=args.dtype,
    )


def load_data(args):
    """The preprocessed split and its Preprocessing, from --dataset or --data."""
    if args.data and args.dataset:
        raise ValueError("give either --dataset or --data, not both")
    if not 0 < args.test_size < 1:
        raise ValueError(f"--test-size must be between 0 and 1, got {args.test_size}")
    if args.data:
        if not args.target:
            raise ValueError("--data needs --target COLUMN (the column to predict)")
        features = (
            args.features.split(",")
            if args.features
            else [c for c in csv_header(args.data) if c != args.target]
        )
        if args.target in features:
            raise ValueError(f"the target column {args.target!r} is also listed as a feature")
        names, table = read_csv(args.data, columns=[*features, args.target])
        x, y = table[:, :-1], table[:, -1]
        classification = args.task == "classification"
        classes = None
        if classification:
            classes, y = np.unique(y, return_inverse=True)
            classes = [int(c) if float(c).is_integer() else float(c) for c in classes]
        split = preprocess(
            x,
            y,
            test_size=args.test_size,
            random_state=42,
            classification=classification,
            feature_names=features,
            target_name=args.target,
        )
        name = Path(args.data).name
    else:
        name = args.dataset or "california"
        split = load_builtin(name, data_home=args.data_home, test_size=args.test_size)
        classes = list(range(10)) if name == "digits" else None
    prep = Preprocessing(
        list(split.feature_names), split.target_name, split.scaler_x, split.scaler_y, classes
    )
    return name, split, prep


def run_train(args, stdout=None) -> int:
    stdout = stdout or sys.stdout
    started = time.perf_counter()
    for path in (args.save, args.checkpoint, None if args.plot == "none" else args.plot):
        if path and not Path(path).resolve().parent.is_dir():
            raise ValueError(f"cannot write {path}: its folder does not exist")
    name, split, prep = load_data(args)
    x_train, y_train, x_test, y_test = split.x_train, split.y_train, split.x_test, split.y_test
    if args.resume:
        model, config, schedule, trainer_state = load_checkpoint(args.resume)
        if model.in_dim != x_train.shape[1]:
            raise ValueError(
                f"{args.resume} was trained on {model.in_dim} features, "
                f"the data has {x_train.shape[1]}"
            )
        config.epochs = args.epochs
    else:
        config = config_from_args(args)
        out_dim = len(prep.classes) if prep.classes is not None else y_train.shape[1]
        model = build_model(config, x_train.shape[1], out_dim, prep.task)
        schedule, trainer_state = build_schedule(config, model), None
    x_val, y_val = x_test, y_test
    if args.val_fraction:
        from sklearn.model_selection import train_test_split

        if not 0 < args.val_fraction < 1:
            raise ValueError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
        x_train, x_val, y_train, y_val = train_test_split(
            x_train, y_train, test_size=args.val_fraction, random_state=config.seed
        )
    if len(x_train) < config.batch_size:
        raise ValueError(
            f"the training split has {len(x_train)} rows, fewer than one batch "
            f"(--batch-size {config.batch_size})"
        )
    model.preprocessing = prep
    quiet = args.quiet
    progress = Progress(
        config.epochs, model.epoch, quiet=quiet, stream=sys.stderr if args.json else stdout
    )
    callbacks = []
    if args.checkpoint:
        from barenet.recipes import save_checkpoint

        def checkpoint(model, epoch, logs):
            save_checkpoint(
                model,
                args.checkpoint,
                config,
                schedule=schedule,
                trainer=logs["trainer"],
                preprocessing=prep,
            )

        callbacks.append(checkpoint)  # before the progress line, so a printed epoch is saved
    callbacks.append(progress)
    diverged = None
    train_started = time.perf_counter()
    try:
        model.train(
            x_train,
            y_train,
            x_val,
            y_val,
            max(0, config.epochs - model.epoch),
            config.batch_size,
            clip_norm=config.clip_norm,
            schedule=schedule,
            early_stopping=config.early_stopping,
            callbacks=callbacks,
            trainer_state=trainer_state,
        )
    except TrainingDiverged as error:
        diverged = str(error)
    finally:
        progress.close()
    train_time = time.perf_counter() - train_started
    summary = {
        "dataset": name,
        "task": prep.task,
        "rows": {"train": len(x_train), "validation": len(x_val), "test": len(x_test)},
        "config": config.to_json(),
        "epochs_trained": model.epoch,
        "interrupted": model.interrupted,
        "diverged": diverged,
        "history": model.history,
    }
    summary["test"] = report_metrics(model, prep, split)
    summary["baselines"] = baselines(prep, split)
    if args.plot != "none" and model.history["train_loss"]:
        from barenet.plotting import plot_losses

        test = summary["test"]
        final = (
            f"test accuracy {test['accuracy']:.3f}"
            if "accuracy" in test
            else f"test RMSE {test['rmse']:.4g}, R^2 {test['r2']:.3f}"
        )
        history = model.history
        losses = f"train {history['train_loss'][-1]:.4f}" + (
            f", val {history['val_loss'][-1]:.4f}" if history["val_loss"] else ""
        )
        title = f"{name}, {model.epoch} epochs\nfinal {losses}; {final}"
        summary["plot"] = str(
            plot_losses(history, args.plot, log_scale=args.log_scale, title=title)
        )
    if args.save and diverged is None:
        summary["model"] = str(model.save(args.save))
    summary["train_seconds"] = train_time
    summary["wall_seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(summary, indent=2), file=stdout)
    else:
        print(summary_text(summary), file=stdout)
    return 1 if diverged else 0


def run_predict(args, stdout=None) -> int:
    stdout = stdout or sys.stdout
    from barenet.persistence import load

    model = load(args.model)
    prep = _require_preprocessing(model, args.model)
    _, x = read_csv(args.data, columns=prep.feature_names)
    predictions = prep.predict(model, x)
    column = f"predicted_{prep.target_name}"
    lines = [
        column
        if predictions.ndim == 1
        else ",".join(f"{column}_{i}" for i in range(predictions.shape[1]))
    ]
    for row in predictions.reshape(len(predictions), -1):
        lines.append(",".join(repr(float(v)) if prep.classes is None else str(v) for v in row))
    text = "\n".join(lines) + "\n"
    if args.out:
        from barenet._files import atomic_path

        with atomic_path(args.out) as tmp:
            tmp.write_text(text)
    else:
        stdout.write(text)
    return 0


def run_evaluate(args, stdout=None) -> int:
    stdout = stdout or sys.stdout
    from barenet.metrics import classification_metrics, regression_metrics
    from barenet.persistence import load

    model = load(args.model)
    prep = _require_preprocessing(model, args.model)
    target = args.target or prep.target_name
    _, table = read_csv(args.data, columns=[*prep.feature_names, target])
    predictions = prep.predict(model, table[:, :-1])
    if prep.classes is not None:
        metrics = classification_metrics(table[:, -1], predictions)
    else:
        metrics = regression_metrics(table[:, -1], predictions)
    if args.json:
        print(json.dumps(metrics, indent=2), file=stdout)
    else:
        for key, value in metrics.items():
            print(f"{key}: {value if isinstance(value, list) else f'{value:.4f}'}", file=stdout)
    return 0


def _require_preprocessing(model, path) -> Preprocessing:
    if model.preprocessing is None:
        raise ModelFileError(
            f"{path}: the model has no preprocessing or feature names; "
            "save it with its preprocessing to use it from the command line"
        )
    return model.preprocessing


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "train")
    parser = build_parser()
    args = parser.parse_args(argv)
    from barenet.onnx_export import run_export
    from barenet.tuning import run_tune

    runners = {
        "train": run_train,
        "predict": run_predict,
        "evaluate": run_evaluate,
        "tune": run_tune,
        "export-onnx": run_export,
    }
    try:
        return runners[args.command](args, sys.stdout)
    except KeyboardInterrupt:
        print(f"barenet {args.command}: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"barenet {args.command}: error: {message}", file=sys.stderr)
        return 2
