"""What ``barenet COMMAND --help`` opens with: one line of purpose, then examples.

Each subcommand's parser is made with ``command_text(name)``: its ``description`` (the
purpose line, then a paragraph) and its ``epilog`` (examples), laid out as written
(``RawDescriptionHelpFormatter``). ``misspelled_command`` answers ``barenet trian``.
"""

from __future__ import annotations

import argparse

from barenet._checks import did_you_mean

#: name: the command's entry in ``barenet --help``.
SHORT = {
    "train": "train a network (the default command)",
    "predict": "predict with a saved model",
    "evaluate": "metrics of a saved model on a labelled table",
    "tune": "hyper-parameter search, optionally on Dask",
    "export-onnx": "export a saved model to ONNX",
}

#: name: (purpose line, more, examples): what ``barenet NAME --help`` opens with.
COMMANDS = {
    "train": (
        "Train a network and report it against simple baselines on a held-out test split.",
        "train is the default command: barenet --epochs 5 is barenet train --epochs 5.\n"
        "With --data FILE --target COLUMN and no network or training option, the model\n"
        "is --recipe auto (small below 1,000 training rows, else tabular), its epochs\n"
        "decided by the table, not the clock, and the saved model is refitted on every\n"
        "row; without --data it is the notebook's network on California Housing.",
        [
            "barenet                                                  # the notebook's run",
            "barenet train --data my.csv --target price --save model.npz",
            "barenet train --data my.csv --target price --hidden 128,64 --epochs 50",
            "barenet train --dataset diabetes --early-stopping 10",
        ],
    ),
    "predict": (
        "Predict with a saved model: one answer per row of a table, in original units.",
        "The table needs the training columns (in any order; others are ignored). The\n"
        "reading options the model was trained with (--sep, --decimal, --encoding,\n"
        "--thousands) apply unless given again. A folder or glob is streamed into\n"
        "Parquet parts.",
        [
            "barenet predict --model model.npz --data new.csv --out predictions.csv",
            "barenet predict --model model.npz --data new.csv --keep id --proba",
            "barenet predict --model model.npz --data 'parts/*.parquet' --out predictions/",
        ],
    ),
    "evaluate": (
        "Score a saved model on a labelled table: MSE, RMSE, MAE and R^2, or accuracy.",
        "A classifier also gets its confusion matrix. Rows with a blank target are left\n"
        "out, with a notice.",
        [
            "barenet evaluate --model model.npz --data labelled.csv",
            "barenet evaluate --model model.npz --data labelled.csv --target price --json",
        ],
    ),
    "tune": (
        "Search hyper-parameters with cross-validation, on this machine or a Dask cluster.",
        "GRID.json holds lists of values by barenet train's option names, for example\n"
        '{"hidden": [[64, 64], [128]], "lr": [0.01, 0.003]}, or\n'
        '{"estimator": {"epochs": 20}, "grid": {...}} to fix some parameters for every\n'
        "candidate. The best candidate is refitted on the training rows and scored on\n"
        "the test split.",
        [
            "barenet tune --grid grid.json --dataset diabetes --scheduler none",
            "barenet tune --grid grid.json --data my.csv --target price --search random "
            "--n-iter 20",
        ],
    ),
    "export-onnx": (
        "Export a saved model, its preprocessing included, as an ONNX graph.",
        "The graph takes the raw feature columns (one input per column) and gives the\n"
        "answers in original units, as barenet predict does.",
        ["barenet export-onnx --model model.npz --out model.onnx"],
    ),
}


def command_text(name: str) -> dict:
    """The ``add_parser`` keywords of subcommand ``name``: its help line, description,
    examples and the formatter that keeps their lines."""
    purpose, more, examples = COMMANDS[name]
    return {
        "help": SHORT[name],
        "description": f"{purpose}\n\n{more}",
        "epilog": "examples:\n" + "\n".join(f"  {line}" for line in examples),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def misspelled_command(argv: list[str], commands) -> str | None:
    """The error for a first argument that is neither an option nor a command
    (``barenet trian``), with the closest command; None when there is none to report."""
    if not argv or argv[0].startswith("-") or argv[0] in commands:
        return None
    word = argv[0]
    close = did_you_mean(word, commands)
    known = ", ".join(commands)
    if close:
        return f"barenet: {word!r} is not a command; {close} (commands: {known})"
    return f"barenet: {word!r} is not a command (commands: {known}; barenet --help says more)"
