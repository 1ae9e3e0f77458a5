"""What ``barenet evaluate`` says about the column it scores against: a notice when it is
not the column the model was trained to predict, and a short error when a classifier
meets labels it never learned (a numeric quantity, most often); and a clear refusal of
a folder or glob, which evaluate does not read."""

from __future__ import annotations

import numpy as np

from barenet.errors import BarenetValueError, DataError
from barenet.streaming.folder import is_dataset_path

SHOWN = 5  # labels shown in a message; the rest are counted


def target_notice(target: str, trained_on: str) -> str | None:
    """The notice for scoring against ``--target`` when the model predicts another
    column; None when they are the same."""
    if target == trained_on:
        return None
    return (
        f"scoring the model's predictions of {trained_on!r} against column {target!r}, "
        "which it was never trained to predict"
    )


def summary(values, shown: int = SHOWN) -> str:
    """At most ``shown`` values, then how many more: ``['a', 'b', ... and 298 more]``."""
    values = list(values)
    head = ", ".join(repr(v) for v in values[:shown])
    more = f", ... and {len(values) - shown} more" if len(values) > shown else ""
    return f"[{head}{more}]"


def check_labels(labels, classes, target: str, trained_on: str, where) -> None:
    """A ``DataError`` for labels of ``target`` that are none of the model's ``classes``:
    a few of them and their count, and what to do."""
    unknown = sorted({str(v) for v in labels} - {str(c) for c in classes})
    if not unknown:
        return
    numeric = np.asarray(labels).dtype.kind in "iuf"
    if numeric and len(unknown) > len(classes):
        advice = (
            f"{target!r} holds numbers with {len(set(map(str, labels)))} distinct values, a "
            f"quantity rather than classes; this model is a classifier of {trained_on!r}"
        )
    else:
        advice = "the model cannot predict them"
    fix = f": give --target {trained_on}" if target != trained_on else ""
    raise DataError(
        f"{where}: {len(unknown)} labels of {target!r} were not classes in training, "
        f"{summary(unknown)}; the classes are {summary(classes)}: {advice}{fix}"
    )


def check_one_file(args) -> None:
    """A ``BarenetValueError`` when ``--data`` is a folder or a glob: evaluate scores one
    file; the message gives the ways to score a folder."""
    if not args.data or not is_dataset_path(args.data):
        return
    raise BarenetValueError(
        f"--data {args.data}: a folder or glob; barenet evaluate scores one CSV or Parquet "
        f"file: concatenate the files into one, or run barenet predict --model {args.model} "
        f"--data {args.data} --out PREDICTIONS --keep TARGET and score its Parquet parts"
    )
