"""Tables larger than memory: streamed training and prediction on a generated Parquet
folder (issue 20's targets), with every figure reported, met or not.

    python benchmarks/scale.py                       # 20 million rows, --as 1.5 GB
    python benchmarks/scale.py --rows 2000000 --limit-gb 1.5 --quick

The folder (10 numeric and 2 text columns, ``--files`` Parquet files) is generated in a
temporary folder and removed after; nothing is kept but the JSON report. Measured:

1. pyarrow's own scan rate of the files (rows/s);
2. ``barenet train --data FOLDER`` (a 64 x 64 network, one epoch) in a child process
   under ``prlimit --as``: whether it finishes, its peak resident memory, its training
   rows/s and test R^2 (over every test row);
3. the same network trained in memory on 1,000,000 training rows (encoded with the
   streamed model's own preprocessing) for the same number of updates: its rows/s
   and its R^2 on the same test rows (a sample of them);
4. ``barenet predict`` over the folder on one process and on a two-worker local Dask
   cluster: wall times, and whether the numbers are the same.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def generate(folder: Path, rows: int, files: int, seed: int = 0) -> float:
    """Write ``rows`` rows in ``files`` Parquet files; returns their float64 size in GB."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    per_file = -(-rows // files)
    weights = np.random.default_rng(99).normal(size=10)
    for i in range(files):
        rng = np.random.default_rng([seed, i])
        n = min(per_file, rows - i * per_file)
        if n <= 0:
            break
        x = rng.normal(size=(n, 10))
        city = rng.choice(np.array([f"city{k}" for k in range(30)]), n)
        kind = rng.choice(np.array(["flat", "house", "villa"]), n, p=[0.5, 0.4, 0.1])
        city_effect = (np.char.str_len(city.astype(str)) % 3) * 0.3
        y = (
            np.sin(x[:, 0])
            + x[:, 1] * x[:, 2]
            + x @ weights * 0.3
            + city_effect
            + np.where(kind == "villa", 1.0, 0.0)
            + 0.1 * rng.normal(size=n)
        )
        columns = {f"x{j}": x[:, j] for j in range(10)}
        columns.update(city=city, kind=kind, y=y)
        pq.write_table(pa.table(columns), folder / f"part-{i:04d}.parquet", row_group_size=131072)
    return rows * 13 * 8 / 1e9


def scan_rate(folder: Path) -> float:
    import pyarrow.dataset as ds

    started = time.perf_counter()
    rows = sum(b.num_rows for b in ds.dataset(str(folder), format="parquet").to_batches())
    return rows / (time.perf_counter() - started)


def child(argv: list[str], limit_bytes: int | None) -> dict:
    """Run ``python -m barenet ARGV`` (under ``prlimit --as``); exit code, wall time,
    peak resident memory (kB, from the kernel's accounting of the child), stdout."""
    import resource

    prefix = ["prlimit", f"--as={limit_bytes}"] if limit_bytes else []
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "barenet", *argv], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "code": done.returncode,
        "wall_seconds": wall,
        "peak_rss_mb": peak / 1024 if peak > before else None,  # max over children so far
        "stdout": done.stdout,
        "stderr": done.stderr[-2000:],
    }


def in_memory_baseline(folder: Path, model_path: Path, updates: int, batch: int, rows: int):
    """Train the same network in memory on ``rows`` training rows for ``updates``
    updates; rows/s, and R^2 of both models on a sample of the test rows."""
    import pyarrow as pa

    import barenet
    from barenet.streaming.columns import encode_batch
    from barenet.streaming.source import TableStream, row_hash, split_of
    from barenet.training.config import TrainConfig, build_model

    streamed = barenet.load(model_path)
    prep = streamed.preprocessing
    stream = TableStream(folder)
    train_parts, test_parts, have_train, have_test = [], [], 0, 0
    for _, i, first, records in stream.batches():
        split = split_of(row_hash(stream, i, first, records), 0.2, 0.0)
        if have_train < rows:
            train_parts.append(records.filter(pa.array(split == 0)))
            have_train += train_parts[-1].num_rows
        if have_test < 200_000:
            test_parts.append(records.filter(pa.array(split == 2)))
            have_test += test_parts[-1].num_rows
        if have_train >= rows and have_test >= 200_000:
            break
    train = pa.Table.from_batches(train_parts).slice(0, rows)
    test = pa.Table.from_batches(test_parts)
    x = prep.scaler_x.transform(encode_batch(train, prep.columns))
    y = prep.scaler_y.transform(train.column("y").to_numpy().reshape(-1, 1))
    config = TrainConfig(hidden=(64, 64), batch_size=batch, seed=0)
    # load the compiled kernels outside the timing (the streamed run's one-time cost
    # is spread over its many rows)
    warm = build_model(config, x.shape[1], 1, "regression")
    warm.train(x[:4096], y[:4096], epochs=1, batch_size=batch)
    model = build_model(config, x.shape[1], 1, "regression")
    epochs = max(1, round(updates * batch / len(x)))
    started = time.perf_counter()
    model.train(x, y, epochs=epochs, batch_size=batch, clip_norm=config.clip_norm)
    seconds = time.perf_counter() - started
    x_test = prep.scaler_x.transform(encode_batch(test, prep.columns))
    truth = test.column("y").to_numpy()

    def r2(m):
        answers = prep.answers(m.predict(x_test))
        return 1 - ((answers - truth) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()

    return {
        "rows": len(x),
        "epochs": epochs,
        "updates": epochs * -(-len(x) // batch),
        "rows_per_second": len(x) * epochs / seconds,
        "r2_in_memory": float(r2(model)),
        "r2_streamed_same_test_sample": float(r2(streamed)),
        "test_sample_rows": len(truth),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--limit-gb", type=float, default=1.5, help="prlimit --as (0: none)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="skip the Dask prediction")
    parser.add_argument("--out", default="scale.json")
    args = parser.parse_args(argv)
    report = {"rows": args.rows, "files": args.files, "limit_gb": args.limit_gb}
    temp = Path(tempfile.mkdtemp(prefix="barenet-scale-"))
    try:
        folder = temp / "data"
        started = time.perf_counter()
        report["float64_gb"] = generate(folder, args.rows, args.files)
        report["generate_seconds"] = time.perf_counter() - started
        report["pyarrow_scan_rows_per_second"] = scan_rate(folder)
        limit = int(args.limit_gb * 2**30) if args.limit_gb else None
        model_path = temp / "model.npz"
        train = child(
            [
                "train",
                "--data",
                str(folder),
                "--target",
                "y",
                "--hidden",
                "64,64",
                "--epochs",
                "1",
                "--batch-size",
                str(args.batch_size),
                "--seed",
                "0",
                "--json",
                "--quiet",
                "--save",
                str(model_path),
            ],
            limit,
        )
        report["train"] = {k: v for k, v in train.items() if k != "stdout"}
        if train["code"] == 0:
            summary = json.loads(train["stdout"])
            report["train"].update(
                rows=summary["rows"],
                rows_per_second=summary["rows_per_second"],
                test=summary["test"],
                train_seconds=summary["train_seconds"],
            )
            print(json.dumps(report["train"], indent=2), file=sys.stderr, flush=True)
            updates = -(-summary["rows"]["train"] // args.batch_size)
            report["in_memory"] = in_memory_baseline(
                folder, model_path, updates, args.batch_size, 1_000_000
            )
            report["throughput_ratio"] = (
                summary["rows_per_second"] / report["in_memory"]["rows_per_second"]
            )
            one = child(
                [
                    "predict",
                    "--model",
                    str(model_path),
                    "--data",
                    str(folder),
                    "--out",
                    str(temp / "one"),
                ],
                None,
            )
            report["predict_one_process_seconds"] = one["wall_seconds"]
            if not args.quick:
                import pandas as pd

                dask = child(
                    [
                        "predict",
                        "--model",
                        str(model_path),
                        "--data",
                        str(folder),
                        "--out",
                        str(temp / "dask"),
                        "--scheduler",
                        "local",
                    ],
                    None,
                )
                report["predict_dask_local_seconds"] = dask["wall_seconds"]
                report["predict_dask_code"] = dask["code"]
                if dask["code"] == 0:
                    a = pd.read_parquet(temp / "one")["predicted_y"].to_numpy()
                    b = pd.read_parquet(temp / "dask")["predicted_y"].to_numpy()
                    report["predict_same_numbers"] = bool(np.array_equal(a, b))
                    report["predict_speedup"] = one["wall_seconds"] / dask["wall_seconds"]
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    text = json.dumps(report, indent=2)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
