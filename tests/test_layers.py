import numpy as np
import pytest
from conftest import assert_gradients_ok

from barenet import BatchNorm1d, Dropout, Identity, Layer, Linear


def test_linear_shapes_init_and_dtype():
    layer = Linear(8, 3, seed=0)
    assert layer.w.shape == (8, 3) and layer.b.shape == (1, 3)
    assert layer.dw.shape == (8, 3) and layer.db.shape == (1, 3)
    assert layer.w.dtype == np.float32 and not layer.b.any()
    limit = np.sqrt(6 / 11)
    assert np.abs(layer.w).max() <= limit
    assert Linear(8, 3, dtype=np.float64).w.dtype == np.float64


def test_linear_seed_int_and_generator_reproducible():
    np.testing.assert_array_equal(Linear(4, 5, seed=3).w, Linear(4, 5, seed=3).w)
    a = Linear(4, 5, seed=np.random.default_rng(7)).w
    b = Linear(4, 5, seed=np.random.default_rng(7)).w
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(Linear(4, 5, seed=1).w, Linear(4, 5, seed=2).w)


@pytest.mark.parametrize("init", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal"])
def test_linear_initialisers_scale(init):
    w = Linear(400, 600, seed=0, init=init, dtype=np.float64).w
    expected_std = {
        "glorot_uniform": np.sqrt(2 / 1000),
        "glorot_normal": np.sqrt(2 / 1000),
        "he_uniform": np.sqrt(2 / 400),
        "he_normal": np.sqrt(2 / 400),
    }[init]
    assert abs(w.std() / expected_std - 1) < 0.02


def test_linear_backward_overwrites_gradients():
    """The notebook's semantics: backward sets dw and db (zero_grad is not needed)."""
    rng = np.random.default_rng(5)
    layer = Linear(3, 2, dtype=np.float64, seed=0)
    inp, up = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(inp)
    layer.backward(up)
    first = layer.dw.copy()
    layer.backward(up)
    np.testing.assert_array_equal(layer.dw, first)  # not 2 * first, as accumulation would give
    layer.zero_grad()
    assert not layer.dw.any() and not layer.db.any()


def test_linear_rules_match_the_notebook():
    rng = np.random.default_rng(0)
    layer = Linear(4, 3, dtype=np.float64, seed=0)
    layer.b[...] = rng.standard_normal((1, 3))
    inp, up = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(layer(inp), inp @ layer.w + layer.b)
    down = layer.backward(up)
    np.testing.assert_allclose(layer.dw, inp.T @ up)
    np.testing.assert_allclose(layer.db, up.sum(axis=0, keepdims=True))
    np.testing.assert_allclose(down, up @ layer.w.T)
    w, b = layer.w.copy(), layer.b.copy()
    layer.step(0.1)
    np.testing.assert_allclose(layer.w, w - 0.1 * (inp.T @ up))
    np.testing.assert_allclose(layer.b, b - 0.1 * up.sum(axis=0, keepdims=True))


def test_linear_gradients_finite_differences():
    rng = np.random.default_rng(1)
    layer = Linear(5, 4, dtype=np.float64, seed=1)
    layer.b[...] = rng.standard_normal((1, 4))
    assert_gradients_ok(layer, rng.standard_normal((6, 5)))


def test_linear_rejects_wrong_input_and_bad_arguments():
    layer = Linear(4, 2)
    with pytest.raises(ValueError, match=r"expects input of shape \(batch_size, 4\)"):
        layer(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="in_dim"):
        Linear(0, 2)
    with pytest.raises(TypeError, match="in_dim"):
        Linear(2.5, 2)
    with pytest.raises(ValueError, match="initialiser"):
        Linear(2, 2, init="zeros")
    with pytest.raises(TypeError, match="seed"):
        Linear(2, 2, seed="x")
    with pytest.raises(ValueError, match="dtype"):
        Linear(2, 2, dtype=np.int32)
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(2, 2).backward(np.zeros((1, 2)))


def test_layer_base_contract():
    layer = Layer()
    assert layer.inp is None and layer.out is None
    layer.step(0.1)  # nothing to update
    assert layer.parameters() == []
    with pytest.raises(NotImplementedError):
        layer(np.zeros((1, 1)))


def test_parameters_read_through_the_layer_and_modes():
    layer = Linear(3, 2, seed=0)
    (w,) = [p for p in layer.parameters() if p.name == "w"]
    layer.w = np.ones((3, 2), dtype=np.float32)  # a layer may replace its arrays
    assert w.value is layer.w and w.key == "w"
    assert layer.eval().training is False and layer.train().training is True


def test_identity():
    x = np.arange(6.0).reshape(2, 3)
    assert Identity()(x) is x and Identity().backward(x) is x


def test_dropout_train_and_eval_modes():
    layer = Dropout(0.5, seed=0)
    x = np.ones((200, 50))
    out = layer(x)
    zeros = np.mean(out == 0)
    assert 0.45 < zeros < 0.55
    assert set(np.unique(out)) == {0.0, 2.0}  # inverted dropout scales by 1 / (1 - p)
    np.testing.assert_array_equal(layer.backward(x), out)
    layer.eval()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    with pytest.raises(ValueError, match="Dropout p"):
        Dropout(1.0)


def test_dropout_gradients_with_its_mask():
    rng = np.random.default_rng(2)
    layer = Dropout(0.3, seed=0)
    assert_gradients_ok(layer, rng.standard_normal((6, 5)))  # the check replays the mask
    assert layer.mask is not None and (layer.mask == 0).any()


def test_batchnorm_gradients_train_and_eval():
    rng = np.random.default_rng(3)
    layer = BatchNorm1d(4, dtype=np.float64)
    layer.gamma[...] = rng.standard_normal((1, 4))
    layer.beta[...] = rng.standard_normal((1, 4))
    assert_gradients_ok(layer, rng.standard_normal((7, 4)))
    layer.eval()
    layer.running_var[...] = rng.uniform(0.5, 2, (1, 4))
    assert_gradients_ok(layer, rng.standard_normal((7, 4)))


def test_batchnorm_modes_and_running_statistics():
    rng = np.random.default_rng(4)
    layer = BatchNorm1d(3, dtype=np.float64, momentum=0.1)
    x = rng.normal(5.0, 3.0, (500, 3))
    out = layer(x)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-3)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=0, keepdims=True))
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1, keepdims=True))
    layer.eval()
    running = layer.running_mean.copy()
    eval_out = layer(x)
    np.testing.assert_array_equal(layer.running_mean, running)  # eval does not update
    assert not np.allclose(eval_out, out)
    with pytest.raises(ValueError, match="BatchNorm1d"):
        layer(np.zeros((2, 4)))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Dropout(None), "Dropout p must be a number"),
        (lambda: Dropout(1.0), r"Dropout p must be in \[0.0, 1.0\)"),
        (lambda: BatchNorm1d(3, momentum=None), "BatchNorm1d momentum must be a number"),
        (lambda: BatchNorm1d(3, eps=-1), "BatchNorm1d eps must be in"),
    ],
)
def test_constructor_arguments_are_checked_and_named(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()
