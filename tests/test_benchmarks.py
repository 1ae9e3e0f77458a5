"""The benchmark harness keeps working (quick mode: one workload, two epochs).
Nothing here asserts a speed: speed is measured by benchmarks/bench.py itself."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import california_home, needs_california

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


@needs_california
def test_quick_benchmark_runs_every_peer(tmp_path):
    import importlib.util

    peers = "barenet,barenet_plain,sklearn,numpy,gemm_floor"
    if importlib.util.find_spec("torch") is not None:
        peers += ",torch"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--peers",
            peers,
            "--out",
            str(tmp_path / "bench.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SCIKIT_LEARN_DATA": california_home()},
    )
    assert done.returncode == 0, done.stderr
    assert "notebook-64" in done.stdout and "vs barenet" in done.stdout
    report = json.loads((tmp_path / "bench.json").read_text())
    results = report["results"]["notebook-64"]
    assert set(results) == set(peers.split(","))
    for peer, result in results.items():
        assert len(result["times"]) == 2 and result["ms_per_epoch"] > 0, peer
        assert result["peak_rss_mb"] > 0
        if peer != "gemm_floor":
            assert 0 < result["test_loss"] < 1.5, peer  # each did the same, real work
    assert report["machine"]["cpus"] >= 1
