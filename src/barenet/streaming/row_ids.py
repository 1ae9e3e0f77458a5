"""The row ids of a streamed table: the numeric columns that number the rows, found in
the one pass (``barenet.streaming.columns.fit_stream``) by the rule a file's are
(``barenet.tables.column_fit.row_id_columns``): at least ``ROW_ID_MIN_ROWS`` integers,
all different, filling a range (1, 2, ... n in any order), over every row read (of
every split, and those whose target is blank: left-out rows would leave gaps).

A pass keeps per column only the count, the lowest and highest value and the sum of a
64-bit hash of the values (modulo 2**64): n integers within a range of n values are
all different exactly when no value repeats, which the hash sum tells from the sum over
the range (a duplicate passes with a chance of about 2**-64). A column is given up as
soon as a value is not an integer, is missing, or it holds more rows than its range.
"""

from __future__ import annotations

import numpy as np

from barenet.tables.arrow_columns import floats
from barenet.tables.columns import ROW_ID_MIN_ROWS

EXACT = 2.0**53  # integers beyond are not all exact in float64
CHUNK = 1 << 20  # values hashed at a time over the range


def _hash_sum(values: np.ndarray) -> int:
    """The sum (modulo 2**64) of a 64-bit hash of each of ``values`` (int64)."""
    import pandas as pd

    hashed = pd.util.hash_array(values, categorize=False)
    return int(hashed.sum(dtype=np.uint64))


class RowIds:
    """Which of ``names`` (numeric columns) number the rows of the batches ``add``ed.

    Parameters
    ----------
    names : list of str
        The numeric feature columns.
    """

    def __init__(self, names) -> None:
        self.seen = {name: [0, np.inf, -np.inf, 0] for name in names}  # rows low high hash

    def add(self, batch) -> None:
        """Count the values of ``batch`` (every row of it, whichever its split)."""
        for name in list(self.seen):
            values = floats(batch.column(name))
            if not len(values):
                continue
            state = self.seen[name]
            with np.errstate(invalid="ignore"):
                exact = np.abs(values) < EXACT
            if not exact.all() or not np.all(values == np.round(values)):
                del self.seen[name]  # a decimal, a missing value or one too large
                continue
            state[1] = min(state[1], float(values.min()))
            state[2] = max(state[2], float(values.max()))
            state[0] += len(values)
            if state[0] > state[2] - state[1] + 1:  # more rows than values in the range
                del self.seen[name]
                continue
            state[3] = (state[3] + _hash_sum(values.astype(np.int64))) % 2**64

    def columns(self) -> list[str]:
        """The columns that number the rows: each value of a range once."""
        found = []
        for name, (rows, low, high, total) in self.seen.items():
            if rows < ROW_ID_MIN_ROWS or high - low + 1 != rows:
                continue
            expected = 0
            for start in range(int(low), int(high) + 1, CHUNK):
                chunk = np.arange(start, min(start + CHUNK, int(high) + 1), dtype=np.int64)
                expected = (expected + _hash_sum(chunk)) % 2**64
            if expected == total:
                found.append(name)
        return found
