"""The table encoder: the rules that turn a table's columns into features, written once
over canonical NumPy arrays, for every route (a file, a folder's batches, the shuffle
buffer, the estimators).

A *backend* reads a column into its canonical form, and ``Encoder`` applies the column
specifications (``barenet.tables.columns`` describes them) to that form alone:

- a number or true/false column: float64 values (n,), NaN where missing;
- a text column: ``Texts``, its distinct values (str, None for a missing cell) and each
  row's index into them; the rules read every distinct value once, so a column of a
  million rows and five labels costs five look-ups;
- a date column: seconds since 1970-01-01 UTC, float64 (n,), NaN where missing;
- a free-text column: ``Texts`` as for a category, each distinct value's words read
  once (``barenet.tables.free_text``).

The backends are ``barenet.tables.frame_columns.FrameColumns`` (a pandas DataFrame:
files and the estimators) and ``barenet.tables.arrow_columns.ArrowColumns`` (an Arrow
table or record batch: folders). Each has ``rows`` (the row count) and
``numbers(name, kind)``, ``texts(name)``, ``seconds(name, spec)``; a column that cannot
be read so is a ``DataError`` naming it. ONNX export (``barenet.io.onnx.export``) states
the same rules as graph nodes, from the same specifications.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import barenet.tables.free_text as free_text
from barenet.tables.dates import date_features, feature_names

MISSING = "(missing)"


@dataclass
class Texts:
    """A text column as distinct values and codes.

    values : object ndarray (k,)
        The distinct values as read (str, or None for a missing cell).
    codes : int ndarray (n,)
        Each row's index into ``values``.
    """

    values: np.ndarray
    codes: np.ndarray


def canonical_text(value) -> str:
    """A category value as the specifications hold it: the text without surrounding
    spaces (as a CSV reader skips the spaces after a separator); a missing or blank cell
    is ``MISSING``."""
    if value is None:
        return MISSING
    return str(value).strip() or MISSING


def canonical_texts(values) -> list[str]:
    """``canonical_text`` of each of ``values`` (str or None), in one pass."""
    return [(v.strip() or MISSING) if isinstance(v, str) else canonical_text(v) for v in values]


def encoded_names(specs: list[dict]) -> list[str]:
    """The names of the features the specifications make, in order."""
    names = []
    for spec in specs:
        name = spec["name"]
        if spec["kind"] == "category":
            names += [f"{name}={level}" for level in spec["levels"]]
            names += [f"{name}=(other)"] if spec["other"] else []
        elif spec["kind"] == "date":
            names += feature_names(spec)
        elif spec["kind"] == "text":
            names += free_text.feature_names(spec)
        else:
            names += [name, f"{name}_missing"] if spec["indicator"] else [name]
    return names


def width_of(spec: dict) -> int:
    """How many features one column's specification makes."""
    return len(encoded_names([spec]))


def category_positions(texts: Texts, spec: dict) -> np.ndarray:
    """The feature of each distinct value (k,): its level's position, ``len(levels)``
    for "other" (a pooled or unseen value, when the spec has "other"), or the column's
    width (no feature: an unseen value without "other")."""
    levels = spec["levels"]
    lookup = {level: i for i, level in enumerate(levels)}
    fallback = len(levels) if spec["other"] else len(levels) + 1
    return np.array(
        [lookup.get(v, fallback) for v in canonical_texts(texts.values)], dtype=np.intp
    ).reshape(-1)


EXAMPLES_KEPT = 3  # unseen values a tally keeps per column, for the notice


def add_tally(total: dict, part: dict) -> dict:
    """Add the tally ``part`` of some rows (``Encoder.encode``, ``Preprocessing.clip``)
    into ``total``, the tally of the rows before them, and return ``total``: counts are
    summed, flags kept if any part has them, and the first ``EXAMPLES_KEPT`` distinct
    examples kept, so that a table read in batches gets the notice of the whole table
    in memory that does not grow with its rows."""
    for name, counts in part.items():
        summed = total.setdefault(name, {})
        for key, value in counts.items():
            if key == "examples":
                kept = dict.fromkeys([*summed.get(key, []), *value])
                summed[key] = list(kept)[:EXAMPLES_KEPT]
            elif isinstance(value, bool):
                summed[key] = summed.get(key, False) or value
            else:
                summed[key] = summed.get(key, 0) + value
    return total


def category_tally(texts: Texts, spec: dict, codes: np.ndarray, counts: dict) -> None:
    """Fill ``counts`` for a category column: blank cells (``imputed``), values that are
    none of its levels nor pooled in training (``unseen``) and a few of them."""
    canonical = np.array(canonical_texts(texts.values), dtype=object)
    blank = canonical == MISSING
    known = np.isin(canonical, np.asarray(spec["levels"], dtype=object))
    unseen = ~known & ~blank
    if "pooled" in spec:  # values pooled in training were seen: not unseen
        unseen &= ~np.isin(canonical, np.asarray(spec["pooled"], dtype=object))
        counts["seen_pooled"] = True
    counts["imputed"] = int(blank[codes].sum())
    rows = unseen[codes]
    counts["unseen"] = int(rows.sum())
    distinct, first = np.unique(codes[rows], return_index=True)  # in row order:
    shown = canonical[distinct[np.argsort(first)]].tolist()
    counts["examples"] = list(dict.fromkeys(shown))[:EXAMPLES_KEPT]  # " a" and "a" are one value


class Encoder:
    """The features of the column specifications ``specs``, from any backend.

    Attributes
    ----------
    specs : list of dict
    names : list of str, the features' names (``encoded_names``)
    width : int, how many features
    """

    def __init__(self, specs: list[dict]) -> None:
        self.specs = specs
        self.names = encoded_names(specs)
        self.width = len(self.names)
        self.widths = [width_of(spec) for spec in specs]

    def encode(self, columns, tally: dict | None = None) -> np.ndarray:
        """The features (n, width) of every row of ``columns`` (a backend), float64.
        ``tally`` (a dict) receives per column what ``barenet.tables.columns.encode``
        says it does."""
        block = np.empty((self.width, columns.rows))
        self.into(columns, block, tally=tally)
        return np.ascontiguousarray(block.T)

    def into(self, columns, block: np.ndarray, rows=None, tally: dict | None = None) -> None:
        """Write the features of ``columns``' ``rows`` (default: all) into ``block``
        (width, m), one feature per row of the block (contiguous writes)."""
        at = 0
        for spec, width in zip(self.specs, self.widths, strict=True):
            counts = None
            if tally is not None:
                counts = tally[spec["name"]] = {
                    "imputed": 0,
                    "unseen": 0,
                    "examples": [],
                    "clipped": 0,
                }
            part = block[at : at + width]
            if spec["kind"] == "category":
                _category_into(columns.texts(spec["name"]), spec, rows, part, counts)
            elif spec["kind"] == "text":
                _text_into(columns.texts(spec["name"]), spec, rows, part, counts)
            elif spec["kind"] == "date":
                _date_into(columns.seconds(spec["name"], spec), spec, rows, part, counts)
            else:
                values = columns.numbers(spec["name"], spec["kind"])
                _numbers_into(values if rows is None else values[rows], spec, part, counts)
            at += width


def _category_into(texts: Texts, spec: dict, rows, part: np.ndarray, counts) -> None:
    """One 0/1 feature per level (and "other") into ``part`` (width, m)."""
    codes = texts.codes if rows is None else texts.codes[rows]
    if counts is not None:
        category_tally(texts, spec, codes, counts)
    index = category_positions(texts, spec)[codes]
    part[:] = 0.0
    hit = np.flatnonzero(index < len(part))  # outside: an unseen value with no "other"
    part[index[hit], hit] = 1.0


def _text_into(texts: Texts, spec: dict, rows, part: np.ndarray, counts) -> None:
    """One 0/1 feature per word of a free-text column (and "was blank") into ``part``
    (width, m); each distinct value's words are found once."""
    codes = texts.codes if rows is None else texts.codes[rows]
    canonical = canonical_texts(texts.values)
    features, known = free_text.word_rows(canonical, spec)
    part[:] = features[codes].T
    if counts is not None:
        canonical = np.array(canonical, dtype=object)
        counts["imputed"] = int((canonical == MISSING)[codes].sum())
        rows_unknown = ~known[codes]
        counts["unseen"], counts["no_words"] = int(rows_unknown.sum()), True
        distinct, first = np.unique(codes[rows_unknown], return_index=True)
        shown = canonical[distinct[np.argsort(first)]].tolist()
        counts["examples"] = list(dict.fromkeys(shown))[:EXAMPLES_KEPT]


def _numbers_into(values: np.ndarray, spec: dict, part: np.ndarray, counts) -> None:
    """The value, the training median where missing, and the "was missing" flag when
    the spec has an indicator."""
    missing = np.isnan(values)
    if counts is not None:
        counts["imputed"] = int(missing.sum())
    part[0] = values
    if missing.any():
        np.copyto(part[0], spec["median"], where=missing)
    if spec["indicator"]:
        part[1] = missing


def _date_into(seconds: np.ndarray, spec: dict, rows, part: np.ndarray, counts) -> None:
    """The calendar features of ``barenet.tables.dates.date_features`` into ``part``."""
    values = date_features(seconds if rows is None else seconds[rows], spec, counts)
    for i, value in enumerate(values):
        part[i] = value
