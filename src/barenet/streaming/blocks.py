"""Record batches into training blocks: the chosen rows of an Arrow batch, encoded,
scaled and cast to the model's dtype, written straight into a preallocated buffer.

The features are the table encoder's (``barenet.tables.encoder``, through its Arrow
backend), as ``encode_batch`` (``barenet.streaming.columns``) makes them: followed by
the feature scaler's ``transform`` and a cast to the model's dtype, it gives the same
numbers, bit for bit (tested): the same subtraction and division in float64, then one
rounding. This path only avoids the intermediate tables: it encodes the chosen rows
alone (no Arrow ``filter`` of every column, text included), one feature per contiguous
row of a (features, rows) scratch block, and divides by the scales straight into the
buffer.

``ShuffleBuffer`` is the buffer streamed training fills: ``x`` (capacity, features) and
``y`` (capacity, 1), allocated once per run and refilled from the start after each
training step, so memory stays one buffer whatever the data's size.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import BarenetValueError
from barenet.streaming.columns import class_indices
from barenet.tables.arrow_columns import ArrowColumns, floats
from barenet.tables.encoder import Encoder


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
        self.specs = prep.columns
        self.encoder = Encoder(self.specs)
        self.target = prep.target_name
        self.classes = prep.classes
        self.dtype = np.dtype(dtype)
        self.width = self.encoder.width
        ranges = getattr(prep, "ranges", None) or {"features": [], "low": [], "high": []}
        self.clipped = np.asarray(ranges["features"], dtype=np.intp)
        self.low = np.asarray(ranges["low"], dtype=np.float64)[:, None]
        self.high = np.asarray(ranges["high"], dtype=np.float64)[:, None]
        self.mean = np.asarray(prep.scaler_x.mean_, dtype=np.float64)[:, None]
        self.scale = np.asarray(prep.scaler_x.scale_, dtype=np.float64)
        if self.classes is None:
            self.y_mean = float(prep.scaler_y.mean_[0])
            self.y_scale = float(prep.scaler_y.scale_[0])

    def targets(self, batch, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, y)``: the rows to learn from and their targets as the loss takes
        them (float64): scaled values, or class indices. Rows whose class was not seen
        in training are left out of both."""
        labels = batch.column(self.target)
        if self.classes is not None:
            index = class_indices(labels, self.classes)[rows]
            known = index >= 0
            return rows[known], index[known].astype(np.float64)
        y = floats(labels)[rows]
        y -= self.y_mean
        y /= self.y_scale
        return rows, y

    def features_into(self, batch, rows: np.ndarray, out: np.ndarray) -> None:
        """Write the scaled features of ``batch``'s ``rows`` into ``out``.

        batch : pyarrow RecordBatch or Table with the specifications' columns
        rows : (m,) int, row numbers within ``batch``
        out : (m, width) array of the model's dtype (a slice of a buffer)
        """
        block = np.empty((self.width, len(rows)))  # one feature per row: contiguous writes
        self.encoder.into(ArrowColumns(batch), block, rows)
        if len(
            self.clipped
        ):  # numeric values clipped to the training range, as Preprocessing.clip
            block[self.clipped] = np.clip(block[self.clipped], self.low, self.high)
        block -= self.mean
        np.divide(block.T, self.scale, out=out, casting="same_kind")

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
