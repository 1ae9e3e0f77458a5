"""Tables as they come: reading CSV and Parquet files, and the column preprocessing
learned from the training rows (types, missing values, categories).

The learned preprocessing is a list of column specifications, plain JSON, stored in
model files by ``Preprocessing``; ``fit_columns`` learns it (``barenet.tables.column_fit``)
and ``encode`` applies it through the table encoder
(``barenet.tables.encoder``, whose rules every route shares: files, folders, the
estimators):

- ``{"name", "kind": "numeric", "median", "indicator"}``: missing values become the
  training median; ``indicator`` adds a 0/1 "was missing" feature (the column had
  missing values in the training rows);
- ``{"name", "kind": "bool", "median", "indicator"}``: true/false as 1/0, then the same;
- ``{"name", "kind": "category", "levels", "other", "pooled"}``: one 0/1 feature per
  level; ``other`` adds one for the pooled rare categories, which also takes values
  never seen in training (without an "other" feature, an unseen value has no level: all
  zeros). ``pooled`` lists the training values pooled into "other" (up to
  ``MAX_POOLED_STORED``; absent in older files), so that ``predict`` counts as unseen
  only the values truly never seen.
  A missing value is the level ``"(missing)"`` if the training rows had enough of them;
- ``{"name", "kind": "text", "words", "missing"}``: free text (``barenet.tables.free_text``:
  a column one-hot would mostly pool away, of several words a value): one 0/1 feature
  per word, "the value has this word" (lowercased), and a "was blank" feature if
  ``missing``;
- ``{"name", "kind": "date", ...}``: a date or time column, as ``barenet.tables.dates`` learns
  and encodes it (calendar parts where they vary, sin/cos for the periodic ones, days
  since the earliest training date, median imputation with a missing indicator).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from barenet.errors import DataError
from barenet.tables.column_fit import (  # noqa: F401 (public here: the names other modules use)
    COMMA_DECIMAL,
    MAX_CATEGORIES,
    MAX_POOLED_STORED,
    MIN_CATEGORY_ROWS,
    ROW_ID_MIN_ROWS,
    SHOWN_NAMES,
    _is_bool,
    _mostly_numbers,
    check_numbers,
    describe,
    describe_line,
    fit_columns,
    refit_columns,
    row_id_columns,
    row_id_note,
)
from barenet.tables.encoder import (  # noqa: F401 (MISSING, encoded_names: public here)
    MISSING,
    Encoder,
    encoded_names,
)
from barenet.tables.frame_columns import FrameColumns, as_numbers
from barenet.tables.text_encoding import choose_encoding, decode_advice

MAX_CLASS_VALUES = 20  # integer targets with at most this many values look like classes


def read_table(
    path,
    *,
    sep=None,
    decimal=".",
    encoding=None,
    drop=(),
    notices=None,
    text=(),
    thousands=None,
    bad_rows="error",
    columns=None,
):
    """A pandas DataFrame of a CSV file (plain or compressed: ``.gz``, ``.bz2``, ``.xz``,
    ``.zip``), a Parquet file, or an Excel workbook if openpyxl is installed.

    ``sep`` is sniffed from the start of the file when not given; a byte-order mark,
    quoting and CRLF line ends are handled. ``drop`` names columns to leave out. An
    unnamed leading column holding 0..n-1 or 1..n (a saved pandas index) is dropped;
    ``notices`` (a list) receives one line saying so, and one for each column of
    percentages or amounts read as numbers. Columns named in ``text`` are read as
    written (identifiers such as ``00042`` keep their zeros), never checked as numbers.
    ``columns``, if given, names the columns wanted: the others are left out unchecked,
    as ``drop`` does (``predict`` reads only the model's columns). ``thousands`` is the
    thousands separator, if the file uses one. A repeated column name, a row with the
    wrong number of fields (unless ``bad_rows="skip"``: left out and counted), and an
    infinite or unscalably large number are ``DataError`` naming the place.
    """

    from barenet.tables import reading

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if bad_rows not in reading.BAD_ROWS:
        raise DataError(f"--bad-rows must be one of {reading.BAD_ROWS}, got {bad_rows!r}")
    kind = reading.file_kind(path)
    options = {"decimal": decimal, "thousands": thousands, "text": text}
    frame = _read_file(path, kind, sep, encoding, bad_rows, notices, options)
    reading.check_names(frame.columns, path)
    written = frame.attrs.pop("written", None)  # infinite cells' text (CSV only)
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    if written is not None:
        written.columns = [str(c).replace("\ufeff", "").strip() for c in written.columns]
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header but no data rows")
    frame = _without_saved_index(frame, path, notices)
    require_columns(frame, drop, path)
    frame = frame.drop(columns=list(drop))  # a dropped column is never checked
    if columns is not None:  # so is a column not asked for
        frame = frame[[name for name in frame.columns if name in set(columns)]]
    reading.numbers_written_as_text(frame, notices, path, skip=text)
    reading.check_finite(frame, path, skip=text, written=written)
    return frame


def _read_file(path, kind, sep, encoding, bad_rows, notices, options):
    """The file as pandas reads it (Excel, Parquet or CSV), its readers' errors turned
    into one ``DataError`` naming the file."""
    import pandas as pd

    from barenet.tables import reading

    try:
        if kind == "excel":
            return reading.read_excel(path)
        if kind == "parquet":
            return pd.read_parquet(path)
        encoding = choose_encoding(path, kind, encoding)
        return _read_csv(path, kind, sep, encoding, bad_rows, notices, **options)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: not {encoding} text ({error.reason} at byte {error.start}); "
            f"{decode_advice(path, kind, encoding)}"
        ) from None
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r}") from None
    except Exception as error:  # pandas' and pyarrow's parser errors
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DataError(
            f"{path}: not a readable table ({type(error).__name__}: {message})"
        ) from None


def _read_csv(path, kind, sep, encoding, bad_rows, notices, *, decimal, thousands, text):
    """A CSV file (plain or compressed) as pandas reads it, its separator sniffed when
    not given and its ragged rows refused or, with ``bad_rows="skip"``, left out."""
    import pandas as pd

    from barenet.tables import reading

    if sep is None:
        sep = _sniff(path, encoding, decimal, kind)
    skip = None
    if len(sep) == 1:
        header, skip, bad = reading.scan_records(path, kind, encoding, sep, bad_rows)
        reading.check_names(header, path)
        if bad and notices is not None:
            shown = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
            rows, lines = ("rows", "lines") if len(bad) > 1 else ("row", "line")
            notices.append(
                f"skipped {len(bad)} {rows} of {path.name} with the wrong number of "
                f"fields ({lines} {shown})"
            )
    options = {
        "sep": sep,
        "decimal": decimal,
        "thousands": thousands,
        "encoding": encoding,
        "compression": reading.compression(kind),
        "skipinitialspace": True,
        "skiprows": skip or None,
    }
    frame = pd.read_csv(path, **options, dtype={name: str for name in text} or None)
    infinite = [
        n for n in frame.columns if frame[n].dtype.kind == "f" and np.isinf(frame[n]).any()
    ]
    if infinite:  # '1e400' or 'inf'? the cells as written, for the error check_finite raises
        frame.attrs["written"] = pd.read_csv(path, **options, usecols=infinite, dtype=str)
    return frame


def _without_saved_index(frame, path, notices):
    """``frame`` without an unnamed leading column holding 0..n-1 or 1..n (a saved pandas
    index), with a notice saying so."""
    if len(frame.columns) > 1 and frame.columns[0] in ("", "Unnamed: 0"):
        first = frame.iloc[:, 0]
        if first.dtype.kind in "iu" and (
            np.array_equal(first, np.arange(len(first)))
            or np.array_equal(first, np.arange(1, len(first) + 1))
        ):
            if notices is not None:
                notices.append(
                    f"dropped the unnamed leading column of {path.name} "
                    "(it numbers the rows: a saved index)"
                )
            return frame.iloc[:, 1:]
    return frame


def _sniff(path: Path, encoding: str, decimal: str, kind: str = "csv") -> str:
    from barenet.tables.reading import open_text

    with open_text(path, kind, encoding) as f:
        sample = f.read(65536)
    candidates = "".join(c for c in ",;\t|" if c != decimal)
    try:
        return csv.Sniffer().sniff(sample, delimiters=candidates).delimiter
    except csv.Error:  # one column, or too little text to tell
        return "," if decimal != "," else ";"


#: Up to this many columns, a missing column's error lists them all.
LISTED_COLUMNS = 12


def missing_column_message(name: str, columns: list, where: str) -> str:
    """``"WHERE: no column 'SalePrice'; did you mean 'Sale_Price'? (81 columns)"``: the
    closest names when some are close, else the columns (their first few when many)."""
    from barenet._checks import did_you_mean

    columns = [str(c) for c in columns]
    if len(columns) == 1 and any(c in columns[0] for c in ",;\t|"):
        hint = " (the file was read as one column: give its separator with --sep)"
        return f"{where}: no column {name!r}; the columns are {columns}{hint}"
    suggestion = did_you_mean(name, columns)
    if suggestion:
        return f"{where}: no column {name!r}; {suggestion} ({len(columns)} columns)"
    if len(columns) <= LISTED_COLUMNS:
        return f"{where}: no column {name!r}; the columns are {columns}"
    first = ", ".join(repr(c) for c in columns[:5])
    return (
        f"{where}: no column {name!r} and none spelled like it among its {len(columns)} "
        f"columns ({first}, ...)"
    )


def require_columns(frame, names, where) -> None:
    """A ``DataError`` naming the first of ``names`` that ``frame`` lacks (and the
    closest column names)."""
    columns = list(frame.columns)
    for name in names:
        if name not in columns:
            raise DataError(missing_column_message(name, columns, where))


def encode(frame, specs: list[dict], tally: dict | None = None) -> np.ndarray:
    """The features (n, len(encoded_names(specs))) of a frame's rows, float64, by the
    table encoder (``barenet.tables.encoder``) through its pandas backend.

    Columns are found by name (any order; others ignored). ``tally`` (a dict) receives,
    per column name, ``{"imputed": blank cells, "unseen": values of a text column that
    are none of its levels (of a free-text column: that have none of its words, with
    "no_words"), "examples": a few of those, "clipped": dates outside the training
    range}`` (see ``tally_notice``)."""
    require_columns(frame, [spec["name"] for spec in specs], "the data")
    return Encoder(specs).encode(FrameColumns(frame), tally)


def tally_notice(tally: dict) -> str | None:
    """One line from an ``encode`` tally: how many blank cells were imputed, how many
    text cells held a value unseen in training (or, from a model file that does not
    list its pooled values, unseen or pooled as rare), and how many dates were outside
    the training range, per column; None when there were none. A free-text cell with no
    word learned in training is counted in the tally but not noted: training rows hold
    such cells too (words of fewer than 5 rows), so it says nothing new of the rows."""
    imputed = {name: c["imputed"] for name, c in tally.items() if c["imputed"]}
    unseen = {name: c for name, c in tally.items() if c["unseen"] and not c.get("no_words")}
    parts = []
    if imputed:
        total = sum(imputed.values())
        each = ", ".join(f"{name}: {n}" for name, n in imputed.items())
        parts.append(f"imputed {total} blank cell{'s' * (total != 1)} ({each})")
    if unseen:
        total = sum(c["unseen"] for c in unseen.values())
        each = _unseen_examples(unseen)
        cells = "cells held a category" if total != 1 else "cell held a category"
        what = "unseen" if all(c.get("seen_pooled") for c in unseen.values()) else "unseen or rare"
        parts.append(f"{total} {cells} {what} in training ({each})")
    clipped = {name: c["clipped"] for name, c in tally.items() if c.get("clipped")}
    if clipped:
        total = sum(clipped.values())
        each = ", ".join(f"{name}: {n}" for name, n in clipped.items())
        dates = "dates were" if total != 1 else "date was"
        parts.append(
            f"{total} {dates} outside the training range, their year and days clipped to "
            f"it ({each})"
        )
    return "; ".join(parts) if parts else None


EXAMPLE_CHARS = 40  # an example value in a note is cut to this many characters and "..."


def _example(value: str) -> str:
    """``repr`` of ``value``, cut to ``EXAMPLE_CHARS`` characters with an ellipsis."""
    long = isinstance(value, str) and len(value) > EXAMPLE_CHARS
    return repr(value[:EXAMPLE_CHARS] + "..." if long else value)


def _unseen_examples(unseen: dict) -> str:
    """``"city: 3, e.g. 'x', 'y'"`` per column of a tally (long values cut)."""
    return ", ".join(
        f"{name}: {c['unseen']}, e.g. {', '.join(map(_example, c['examples']))}"
        for name, c in unseen.items()
    )


def blank_targets(column) -> np.ndarray:
    """True (n,) for the rows whose target is blank: missing, or text of spaces only."""
    blank = column.isna().to_numpy().copy()
    if column.dtype.kind == "O":
        blank |= np.array([isinstance(v, str) and not v.strip() for v in column], dtype=bool)
    return blank


def blank_targets_notice(count: int, name: str) -> str:
    """The notice for rows left out because their target is blank."""
    rows = "row" if count == 1 else "rows"
    return f"left out {count} {rows} whose target {name!r} is blank"


def target_values(column, name: str) -> np.ndarray:
    """The target column's values; a missing one is a ``DataError`` naming its row."""
    missing = np.flatnonzero(column.isna().to_numpy())
    if len(missing):
        raise DataError(
            f"column {name!r}, data row {missing[0] + 1}: '' is missing; every row to learn "
            "from or evaluate on needs its target"
        )
    return column.to_numpy()


def choose_task(column, name: str, task: str | None) -> tuple[str, str]:
    """``(task, why)``: the task ``--task`` asks for, or the one the target looks like
    (text, true/false, or at most ``MAX_CLASS_VALUES`` integers: classification).
    An implausible choice is a ``DataError``."""
    numeric = column.dtype.kind in "iuf"
    distinct = column.nunique()
    integers = numeric and bool(np.all(np.mod(column.to_numpy(np.float64), 1) == 0))
    if task == "regression" and not numeric:
        example = column.dropna().iloc[0]
        raise DataError(
            f"--task regression needs a numeric target; {name!r} holds values such as "
            f"{example!r} (use --task classification)"
        )
    if task == "classification" and numeric and not integers and distinct > MAX_CLASS_VALUES:
        raise DataError(
            f"--task classification on {name!r}: it has {distinct} distinct non-integer "
            "values, a continuous quantity rather than classes (use --task regression)"
        )
    if distinct < 2:
        raise DataError(f"the target {name!r} has a single value: there is nothing to learn")
    if task is not None:
        return task, "as asked by --task"
    if (
        task != "classification"
        and not numeric
        and _mostly_numbers(column)
        and not _is_bool(column)
    ):
        as_numbers(column, name)  # a typing error among numbers: named with its row
    if not numeric and distinct > MAX_CLASS_VALUES and distinct > 0.5 * column.notna().sum():
        raise DataError(
            f"the target {name!r} holds text with {distinct} distinct values, mostly one per "
            "row: not classes. If they are numbers, give --decimal or --sep; else choose "
            "another --target"
        )
    if not numeric:
        return "classification", f"the target {name!r} holds labels, not numbers"
    if integers and distinct <= MAX_CLASS_VALUES:
        return "classification", f"the target {name!r} has {distinct} integer values"
    return "regression", f"the target {name!r} is numeric with {distinct} distinct values"


def labels_of(values) -> np.ndarray:
    """Class labels in their natural type: integer-valued numbers as ints; text as str."""
    values = np.asarray(values)
    if values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
        return values.astype(np.int64)
    if values.dtype.kind == "O":
        kinds = {type(v) for v in values}
        if len(kinds) > 1 or not kinds <= {str, bool, np.bool_, int}:
            return values.astype(str).astype(object)
    return values


def numeric_matrix(frame, names) -> np.ndarray:
    """The columns ``names`` of ``frame`` as float64 (n, len(names)), for models trained
    without column specs; a missing or non-numeric value is a ``DataError``."""
    require_columns(frame, names, "the data")
    x = np.column_stack([as_numbers(frame[name], name) for name in names])
    rows, cols = np.nonzero(np.isnan(x))
    if len(rows):
        raise DataError(
            f"column {names[cols[0]]!r}, data row {rows[0] + 1}: '' is not a finite number "
            "(this model was trained without missing values)"
        )
    return x
