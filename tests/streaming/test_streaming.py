"""Tables larger than memory: streamed reading, one-pass preprocessing, hashed splits,
streamed training with checkpoints, and prediction into Parquet parts (also on Dask)."""

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stream_tables import FEATURES, table, write_parts

import barenet
from barenet.cli import main
from barenet.errors import DataError
from barenet.streaming import train as stream_train
from barenet.streaming.columns import SAMPLE_ROWS, encode_batch, fit_stream
from barenet.streaming.source import TableStream, is_dataset_path, row_hash, split_of
from barenet.tables.columns import encode, fit_columns


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """A folder trains with --plot losses.png by default, as a file does: write it there."""
    monkeypatch.chdir(tmp_path)


def test_a_folder_or_a_glob_is_a_dataset(tmp_path):
    write_parts(table(100), tmp_path / "d")
    assert is_dataset_path(tmp_path / "d") and is_dataset_path(f"{tmp_path}/d/*.parquet")
    assert not is_dataset_path(tmp_path / "d" / "part0.parquet")
    assert len(TableStream(f"{tmp_path}/d/part[01].parquet").files) == 2


def test_encode_batch_makes_the_same_features_as_encode():
    frame = table(2000)
    specs, _ = fit_columns(frame[FEATURES].iloc[:1500])
    rows = frame[FEATURES].iloc[1500:]  # unseen values among them: rare, missing
    np.testing.assert_array_equal(
        encode_batch(pa.Table.from_pandas(rows, preserve_index=False), specs), encode(rows, specs)
    )


def test_one_pass_fit_equals_the_in_memory_fit_on_the_training_rows(tmp_path):
    frame = table(3000)
    stream = TableStream(write_parts(frame, tmp_path / "d"), batch_rows=500)
    fit = fit_stream(stream, "y", FEATURES, test_size=0.25)
    assert fit.rows["train"] < SAMPLE_ROWS  # so the sample holds every training row
    train = np.concatenate(
        [
            split_of(row_hash(stream, i, row, batch), 0.25, 0.0) == 0
            for _, i, row, batch in stream.batches()
        ]
    )
    rows = frame[FEATURES][train]
    specs, dropped = fit_columns(rows)
    assert fit.specs == specs
    assert fit.dropped == dropped == ["id (an identifier: a different value in every row)"]
    features = encode(rows, specs)
    np.testing.assert_allclose(fit.scaler_x.mean_, features.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fit.scaler_x.scale_, features.std(axis=0), rtol=1e-10)
    np.testing.assert_allclose(fit.scaler_y.mean_, [frame["y"][train].mean()], rtol=1e-12)
    assert fit.rows["train"] == train.sum() and fit.rows["test"] == len(frame) - train.sum()


def test_hashed_split_does_not_depend_on_batches_or_a_glob(tmp_path):
    folder = write_parts(table(2000), tmp_path / "d")

    def test_rows(stream):
        return np.concatenate(
            [split_of(row_hash(stream, i, r, b), 0.2, 0.1) for _, i, r, b in stream.batches()]
        )

    first = test_rows(TableStream(folder, batch_rows=300))
    np.testing.assert_array_equal(first, test_rows(TableStream(folder, batch_rows=1000)))
    np.testing.assert_array_equal(first, test_rows(TableStream(f"{folder}/*.parquet")))
    shares = np.bincount(first, minlength=3) / len(first)
    np.testing.assert_allclose(shares, [0.7, 0.1, 0.2], atol=0.03)


def test_split_key_puts_a_row_in_the_same_split_however_the_files_are_cut(tmp_path):
    frame = table(1000)

    def splits(folder):
        stream = TableStream(folder)
        out = {}
        for _, i, r, b in stream.batches():
            u = row_hash(stream, i, r, b, key="id")
            out.update(zip(b.column("id").to_pylist(), split_of(u, 0.2, 0.0), strict=True))
        return out

    assert splits(write_parts(frame, tmp_path / "a", 2)) == splits(
        write_parts(frame.sample(frac=1, random_state=1), tmp_path / "b", 5)
    )


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_on_a_csv_folder_then_predict_load_and_onnx_as_usual(tmp_path, capsys):
    frame = table(4000)
    folder = write_parts(frame, tmp_path / "csv", kind="csv")
    model_path = tmp_path / "m.npz"
    code, out, _ = run(
        [
            "train",
            "--data",
            folder,
            "--target",
            "y",
            "--epochs",
            "4",
            "--batch-size",
            "64",
            "--shuffle-buffer",
            "1000",
            "--save",
            model_path,
            "--json",
        ],
        capsys,
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["test"]["r2"] > 0.8
    assert summary["rows"]["train"] + summary["rows"]["test"] == 4000
    model = barenet.load(model_path)  # loads as any model, with its column specs
    assert [s["name"] for s in model.preprocessing.columns] == ["x1", "x2", "colour", "flag"]
    one_file = tmp_path / "rows.csv"
    frame.head(50).to_csv(one_file, index=False)
    code, out, _ = run(["predict", "--model", model_path, "--data", one_file], capsys)
    assert code == 0
    in_memory = np.array([float(v) for v in out.split()[1:]])
    np.testing.assert_allclose(in_memory, model.predict(frame.head(50)), rtol=1e-5)
    pytest.importorskip("onnxruntime")
    code, _, _ = run(["export-onnx", "--model", model_path, "--out", tmp_path / "m.onnx"], capsys)
    assert code == 0


def test_hive_partitioned_folder_gives_its_keys_as_a_column(tmp_path, capsys):
    frame = table(3000)
    frame["region"] = np.where(frame["x2"] > 25, "north", "south")
    frame["y"] += np.where(frame["region"] == "north", 3.0, 0.0)
    frame.drop(columns="id").to_parquet(tmp_path / "hive", partition_cols=["region"])
    assert {p.name for p in (tmp_path / "hive").iterdir()} == {"region=north", "region=south"}
    assert "region" in TableStream(tmp_path / "hive").names
    code, out, _ = run(
        [
            "train",
            "--data",
            tmp_path / "hive",
            "--target",
            "y",
            "--epochs",
            "2",
            "--shuffle-buffer",
            "500",
            "--save",
            tmp_path / "m.npz",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    assert any(
        s["name"] == "region" for s in barenet.load(tmp_path / "m.npz").preprocessing.columns
    )


def test_progress_shows_rows_per_second_and_time_left(tmp_path, capsys):
    write_parts(table(2000), tmp_path / "d")
    code, out, _ = run(
        ["train", "--data", tmp_path / "d", "--target", "y", "--epochs", "2", "--plot", "none"],
        capsys,
    )
    assert code == 0
    epoch_lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2
    assert all("rows/s" in line and "ETA" in line for line in epoch_lines)


def test_memory_holds_one_buffer_of_rows(tmp_path, capsys, monkeypatch):
    write_parts(table(6000), tmp_path / "d", parts=6)
    sizes = []
    original = stream_train.FolderRows.epoch_blocks

    def record(self, model):
        for x, y in original(self, model):
            sizes.append(len(x))
            yield x, y

    monkeypatch.setattr(stream_train.FolderRows, "epoch_blocks", record)
    monkeypatch.setattr(
        stream_train, "TableStream", lambda path, **_: TableStream(path, batch_rows=100)
    )
    code, _, _ = run(
        [
            "train",
            "--data",
            tmp_path / "d",
            "--target",
            "y",
            "--epochs",
            "1",
            "--shuffle-buffer",
            "700",
            "--plot",
            "none",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0
    assert max(sizes) < 700 + 100 and len(sizes) >= 6
    assert sum(sizes) > 0.75 * 6000


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("unreadable", "not a readable table"),
        ("columns", "columns differ"),
        ("type", "its type must not change"),
    ],
)
def test_a_bad_file_is_named_and_no_model_is_written(tmp_path, capsys, damage, message):
    frame = table(1200)
    folder = write_parts(frame, tmp_path / "d", parts=3)
    bad = folder / "part2.parquet"
    if damage == "unreadable":
        bad.write_bytes(b"PAR1 this is not parquet")
    elif damage == "columns":
        frame.iloc[:100].drop(columns="x2").to_parquet(bad, index=False)
    else:
        frame.iloc[:100].assign(x2="text").to_parquet(bad, index=False)
    code, _, err = run(
        [
            "train",
            "--data",
            folder,
            "--target",
            "y",
            "--epochs",
            "1",
            "--save",
            tmp_path / "m.npz",
        ],
        capsys,
    )
    assert code == 2
    assert "part2.parquet" in err and message in err
    assert not (tmp_path / "m.npz").exists()


def test_a_type_change_inside_a_csv_file_names_the_file(tmp_path, capsys):
    frame = table(3000)
    folder = write_parts(frame, tmp_path / "d", parts=2, kind="csv")
    lines = (folder / "part1.csv").read_text().splitlines()
    lines[-1] = "oops," + lines[-1].split(",", 1)[1]  # x1 is text in the last row only
    (folder / "part1.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="part1.csv"):
        for _ in TableStream(folder, batch_rows=100).batches():
            pass


def _weights(path):
    return barenet.load(path).state_dict()


def test_resume_continues_at_the_file_and_batch_where_it_stopped(tmp_path, capsys, monkeypatch):
    write_parts(table(4000), tmp_path / "d", parts=4)
    monkeypatch.setattr(
        stream_train, "TableStream", lambda path, **_: TableStream(path, batch_rows=200)
    )
    common = [
        "train",
        "--data",
        tmp_path / "d",
        "--target",
        "y",
        "--epochs",
        "2",
        "--shuffle-buffer",
        "500",
        "--plot",
        "none",
        "--quiet",
        "--seed",
        "3",
    ]
    assert run([*common, "--save", tmp_path / "full.npz"], capsys)[0] == 0

    original = stream_train.FolderRows.block_done
    calls = []

    def stop_after_five(self, trainer):
        calls.append(1)
        if len(calls) == 5:  # as Ctrl-C while the fifth buffer trains, after its last batch
            trainer.model.request_stop()
        original(self, trainer)

    monkeypatch.setattr(stream_train.FolderRows, "block_done", stop_after_five)
    checkpoint = tmp_path / "ckpt.npz"
    code, out, err = run(
        [*common, "--checkpoint", checkpoint, "--checkpoint-seconds", "1000"], capsys
    )
    assert code == 130 and "--resume" in err
    assert "Interrupted (Ctrl-C) during epoch 1" in out  # reported as for a file
    position = barenet.load(checkpoint).preprocessing.extra["stream_position"]
    assert position["epoch"] == 0 and (position["file"], position["batch"]) > (0, 0)
    monkeypatch.setattr(stream_train.FolderRows, "block_done", original)
    without_epochs = [a for a in common if a not in ("--epochs", "2")]  # the checkpoint's 2
    code, _, _ = run(
        [*without_epochs, "--resume", checkpoint, "--save", tmp_path / "resumed.npz"], capsys
    )
    assert code == 0
    full, resumed = _weights(tmp_path / "full.npz"), _weights(tmp_path / "resumed.npz")
    for key in full:  # the same operations in the same order: the same numbers
        np.testing.assert_array_equal(full[key], resumed[key])
    assert "stream_position" not in barenet.load(tmp_path / "resumed.npz").preprocessing.extra


@pytest.mark.parametrize("where", ["last", "middle"])
def test_a_resume_keeps_the_loss_history_of_an_uninterrupted_run(
    tmp_path, capsys, monkeypatch, where
):
    """Stopped after the last block of epoch 1 (its checkpoint written before the epoch
    is ended), or after a block in its middle: the resumed run ends epoch 1 with the
    loss of all its blocks, those before the checkpoint included, and no epoch's loss
    comes from zero batches; the history and weights are those of an uninterrupted run."""
    write_parts(table(4000), tmp_path / "d", parts=4)
    monkeypatch.setattr(
        stream_train, "TableStream", lambda path, **_: TableStream(path, batch_rows=200)
    )
    resumed_args = ["train", "--data", tmp_path / "d", "--target", "y", "--seed", "3"]
    resumed_args += ["--shuffle-buffer", "500", "--plot", "none", "--quiet"]
    # the checkpoint's epochs, and held-out rows the end of each epoch evaluates
    common = [*resumed_args, "--epochs", "3", "--val-fraction", "0.1"]
    original = stream_train.FolderRows.block_done
    epochs = []

    def count(self, trainer):
        epochs.append(trainer.model.epoch)
        original(self, trainer)

    monkeypatch.setattr(stream_train.FolderRows, "block_done", count)
    assert run([*common, "--save", tmp_path / "full.npz"], capsys)[0] == 0
    blocks = epochs.count(0)
    assert blocks >= 3
    stop_at = blocks if where == "last" else blocks - 1

    def stop(self, trainer):
        epochs.append(trainer.model.epoch)
        if len(epochs) == stop_at:  # as Ctrl-C while that block trains
            trainer.model.request_stop()
        original(self, trainer)

    epochs.clear()
    monkeypatch.setattr(stream_train.FolderRows, "block_done", stop)
    checkpoint = tmp_path / "ckpt.npz"
    code, _, _ = run([*common, "--checkpoint", checkpoint, "--checkpoint-seconds", "1000"], capsys)
    assert code == 130
    position = barenet.load(checkpoint).preprocessing.extra["stream_position"]
    assert position["epoch"] == 0 and len(position["losses"]) == stop_at
    monkeypatch.setattr(stream_train.FolderRows, "block_done", original)
    code, _, _ = run(
        [*resumed_args, "--resume", checkpoint, "--save", tmp_path / "resumed.npz"], capsys
    )
    assert code == 0
    full, resumed = barenet.load(tmp_path / "full.npz"), barenet.load(tmp_path / "resumed.npz")
    assert resumed.epoch == full.epoch == 3
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose(resumed.history[key], full.history[key], rtol=1e-12)
    assert min(resumed.history["train_loss"]) > 0
    for key, value in full.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


def test_classification_on_a_folder(tmp_path, capsys):
    frame = table(3000)
    frame["label"] = np.where(frame["y"] > frame["y"].median(), "high", "low")
    write_parts(frame.drop(columns="y"), tmp_path / "d")
    code, out, _ = run(
        [
            "train",
            "--data",
            tmp_path / "d",
            "--target",
            "label",
            "--epochs",
            "3",
            "--json",
            "--save",
            tmp_path / "m.npz",
        ],
        capsys,
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["task"] == "classification" and summary["test"]["accuracy"] > 0.8
    assert barenet.load(tmp_path / "m.npz").preprocessing.classes == ["high", "low"]


@pytest.fixture
def trained(tmp_path, capsys):
    frame = table(3000)
    folder = write_parts(frame, tmp_path / "d", parts=3)
    code, _, _ = run(
        [
            "train",
            "--data",
            folder,
            "--target",
            "y",
            "--epochs",
            "1",
            "--save",
            tmp_path / "m.npz",
            "--plot",
            "none",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0
    return frame, folder, tmp_path / "m.npz"


def test_predict_a_folder_into_parquet_parts_keeping_columns(tmp_path, trained, capsys):
    frame, folder, model_path = trained
    code, out, _ = run(
        [
            "predict",
            "--model",
            model_path,
            "--data",
            folder,
            "--out",
            tmp_path / "out",
            "--keep",
            "id",
        ],
        capsys,
    )
    assert code == 0 and "3 Parquet parts" in out
    result = pd.read_parquet(tmp_path / "out")
    assert list(result.columns) == ["id", "predicted_y"]
    np.testing.assert_array_equal(result["id"], frame["id"])
    expected = barenet.load(model_path).predict(frame)
    np.testing.assert_allclose(result["predicted_y"], expected, rtol=1e-12)
    code, _, err = run(
        ["predict", "--model", model_path, "--data", folder, "--out", tmp_path / "out"], capsys
    )
    assert code == 2 and "already exists" in err


@pytest.mark.parametrize("kind", ["csv", "parquet", "mixed"])
def test_predict_keeps_uint64_columns_as_written_as_for_a_file(
    tmp_path, capsys, monkeypatch, kind
):
    """``--keep`` of uint64 ids above 2**53 and 2**63 on a folder: each value exact, as
    the file route writes it (a CSV folder's kept columns as their text, a Parquet
    folder's in the files' type; as text when the files' types differ: ``mixed``)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300)})
    frame["y"] = 2 * frame["x"]
    frame["big"] = np.uint64(2**63 + 5) + np.arange(300, dtype=np.uint64)
    frame["mid"] = np.uint64(2**53 + 1) + np.arange(300, dtype=np.uint64)
    folder = tmp_path / "d"
    write_parts(frame, folder, parts=2, kind="parquet" if kind == "mixed" else kind)
    if kind == "mixed":  # the second file's "mid" column as int64
        second = frame.iloc[150:].astype({"mid": np.int64})
        second.to_parquet(folder / "part1.parquet", index=False)
    frame.to_csv(tmp_path / "t.csv", index=False)
    train = ["train", "--target", "y", "--features", "x", "--epochs", "1", "--quiet"]
    assert run([*train, "--data", folder, "--plot", "none", "--save", "m.npz"], capsys)[0] == 0
    predict = ["predict", "--model", "m.npz", "--keep", "big,mid", "--data"]
    code, _, err = run([*predict, folder, "--out", "p"], capsys)
    assert code == 0, err
    kept = pq.read_table(tmp_path / "p")
    code, out, _ = run([*predict, tmp_path / "t.csv"], capsys)
    assert code == 0
    written = pd.read_csv(io.StringIO(out), dtype=str)  # the file route's, as written
    for name in ("big", "mid"):
        as_text = [str(v) for v in kept.column(name).to_pylist()]
        assert as_text == written[name].tolist() == [str(v) for v in frame[name]]
    types = {"csv": ["string", "string"], "parquet": ["uint64", "uint64"]}
    types["mixed"] = ["uint64", "string"]  # a Parquet file's own type, or text if they differ
    assert [str(kept.schema.field(n).type) for n in ("big", "mid")] == types[kind]
    predicted = kept.column("predicted_y").to_numpy()
    on_file = pd.read_csv(io.StringIO(out))["predicted_y"]  # written to float32's digits
    np.testing.assert_allclose(predicted, on_file, rtol=1e-6)


def test_predict_on_a_dask_cluster_gives_the_same_numbers(tmp_path, trained, capsys):
    distributed = pytest.importorskip("dask.distributed")
    frame, folder, model_path = trained
    assert (
        run(
            [
                "predict",
                "--model",
                model_path,
                "--data",
                folder,
                "--out",
                tmp_path / "one",
                "--keep",
                "id",
            ],
            capsys,
        )[0]
        == 0
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        code, _, _ = run(
            [
                "predict",
                "--model",
                model_path,
                "--data",
                folder,
                "--out",
                tmp_path / "dask",
                "--keep",
                "id",
                "--scheduler",
                cluster.scheduler_address,
            ],
            capsys,
        )
    assert code == 0
    one = pd.read_parquet(tmp_path / "one").set_index("id").sort_index()
    on_dask = pd.read_parquet(tmp_path / "dask").set_index("id").sort_index()
    pd.testing.assert_frame_equal(one, on_dask)


def test_predict_a_csv_glob_on_dask_gives_the_same_numbers(tmp_path, capsys):
    distributed = pytest.importorskip("dask.distributed")
    write_parts(table(2000), tmp_path / "d", parts=2, kind="csv")
    model_path = tmp_path / "m.npz"
    common = ["--data", f"{tmp_path}/d/*.csv", "--target", "y", "--epochs", "1", "--quiet"]
    assert run(["train", *common, "--save", model_path, "--plot", "none"], capsys)[0] == 0
    ask = ["predict", "--model", model_path, "--data", f"{tmp_path}/d/*.csv", "--keep", "id"]
    assert run([*ask, "--out", tmp_path / "one"], capsys)[0] == 0
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        code, _, _ = run(
            [*ask, "--out", tmp_path / "dask", "--scheduler", cluster.scheduler_address], capsys
        )
    assert code == 0
    one = pd.read_parquet(tmp_path / "one").set_index("id").sort_index()
    pd.testing.assert_frame_equal(
        one, pd.read_parquet(tmp_path / "dask").set_index("id").sort_index()
    )


def test_ctrl_c_while_the_buffer_fills_reports_saves_and_exits_130(tmp_path, capsys, monkeypatch):
    """No update is under way while files are read: Ctrl-C there stops at once, and as
    for a file the summary is reported, the model saved, and the exit code is 130; the
    checkpoint of the last epoch's end is where --resume continues."""
    write_parts(table(2000), tmp_path / "d", parts=2)
    original = stream_train.FolderRows.epoch_blocks

    def ctrl_c_in_the_second_epoch(self, model):
        if model.epoch == 1:
            model.request_stop()  # what the trainer's Ctrl-C handler does
        yield from original(self, model)

    monkeypatch.setattr(stream_train.FolderRows, "epoch_blocks", ctrl_c_in_the_second_epoch)
    checkpoint = tmp_path / "ckpt.npz"
    code, out, err = run(
        [
            *["train", "--data", tmp_path / "d", "--target", "y", "--epochs", "3"],
            *["--plot", "none", "--checkpoint", checkpoint, "--save", "m.npz"],
        ],
        capsys,
    )
    assert code == 130 and "--resume" in err
    assert "Interrupted (Ctrl-C) after epoch 1." in out and "R^2" in out
    assert barenet.load(tmp_path / "m.npz").epoch == 1
    position = barenet.load(checkpoint).preprocessing.extra["stream_position"]
    assert position == {"epoch": 1, "file": 0, "batch": 0}


def test_ctrl_c_while_the_buffer_refills_checkpoints_after_the_last_block(
    tmp_path, capsys, monkeypatch
):
    """Ctrl-C after a block, while the next one is read: the checkpoint is written at
    once (whatever --checkpoint-seconds) to continue after that block, and the model
    that trained on part of the epoch is saved."""
    write_parts(table(2000), tmp_path / "d", parts=4)  # 4 files of one record batch each
    original = stream_train.StreamRun.rows_of
    calls = []

    def ctrl_c_in_the_third_batch(self, file_index, first_row, batch, which):
        if which == 0:
            calls.append(1)
            if len(calls) == 3:  # the buffer holds the third batch's rows, not yet full
                self.model.request_stop()
        return original(self, file_index, first_row, batch, which)

    monkeypatch.setattr(stream_train.StreamRun, "rows_of", ctrl_c_in_the_third_batch)
    checkpoint = tmp_path / "ckpt.npz"
    code, out, _ = run(
        [
            *["train", "--data", tmp_path / "d", "--target", "y", "--epochs", "3"],
            *["--plot", "none", "--quiet", "--shuffle-buffer", "600", "--checkpoint"],
            *[checkpoint, "--checkpoint-seconds", "1000", "--save", "m.npz"],
        ],
        capsys,
    )
    assert code == 130 and "Interrupted (Ctrl-C) during epoch 1" in out
    assert (tmp_path / "m.npz").exists() and barenet.load(tmp_path / "m.npz").epoch == 0
    position = barenet.load(checkpoint).preprocessing.extra["stream_position"]
    [(loss, rows)] = position.pop("losses")  # the first block's, for the epoch's loss
    assert loss > 0 and rows >= 600
    assert position == {"epoch": 0, "file": 1, "batch": 1}  # after the first block


def test_a_folder_checkpoint_is_refused_on_a_file_and_says_when_nothing_is_left(tmp_path, capsys):
    """A folder's checkpoint holds the epoch, file and batch of that folder, and its test
    rows are chosen by hash: continuing it on a file would test on training rows."""
    frame = table(1000)
    frame.to_csv(tmp_path / "t.csv", index=False)
    write_parts(frame, tmp_path / "d", kind="csv")
    common = ["--target", "y", "--plot", "none", "--quiet", "--epochs", "1"]
    folder, file = ["train", "--data", tmp_path / "d"], ["train", "--data", tmp_path / "t.csv"]
    assert run([*folder, *common, "--checkpoint", "ck.npz"], capsys)[0] == 0
    code, out, err = run([*file, *common, "--resume", "ck.npz", "--save", "m.npz"], capsys)
    assert code == 2 and "Trained" not in out and not (tmp_path / "m.npz").exists()
    assert "ck.npz is a checkpoint of training on a folder, not on a file" in err
    # on its folder, with --epochs already reached: said, not silently 0 epochs
    code, _, err = run([*folder, *common, "--resume", "ck.npz"], capsys)
    assert code == 0
    assert "ck.npz has already trained 1 epochs (epochs 1): nothing is trained" in err


@pytest.mark.parametrize(
    "field, value",
    [("epoch", -3), ("file", -1), ("batch", 1.5), ("epoch", 0), ("losses", [[float("nan"), 9]])],
)
def test_a_tampered_folder_checkpoint_is_refused_naming_the_field(tmp_path, capsys, field, value):
    """The epoch and position a checkpoint continues from are whole numbers >= 0, the
    position at the model's epoch: else a one-line error (exit 2), not a traceback."""
    write_parts(table(600), tmp_path / "d", parts=2)
    common = ["train", "--data", tmp_path / "d", "--target", "y", "--plot", "none", "--quiet"]
    assert run([*common, "--epochs", "1", "--checkpoint", "ck.npz"], capsys)[0] == 0
    with np.load("ck.npz") as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    if field == "epoch" and value == -3:  # the model's own epoch
        meta["epoch"] = value
        named = "its epoch must be a whole number >= 0, got -3"
    elif field == "losses":  # the losses of the blocks of the epoch trained before it
        meta["preprocessing"]["extra"]["stream_position"][field] = value
        named = "its stream_position losses must be [loss, rows] pairs, got [[nan, 9]]"
    elif value == 0:  # a position that is not the model's epoch (1)
        meta["preprocessing"]["extra"]["stream_position"]["epoch"] = value
        named = "its stream_position epoch 0 is not the model's epoch 1"
    else:
        meta["preprocessing"]["extra"]["stream_position"][field] = value
        named = f"its stream_position {field} must be a whole number >= 0, got {value}"
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez("ck.npz", **arrays)
    code, _, err = run([*common, "--epochs", "3", "--resume", "ck.npz"], capsys)
    assert code == 2 and "ck.npz: " + named in err and "Traceback" not in err
