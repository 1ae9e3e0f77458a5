"""The same rows as one file and as a folder of parts, a free-text column included: the
folder's one-pass fit learns the words the file's fit learns (from its exact counts of
every value), both routes encode the same matrix bit for bit through the one table
encoder, with the same feature scaling; a model trained on the folder predicts a file."""

import json

import numpy as np
import pyarrow as pa
import pytest
from stream_tables import write_parts
from text_tables import titled

import barenet
from barenet.cli import main
from barenet.streaming.columns import encode_batch, fit_stream
from barenet.streaming.source import TableStream
from barenet.tables.columns import encode, fit_columns, read_table

FEATURES = ["job", "x"]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("titled")
    frame = titled(1200)
    frame.to_csv(root / "t.csv", index=False)
    write_parts(frame, root / "csv", kind="csv")
    write_parts(frame, root / "parquet", kind="parquet")
    return root


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_folder_learns_the_words_a_file_learns_and_encodes_the_same_matrix(places, kind):
    frame = read_table(places / "t.csv")
    file_specs, file_dropped = fit_columns(frame[FEATURES])
    stream = TableStream(places / kind, batch_rows=256)
    fit = fit_stream(stream, "y", FEATURES, test_size=0.0)
    assert fit.specs == file_specs and file_specs[0]["kind"] == "text"
    assert len(file_specs[0]["words"]) >= 9 and fit.dropped == file_dropped == []
    table = pa.concat_tables(pa.Table.from_batches([b]) for *_, b in stream.batches())
    expected = encode(frame, file_specs)
    np.testing.assert_array_equal(encode_batch(table, fit.specs), expected)
    np.testing.assert_allclose(fit.scaler_x.mean_, expected.mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.scaler_x.var_, expected.var(axis=0), rtol=1e-9, atol=1e-12)


def test_train_on_a_folder_with_free_text_then_predict_a_file(places, capsys, tmp_path):
    model_path = tmp_path / "m.npz"
    code = main(
        ["train", "--data", str(places / "csv"), "--target", "y", "--epochs", "2", "--plot",
         "none", "--save", str(model_path), "--json"]
    )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["columns"]["free text"][0].startswith("job (")
    model = barenet.load(model_path)
    frame = read_table(places / "t.csv").head(40)
    code = main(["predict", "--model", str(model_path), "--data", str(places / "t.csv")])
    predicted = np.array([float(v) for v in capsys.readouterr().out.split()[1:41]])
    assert code == 0
    np.testing.assert_allclose(predicted, model.predict(frame).ravel(), rtol=1e-5)


def test_a_folder_names_a_unique_column_of_unread_dates_as_a_file_does(tmp_path):
    import pandas as pd

    days = pd.date_range("2001-01-01", periods=60, freq="7D")
    written = [f"{d.day} {d.strftime('%B')} {d.year}" for d in days]
    written[3], written[10] = "soon after the storm", "late in the year of the flood"
    frame = pd.DataFrame({"when": written, "x": np.arange(60.0) % 7, "y": np.arange(60.0)})
    file_specs, file_dropped = fit_columns(frame[["when", "x"]])
    write_parts(frame, tmp_path / "csv", kind="csv")
    fit = fit_stream(
        TableStream(tmp_path / "csv", batch_rows=16), "y", ["when", "x"], test_size=0.0
    )
    assert fit.specs == file_specs and [s["name"] for s in fit.specs] == ["x"]
    assert fit.dropped == file_dropped and file_dropped[0].startswith("when (mostly dates")
    twice = pd.concat([frame, frame], ignore_index=True)
    file_specs, file_dropped = fit_columns(twice[["when", "x"]])
    write_parts(twice, tmp_path / "twice", kind="csv")
    stream = TableStream(tmp_path / "twice", batch_rows=16)
    fit = fit_stream(stream, "y", ["when", "x"], test_size=0.0)
    assert fit.specs == file_specs and [s["name"] for s in fit.specs] == ["x"]
    assert fit.dropped == file_dropped and file_dropped[0].startswith("when (mostly dates")
