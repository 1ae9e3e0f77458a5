"""barenet.engines.fused.adam: Adam's and AdamW's update as one compiled loop gives the
optimisers' own numbers bit for bit, and declines what it does not cover."""

import numpy as np
import pytest

from barenet import SGD, Adam, AdamW
from barenet.engines.fused.adam import compiled_update


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "make",
    [
        lambda: Adam(lr=3e-3),
        lambda: Adam(lr=1e-2, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6),  # L2 term
        lambda: AdamW(lr=4e-3, weight_decay=3e-4),
        lambda: AdamW(lr=1, weight_decay=0.0),  # an int rate, no decay
        lambda: Adam(lr=1e-3, eps=0.0),  # 0 / 0 where a gradient stays 0: NaN, no error
    ],
)
def test_the_loop_gives_the_optimisers_own_updates_bit_for_bit(make, dtype):
    rng = np.random.default_rng(0)
    own, loop = make(), make()
    value = rng.standard_normal(5000).astype(dtype)
    value[:4] = [0.0, -0.0, 1e-30, -1e30]
    own_value, loop_value = value.copy(), value.copy()
    own_state, loop_state = {}, {}
    for step in range(6):
        grad = (rng.standard_normal(5000) * 10.0 ** rng.integers(-8, 3, 5000)).astype(dtype)
        grad[:2] = 0.0
        own.update_one(own_value, grad.copy(), own_state)
        assert compiled_update(loop, loop_value, grad, loop_state)
        own.lr = loop.lr = own.lr * 0.7  # a schedule's new (Python float) rate
        np.testing.assert_array_equal(loop_value, own_value, err_msg=f"step {step}")
    assert loop_state["step"] == own_state["step"] == 6
    for name in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_array_equal(loop_state[name], own_state[name])
        assert loop_state[name].dtype == dtype


def test_the_flag_and_the_class_each_do_what_they_do_in_numpy():
    """update_one's L2 term follows decoupled_weight_decay; AdamW.update's decay follows
    the class: a flag changed on an instance changes the numbers the same way."""
    rng = np.random.default_rng(1)
    for make, flag in ((lambda: Adam(lr=1e-2, weight_decay=0.1), True),
                       (lambda: AdamW(lr=1e-2, weight_decay=0.1), False)):  # fmt: skip
        own, loop = make(), make()
        own.decoupled_weight_decay = loop.decoupled_weight_decay = flag
        value = rng.standard_normal(4096).astype(np.float32)
        grad = rng.standard_normal(4096).astype(np.float32)
        own_value, loop_value, own_state, loop_state = value.copy(), value.copy(), {}, {}
        own.update_one(own_value, grad, own_state)
        assert compiled_update(loop, loop_value, grad, loop_state)
        np.testing.assert_array_equal(loop_value, own_value)


def test_a_state_of_another_shape_goes_to_numpys_error():
    """A state loaded from a narrower model: NumPy's broadcast error, not a write past
    the arrays' ends."""
    value, grad = np.zeros(4096, dtype=np.float32), np.ones(4096, dtype=np.float32)
    state = {
        "step": 3,
        "exp_avg": np.zeros(16, np.float32),
        "exp_avg_sq": np.zeros(16, np.float32),
    }
    assert not compiled_update(AdamW(), value, grad, state)
    with pytest.raises(ValueError):
        AdamW().update_one(value, grad, state)
    read_only = {"step": 1, "exp_avg": np.zeros(4096, np.float32)}
    read_only["exp_avg_sq"] = np.zeros(4096, np.float32)
    read_only["exp_avg"].flags.writeable = False  # e.g. a state read from a memory map
    assert not compiled_update(AdamW(), value, grad, read_only)
    with pytest.raises(ValueError, match="read-only"):
        AdamW().update_one(value, grad, read_only)


def test_it_declines_what_it_does_not_cover():
    value, grad = np.zeros(4096, dtype=np.float32), np.ones(4096, dtype=np.float32)
    state = {}
    assert not compiled_update(SGD(lr=0.1), value, grad, state)
    numpy_rate = AdamW(lr=1e-3)
    numpy_rate.lr = np.float64(1e-3)  # NumPy would compute in float64 with it
    assert not compiled_update(numpy_rate, value, grad, state)
    assert not compiled_update(Adam(), value[:100], grad[:100], state)  # too small
    assert state == {}  # nothing changed
    assert not value.any()
