"""barenet.engines.heap: glibc's thresholds are set once per process, and can be refused."""

import os
import subprocess
import sys

import pytest

from barenet.engines import heap

CODE = "from barenet.engines.heap import keep_freed_arrays as k; print(k(), k())"


def run(env_value):
    env = {**os.environ}
    env.pop("BARENET_KEEP_HEAP", None)
    if env_value is not None:
        env["BARENET_KEEP_HEAP"] = env_value
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_barenet_keep_heap_0_leaves_the_c_library_alone():
    assert run("0") == ["False", "False"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_set_once_where_the_c_library_has_mallopt():
    first, second = run(None)
    has_mallopt = os.confstr("CS_GNU_LIBC_VERSION") is not None
    assert first == second == str(has_mallopt)


def test_training_sets_them(monkeypatch):
    calls = []
    monkeypatch.setattr("barenet.engines.heap.keep_freed_arrays", lambda: calls.append(1))
    import numpy as np

    from barenet import MLP, MSE, Linear

    model = MLP([Linear(2, 1, seed=0)], MSE(), 0.1)
    model.train(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, batch_size=2)
    assert calls == [1]
    model.train(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, batch_size=2)
    assert calls == [1, 1]  # once per fit, not per epoch or batch


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_threshold_is_one_glibc_accepts():
    """glibc's mallopt returns 1 when it takes a value and 0 when it refuses one (one
    above its maximum, 32 MiB on some 64-bit versions): asked directly, it takes
    barenet's threshold."""
    import ctypes

    if os.confstr("CS_GNU_LIBC_VERSION") is None:
        pytest.skip("not glibc")
    libc = ctypes.CDLL(None)
    m_mmap_threshold = -3
    assert libc.mallopt(m_mmap_threshold, heap.KEEP_BELOW) == 1
