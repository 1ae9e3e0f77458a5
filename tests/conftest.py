"""Shared test helpers: the gradient check and the data location."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from barenet import MLP, MSE, Linear, Relu, Sigmoid, check_gradients

# The development layout's data folder beside the checkout; anywhere else, SCIKIT_LEARN_DATA.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "scikit_learn_data"

TORCH_MISSING = (
    "PyTorch is not installed (optional: the parity tests compare with it); install its CPU "
    "build with pip install torch --index-url https://download.pytorch.org/whl/cpu"
)


def california_home() -> str | None:
    """The folder holding scikit-learn's California Housing cache, or None."""
    for home in (os.environ.get("SCIKIT_LEARN_DATA"), str(SHARED_DATA)):
        if home and (Path(home) / "cal_housing_py3.pkz").exists():
            return home
    return None


def california_csv() -> str | None:
    """The raw California CSV (with a header), beside the shared scikit-learn cache (the
    one SCIKIT_LEARN_DATA names, or the one beside this checkout), or None."""
    for home in (os.environ.get("SCIKIT_LEARN_DATA"), str(SHARED_DATA)):
        if home and (Path(home).parent / "data" / "cal_housing.csv").exists():
            return str(Path(home).parent / "data" / "cal_housing.csv")
    return None


needs_california_csv = pytest.mark.skipif(
    california_csv() is None, reason="the raw California CSV (shared/data) not found"
)

needs_california = pytest.mark.skipif(
    california_home() is None,
    reason="California Housing cache not found (set SCIKIT_LEARN_DATA to the folder "
    "holding cal_housing_py3.pkz)",
)


@pytest.fixture
def diabetes_csv(tmp_path):
    """scikit-learn's bundled diabetes data as a CSV with a header (target: progression)."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    table = np.column_stack([bunch.data, bunch.target])
    path = tmp_path / "diabetes.csv"
    header = ",".join([*bunch.feature_names, "progression"])
    np.savetxt(path, table, delimiter=",", header=header, comments="")
    return path


@pytest.fixture(scope="session")
def california():
    from barenet.tables.datasets import load_california_housing

    return load_california_housing(california_home())


def assert_gradients_ok(layer_or_loss, inp, target=None, tol: float = 1e-6) -> None:
    """barenet's public finite-difference check, as a learner runs it, must pass."""
    report = check_gradients(layer_or_loss, inp, target, tolerance=tol)
    assert report.ok, str(report)


def small_mlp(seed=0, dtype=np.float32, lr=0.05, **kwargs):
    rng = np.random.default_rng(seed)
    layers = [
        Linear(3, 8, seed=rng, dtype=dtype),
        Relu(),
        Linear(8, 8, seed=rng, dtype=dtype),
        Sigmoid(),
        Linear(8, 2, seed=rng, dtype=dtype),
    ]
    return MLP(layers, MSE(), lr, seed=seed, **kwargs)


def toy_data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = np.stack([x[:, 0] * x[:, 1], np.sin(x[:, 2])], axis=1)
    return x, y
