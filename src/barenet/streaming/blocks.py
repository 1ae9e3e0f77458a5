"""Record batches into training blocks: the chosen rows of an Arrow batch, encoded,
scaled and cast to the model's dtype, written straight into a preallocated buffer.

``encode_batch`` (``barenet.streaming.columns``) followed by the feature scaler's
``transform`` and a cast to the model's dtype gives the same numbers, bit for bit
(tested): the same subtraction and division in float64, then one rounding. This path
only avoids the intermediate tables: it encodes the chosen rows alone (no Arrow
``filter`` of every column, text included), one feature per contiguous row of a
(features, rows) scratch block, and divides by the scales straight into the buffer.

``ShuffleBuffer`` is the buffer streamed training fills: ``x`` (capacity, features) and
``y`` (capacity, 1), allocated once per run and refilled from the start after each
training step, so memory stays one buffer whatever the data's size.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import BarenetValueError, DataError
from barenet.streaming.columns import _floats, class_indices
from barenet.tables.columns import MISSING, encoded_names


class BlockEncoder:
    """Encodes chosen rows of record batches for a model's preprocessing.

    Parameters
    ----------
    prep : barenet.tables.preprocessing.Preprocessing
        With ``columns`` (the column specifications), ``scaler_x`` and, for a
        regression, ``scaler_y`` (``StandardScaler``s); or ``classes``.
    dtype : numpy dtype
        The model's dtype, which the blocks are written in.
    """

    def __init__(self, prep, dtype) -> None:
        import pyarrow as pa

        self.specs = prep.columns
        self.target = prep.target_name
        self.classes = prep.classes
        self.dtype = np.dtype(dtype)
        self.width = len(encoded_names(self.specs))
        self.mean = np.asarray(prep.scaler_x.mean_, dtype=np.float64)[:, None]
        self.scale = np.asarray(prep.scaler_x.scale_, dtype=np.float64)
        if self.classes is None:
            self.y_mean = float(prep.scaler_y.mean_[0])
            self.y_scale = float(prep.scaler_y.scale_[0])
        self.levels = {
            spec["name"]: pa.array(spec["levels"], pa.string())
            for spec in self.specs
            if spec["kind"] == "category"
        }

    def targets(self, batch, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, y)``: the rows to learn from and their targets as the loss takes
        them (float64): scaled values, or class indices. Rows whose class was not seen
        in training are left out of both."""
        labels = batch.column(self.target)
        if self.classes is not None:
            index = class_indices(labels, self.classes)[rows]
            known = index >= 0
            return rows[known], index[known].astype(np.float64)
        y = _floats(labels)[rows]
        y -= self.y_mean
        y /= self.y_scale
        return rows, y

    def features_into(self, batch, rows: np.ndarray, out: np.ndarray) -> None:
        """Write the scaled features of ``batch``'s ``rows`` into ``out``.

        batch : pyarrow RecordBatch or Table with the specifications' columns
        rows : (m,) int, row numbers within ``batch``
        out : (m, width) array of the model's dtype (a slice of a buffer)
        """
        m = len(rows)
        block = np.empty((self.width, m))  # one feature per row: contiguous writes
        at = 0
        for spec in self.specs:
            try:
                column = batch.column(spec["name"])
            except KeyError:
                raise DataError(f"the data has no column {spec['name']!r}") from None
            if spec["kind"] == "category":
                at = self._one_hot(spec, column, rows, block, at)
                continue
            values = _floats(column)[rows]
            missing = np.isnan(values)
            if missing.any():
                np.copyto(values, spec["median"], where=missing)
            block[at] = values
            at += 1
            if spec["indicator"]:
                block[at] = missing
                at += 1
        block -= self.mean
        np.divide(block.T, self.scale, out=out, casting="same_kind")

    def _one_hot(self, spec, column, rows, block, at: int) -> int:
        """Fill the category's one-hot rows of ``block`` from ``at``; the next row."""
        import pyarrow as pa
        import pyarrow.compute as pc

        levels = len(spec["levels"])
        width = levels + bool(spec["other"])
        text = column.cast(pa.string()).fill_null(MISSING)
        index = pc.index_in(text, value_set=self.levels[spec["name"]])
        index = index.fill_null(levels if spec["other"] else width)
        index = index.to_numpy(zero_copy_only=False)[rows]
        part = block[at : at + width]
        part[:] = 0.0
        hit = np.flatnonzero(index < width)  # outside: an unseen value with no "other"
        part[index[hit], hit] = 1.0
        return at + width

    def encode(self, batch, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of ``batch``'s ``rows`` in new arrays of the model's dtype; ``y`` is
        (m, 1) for a regression and (m,) class indices for a classification."""
        rows, y = self.targets(batch, rows)
        x = np.empty((len(rows), self.width), dtype=self.dtype)
        self.features_into(batch, rows, x)
        y = y.astype(self.dtype)
        return x, (y if self.classes is not None else y[:, None])


class ShuffleBuffer:
    """``capacity`` rows of features and targets, filled batch by batch.

    Attributes
    ----------
    x : ndarray, shape (capacity, width), the model's dtype
    y : ndarray, shape (capacity, 1), the model's dtype
    held : int
        Rows filled so far; ``rows()`` gives them.
    """

    def __init__(self, capacity: int, encoder: BlockEncoder) -> None:
        self.encoder = encoder
        self.x = np.empty((capacity, encoder.width), dtype=encoder.dtype)
        self.y = np.empty((capacity, 1), dtype=encoder.dtype)
        self.held = 0

    def add(self, batch, rows: np.ndarray) -> int:
        """Append ``batch``'s ``rows`` (those with a known class); how many were added."""
        rows, y = self.encoder.targets(batch, rows)
        end = self.held + len(rows)
        if end > len(self.x):
            raise BarenetValueError(f"the shuffle buffer holds {len(self.x)} rows, not {end}")
        self.y[self.held : end, 0] = y
        self.encoder.features_into(batch, rows, self.x[self.held : end])
        self.held = end
        return len(rows)

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)``: views of the rows held; ``y`` as ``BlockEncoder.encode`` gives it."""
        x, y = self.x[: self.held], self.y[: self.held]
        return x, (y[:, 0] if self.encoder.classes is not None else y)

    def clear(self) -> None:
        self.held = 0
