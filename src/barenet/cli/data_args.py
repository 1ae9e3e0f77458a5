"""The data options shared by ``barenet train`` and ``barenet tune``, and the loading
they describe: a built-in data set (split as the notebook does), or a table of
one's own (split first, then preprocessed as learned from its training rows)."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import numpy as np

from barenet.errors import BarenetValueError, DataError
from barenet.streaming.source import refuse_thousands
from barenet.tables.columns import (
    MAX_CATEGORIES,
    MAX_CLASS_VALUES,
    blank_targets,
    blank_targets_notice,
    check_numbers,
    choose_task,
    describe,
    encode,
    encoded_names,
    fit_columns,
    labels_of,
    read_table,
    refit_columns,
    require_columns,
    row_id_columns,
    row_id_note,
    target_values,
)
from barenet.tables.datasets import BUILTIN, Split, load_builtin
from barenet.tables.dates import settle_odd_dates


def add_data_arguments(parser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=BUILTIN,
        help="a built-in data set (default: california)",
    )
    data.add_argument(
        "--data",
        metavar="PATH",
        help="a CSV file with a header row, or a .parquet file: numbers, text, true/false, "
        "dates, missing values",
    )
    data.add_argument("--target", metavar="COLUMN", help="the column to predict")
    data.add_argument(
        "--features", metavar="A,B,C", help="feature columns (default: all other columns)"
    )
    data.add_argument("--drop", metavar="A,B", help="columns to leave out")
    data.add_argument(
        "--task",
        choices=["regression", "classification"],
        help="for --data (default: from the target: text, true/false or at most "
        f"{MAX_CLASS_VALUES} integer values is classification, else regression)",
    )
    data.add_argument(
        "--max-categories",
        type=int,
        default=MAX_CATEGORIES,
        metavar="N",
        help="one-hot features per text column at most: every value with 5 training rows, "
        f"up to N; rarer values pool into 'other' (default: {MAX_CATEGORIES}); free text: "
        "word features, at most 100 and N",
    )
    add_reader_arguments(data)
    data.add_argument(
        "--test-size", type=float, default=0.2, help="held-out test fraction (default: 0.2)"
    )
    data.add_argument(
        "--data-home",
        help="scikit-learn's data folder (default: $SCIKIT_LEARN_DATA or ~/scikit_learn_data)",
    )


def add_reader_arguments(group) -> None:
    """``--sep``, ``--decimal``, ``--encoding``: how ``read_table`` reads a CSV file."""
    group.add_argument("--sep", help="the CSV field separator (default: sniffed from the file)")
    group.add_argument("--decimal", help="the decimal mark (default: .)")
    group.add_argument("--encoding", help="the CSV file's text encoding (default: utf-8)")
    group.add_argument("--thousands", help="the thousands separator, as in 25,835 (default: none)")
    group.add_argument(
        "--bad-rows",
        choices=["error", "skip"],
        default="error",
        help="a row with too few or too many fields: an error naming its line, or skip "
        "such rows and count them (default: error)",
    )


def read_data(args, path, notices=None, drop=(), text=(), columns=None):
    """``read_table`` of ``path`` with the reader options in ``args`` (``columns``: the
    ones wanted, others left out unchecked)."""
    return read_table(
        path,
        sep=getattr(args, "sep", None),
        decimal=getattr(args, "decimal", ".") or ".",
        encoding=getattr(args, "encoding", None),
        drop=drop,
        notices=notices,
        text=text,
        thousands=getattr(args, "thousands", None),
        bad_rows=getattr(args, "bad_rows", "error"),
        columns=columns,
    )


#: The options of how a file is read that a model remembers (``Preprocessing.reading``).
READING_OPTIONS = ("sep", "decimal", "encoding", "thousands")


def predict_rows(prep, model, frame, where, tally=None):
    """``prep.predict``, a ``DataError`` naming a cell (a date, a true/false value:
    ``column 'when', data row 3: ...``) prefixed with the file, as the numbers' are."""
    try:
        return prep.predict(model, frame, tally)
    except DataError as error:
        if str(error).startswith("column "):
            raise DataError(f"{where}: {error}") from None
        raise


def reading_options(args) -> dict | None:
    """``{"sep": ";", "decimal": ","}``: the reading options given (None when none was)."""
    given = {name: getattr(args, name, None) for name in READING_OPTIONS}
    given = {name: value for name, value in given.items() if value is not None}
    return given or None


def with_model_reading(args, prep):
    """``args`` with each reading option not given taken from the model's training file
    (``prep.reading``), so ``predict --data new.csv`` reads it as ``train`` read its file."""
    import argparse

    remembered = getattr(prep, "reading", None) or {}
    merged = dict(vars(args))
    for name in READING_OPTIONS:
        if merged.get(name) is None and remembered.get(name) is not None:
            merged[name] = remembered[name]
    return argparse.Namespace(**merged)


def check_feature_numbers(frame, prep, where) -> None:
    """A ``DataError`` naming the file, the column and the row of the first value in a
    numeric training column that is not a number, with train's hints (``--decimal ,``
    for ``'0,23'``, ``--thousands ,`` for ``'25,835'``)."""
    from barenet.tables.columns import as_numbers

    numeric = [s["name"] for s in prep.columns or () if s["kind"] == "numeric"]
    try:
        check_numbers(frame[numeric])
        for name in numeric:
            as_numbers(frame[name], name)
    except DataError as error:
        message = str(error)
        if re.search(r"'-?\d+,\d+' is not a number", message):
            message += "; a decimal comma? give --decimal , (and --sep if needed)"
        raise DataError(f"{where}: {message}") from None


def names_option(text: str | None, option: str) -> list[str]:
    if not text:
        return []
    names = [name.strip() for name in text.split(",")]
    if any(not name for name in names):
        raise BarenetValueError(f"{option} expects comma-separated column names, got {text!r}")
    return names


def load_data(args):
    """``(name, split)``: the preprocessed split of ``--dataset`` or ``--data``."""
    if args.data and args.dataset:
        raise BarenetValueError("give either --dataset or --data, not both")
    for option in ("target", "features", "task", "drop"):
        if getattr(args, option, None) and not args.data:
            raise BarenetValueError(
                f"--{option} is for --data; the built-in data sets have theirs"
            )
    if not 0 < args.test_size < 1:
        raise BarenetValueError(f"--test-size must be between 0 and 1, got {args.test_size}")
    if not args.data:
        name = args.dataset or "california"
        return name, load_builtin(name, data_home=args.data_home, test_size=args.test_size)
    if not args.target:
        raise BarenetValueError("--data needs --target COLUMN (the column to predict)")
    max_categories = getattr(args, "max_categories", MAX_CATEGORIES)
    if max_categories < 1:
        raise BarenetValueError(f"--max-categories must be >= 1, got {max_categories}")
    notices = []
    frame = read_data(
        args, args.data, notices, names_option(getattr(args, "drop", None), "--drop")
    )
    require_columns(frame, [args.target], args.data)
    features = names_option(args.features, "--features") or [
        c for c in frame.columns if c != args.target
    ]
    if args.target in features:
        raise BarenetValueError(f"the target column {args.target!r} is also listed as a feature")
    require_columns(frame, features, args.data)
    split = split_table(
        frame[features],
        frame[args.target],
        args.target,
        task=args.task,
        test_size=args.test_size,
        max_categories=max_categories,
        where=args.data,
    )
    split.report["notices"] = notices + split.report["notices"]
    split.report["reading"] = reading_options(args)
    return Path(args.data).name, split


def _targets(y_raw, task: str):
    """``(y, classes)``: class indices (n,) and the sorted labels, or values (n, 1)."""
    if task == "classification":
        labels, y = np.unique(labels_of(y_raw), return_inverse=True)
        return y, [v.item() if hasattr(v, "item") else v for v in labels]
    return y_raw.astype(np.float64).reshape(-1, 1), None


def _split_rows(n: int, y, classes, test_size, random_state):
    """Training and test row numbers of ``n`` rows (stratified for classes), or a
    ``DataError`` saying why they cannot be split."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(n)
    try:
        return train_test_split(
            rows,
            test_size=test_size,
            random_state=random_state,
            stratify=y if classes is not None else None,
        )
    except ValueError as error:  # too few rows, or too few rows of a class
        how = f"stratified by its {len(classes)} classes" if classes is not None else "randomly"
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        message = message.split(" Classes with too few members")[0]  # not thousands of them
        raise DataError(
            f"cannot split the {n} rows {how} into training and test rows: {message}"
        ) from None


def split_table(
    x_frame,
    y_column,
    target_name: str,
    *,
    task=None,
    test_size=0.2,
    random_state=42,
    max_categories=MAX_CATEGORIES,
    where="the data",
) -> Split:
    """A ``Split`` of a raw table: rows split first, then the column preprocessing,
    the feature scaling and the target scaling (or class labels) learned from the
    training rows only. Rows whose target is blank are left out; the report's
    ``notices`` say how many."""
    notices = []
    row_ids = row_id_columns(x_frame)  # on every row read: left-out rows leave gaps
    blank = blank_targets(y_column)
    if blank.all():
        raise DataError(f"{where}: the target {target_name!r} is blank in every row")
    if blank.any():
        notices.append(blank_targets_notice(int(blank.sum()), target_name))
        x_frame, y_column = x_frame[~blank], y_column[~blank]
    try:
        y_raw = target_values(y_column, target_name)
        check_numbers(x_frame)
    except DataError as error:
        raise DataError(f"{where}: {error}") from None
    task, why = choose_task(y_column, target_name, task)
    y, classes = _targets(y_raw, task)
    train, test = _split_rows(len(y), y, classes, test_size, random_state)
    x_frame = x_frame.drop(columns=row_ids)
    try:
        specs, dropped = fit_columns(x_frame.iloc[train], max_categories)
        notices += settle_odd_dates(specs, x_frame)
        dropped = [row_id_note(name) for name in row_ids] + dropped
        x_train, x_test = encode(x_frame.iloc[train], specs), encode(x_frame.iloc[test], specs)
    except DataError as error:
        raise DataError(f"{where}: {error}") from None
    if not specs:
        raise DataError(f"{where}: no usable feature column ({', '.join(dropped)})")
    report = {
        "task": task,
        "task_reason": why,
        "columns": describe(specs, dropped),
        "notices": notices,
    }
    parts = (x_train, x_test, y[train], y[test])
    split = _scaled_split(parts, specs, target_name, classes, report, where)
    everything = (x_frame, y, max_categories)
    return split._replace(every_row=partial(_every_row, everything, split, where))


def _every_row(everything, split, where) -> Split:
    """The ``Split`` of every row of ``everything`` (``(x_frame, y, max_categories)``:
    training and test rows, all in ``x_train``) with ``split``'s columns, their specs,
    ranges and scaling learned from every row: what the model refitted on every row
    learns from, and keeps."""
    x_frame, y, max_categories = everything
    try:
        specs = refit_columns(x_frame, split.columns, max_categories)
        x = encode(x_frame, specs)
    except DataError as error:
        raise DataError(f"{where}: {error}") from None
    whole = _scaled_split(
        (x, x[:1], y, y[:1]), specs, split.target_name, split.classes, split.report, where
    )
    return whole._replace(x_test=whole.x_train[:0], y_test=whole.y_train[:0])


def _scaled_split(parts, specs, target_name, classes, report, where) -> Split:
    """The ``Split`` of encoded rows, features (and a regression's target) standardised
    on the training rows."""
    from barenet.tables.preprocessing import Preprocessing, fit_ranges
    from barenet.tables.standardize import fit_scaler

    x_train, x_test, y_train, y_test = parts
    ranges = fit_ranges(x_train, specs)  # test rows are clipped to them, as predict clips
    x_test = Preprocessing([], columns=specs, ranges=ranges).clip(x_test)
    scaler_x = fit_scaler(x_train, encoded_names(specs), where)  # float64, no overflow
    scaler_y = None if classes is not None else fit_scaler(y_train, [target_name], where)
    if scaler_y is not None:
        y_train, y_test = scaler_y.transform(y_train), scaler_y.transform(y_test)
    return Split(
        scaler_x.transform(x_train),
        scaler_x.transform(x_test),
        y_train,
        y_test,
        scaler_x,
        scaler_y,
        [spec["name"] for spec in specs],
        target_name,
        classes,
        specs,
        report,
        ranges,
    )


def check_route_options(args, streamed: bool, shuffle_default: int) -> None:
    """Refuse by name, before any work, an option ``barenet train`` cannot apply to its
    ``--data``: ``--thousands`` on a folder or glob (pyarrow's CSV reader does not parse
    thousands separators), ``--split-key`` or ``--shuffle-buffer`` on one file (they are
    for a folder or glob; ``shuffle_default`` is ``--shuffle-buffer``'s default)."""
    if streamed:
        refuse_thousands(getattr(args, "thousands", None))
        return
    if getattr(args, "split_key", None) is not None:
        raise BarenetValueError(
            f"--split-key is for a folder or glob given to --data; {_one_table(args)} is split "
            "at random (--seed): leave --split-key out"
        )
    if getattr(args, "shuffle_buffer", shuffle_default) != shuffle_default:
        raise BarenetValueError(
            f"--shuffle-buffer is for a folder or glob given to --data; {_one_table(args)} is "
            "shuffled whole every epoch: leave --shuffle-buffer out"
        )


def _one_table(args) -> str:
    """``"one.csv, one file,"`` or ``"the built-in data set"``: what ``--data`` names."""
    return f"{args.data}, one file," if args.data else "a built-in data set"
