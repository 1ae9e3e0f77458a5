"""Tables as they come: reading CSV and Parquet files, and the column preprocessing
learned from the training rows (types, missing values, categories).

The learned preprocessing is a list of column specifications, plain JSON, stored in
model files by ``Preprocessing``; ``encode`` applies it through the table encoder
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
- ``{"name", "kind": "date", ...}``: a date or time column, as ``barenet.tables.dates`` learns
  and encodes it (calendar parts where they vary, sin/cos for the periodic ones, days
  since the earliest training date, median imputation with a missing indicator).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from barenet.errors import DataError
from barenet.tables.dates import describe_date, find_date, fit_date, mostly_dates
from barenet.tables.encoder import (  # noqa: F401 (MISSING, encoded_names: public here)
    MISSING,
    Encoder,
    canonical_text,
    encoded_names,
)
from barenet.tables.frame_columns import (  # noqa: F401 (as_numbers: public here)
    FrameColumns,
    as_numbers,
    is_missing,
)
from barenet.tables.frame_columns import as_bools as _as_bools
from barenet.tables.text_encoding import choose_encoding, decode_advice

MIN_CATEGORY_ROWS = 5  # a category with fewer training rows is pooled into "other"
# one-hot levels per text column at most (--max-categories): every level with
# MIN_CATEGORY_ROWS rows up to this many. 20 pooled 26 of 46 cities of a house-price
# table (RMSE $46,011); all 46 gave $15,551
MAX_CATEGORIES = 200
MAX_POOLED_STORED = 5000  # training values pooled into "other", kept to tell from unseen
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
):
    """A pandas DataFrame of a CSV file (plain or compressed: ``.gz``, ``.bz2``, ``.xz``,
    ``.zip``), a Parquet file, or an Excel workbook if openpyxl is installed.

    ``sep`` is sniffed from the start of the file when not given; a byte-order mark,
    quoting and CRLF line ends are handled. ``drop`` names columns to leave out. An
    unnamed leading column holding 0..n-1 or 1..n (a saved pandas index) is dropped;
    ``notices`` (a list) receives one line saying so, and one for each column of
    percentages or amounts read as numbers. Columns named in ``text`` are read as
    written (identifiers such as ``00042`` keep their zeros). ``thousands`` is the
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
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header but no data rows")
    frame = _without_saved_index(frame, path, notices)
    require_columns(frame, drop, path)
    frame = frame.drop(columns=list(drop))  # a dropped column is never checked
    reading.numbers_written_as_text(frame, notices, path)
    reading.check_finite(frame, path)
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
            notices.append(
                f"skipped {len(bad)} rows of {path.name} with the wrong number of "
                f"fields (lines {shown})"
            )
    return pd.read_csv(
        path,
        sep=sep,
        decimal=decimal,
        thousands=thousands,
        encoding=encoding,
        compression=reading.compression(kind),
        skipinitialspace=True,
        skiprows=skip or None,
        dtype={name: str for name in text} or None,
    )


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


def _is_bool(column) -> bool:
    present = column.dropna()
    return column.dtype == bool or (
        len(present) > 0 and all(isinstance(v, (bool, np.bool_)) for v in present)
    )


def _strings(column):
    """Category values as ``barenet.tables.encoder.canonical_text`` writes them: text
    without surrounding spaces; missing values (and blank ones) as ``MISSING``."""
    return np.array([canonical_text(None if is_missing(v) else v) for v in column], dtype=object)


def _mostly_numbers(column) -> bool:
    import pandas as pd

    present = column.dropna()
    return len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().mean() >= 0.5


COMMA_DECIMAL = r"^\s*-?\d+,\d+\s*$"


def check_numbers(frame) -> None:
    """A ``DataError`` for the first text value in a column of numbers (in any row:
    a typing error in the file, not something to learn), and for numbers written with
    a decimal comma that were read as text (``--decimal ,`` reads them)."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind == "O":
            present = column.dropna().astype(str)
            from barenet.tables.reading import thousands_advice

            advice = thousands_advice(name, present)
            if advice:
                raise DataError(advice)
            if len(present) and present.str.match(COMMA_DECIMAL).mean() > 0.9:
                raise DataError(
                    f"column {name!r} holds numbers written with a decimal comma, such as "
                    f"{present.iloc[0]!r}: give --decimal , (and --sep if needed)"
                )
        if column.dtype.kind == "O" and not _is_bool(column) and _mostly_numbers(column):
            as_numbers(column, name)


def _is_row_number(values: np.ndarray) -> bool:
    """At least 20 integers, all different, filling a range (1, 2, ... n in any order):
    a row id."""
    if len(values) < 20 or np.isnan(values).any() or not np.all(values == np.round(values)):
        return False
    return len(np.unique(values)) == len(values) == values.max() - values.min() + 1


def row_id_columns(frame) -> list[str]:
    """The numeric columns that number the rows (see ``_is_row_number``)."""
    return [
        name
        for name in frame.columns
        if frame[name].dtype.kind in "iuf"
        and _is_row_number(frame[name].to_numpy(dtype=np.float64))
    ]


def fit_columns(frame, max_categories: int = MAX_CATEGORIES) -> tuple[list[dict], list[str]]:
    """``(specs, dropped)``: the column specifications learned from ``frame`` (the
    training rows), and a note for each column left out (constant, all missing, or a
    text identifier with one value per row)."""
    specs, dropped = [], []
    for name in frame.columns:
        column = frame[name]
        present = column.dropna()
        if len(present) == 0:
            dropped.append(f"{name} (all missing)")
        elif present.nunique() == 1 and len(present) == len(column):
            dropped.append(f"{name} (constant)")
        elif (found := find_date(column)) is not None:
            specs.append(fit_date(name, column, *found))
        elif _is_bool(column):
            values = _as_bools(column, name)
            specs.append(_numeric_spec(name, "bool", values))
        elif column.dtype.kind in "iuf" or _mostly_numbers(column):
            values = as_numbers(column, name)
            if _is_row_number(values):
                dropped.append(f"{name} (an identifier: consecutive integers, one per row)")
                continue
            specs.append(_numeric_spec(name, "numeric", values))
        elif present.is_unique and len(present) == len(column):
            why = mostly_dates(column) or "an identifier: a different value in every row"
            dropped.append(f"{name} ({why})")
        else:
            values = _strings(column)
            levels, counts = np.unique(values, return_counts=True)
            order = np.argsort(-counts, kind="stable")
            kept = [str(levels[i]) for i in order if counts[i] >= MIN_CATEGORY_ROWS]
            kept = kept[:max_categories]
            other = len(kept) < len(levels)
            if len(kept) + other < 2:
                why = mostly_dates(column) or f"no category has {MIN_CATEGORY_ROWS} rows"
                dropped.append(f"{name} ({why})")
                continue
            known = set(kept) | {MISSING}
            pooled = [str(v) for v in levels if str(v) not in known][:MAX_POOLED_STORED]
            spec = {"name": name, "kind": "category", "levels": kept, "other": other}
            specs.append({**spec, "pooled": pooled})
    return specs, dropped


def _numeric_spec(name: str, kind: str, values: np.ndarray) -> dict:
    missing = np.isnan(values)
    return {
        "name": name,
        "kind": kind,
        "median": float(np.median(values[~missing])),
        "indicator": bool(missing.any()),
    }


def encode(frame, specs: list[dict], tally: dict | None = None) -> np.ndarray:
    """The features (n, len(encoded_names(specs))) of a frame's rows, float64, by the
    table encoder (``barenet.tables.encoder``) through its pandas backend.

    Columns are found by name (any order; others ignored). ``tally`` (a dict) receives,
    per column name, ``{"imputed": blank cells, "unseen": values of a text column that
    are none of its levels, "examples": a few of those, "clipped": dates outside the
    training range}`` (see ``tally_notice``)."""
    require_columns(frame, [spec["name"] for spec in specs], "the data")
    return Encoder(specs).encode(FrameColumns(frame), tally)


def tally_notice(tally: dict) -> str | None:
    """One line from an ``encode`` tally: how many blank cells were imputed, how many
    text cells held a value unseen in training (or, from a model file that does not
    list its pooled values, unseen or pooled as rare), and how many dates were outside
    the training range, per column; None when there were none."""
    imputed = {name: c["imputed"] for name, c in tally.items() if c["imputed"]}
    unseen = {name: c for name, c in tally.items() if c["unseen"]}
    parts = []
    if imputed:
        total = sum(imputed.values())
        each = ", ".join(f"{name}: {n}" for name, n in imputed.items())
        parts.append(f"imputed {total} blank cell{'s' * (total != 1)} ({each})")
    if unseen:
        total = sum(c["unseen"] for c in unseen.values())
        each = ", ".join(
            f"{name}: {c['unseen']}, e.g. {', '.join(map(repr, c['examples']))}"
            for name, c in unseen.items()
        )
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


def describe(specs: list[dict], dropped: list[str]) -> dict:
    """What was done to which columns, for the summary (JSON)."""
    kinds = {
        "numeric": [],
        "imputed": [],
        "bool": [],
        "one-hot": [],
        "date": [],
        "dropped": dropped,
    }
    for spec in specs:
        if spec["kind"] == "date":
            kinds["date"].append(describe_date(spec))
        elif spec["kind"] == "category":
            other = " + other" if spec["other"] else ""
            count = len(spec["levels"])
            levels = "1 level" if count == 1 else f"{count} levels"
            kinds["one-hot"].append(f"{spec['name']} ({levels}{other})")
        elif spec["kind"] == "bool":
            kinds["bool"].append(spec["name"])
        else:
            kinds["numeric"].append(spec["name"])
        if spec["kind"] != "category" and spec["indicator"]:
            kinds["imputed"].append(spec["name"])
    return kinds


#: How many names of each kind the one-line summary shows (``--json`` lists them all).
SHOWN_NAMES = 3


def _some(names: list[str]) -> str:
    """``"a, b, c and 12 more"``: the first few of ``names``."""
    shown = ", ".join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


def describe_line(kinds: dict) -> str:
    """The one-line summary of ``describe``: a count per kind and its first few names."""
    parts = [f"{len(kinds['numeric'])} numeric"]
    labels = (
        ("imputed", "median-imputed with a missing indicator"),
        ("bool", "true/false as 1/0"),
        ("one-hot", "one-hot"),
        ("date", "date"),
        ("dropped", "dropped"),
    )
    for kind, label in labels:
        names = kinds.get(kind) or []
        if names:
            parts.append(f"{len(names)} {label}: {_some(names)}")
    cut = any(len(kinds.get(kind) or []) > SHOWN_NAMES for kind, _ in labels)
    every = " (--json lists every column)" if cut else ""
    return (
        "Columns: " + "; ".join(parts) + f"; all features standardised on the training rows"
        f"{every}."
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
