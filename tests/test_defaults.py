"""The default model of ``barenet train --data FILE --target COL`` (issue 28): the same
model on an idle and a busy machine, learned from every row, every frequent category
kept, less variance on small tables."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd

import barenet
from barenet.cli import main


def small_table(rows=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    city = rng.choice(["north", "south", "east", "west"], rows)
    effect = pd.Series(city).map({"north": 1.0, "south": -1.0, "east": 0.5, "west": 0.0})
    y = x @ [1.0, -2.0, 0.5] + effect.to_numpy() + 0.1 * rng.normal(size=rows)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "city": city, "y": y})


def train(capsys, *args):
    code = main(["train", *map(str, args), "--plot", "none", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def busy_processes(n=2):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def test_the_default_gives_the_same_model_on_an_idle_and_a_busy_machine(
    tmp_path, capsys, monkeypatch
):
    """Same seed, once alone and once beside two busy processes: the same epochs and
    bit-identical predictions (the BLAS thread count no longer follows the load)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BARENET_BLAS_THREADS", raising=False)
    small_table().to_csv("t.csv", index=False)
    args = ["--data", "t.csv", "--target", "y", "--seed", 3]
    idle = train(capsys, *args, "--save", "idle.npz")
    busy = busy_processes()
    try:
        loaded = train(capsys, *args, "--save", "busy.npz")
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert idle["config"]["time_limit"] is None and idle["time_limit_cut"] is None
    assert idle["epochs_trained"] == loaded["epochs_trained"]
    assert idle["kept_epoch"] == loaded["kept_epoch"]
    frame = pd.read_csv("t.csv")
    first, second = (barenet.load(p) for p in ("idle.npz", "busy.npz"))
    first, second = (
        first.preprocessing.predict(first, frame),
        second.preprocessing.predict(second, frame),
    )
    np.testing.assert_array_equal(first, second)
