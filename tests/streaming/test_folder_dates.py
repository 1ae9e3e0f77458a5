"""The same rows as one file and as a folder of parts, dates included: the folder's
one-pass fit (barenet.streaming.columns.fit_stream) learns the specifications the file's
fit learns, and both routes encode the rows into the same matrix, bit for bit, through
the one table encoder (barenet.tables.encoder)."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from stream_tables import write_parts

import barenet
from barenet.cli import main
from barenet.streaming.blocks import BlockEncoder
from barenet.streaming.columns import encode_batch, fit_stream
from barenet.streaming.source import TableStream
from barenet.tables.columns import encode, fit_columns, read_table
from barenet.tables.preprocessing import Preprocessing

FEATURES = ["when", "stamp", "x", "colour", "flag"]


def dated(n=900, seed=0):
    """Dates as ISO text (``when``, some blank), times of day (``stamp``), numbers with
    blanks, text with spaces around it and blanks, true/false with blanks."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    stamps = days + pd.to_timedelta(rng.integers(0, 86400, n), unit="s")
    frame = pd.DataFrame(
        {
            "when": days.strftime("%Y-%m-%d"),
            "stamp": stamps.strftime("%Y-%m-%d %H:%M:%S"),
            "x": rng.normal(size=n).round(3),
            "colour": rng.choice(
                ["red", "red ", "blue", "green", "odd"], n, p=[0.4, 0.1, 0.3, 0.19, 0.01]
            ),
            "flag": rng.random(n) < 0.4,
        }
    )
    frame["y"] = frame["x"] + days.month.to_numpy() / 6 + (frame["colour"] == "blue")
    frame.loc[rng.random(n) < 0.05, "when"] = None
    frame.loc[7, "when"] = "?"  # an odd value of a date column: read as a blank cell
    frame.loc[rng.random(n) < 0.05, "x"] = np.nan
    frame.loc[rng.random(n) < 0.05, "colour"] = None
    frame["flag"] = frame["flag"].astype(object)
    frame.loc[rng.random(n) < 0.05, "flag"] = None
    return frame


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """The rows as ``t.csv``, as a folder of CSV parts, and (``when`` and ``stamp`` as
    timestamps) as a folder of Parquet parts."""
    root = tmp_path_factory.mktemp("dated")
    frame = dated()
    frame.to_csv(root / "t.csv", index=False)
    write_parts(frame, root / "csv", kind="csv")
    when = pd.to_datetime(frame["when"], errors="coerce")  # "?": missing
    stamp = pd.to_datetime(frame["stamp"])
    stamped = frame.assign(when=when, stamp=stamp)
    write_parts(stamped, root / "parquet", kind="parquet")
    return root


def folder_fit(folder):
    stream = TableStream(folder, batch_rows=256)
    return stream, fit_stream(stream, "y", FEATURES, test_size=0.0)


def without_format(specs):
    """The specifications, how a date was written aside (its ``format`` and odd values):
    Parquet holds timestamps (``datetime``), a CSV file text (``ISO8601``, here with a
    ``?`` read as blank); both formats read either."""
    text = ("format", "blank_values")
    return [{k: v for k, v in spec.items() if k not in text} for spec in specs]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_folder_learns_the_specs_a_file_learns_and_encodes_the_same_matrix(places, kind):
    frame = read_table(places / "t.csv")
    file_specs, file_dropped = fit_columns(frame[FEATURES])
    stream, fit = folder_fit(places / kind)
    assert [s["kind"] for s in fit.specs] == ["date", "date", "numeric", "category", "bool"]
    assert without_format(fit.specs) == without_format(file_specs)
    if kind == "csv":  # a CSV folder's dates are text, read as a file's: the same format
        assert fit.specs == file_specs and file_specs[0]["blank_values"] == ["?"]
    assert fit.dropped == file_dropped == []
    assert fit.rows["train"] == len(frame)  # every row is a training row: the same rows
    table = pa.concat_tables(pa.Table.from_batches([b]) for *_, b in stream.batches())
    expected = encode(frame, file_specs)
    np.testing.assert_array_equal(encode_batch(table, fit.specs), expected)
    np.testing.assert_array_equal(encode_batch(table, file_specs), expected)
    # the feature scaling: exact moments of the same features (dates: of the sample, which
    # holds every training row here)
    np.testing.assert_allclose(fit.scaler_x.mean_, expected.mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.scaler_x.var_, expected.var(axis=0), rtol=1e-9, atol=1e-12)


def test_the_shuffle_buffers_rows_are_the_files_rows_scaled(places):
    frame = read_table(places / "t.csv")
    stream, fit = folder_fit(places / "parquet")
    names = [s["name"] for s in fit.specs]
    prep = Preprocessing(names, "y", fit.scaler_x, fit.scaler_y, None, {}, fit.specs)
    encoder = BlockEncoder(prep, np.float64)
    blocks, start = [], 0
    for *_, batch in stream.batches():
        rows = np.arange(0, batch.num_rows, 3)
        out = np.empty((len(rows), encoder.width))
        encoder.features_into(batch, rows, out)
        blocks.append((start + rows, out))
        start += batch.num_rows
    chosen = np.concatenate([rows for rows, _ in blocks])
    expected = fit.scaler_x.transform(encode(frame.iloc[chosen], fit.specs))
    np.testing.assert_array_equal(np.concatenate([out for _, out in blocks]), expected)


def test_train_on_a_folder_with_dates_then_predict_a_file(places, capsys, tmp_path):
    code = main(
        ["train", "--data", str(places / "csv"), "--target", "y", "--epochs", "2", "--plot",
         "none", "--save", str(tmp_path / "m.npz"), "--json"]
    )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and [d.split(" (")[0] for d in summary["columns"]["date"]] == [
        "when",
        "stamp",
    ]
    model = barenet.load(tmp_path / "m.npz")
    frame = read_table(places / "t.csv").head(40)
    code = main(["predict", "--model", str(tmp_path / "m.npz"), "--data", str(places / "t.csv")])
    predicted = np.array([float(v) for v in capsys.readouterr().out.split()[1:41]])
    assert code == 0
    np.testing.assert_allclose(predicted, model.predict(frame).ravel(), rtol=1e-5)


def test_a_dates_range_and_blanks_come_from_every_row_not_the_sample(places, monkeypatch):
    """A date spec is fitted on the sample of rows (its parts, median, the spread of its
    features), but its range and its "was missing" flag come from every training row."""
    from barenet.streaming import columns

    monkeypatch.setattr(columns, "SAMPLE_ROWS", 30)
    frame = read_table(places / "t.csv")
    _, fit = folder_fit(places / "parquet")
    assert len(fit.sample) == 30
    when = pd.to_datetime(frame["when"], errors="coerce")
    spec = fit.specs[0]
    assert spec["origin"] == when.min().timestamp() and spec["end"] == when.max().timestamp()
    assert spec["origin_text"] == when.min().strftime("%Y-%m-%d") and spec["indicator"]
