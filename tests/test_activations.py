import warnings

import numpy as np
import pytest
from conftest import assert_gradients_ok

from barenet import GELU, LeakyRelu, Mish, Relu, Sigmoid, SiLU, Softmax, Tanh
from barenet.registry import ACTIVATIONS


def away_from_zero(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 1e-3, 0.5, x)


@pytest.mark.parametrize(
    "layer",
    [Sigmoid(), Relu(), Tanh(), LeakyRelu(0.1), GELU(), Softmax(), SiLU(), Mish()],
    ids=lambda layer: type(layer).__name__,
)
def test_activation_gradients_finite_differences(layer):
    assert_gradients_ok(layer, away_from_zero((5, 4)) * 2)


def test_sigmoid_values_and_derivative():
    x = np.array([[-2.0, 0.0, 3.0]])
    layer = Sigmoid()
    np.testing.assert_allclose(layer(x), 1 / (1 + np.exp(-x)))
    f = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), f * (1 - f))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_stable_for_huge_inputs(dtype):
    big = np.finfo(dtype).max
    x = np.array([[-big, -1e4, -800.0, 0.0, 800.0, 1e4, big]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Sigmoid()(x)
    assert np.isfinite(out).all()
    assert out[0, 0] == 0 and out[0, -1] == 1 and out[0, 3] == 0.5


def test_relu_as_in_the_notebook():
    x = np.array([[-1.0, 0.0, 2.0]])
    layer = Relu()
    np.testing.assert_array_equal(layer(x), [[0, 0, 2]])
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 3.0)), [[0, 0, 3]])


def test_softmax_rows_sum_to_one_and_are_stable():
    out = Softmax()(np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(out.sum(axis=1), 1)
    assert np.isfinite(out).all()


def test_unknown_activation_names_the_choices():
    choices = r"unknown activation 'softsign'; choose one of \[.*'relu'"
    with pytest.raises(ValueError, match=choices):
        ACTIVATIONS.lookup("softsign")


def test_silu_and_mish_values():
    x = np.array([[-3.0, -0.5, 0.0, 0.7, 4.0]])
    sigmoid = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(SiLU()(x), x * sigmoid, rtol=1e-15)
    np.testing.assert_allclose(Mish()(x), x * np.tanh(np.log1p(np.exp(x))), rtol=1e-15)
    assert ACTIVATIONS.lookup("swish") is SiLU and ACTIVATIONS.lookup("silu") is SiLU
    assert ACTIVATIONS.lookup("mish") is Mish


@pytest.mark.parametrize("layer", [SiLU, Mish])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_silu_and_mish_stable_for_huge_inputs(layer, dtype):
    big = np.finfo(dtype).max
    x = np.array([[-big, -1e4, -800.0, 0.0, 800.0, 1e4, big]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        activation = layer()
        out = activation(x)
        grad = activation.backward(np.ones_like(x))
    assert out.dtype == dtype and grad.dtype == dtype
    np.testing.assert_array_equal(out[0, 3:], x[0, 3:] * [0, 1, 1, 1])  # x for large x
    np.testing.assert_array_equal(out[0, :3], 0.0)  # 0 for very negative x
    np.testing.assert_array_equal(grad[0, 4:], 1.0)
    np.testing.assert_array_equal(grad[0, :3], 0.0)


@pytest.mark.parametrize("name", ["gelu", "silu", "mish", "sigmoid", "tanh", "relu", "leaky_relu"])
def test_float32_stays_float32(name):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(4, 3)
    layer = ACTIVATIONS.lookup(name)()
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32
