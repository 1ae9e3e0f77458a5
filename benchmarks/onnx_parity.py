"""ONNX against ``barenet predict`` on random raw rows, for every recipe and both tasks.

Trains a model with each of ``CONFIGS`` (the recipes as ``barenet train --recipe``
offers them, the plain default, and the two input scalings) on a random table with a
column of 1e8 plus noise, a plain number, a true/false column, a text column and a date
column, exports it with ``barenet export-onnx``, and feeds onnxruntime random raw rows
(blanks, unseen categories and categories with spaces around them, dates inside and far
outside the training range, 1e8 plus noise, numbers of either sign and any magnitude up
to 1e300, the largest float64) as a user would build them from the CSV file.
``barenet predict``'s answers come from the same computation as the command
(``Preprocessing.predict`` on the file read by ``read_table``); rows it refuses are
counted and left out (none since numeric columns are clipped to their training range).

    python benchmarks/onnx_parity.py [--rows 10000] [--epochs 3]

prints, per configuration and task, the rows compared and left out, the labels that
differ and the largest absolute difference ``|onnx - predict|`` and relative difference
``|onnx - predict| / max(1, |predict|)`` of the predictions (regression) or the
probabilities (classification), over the ordinary rows and over the "far" rows (a raw
value beyond ``FAR`` training standard deviations, before clipping).
``tests/io/test_onnx_parity.py`` runs the same comparison on fewer rows.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

#: name -> the ``barenet train`` flags of each configuration
CONFIGS = {
    "plain": [],
    "small": ["--recipe", "small"],
    "auto": ["--recipe", "auto"],
    "tabular": ["--recipe", "tabular"],
    "tabular-best": ["--recipe", "tabular-best"],
    "quantile": ["--scaling", "quantile"],
    "robust": ["--scaling", "robust"],
}
#: a row with a raw value beyond this many training standard deviations (x = 1e8 in a
#: column of standard deviation 2) is "far": unclipped, the network's float32 activations
#: would grow with it, and so would the rounding differences of NumPy's and onnxruntime's
#: float32 products on the very same inputs (2.3e-5 relative before the clipping)
FAR = 1e4
FAR_PREFIX = "far rows' "
FAR_DIFF = f"{FAR_PREFIX}max relative difference"
LEVELS = ["red", "green", "blue", "dark grey"]
START = pd.Timestamp("2021-01-01", tz="UTC")


def training_table(n: int, task: str, seed: int = 0) -> pd.DataFrame:
    """A table of ``n`` rows: big (1e8 plus noise), x, flag, colour, when, and y."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n)
    hours = rng.integers(0, 2 * 365 * 24, n)
    when = START + pd.to_timedelta(hours, unit="h")
    colour = rng.choice(LEVELS, n)
    x = rng.standard_normal(n)
    flag = rng.random(n) < 0.4
    signal = noise + x + 0.5 * flag + np.sin(2 * np.pi * when.hour / 24) + (colour == "red")
    frame = pd.DataFrame(
        {
            "big": 1e8 + noise,
            "x": np.where(rng.random(n) < 0.05, np.nan, x),
            "flag": np.where(flag, "true", "false"),
            "colour": np.where(rng.random(n) < 0.05, "", colour),
            "when": when.strftime("%Y-%m-%d %H:%M:%S"),
        }
    )
    if task == "regression":
        frame["y"] = signal + 0.1 * rng.standard_normal(n)
    else:
        frame["y"] = np.where(signal > 0.5, "high", "low")
    return frame


def raw_rows(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` raw rows as text, as a CSV file holds them."""
    rng = np.random.default_rng(seed)
    pick = rng.random((n, 5))
    big = np.char.mod("%.17g", 1e8 + rng.standard_normal(n) * 3)
    big = np.where(pick[:, 0] < 0.05, "", np.where(pick[:, 0] > 0.96, far_values(rng, n), big))
    extremes = np.array(["1e8", "-1e8", "1e300", "-1e300", "1e-300", "0"])
    x = np.char.mod("%.17g", rng.standard_normal(n) * 2)
    x = np.where(pick[:, 1] > 0.9, far_values(rng, n), x)
    x = np.where(pick[:, 1] < 0.1, "", np.where(pick[:, 1] > 0.97, rng.choice(extremes, n), x))
    flag = rng.choice(["true", "false", ""], n, p=[0.45, 0.45, 0.1])
    spaced = [" red", "green ", " blue ", "dark grey", "dark  grey", "purple", "", "  "]
    colour = np.where(pick[:, 3] < 0.5, rng.choice(LEVELS, n), rng.choice(spaced, n))
    hours = rng.integers(-10 * 365 * 24, 20 * 365 * 24, n)  # 2011 to 2041
    seconds = rng.integers(0, 3600, n)
    when = START + pd.to_timedelta(hours, unit="h") + pd.to_timedelta(seconds, unit="s")
    when = np.where(pick[:, 4] < 0.05, "", when.strftime("%Y-%m-%d %H:%M:%S"))
    return pd.DataFrame({"big": big, "x": x, "flag": flag, "colour": colour, "when": when})


def far_values(rng, n: int) -> np.ndarray:
    """``n`` numbers as text, of random sign and magnitudes from 1 to 1e300 (uniform in
    the exponent)."""
    values = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(0, 300, n)
    return np.char.mod("%.17g", values)


def write_rows(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def onnx_feeds(text: pd.DataFrame, session) -> dict:
    """The graph's inputs from raw text rows, as a user builds them from the file (in
    the type each input declares)."""
    feeds = {}
    for value in session.get_inputs():
        column = text[value.name].fillna("").astype(str)
        if value.type == "tensor(string)":
            feeds[value.name] = column.to_numpy(object).reshape(-1, 1)
        elif value.name == "when":
            stamps = pd.to_datetime(column.replace("", None), utc=True)
            seconds = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
            feeds[value.name] = seconds.to_numpy(np.float64).reshape(-1, 1)
        elif value.name == "flag":
            numbers = column.map({"true": 1.0, "false": 0.0, "": np.nan})
            feeds[value.name] = numbers.to_numpy(np.float64).reshape(-1, 1)
        else:
            numbers = pd.to_numeric(column.replace("", None))
            feeds[value.name] = numbers.to_numpy(np.float64).reshape(-1, 1)
        if value.type == "tensor(float)":
            feeds[value.name] = feeds[value.name].astype(np.float32)
    return feeds


def train_and_export(folder: Path, config: str, task: str, n_train: int, epochs: int):
    """``(model path, onnx path)`` of ``config`` trained on ``n_train`` rows."""
    from barenet.cli import main

    data = write_rows(training_table(n_train, task), folder / f"train_{task}.csv")
    model = folder / f"{config}_{task}.npz"
    flags = [*CONFIGS[config], "--epochs", str(epochs), "--seed", "0"]
    train = ["train", "--data", str(data), "--target", "y", "--plot", "none", "--quiet"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main([*train, *flags, "--save", str(model)]) == 0, config
        assert main(["export-onnx", "--model", str(model), "--out", str(model) + ".onnx"]) == 0
    return model, Path(str(model) + ".onnx")


def accepted(model, frame: pd.DataFrame) -> np.ndarray:
    """Which rows ``barenet predict`` answers (the others it refuses, naming them)."""
    prep = model.preprocessing
    x = prep.transform(frame)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(x) <= np.finfo(model.dtype).max).all(axis=1)
    outputs = np.full((len(x), model.out_dim), np.nan)
    with np.errstate(all="ignore"):
        outputs[ok] = model.predict(x[ok].astype(model.dtype))
    return ok & np.isfinite(outputs).all(axis=1)


def compare(model_path: Path, onnx_path: Path, rows_csv: Path) -> dict:
    """ONNX against predict on the rows of ``rows_csv``: counts and the largest
    relative difference."""
    import onnxruntime

    import barenet
    from barenet.tables.columns import read_table

    model = barenet.load(model_path)
    prep = model.preprocessing
    frame = read_table(rows_csv)
    ok = accepted(model, frame)
    frame = frame[ok].reset_index(drop=True)
    text = pd.read_csv(rows_csv, dtype=str, keep_default_na=False)[ok].reset_index(drop=True)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    outputs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, onnx_feeds(text, session)),
            strict=True,
        )
    )
    result = {"compared": int(ok.sum()), "left out": int((~ok).sum()), "labels differ": 0}
    if prep.classes is not None:
        expected = prep.probabilities(model, frame)
        got = outputs["probabilities"]
        labels = prep.predict(model, frame)
        result["labels differ"] = int(np.sum(outputs["label"].astype(str) != labels.astype(str)))
    else:
        expected = prep.predict(model, frame).reshape(len(frame), -1)
        got = outputs["prediction"]
    difference = np.abs(got.astype(np.float64) - expected).reshape(len(frame), -1)
    absolute = difference.max(axis=1)
    relative = (difference / np.maximum(1.0, np.abs(expected)).reshape(len(frame), -1)).max(1)
    far = far_rows(prep, frame)
    result["far rows"] = int(far.sum())
    for name, rows in (("", ~far), (FAR_PREFIX, far)):
        result[f"{name}max abs difference"] = float(absolute[rows].max()) if rows.any() else 0.0
        result[f"{name}max relative difference"] = (
            float(relative[rows].max()) if rows.any() else 0.0
        )
    return result


def far_rows(prep, frame: pd.DataFrame) -> np.ndarray:
    """Which rows have a feature beyond ``FAR`` training standard deviations before
    the clipping to the training range (``Preprocessing.clip``)."""
    from barenet.tables.columns import encode

    with np.errstate(over="ignore", invalid="ignore"):
        scaled = prep.scaler_x.transform(encode(frame, prep.columns))
        return (~(np.abs(scaled) <= FAR)).any(axis=1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="random raw rows per model")
    parser.add_argument("--train-rows", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        rows_csv = write_rows(raw_rows(args.rows), folder / "rows.csv")
        print(
            f"{'configuration':14} {'task':15} {'compared':>8} {'left out':>8} "
            f"{'labels differ':>13} {'max abs':>9} {'max rel':>9} {'far rows':>8} "
            f"{'far abs':>9} {'far rel':>9}"
        )
        for config in CONFIGS:
            for task in ("regression", "classification"):
                paths = train_and_export(folder, config, task, args.train_rows, args.epochs)
                r = compare(*paths, rows_csv)
                print(
                    f"{config:14} {task:15} {r['compared']:>8} {r['left out']:>8} "
                    f"{r['labels differ']:>13} {r['max abs difference']:>9.2e} "
                    f"{r['max relative difference']:>9.2e} {r['far rows']:>8} "
                    f"{r[FAR_PREFIX + 'max abs difference']:>9.2e} {r[FAR_DIFF]:>9.2e}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
