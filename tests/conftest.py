"""Shared test helpers: finite-difference gradient checks and the data location."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "scikit_learn_data"


def california_home() -> str | None:
    """The folder holding scikit-learn's California Housing cache, or None."""
    for home in (os.environ.get("SCIKIT_LEARN_DATA"), str(SHARED_DATA)):
        if home and (Path(home) / "cal_housing_py3.pkz").exists():
            return home
    return None


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
    from barenet.datasets import load_california_housing

    return load_california_housing(california_home())


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function f() with respect to x (in place)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_layer_gradients(layer, inp: np.ndarray, seed: int = 0, tol: float = 1e-6) -> None:
    """Check a layer's input and parameter gradients against finite differences.

    The scalar checked is sum(forward(inp) * r) for a fixed random r, so the
    upstream gradient is r.
    """
    rng = np.random.default_rng(seed)
    out = layer.forward(inp)
    r = rng.standard_normal(out.shape)

    def scalar() -> float:
        return float(np.sum(layer.forward(inp) * r))

    layer.forward(inp)
    grad_inp = layer.backward(r)
    analytic = {"inp": grad_inp.copy()}
    for name in layer.param_names:
        analytic[name] = getattr(layer, "d" + name).copy()
    assert rel_error(analytic["inp"], numeric_grad(scalar, inp)) < tol, "input gradient"
    for name in layer.param_names:
        numeric = numeric_grad(scalar, getattr(layer, name))
        assert rel_error(analytic[name], numeric) < tol, f"gradient of {name}"
