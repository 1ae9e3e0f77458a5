"""Command-line defects a hostile sweep found (issue 30)."""

import numpy as np
import pandas as pd
import pytest

from barenet.cli import main

TRAIN = ["train", "--epochs", "1", "--hidden", "4", "--plot", "none", "--quiet"]


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def small_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "y": rng.normal(size=n)})


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_predict_and_evaluate_ignore_a_column_the_model_does_not_use(
    tmp_path, capsys, monkeypatch, suffix
):
    monkeypatch.chdir(tmp_path)
    frame = small_frame()
    big = np.arange(len(frame), dtype=np.uint64) + np.uint64(9_000_000_000_000_000_000)
    frame.insert(1, "u", big)
    data = f"u64.{suffix}"
    frame.to_parquet(data) if suffix == "parquet" else frame.to_csv(data, index=False)
    assert (
        run([*TRAIN, "--data", data, "--target", "y", "--drop", "u", "--save", "u.npz"], capsys)[0]
        == 0
    )
    code, out, err = run(["predict", "--model", "u.npz", "--data", data], capsys)
    assert code == 0, err
    assert out.splitlines()[0] == "predicted_y" and len(out.splitlines()) == len(frame) + 1
    code, out, err = run(["predict", "--model", "u.npz", "--data", data, "--keep", "u"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "u,predicted_y"
    assert lines[1].startswith("9000000000000000000,")  # copied as written, exactly
    assert lines[2].startswith("9000000000000000001,")
    code, out, err = run(["evaluate", "--model", "u.npz", "--data", data], capsys)
    assert code == 0, err
    assert "mse:" in out
    # a column the model uses is still checked
    assert run([*TRAIN, "--data", data, "--target", "y"], capsys)[0] == 2
