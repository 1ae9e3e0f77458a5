"""``barenet predict --data FOLDER --out OUT_FOLDER``: predictions for a table larger than
memory, written as Parquet parts.

On one process, each input file is read batch by batch (``barenet.streaming.source``) and its
predictions go to ``OUT_FOLDER/part-NNNNN.parquet``, one part per input file, in the
files' sorted order, with the ``--keep`` columns first. With ``--scheduler ADDRESS``
(a running Dask scheduler) or ``--scheduler local`` (a two-worker local cluster), the
input is read as a Dask DataFrame and the model is mapped over its partitions; each
worker loads the model file once. Both give the same numbers (tested).

The output folder is written under a temporary name and renamed when complete, so a
failed run leaves no partial output.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path

import numpy as np

from barenet.errors import BarenetValueError, DataError
from barenet.streaming.folder import BadRows
from barenet.tables.column_fit import TEXT_KINDS

_MODELS: dict = {}  # per process (a Dask worker): model path -> (mtime, model)
# a row of the wrong width with --scheduler, which refuses --bad-rows skip
SCHEDULER_FIX = "fix the row, or leave --scheduler out and give --bad-rows skip to skip it"


def add_predict_arguments(parser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="for a folder or glob: map the model over a Dask cluster's partitions "
        "(a scheduler address, or 'local' for a two-worker local cluster)",
    )


def predictions_table(model, batch, keep=(), proba=False, tally=None):
    """A pyarrow Table: the ``keep`` columns of ``batch`` (Arrow batch or table), then
    the predictions (and with ``proba``, each class's probability). ``tally`` (a dict)
    gets this batch's blank cells imputed, unseen categories, dates and values clipped
    added to it (``barenet.tables.encoder.add_tally``; ``predict_notice`` words it)."""
    import pyarrow as pa

    from barenet.streaming.columns import encode_batch
    from barenet.tables.encoder import add_tally

    prep = model.preprocessing
    if prep.columns is not None:
        counts = None if tally is None else {}
        x = prep.clip(encode_batch(batch, prep.columns, counts), counts)
        x = prep.scaler_x.transform(x)
        if tally is not None:
            add_tally(tally, counts)
    else:
        x = prep.transform(batch.select(prep.feature_names).to_pandas())
    output = np.asarray(model.predict(x), dtype=np.float64)
    answers = prep.answers(output)
    names = list(keep)
    arrays = [batch.column(name) for name in keep]
    column = f"predicted_{prep.target_name}"
    if answers.ndim == 1:
        names.append(column)
        arrays.append(pa.array(answers.tolist() if answers.dtype == object else answers))
    else:
        for i in range(answers.shape[1]):
            names.append(f"{column}_{i}")
            arrays.append(pa.array(answers[:, i]))
    if proba:
        shifted = np.exp(output - output.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        for label, values in zip(prep.classes, probabilities.T, strict=True):
            names.append(f"proba_{label}")
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, names=names)


def _needed(model, keep) -> list[str]:
    prep = model.preprocessing
    names = [s["name"] for s in prep.columns] if prep.columns is not None else prep.feature_names
    return list(dict.fromkeys([*names, *keep]))


def run_stream_predict(args, model, keep, stdout=None) -> int:
    """``barenet predict`` when ``--data`` is a folder or a glob (see the module)."""
    from barenet.cli.outputs import check_predict
    from barenet.streaming.source import TableStream, refuse_thousands

    refuse_thousands(getattr(args, "thousands", None))
    if not args.out:
        raise BarenetValueError("--data FOLDER needs --out OUT_FOLDER (Parquet parts go there)")
    check_predict(args, streamed=True)  # before any work: --out touches no input
    out = Path(args.out)
    if args.proba and model.preprocessing.classes is None:
        raise BarenetValueError("--proba is for classifiers; this model is a regressor")
    remembered = getattr(model.preprocessing, "reading", None) or {}
    encoding = getattr(args, "encoding", None) or remembered.get("encoding")
    decimal = getattr(args, "decimal", None) or remembered.get("decimal")
    bad_rows = getattr(args, "bad_rows", "error")
    if getattr(args, "scheduler", None):
        if bad_rows == "skip":
            raise BarenetValueError(
                "--bad-rows skip is not applied by --scheduler (Dask's CSV reader stops at a "
                "row with the wrong number of fields): leave --scheduler out, or fix the rows"
            )
        bad_rows = BadRows("error", fix=SCHEDULER_FIX)
    features = _needed(model, ())  # --keep's other columns are read as written, as a file's
    # and so is a category or free-text column: "007" stays the text training saw
    columns = model.preprocessing.columns or ()
    as_text = [spec["name"] for spec in columns if spec["kind"] in TEXT_KINDS]
    stream = TableStream(
        args.data,
        sep=args.sep or remembered.get("sep"),
        encoding=encoding,
        decimal=decimal,
        bad_rows=bad_rows,
        text=[*[name for name in keep if name not in features], *as_text],
    )
    needed = _needed(model, keep)
    missing = [name for name in needed if name not in stream.names]
    if missing:
        raise DataError(f"{args.data}: no column {missing[0]!r}; the columns are {stream.names}")
    # a fresh name of its own: only what this run created is ever removed
    partial = out.with_name(f".{out.name}.{secrets.token_hex(6)}.partial")
    partial.mkdir()  # fails rather than reuse a folder that exists
    try:
        if getattr(args, "scheduler", None):
            predict_on_dask(args.model, stream, needed, keep, args.proba, partial, args.scheduler)
        else:
            _predict_here(model, stream, needed, keep, args.proba, partial)
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    print(
        f"Predictions: {out} ({len(list(out.glob('*.parquet')))} Parquet parts)",
        file=stdout or sys.stdout,
    )
    return 0


def _predict_here(model, stream, needed, keep, proba, folder: Path) -> None:
    import pyarrow.parquet as pq

    from barenet.tables.preprocessing import predict_notice

    writer, current, tally = None, None, {}
    try:
        for (i, _), _, _, batch in stream.batches(needed):
            table = predictions_table(model, batch, keep, proba, tally)
            if i != current:
                if writer is not None:
                    writer.close()
                writer = pq.ParquetWriter(folder / f"part-{i:05d}.parquet", table.schema)
                current = i
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    for notice in [*stream.bad_rows.notices(), predict_notice(tally)]:
        if notice:
            print(f"Note: {notice}", file=sys.stderr)


def _model(path: str):
    """The model at ``path``, loaded once per process (and again if the file changes)."""
    from barenet.io.persistence import load

    mtime = Path(path).stat().st_mtime_ns
    cached = _MODELS.get(path)
    if cached is None or cached[0] != mtime:
        _MODELS[path] = cached = (mtime, load(path))
    return cached[1]


def _predict_partition(frame, path: str, keep, proba, where="the data"):
    """One Dask partition's predictions, as a pandas DataFrame (``where``: the data's
    name, for an error)."""
    import pyarrow as pa

    from barenet.streaming.folder import check_batch_numbers

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for batch in table.to_batches():
        check_batch_numbers(batch, f"{where} (a Dask partition)")
    return predictions_table(_model(path), table, keep, proba).to_pandas()


def predict_on_dask(path, stream, needed, keep, proba, folder: Path, scheduler: str) -> None:
    """Map the model over the partitions of the input read as a Dask DataFrame."""
    try:
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise BarenetValueError(
            "--scheduler needs Dask: pip install 'dask[distributed]'"
        ) from None
    path = str(Path(path).resolve())
    files = [str(p) for p in stream.files]
    if stream.format == "parquet":
        from barenet.streaming.folder import has_links

        # Hive keys come from a folder; one with links is read as its listed files, each once
        walk = Path(stream.path).is_dir() and not has_links(stream.path)
        source = stream.path if walk else files
        frame = dd.read_parquet(source, columns=needed)
    else:
        frame = dd.read_csv(
            files,
            usecols=needed,
            sep=stream.sep,
            encoding=stream.encoding,
            blocksize=None,
            decimal=stream.decimal or ".",
            dtype={name: str for name in stream.text} or None,
        )
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        address = cluster
    else:
        address = scheduler
    try:
        with Client(address):
            # the output's columns and types from two rows of the first partition (all
            # partitions only if the first is empty: that reads the whole input once more)
            head = frame.head(2, npartitions=1, compute=True)
            if len(head) == 0:
                head = frame.head(2, npartitions=-1)
            meta = _predict_partition(head, path, keep, proba, stream.path).iloc[:0]
            result = frame.map_partitions(
                _predict_partition, path, keep, proba, stream.path, meta=meta
            )
            result.to_parquet(str(folder), write_index=False, name_function=_part_name)
    finally:
        if cluster is not None:
            cluster.close()


def _part_name(i: int) -> str:
    return f"part-{i:05d}.parquet"
