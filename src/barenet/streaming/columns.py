"""The column preprocessing of a streamed table, learned in one pass over its training
rows, and applied batch by batch through the table encoder's Arrow backend.

``fit_stream`` reads every batch once and keeps, for the training rows only:

- per numeric, true/false or date column: the count, mean and spread of its values
  (merged batch by batch, exactly), its missing count, and its range;
- per text column: the exact count of every value (up to ``MAX_LEVELS_COUNTED``
  different values; a column with more is dropped as an identifier or free text,
  unless it holds dates), from which its levels, or a free-text column's words
  (``barenet.tables.free_text``), are learned;
- a uniform random sample of ``SAMPLE_ROWS`` training rows (each row gets a random
  priority; the sample keeps the lowest), from which the medians are taken and on which
  the network's own scaling and bins are fitted;
- a uniform sample of ``HELD_OUT_SAMPLE_ROWS`` held-out rows, whose loss is shown after
  each epoch.

The column specifications are those ``barenet.tables.columns.fit_columns`` makes of a
file (the same kinds, the same keys), and the feature scaling is a ``StandardScaler``
whose means and scales come from the exact counts and moments: a model trained on a
stream is saved, loaded, used by ``predict`` and exported to ONNX as any other.

A date column is a timestamp or date column of the files, or a text column whose
sampled values are dates of one format (``barenet.tables.dates.find_date``, as for a
file). Its specification is fitted on the sample by ``barenet.tables.dates.fit_date``,
then given the exact earliest and latest training dates of the pass; the means and
spreads of its features are those of the sample (exact when the training rows fit in
it: up to ``SAMPLE_ROWS``).

``encode_batch`` is the table encoder (``barenet.tables.encoder``) over Arrow batches:
the same features as ``barenet.tables.columns.encode`` of the same rows (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from barenet.errors import DataError
from barenet.streaming.row_ids import RowIds
from barenet.tables.arrow_columns import ArrowColumns, canonical_list, timestamp_seconds
from barenet.tables.arrow_columns import floats as _floats
from barenet.tables.column_fit import category_spec
from barenet.tables.columns import (
    MAX_CATEGORIES,
    MIN_CATEGORY_ROWS,
    blank_targets_notice,
    choose_task,
    labels_of,
    row_id_note,
)
from barenet.tables.date_text import DATETIME, ODD_VALUES_AT_MOST, candidates, maybe_date
from barenet.tables.dates import find_date, fit_date, mostly_dates, with_range
from barenet.tables.encoder import Encoder
from barenet.tables.free_text import text_spec, word_rows
from barenet.tables.preprocessing import ranges_from_bounds

SAMPLE_ROWS = 100_000
HELD_OUT_SAMPLE_ROWS = 20_000
MAX_LEVELS_COUNTED = 100_000
DATE_LOOK = 1000  # distinct values of a text column looked at before searching for dates


class Moments:
    """Count, mean and sum of squared deviations of values seen in parts (Chan et al.)."""

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, values: np.ndarray) -> None:
        n = len(values)
        if n == 0:
            return
        mean = float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    def with_copies(self, value: float, copies: int) -> tuple[float, float]:
        """``(mean, variance)`` of the values seen plus ``copies`` times ``value``."""
        extra = Moments()
        extra.count, extra.mean = copies, value
        merged = Moments()
        for part in (self, extra):
            if part.count:
                total = merged.count + part.count
                delta = part.mean - merged.mean
                merged.mean += delta * part.count / total
                merged.m2 += part.m2 + delta * delta * merged.count * part.count / total
                merged.count = total
        return merged.mean, merged.m2 / max(merged.count, 1)


class LowestPriority:
    """A uniform sample of at most ``size`` rows: the rows with the lowest random
    priorities seen so far (a reservoir sample, kept as an Arrow table)."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.rng = size, rng
        self.table, self.priority = None, np.empty(0)

    def add(self, table) -> None:
        import pyarrow as pa

        if table.num_rows == 0:
            return
        priority = self.rng.random(table.num_rows)
        if self.table is not None and len(self.priority) >= self.size:
            keep = priority < self.priority.max()
            if not keep.any():
                return
            table, priority = table.filter(pa.array(keep)), priority[keep]
        if self.table is None:
            merged, merged_priority = table, priority
        else:
            merged = pa.concat_tables([self.table, table])
            merged_priority = np.concatenate([self.priority, priority])
        if len(merged_priority) > self.size:
            chosen = np.sort(np.argpartition(merged_priority, self.size)[: self.size])
            merged, merged_priority = merged.take(pa.array(chosen)), merged_priority[chosen]
        self.table, self.priority = merged.combine_chunks(), merged_priority


@dataclass
class ColumnCounts:
    """What one pass keeps of a column's training values."""

    kind: str  # number, bool, date (seconds since 1970) or text
    rows: int = 0
    missing: int = 0
    moments: Moments = field(default_factory=Moments)
    low: float = np.inf
    high: float = -np.inf
    counts: dict | None = None
    too_many: bool = False
    count_values: bool = False  # count the values of a number or true/false column too

    def add(self, array) -> None:
        self.rows += len(array)
        if self.count_values and self.kind != "text":
            self._count(array.drop_null())
        if self.kind == "text":
            self._count(array, canonical=True)
            self.missing += array.null_count
            return
        values = timestamp_seconds(array) if self.kind == "date" else _floats(array)
        present = values[~np.isnan(values)]
        self.missing += len(values) - len(present)
        self.moments.add(present)
        if len(present):
            self.low, self.high = min(self.low, present.min()), max(self.high, present.max())

    def _count(self, array, canonical: bool = False) -> None:
        """Add the counts of ``array``'s values; for text, of their canonical form
        (``barenet.tables.encoder.canonical_text``: stripped, blank as ``MISSING``)."""
        if self.too_many:
            return
        self.counts = self.counts if self.counts is not None else {}
        counted = array.value_counts()
        values = counted.field("values")
        values = canonical_list(values) if canonical else values.to_pylist()
        for value, count in zip(values, counted.field("counts").to_pylist(), strict=True):
            self.counts[value] = self.counts.get(value, 0) + count
        if len(self.counts) > MAX_LEVELS_COUNTED:
            self.too_many, self.counts = True, None


def column_spec(name: str, counts: ColumnCounts, sample, max_categories: int):
    """``(spec, None)`` or ``(None, why dropped)`` for one column, as ``fit_columns``."""
    present = counts.rows - counts.missing
    if present == 0:
        return None, f"{name} (all missing)"
    if counts.kind == "text":
        return _text_spec(name, counts, sample, max_categories)
    if counts.low == counts.high and counts.missing == 0:
        return None, f"{name} (constant)"
    if counts.kind == "date":  # on the sample, with the range and blanks of every row
        spec = fit_date(name, sample.column(name).to_pandas(), DATETIME)
        spec = {**spec, "indicator": spec["indicator"] or counts.missing > 0}
        return with_range(spec, counts.low, counts.high), None
    values = _floats(sample.column(name))
    values = values[~np.isnan(values)]
    median = float(np.median(values)) if len(values) else float(counts.moments.mean)
    spec = {
        "name": name,
        "kind": "bool" if counts.kind == "bool" else "numeric",
        "median": median,
        "indicator": counts.missing > 0,
    }
    return spec, None


def _text_spec(name: str, counts: ColumnCounts, sample, max_categories: int):
    """``column_spec`` of a text column: dates (found in the sample) or categories."""
    levels = counts.counts
    if levels is not None and counts.missing == 0 and len(levels) == 1:
        return None, f"{name} (constant)"
    dates = _dates_possible(sample.column(name))
    texts = sample.column(name).to_pandas() if dates else None
    if dates == "all" and (found := find_date(texts)) is not None:
        spec = fit_date(name, texts, *found)  # on the sample, with the blanks of every row
        return {**spec, "indicator": spec["indicator"] or counts.missing > 0}, None

    def why(default: str) -> str:  # only for a column dropped: the search takes time
        return f"{name} ({(dates and mostly_dates(texts)) or default})"

    if counts.too_many:
        return None, f"{name} (more than {MAX_LEVELS_COUNTED} different values)"
    unique = counts.missing == 0 and len(levels) == counts.rows
    spec = text_spec(name, levels, counts.rows, max_categories, MIN_CATEGORY_ROWS)
    if spec is not None and dates and (unread := mostly_dates(texts)):
        return None, f"{name} ({unread})"  # dates barenet could not read: say how
    if spec is not None:
        return spec, None  # free text (a feature per frequent word), even if every row differs
    if unique:
        return None, why("an identifier: a different value in every row")
    spec = category_spec(name, levels, max_categories)
    if spec is None:
        return None, why(f"no category has {MIN_CATEGORY_ROWS} rows")
    return spec, None


def _dates_possible(array) -> str:
    """A quick look at the first ``DATE_LOOK`` distinct values of a text column, so that
    the full search (``find_date``, ``mostly_dates``: a second or so on a sample of
    text) runs only where it may succeed: ``""`` if no date format fits the first values
    that may be dates (so neither can succeed), ``"mostly"`` if more than a few of the
    values are no dates (``find_date`` cannot succeed), else ``"all"``."""
    head = array.slice(0, 50 * DATE_LOOK)  # its first distinct values are the column's
    distinct = head.drop_null().unique()[:DATE_LOOK].to_pandas().astype(object).str.strip()
    maybe = maybe_date(distinct)
    if maybe.sum() == 0 or (maybe.sum() >= 3 and not candidates(distinct[maybe])):
        return ""
    return "mostly" if (~maybe).sum() > ODD_VALUES_AT_MOST else "all"


def feature_moments(spec: dict, counts: ColumnCounts, sample=None) -> list[tuple[float, float]]:
    """``(mean, variance)`` of each feature ``encode`` makes of the column, over the
    training rows: from the counts alone, or for a date column from its features on
    ``sample`` (an Arrow table of training rows)."""
    n = counts.rows
    if spec["kind"] == "date":
        x = Encoder([spec]).encode(ArrowColumns(sample))
        return list(zip(x.mean(axis=0).tolist(), x.var(axis=0).tolist(), strict=True))
    if spec["kind"] == "text":  # each feature's share of rows, from the values' counts
        values = list(counts.counts)
        features, _ = word_rows(values, spec)
        shares = np.array([counts.counts[v] for v in values], dtype=np.float64) @ features / n
        return [(p, p * (1 - p)) for p in shares.tolist()]
    if spec["kind"] == "category":
        shares = [counts.counts.get(level, 0) / n for level in spec["levels"]]
        if spec["other"]:
            shares.append(max(0.0, 1.0 - sum(shares)))
        return [(p, p * (1 - p)) for p in shares]
    out = [counts.moments.with_copies(spec["median"], counts.missing)]
    if spec["indicator"]:
        p = counts.missing / n
        out.append((p, p * (1 - p)))
    return out


def scaler_of(moments: list[tuple[float, float]]):
    """A fitted ``StandardScaler`` with these (mean, variance) pairs."""
    from sklearn.preprocessing import StandardScaler

    mean = np.array([m for m, _ in moments], dtype=np.float64)
    var = np.maximum(np.array([v for _, v in moments], dtype=np.float64), 0.0)
    scaler = StandardScaler()
    scaler.mean_, scaler.var_ = mean, var
    scale = np.sqrt(var)
    scaler.scale_ = np.where(
        scale < 10 * np.finfo(np.float64).eps * np.maximum(1, abs(mean)), 1.0, scale
    )
    scaler.n_features_in_ = len(mean)
    scaler.n_samples_seen_ = 1
    return scaler


def encode_batch(batch, specs: list[dict], tally: dict | None = None) -> np.ndarray:
    """The features (n, len(encoded_names(specs))) of an Arrow batch or table, float64:
    the table encoder (``barenet.tables.encoder``) through its Arrow backend, the same
    numbers as ``barenet.tables.columns.encode`` of the same rows. ``tally`` (a dict)
    receives this batch's counts, as of ``encode`` (``tables.encoder.add_tally`` sums
    them over batches)."""
    return Encoder(specs).encode(ArrowColumns(batch), tally)


def decide_task(target: str, kind: str, sample, task):
    """``(task, why)`` for the target, from its values in the training sample."""
    series = sample.column(target).to_pandas()
    if kind == "number":
        series = series.astype(np.float64)
    return choose_task(series, target, task)


def class_labels(counts: ColumnCounts) -> list:
    """The training rows' class labels, sorted as ``np.unique`` sorts them."""
    if counts.too_many or counts.counts is None:
        raise DataError(
            f"the target has more than {MAX_LEVELS_COUNTED} different values: not classes "
            "(use --task regression)"
        )
    labels = np.unique(
        labels_of(
            np.array(list(counts.counts), dtype=object)
            if counts.kind == "text"
            else np.array(list(counts.counts))
        )
    )
    return [v.item() if hasattr(v, "item") else v for v in labels]


def class_indices(array, classes: list) -> np.ndarray:
    """The index in ``classes`` of each label of an Arrow array; -1 for a label that was
    not a class in training."""
    import pandas as pd

    values = array.to_pandas()
    if array.type.num_fields == 0 and str(array.type) == "double":
        values = values.astype(np.float64)
    return pd.Index(classes).get_indexer(values.to_numpy())


@dataclass
class StreamFit:
    """What ``fit_stream`` learned: the ``Preprocessing`` parts and the row counts."""

    specs: list
    dropped: list
    task: str
    task_reason: str
    classes: list | None
    scaler_x: object
    scaler_y: object
    sample: object  # pyarrow.Table: SAMPLE_ROWS training rows
    held_out: object  # pyarrow.Table: HELD_OUT_SAMPLE_ROWS validation (or test) rows
    rows: dict  # rows per split: {"train", "validation", "test"}
    ranges: dict | None = None  # Preprocessing.ranges: numeric columns' training range
    notices: list = field(default_factory=list)  # as a file's report: rows left out


KINDS = {"number": "number", "bool": "bool", "date": "date"}  # any other: text


class _Pass:
    """One pass over a stream's batches, keeping what ``fit_stream`` learns from."""

    def __init__(self, stream, target: str, features: list[str], seed: int) -> None:
        self.stream, self.target, self.features = stream, target, features
        self.kinds = {f.name: KINDS.get(_kind_of(f), "text") for f in stream.schema}
        self.columns = {name: ColumnCounts(self.kinds[name]) for name in features}
        self.target_counts = ColumnCounts(self.kinds[target], count_values=True)
        rng = np.random.default_rng(seed)
        self.sample = LowestPriority(SAMPLE_ROWS, rng)
        self.held_out = LowestPriority(HELD_OUT_SAMPLE_ROWS, rng)
        self.rows = np.zeros(4, dtype=np.int64)  # training, validation, test, blank target
        self.key_values: set = set()  # hashes of --split-key's values, a few counted
        self.row_ids = RowIds([name for name in features if self.kinds[name] == "number"])

    def read(self, test_size: float, validation_size: float, split_key) -> None:
        """Count every batch's training rows; sample them and the held-out rows."""
        import pyarrow as pa

        from barenet.streaming.source import (
            KEY_VALUES_COUNTED,
            check_key_splits,
            row_hash,
            split_of,
        )

        watched = 1 if validation_size > 0 else 2
        kept = self.features + [self.target]
        wanted = list(dict.fromkeys(kept + ([split_key] if split_key else [])))
        for _, file_index, first_row, batch in self.stream.batches(wanted):
            u = row_hash(self.stream, file_index, first_row, batch, split_key)
            split = split_of(u, test_size, validation_size)
            self.rows += np.bincount(split, minlength=4)
            self.row_ids.add(batch)  # every row read, as a file's row ids
            if split_key and len(self.key_values) <= KEY_VALUES_COUNTED:
                self.key_values.update(np.unique(u[split < 3]).tolist())
            train = batch.filter(pa.array(split == 0))
            for name, counts in self.columns.items():
                counts.add(train.column(name))
            self.target_counts.add(train.column(self.target))
            self.sample.add(pa.Table.from_batches([train.select(kept)]))
            held = batch.filter(pa.array(split == watched)).select(kept)
            self.held_out.add(pa.Table.from_batches([held]))
        if split_key:
            check_key_splits(
                split_key, self.rows[:3], len(self.key_values), test_size, validation_size
            )
        if self.rows[0] == 0:
            raise DataError(
                f"{self.stream.path}: no training rows (the data is empty or all held out)"
            )

    def specs(self, max_categories: int) -> tuple[list, list]:
        """``(specs, dropped)`` of the feature columns, as ``fit_columns`` after a file's
        row ids are dropped (``barenet.cli.data_args.split_table``)."""
        row_ids = self.row_ids.columns()
        specs, dropped = [], [row_id_note(name) for name in row_ids]
        for name, counts in self.columns.items():
            if name in row_ids:
                continue
            spec, why = column_spec(name, counts, self.sample.table, max_categories)
            (specs.append(spec) if spec else dropped.append(why))
        if not specs:
            raise DataError(f"{self.stream.path}: no usable feature column ({', '.join(dropped)})")
        return specs, dropped

    def target_scaling(self, task: str) -> tuple[list | None, object]:
        """``(classes, scaler_y)``: the class labels, or the target's scaler."""
        if task == "classification":
            return class_labels(self.target_counts), None
        if self.kinds[self.target] != "number":
            raise DataError(f"--task regression needs a numeric target; {self.target!r} is text")
        t = self.target_counts.moments
        return None, scaler_of([(t.mean, t.m2 / t.count)])


def fit_stream(
    stream,
    target: str,
    features: list[str],
    *,
    task=None,
    test_size=0.2,
    validation_size=0.0,
    split_key=None,
    max_categories=MAX_CATEGORIES,
    seed=0,
) -> StreamFit:
    """Learn the column preprocessing, the task and the scalings in one pass over
    ``stream`` (a ``barenet.streaming.source.TableStream``), from its training rows only."""
    stream.target = target  # its blank rows are in no split, on every pass from now
    seen = _Pass(stream, target, features, seed)
    seen.read(test_size, validation_size, split_key)
    specs, dropped = seen.specs(max_categories)
    sample = seen.sample.table
    task, why = decide_task(target, seen.kinds[target], sample, task)
    classes, scaler_y = seen.target_scaling(task)
    moments = [
        m for spec in specs for m in feature_moments(spec, seen.columns[spec["name"]], sample)
    ]
    rows = dict(zip(("train", "validation", "test"), seen.rows[:3].tolist(), strict=True))
    blank = int(seen.rows[3])
    notices = stream.bad_rows.notices()  # rows of the wrong width left out (--bad-rows skip)
    notices += [blank_targets_notice(blank, target)] if blank else []
    bounds = {name: (c.low, c.high) for name, c in seen.columns.items()}
    return StreamFit(
        specs, dropped, task, why, classes, scaler_of(moments), scaler_y, sample,
        seen.held_out.table, rows, ranges_from_bounds(specs, bounds), notices,
    )  # fmt: skip


def _kind_of(field) -> str:
    from barenet.streaming.source import _kind

    return _kind(field.type)
