"""Record batches into training blocks: the same numbers as encoding, scaling and
casting the filtered rows one step after another."""

import numpy as np
import pyarrow as pa
import pytest
from stream_tables import FEATURES, table, write_parts

from barenet.errors import BarenetValueError
from barenet.streaming.blocks import BlockEncoder, ShuffleBuffer
from barenet.streaming.columns import class_indices, encode_batch, fit_stream
from barenet.streaming.source import TableStream
from barenet.tables.preprocessing import Preprocessing


def _fitted(tmp_path, target="y"):
    frame = table(3000)
    frame["label"] = np.where(frame["y"] > frame["y"].median(), "high", "low")
    frame.loc[:5, "colour"] = "never seen"  # an unseen level: the "other" feature
    stream = TableStream(write_parts(frame, tmp_path / "d"), batch_rows=700)
    fit = fit_stream(stream, target, FEATURES, test_size=0.25)
    names = [s["name"] for s in fit.specs]
    prep = Preprocessing(names, target, fit.scaler_x, fit.scaler_y, fit.classes, {}, fit.specs)
    return stream, prep


def _rows(batch, seed=0):
    return np.flatnonzero(np.random.default_rng(seed).random(batch.num_rows) < 0.7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_features_equal_encode_then_scale_then_cast(tmp_path, dtype):
    stream, prep = _fitted(tmp_path)
    encoder = BlockEncoder(prep, dtype)
    for _, _, _, batch in stream.batches():
        rows = _rows(batch)
        chosen = batch.filter(pa.array(np.isin(np.arange(batch.num_rows), rows)))
        expected = prep.scaler_x.transform(encode_batch(chosen, prep.columns)).astype(dtype)
        out = np.full((len(rows), encoder.width), np.nan, dtype=dtype)
        encoder.features_into(batch, rows, out)
        np.testing.assert_array_equal(out, expected)


def test_regression_targets_equal_the_scaled_targets(tmp_path):
    stream, prep = _fitted(tmp_path)
    encoder = BlockEncoder(prep, np.float32)
    _, _, _, batch = next(stream.batches())
    rows = _rows(batch, 1)
    x, y = encoder.encode(batch, rows)
    truth = batch.column("y").to_numpy(zero_copy_only=False)[rows].reshape(-1, 1)
    np.testing.assert_array_equal(y, prep.scaler_y.transform(truth).astype(np.float32))
    assert x.shape == (len(rows), encoder.width) and y.shape == (len(rows), 1)


def test_rows_of_an_unseen_class_are_left_out(tmp_path):
    stream, prep = _fitted(tmp_path, target="label")
    prep.classes = ["high"]  # as if "low" had never been a class in training
    encoder = BlockEncoder(prep, np.float32)
    _, _, _, batch = next(stream.batches())
    rows = np.arange(batch.num_rows)
    x, y = encoder.encode(batch, rows)
    known = class_indices(batch.column("label"), ["high"]) >= 0
    assert 0 < len(x) == known.sum() < batch.num_rows
    assert y.shape == (len(x),) and np.all(y == 0)


def test_the_buffer_holds_what_was_added_in_order(tmp_path):
    stream, prep = _fitted(tmp_path)
    encoder = BlockEncoder(prep, np.float32)
    buffer = ShuffleBuffer(2000, encoder)
    parts = []
    for _, _, _, batch in list(stream.batches())[:2]:
        rows = _rows(batch, 2)
        assert buffer.add(batch, rows) == len(rows)
        parts.append(encoder.encode(batch, rows))
    x, y = buffer.rows()
    np.testing.assert_array_equal(x, np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(y, np.concatenate([p[1] for p in parts]))
    buffer.clear()
    assert buffer.rows()[0].shape == (0, encoder.width)
    with pytest.raises(BarenetValueError, match="holds 2000 rows"):
        for _, _, _, batch in stream.batches():
            buffer.add(batch, np.arange(batch.num_rows))
