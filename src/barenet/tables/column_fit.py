"""The column specifications learned from a table's training rows (``fit_columns``,
described in ``barenet.tables.columns``), the check of its numbers, and the summary of
what became of each column (``describe``).

A folder learns the same specifications in one pass (``barenet.streaming.columns``), its
categories by the same rule (``category_spec``, from each value's count of rows), and the
table encoder (``barenet.tables.encoder``) applies them on every route.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import DataError
from barenet.tables.dates import describe_date, find_date, fit_date, mostly_dates
from barenet.tables.encoder import MISSING, canonical_text
from barenet.tables.frame_columns import as_bools, as_numbers, is_missing
from barenet.tables.free_text import text_spec

MIN_CATEGORY_ROWS = 5  # a category with fewer training rows is pooled into "other"
# one-hot levels per text column at most (--max-categories): every level with
# MIN_CATEGORY_ROWS rows up to this many. 20 pooled 26 of 46 cities of a house-price
# table (RMSE $46,011); all 46 gave $15,551
MAX_CATEGORIES = 200
MAX_POOLED_STORED = 5000  # training values pooled into "other", kept to tell from unseen
TEXT_KINDS = ("category", "text")  # the column kinds whose values are read as text
ROW_ID_MIN_ROWS = 20  # fewer integers filling a range may be a quantity, not a row id


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
    if len(values) < ROW_ID_MIN_ROWS or np.isnan(values).any():
        return False
    if not np.all(values == np.round(values)):
        return False
    return len(np.unique(values)) == len(values) == values.max() - values.min() + 1


def row_id_note(name: str) -> str:
    """What the summary says of a column dropped as a row id (``row_id_columns``)."""
    return f"{name} (a row id: consecutive integers)"


def row_id_columns(frame) -> list[str]:
    """The numeric columns that number the rows (see ``_is_row_number``)."""
    return [
        name
        for name in frame.columns
        if frame[name].dtype.kind in "iuf"
        and _is_row_number(frame[name].to_numpy(dtype=np.float64))
    ]


def fit_columns(
    frame, max_categories: int = MAX_CATEGORIES, *, row_ids: bool = True
) -> tuple[list[dict], list[str]]:
    """``(specs, dropped)``: the column specifications learned from ``frame`` (the
    training rows), and a note for each column left out (constant, all missing, or a
    text identifier with one value per row). ``row_ids=False`` keeps a numeric column
    that numbers the rows (the estimators: a subset of the rows, such as a
    cross-validation fold, would not number them, and would keep it)."""
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
            values = as_bools(column, name)
            specs.append(_numeric_spec(name, "bool", values))
        elif column.dtype.kind in "iuf" or _mostly_numbers(column):
            values = as_numbers(column, name)
            if row_ids and _is_row_number(values):
                dropped.append(f"{name} (an identifier: consecutive integers, one per row)")
                continue
            specs.append(_numeric_spec(name, "numeric", values))
        elif (spec := _text_spec(name, column, max_categories)) is not None:
            if spec["kind"] == "text" and (why := mostly_dates(column)):
                dropped.append(f"{name} ({why})")  # dates barenet could not read: say how
            else:
                specs.append(spec)  # free text first: a review may differ in every row
        elif present.is_unique and len(present) == len(column):
            why = mostly_dates(column) or "an identifier: a different value in every row"
            dropped.append(f"{name} ({why})")
        else:
            why = mostly_dates(column) or f"no category has {MIN_CATEGORY_ROWS} rows"
            dropped.append(f"{name} ({why})")
    return specs, dropped


def refit_columns(frame, specs: list[dict], max_categories: int = MAX_CATEGORIES) -> list[dict]:
    """``specs`` learned again from ``frame`` (more rows: every row a saved model learns
    from), each column keeping its kind (and a date column its format and odd values):
    the medians and indicators, the levels, the dates' range and parts."""
    refitted = []
    for spec in specs:
        name, kind, column = spec["name"], spec["kind"], frame[spec["name"]]
        if kind == "date":
            spec = fit_date(name, column, spec["format"], spec.get("blank_values", ()))
        elif kind in ("category", "text"):
            spec = _text_spec(name, column, max_categories, kind=kind) or spec
        else:
            values = as_bools(column, name) if kind == "bool" else as_numbers(column, name)
            spec = _numeric_spec(name, kind, values)
        refitted.append(spec)
    return refitted


def _text_spec(name: str, column, max_categories: int, kind: str | None = None) -> dict | None:
    """A text column's spec: free text (``barenet.tables.free_text``: a feature per
    frequent word) if it is free text or ``kind`` is ``"text"``; else, or with ``kind``
    ``"category"``, its levels with ``MIN_CATEGORY_ROWS`` rows or more (at most
    ``max_categories``), the rest pooled into "other". None for free text with no word,
    or a category that would have fewer than 2 features."""
    levels, counts = np.unique(_strings(column), return_counts=True)
    counted = dict(zip(levels.tolist(), counts.tolist(), strict=True))
    if kind != "category":
        rule = None if kind == "text" else len(column)
        spec = text_spec(name, counted, rule, max_categories, MIN_CATEGORY_ROWS)
        if spec is not None or kind == "text":
            return spec
    return category_spec(name, counted, max_categories)


def category_spec(name: str, counts: dict[str, int], max_categories: int) -> dict | None:
    """The ``"category"`` specification of a text column whose canonical values
    (``barenet.tables.encoder.canonical_text``, ``MISSING`` among them) occur ``counts``
    times (``{value: training rows}``): its levels, the values with ``MIN_CATEGORY_ROWS``
    rows or more, most frequent first (ties in text order), at most ``max_categories``;
    ``other`` if any value is left out (pooled into "other"), and ``pooled``, the values
    left out other than ``MISSING``, in text order (at most ``MAX_POOLED_STORED``). None if
    it would have fewer than 2 features. Every route (a file, a folder) learns its
    categories here."""
    by_text = sorted(((str(v), int(c)) for v, c in counts.items()), key=lambda item: item[0])
    by_rows = sorted(by_text, key=lambda item: -item[1])  # stable: ties stay in text order
    kept = [v for v, c in by_rows if c >= MIN_CATEGORY_ROWS][:max_categories]
    other = len(kept) < len(by_text)
    if len(kept) + other < 2:
        return None
    known = set(kept) | {MISSING}
    pooled = [v for v, _ in by_text if v not in known][:MAX_POOLED_STORED]
    return {"name": name, "kind": "category", "levels": kept, "other": other, "pooled": pooled}


def _numeric_spec(name: str, kind: str, values: np.ndarray) -> dict:
    missing = np.isnan(values)
    return {
        "name": name,
        "kind": kind,
        "median": float(np.median(values[~missing])),
        "indicator": bool(missing.any()),
    }


def describe(specs: list[dict], dropped: list[str]) -> dict:
    """What was done to which columns, for the summary (JSON)."""
    kinds = {
        "numeric": [],
        "imputed": [],
        "bool": [],
        "one-hot": [],
        "free text": [],
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
        elif spec["kind"] == "text":
            blank = " + blank" if spec["missing"] else ""
            count = len(spec["words"])
            found = "1 word" if count == 1 else f"{count} words"
            kinds["free text"].append(f"{spec['name']} ({found}{blank})")
        elif spec["kind"] == "bool":
            kinds["bool"].append(spec["name"])
        else:
            kinds["numeric"].append(spec["name"])
        if spec["kind"] not in ("category", "text") and spec["indicator"]:
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
        ("free text", "free text as word indicators"),
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
