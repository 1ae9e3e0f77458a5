"""``barenet.streaming.row_ids``: a folder's row ids by a file's rule
(``barenet.tables.column_fit.row_id_columns``), counted batch by batch."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from barenet.streaming.row_ids import RowIds
from barenet.tables.columns import row_id_columns


def found(values, parts=3):
    ids = RowIds(["x"])
    for part in np.array_split(np.asarray(values, dtype=np.float64), parts):
        ids.add(pa.RecordBatch.from_pydict({"x": pa.array(part)}))
    return ids.columns()


SAME_SUM = [v for v in range(1, 21) if v not in (5, 6)] + [4, 7]  # sum, count, range of 1..20


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).permutation(50) + 7,  # a row id, in any order
        range(1, 20),  # 19 rows: too few to tell from a quantity
        SAME_SUM,  # two values repeated: the same count, range and sum as 1..20
        [*range(1, 30), 30.5],  # a decimal
        [*range(1, 30), np.nan],  # a missing value
        [*range(1, 30), 31],  # a gap
        [2**60 + i for i in range(30)],  # beyond float64's exact integers
    ],
    ids=["row-id", "too-few", "same-sum", "decimal", "missing", "gap", "huge"],
)
def test_a_folders_row_ids_are_a_files(values):
    frame = pd.DataFrame({"x": np.asarray(values, dtype=np.float64)})
    assert found(values) == row_id_columns(frame)
    assert found(values, parts=1) == row_id_columns(frame)


def test_an_empty_batch_changes_nothing():
    ids = RowIds(["x"])
    ids.add(pa.RecordBatch.from_pydict({"x": pa.array([], pa.float64())}))
    ids.add(pa.RecordBatch.from_pydict({"x": pa.array(np.arange(25.0))}))
    assert ids.columns() == ["x"]
