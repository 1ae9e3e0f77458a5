"""barenet.engines.fused.loops and loop_dispatch: the fused engine's compiled loops give NumPy's
numbers bit for bit (signed zeros, NaN and infinities included), and are used only
where they may run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barenet.engines.fused import loop_dispatch, loops
from barenet.engines.fused.loop_dispatch import MIN_SIZE, loops_for

SPECIALS = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3.0, -2.5])


def awkward(rng, shape, dtype):
    """Normal values with signed zeros, NaN, infinities and subnormals sprinkled in."""
    values = rng.standard_normal(shape).astype(dtype)
    picks = rng.random(shape) < 0.1
    values[picks] = rng.choice(SPECIALS, size=int(picks.sum())).astype(dtype)
    return values


def same_bits(got, expected):
    """Equal values, NaN where NaN, and the same sign on every number (-0.0 too; a
    NaN's sign bit depends on which operand the CPU passed on, and means nothing)."""
    np.testing.assert_array_equal(got, expected)
    numbers = ~np.isnan(expected)
    np.testing.assert_array_equal(np.signbit(got[numbers]), np.signbit(expected[numbers]))


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 70),
    width=st.integers(2, 300),  # a single column NumPy sums pairwise: relu_after keeps it
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_bias_relu_and_its_gradient_are_numpys_bit_for_bit(rows, width, dtype, seed):
    rng = np.random.default_rng(seed)
    out, bias = awkward(rng, (rows, width), dtype), awkward(rng, width, dtype)
    grad = awkward(rng, (rows, width), dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = out + bias
        expected = expected * (expected > 0)  # Relu.forward of the biased product
        expected_grad = grad * (expected > 0)  # Relu.backward
        expected_db = expected_grad.sum(axis=0)  # Linear's bias gradient
        got = out.copy()
        loops.bias_relu(got, bias)
        got_grad, got_db = grad.copy(), np.full(width, 7.0, dtype=dtype)
        loops.relu_grad_and_bias_sum(got_grad, expected, got_db)
    same_bits(got, expected)
    same_bits(got_grad, expected_grad)
    same_bits(got_db, expected_db)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_bias_sum_adds_row_after_row_as_numpy_does_on_a_big_batch(dtype):
    """Large, mixed-magnitude columns: any other order of additions rounds differently."""
    rng = np.random.default_rng(3)
    grad = rng.standard_normal((4096, 33)) * 10.0 ** rng.integers(-6, 7, (4096, 33))
    grad = grad.astype(dtype)
    out = np.ones_like(grad)
    db = np.empty(33, dtype=dtype)
    loops.relu_grad_and_bias_sum(grad.copy(), out, db)
    same_bits(db, grad.sum(axis=0))
    assert not np.array_equal(db, np.sort(grad, axis=0).sum(axis=0))  # order matters here


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_member_products_and_scaled_matrices_are_the_broadcast_products(dtype):
    rng = np.random.default_rng(4)
    grad, w = awkward(rng, (9, 5), dtype), awkward(rng, (5, 7), dtype)
    out = np.empty((9, 35), dtype=dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        loops.member_products(grad, w, out)
        same_bits(out, (grad[:, :, None] * w[None]).reshape(9, -1))
        r, w = awkward(rng, (5, 6), dtype), awkward(rng, (6, 4), dtype)
        scaled = np.empty((6, 20), dtype=dtype)
        loops.scaled_matrices(r, w, scaled)
        same_bits(scaled, (r.T[:, :, None] * w[:, None, :]).reshape(6, -1))


def test_loops_run_only_on_large_c_ordered_arrays_of_one_float_dtype_and_stated_shapes():
    big = np.zeros((64, MIN_SIZE // 64), dtype=np.float32)
    row = big.shape[1:]
    assert loops_for(big, big[0], shapes=(big.shape, row)) is loops
    assert loops_for(big[:, :-1], big[0], shapes=(big[:, :-1].shape, row)) is None  # small
    assert loops_for(np.asfortranarray(big), big[0], shapes=(big.shape, row)) is None
    assert loops_for(big, big[0, ::2].repeat(2), shapes=(big.shape, row)) is loops  # a copy
    assert loops_for(big, big[::2, 0], shapes=(big.shape, (32,))) is None  # a strided view
    assert loops_for(big, big[0].astype(np.float64), shapes=(big.shape, row)) is None
    assert loops_for(big.astype(np.int64), shapes=(big.shape,)) is None  # not a float
    # the loops index without bounds checks: any other shape than stated goes to NumPy
    assert loops_for(big, big[0, :1], shapes=(big.shape, row)) is None


def test_without_numba_the_callers_get_none(monkeypatch):
    monkeypatch.setattr(loop_dispatch, "_LOOPS", [None])  # as when numba fails to import
    assert loops_for(np.zeros((64, 64)), shapes=((64, 64),)) is None


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 40),
    features=st.integers(1, 5),
    bins=st.integers(1, 9),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_piecewise_encoding_is_numpys_clip_bit_for_bit(rows, features, bins, dtype, seed):
    rng = np.random.default_rng(seed)
    inp = awkward(rng, (rows, features), dtype)
    left, width = awkward(rng, (features, bins), dtype), awkward(rng, (features, bins), dtype)
    low, high = awkward(rng, (features, bins), dtype), awkward(rng, (features, bins), dtype)
    low[rng.random(low.shape) < 0.2] = 0.0  # bounds of 0.0 against raw values of -0.0
    raw, out = np.empty((rows, features, bins), dtype), np.empty((rows, features, bins), dtype)
    with np.errstate(all="ignore"):
        expected_raw = (inp[:, :, None] - left) / width
        expected = np.clip(expected_raw, low, high)
        loops.piecewise_linear(inp, left, width, low, high, raw, out)
    same_bits(raw, expected_raw)
    same_bits(out, expected)
