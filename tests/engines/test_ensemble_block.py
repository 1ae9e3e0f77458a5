"""barenet.engines.fused.ensemble_block: Ensemble, MemberScale and EnsembleLinear as one product
give what the three layers' own methods give, to rounding."""

import numpy as np
import pytest

from barenet import Ensemble, EnsembleLinear, Linear, MemberScale, Relu
from barenet.engines.fused.ensemble_block import ScaledEnsembleBlock, starts_block
from barenet.engines.fused.step import _steps

K, DIM, OUT, BATCH = 4, 6, 5, 9


def three_layers(dtype, shared=True):
    rng = np.random.default_rng(0)
    scale = MemberScale(K, DIM, dtype=dtype, seed=rng)
    scale.r = (rng.standard_normal((K, DIM)) + 1.0).astype(dtype)  # trained, not just signs
    scale.dr = np.zeros_like(scale.r)
    linear = EnsembleLinear(DIM, OUT, K, shared=shared, dtype=dtype, seed=rng)
    linear.b = rng.standard_normal((K, OUT)).astype(dtype)
    return [Ensemble(K, DIM), scale, linear]


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_the_block_equals_the_three_layers_methods(dtype, rtol):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, DIM)).astype(dtype)
    up_grad = rng.standard_normal((BATCH, K * OUT)).astype(dtype)
    layers = three_layers(dtype)
    out = x
    for layer in layers:
        out = layer.forward(out)
    grad = up_grad
    for layer in layers[::-1]:
        grad = layer.backward(grad)
    expected = {"out": out, "dx": grad, "dr": layers[1].dr.copy(),
                "dw": layers[2].dw.copy(), "db": layers[2].db.copy()}  # fmt: skip

    fresh = three_layers(dtype)
    block = ScaledEnsembleBlock(*fresh)
    got = {"out": block.forward(x), "dx": block.backward(up_grad)}
    got.update(dr=fresh[1].dr, dw=fresh[2].dw, db=fresh[2].db)
    for key, value in expected.items():
        assert got[key].shape == value.shape and got[key].dtype == dtype, key
        np.testing.assert_allclose(got[key], value, rtol=rtol, atol=rtol, err_msg=key)
    assert block.backward(up_grad, input_grad=False) is None  # the gradients only
    np.testing.assert_allclose(fresh[2].dw, expected["dw"], rtol=rtol, atol=rtol)


def test_only_the_exact_pattern_becomes_a_block():
    layers = three_layers(np.float64)
    assert starts_block(layers, 0) and not starts_block(layers, 1)
    steps = _steps([Linear(3, DIM, seed=0), Relu(), *layers, Relu()])
    # each product and the Relu after it run as one step (barenet.engines.fused.relu_after)
    assert [type(s).__name__ for s in steps] == ["ReluAfter", "ReluAfter"]
    assert [type(s.step).__name__ for s in steps] == ["Linear", "ScaledEnsembleBlock"]
    per_member = three_layers(np.float64, shared=False)  # a matrix per member: no block
    assert not starts_block(per_member, 0)
    wrong_width = [Ensemble(K, DIM), MemberScale(K, DIM, seed=0), EnsembleLinear(DIM + 1, OUT, K)]
    assert not starts_block(wrong_width, 0)


def test_a_wrong_input_gets_the_layers_own_message():
    block = ScaledEnsembleBlock(*three_layers(np.float64))
    with pytest.raises(ValueError, match=r"expects input of shape \(batch_size, 6\)"):
        block.forward(np.zeros((2, DIM + 1)))


def test_a_block_large_enough_for_the_compiled_loop_equals_the_three_layers(monkeypatch):
    """16 members of 128 inputs: the scaled matrices come from barenet.engines.fused.loops."""
    import barenet.engines.fused.loops as loops

    calls = []
    original = loops.scaled_matrices
    monkeypatch.setattr(loops, "scaled_matrices", lambda *a: calls.append(1) or original(*a))
    k, dim, out_dim = 16, 128, 8
    rng = np.random.default_rng(7)
    layers = [Ensemble(k, dim), MemberScale(k, dim, seed=rng), EnsembleLinear(dim, out_dim, k)]
    layers[1].r = rng.standard_normal((k, dim)).astype(np.float32)
    x = rng.standard_normal((5, dim)).astype(np.float32)
    expected = x
    for layer in layers:
        expected = layer.forward(expected)
    got = ScaledEnsembleBlock(*layers).forward(x)
    assert calls  # the loop ran
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
