"""barenet.fast.relu_after: a Relu after a product, applied in place, gives the
numbers of the layers' own methods."""

import numpy as np
import pytest

from barenet import MLP, MSE, AdamW, Dropout, Linear, Relu, Tanh
from barenet.fast.relu_after import ReluAfter
from barenet.fast.runner import FusedStep


@pytest.fixture(autouse=True)
def numpy_engine(monkeypatch):
    monkeypatch.setenv("BARENET_ENGINE", "numpy")


def build(dtype):
    rng = np.random.default_rng(2)
    layers = [
        Linear(5, 12, seed=rng, dtype=dtype),
        Relu(),  # the first step with parameters: its input's gradient is skipped
        Dropout(0.25, seed=4),  # its backward's array is not one the Relu may overwrite
        Linear(12, 12, seed=rng, dtype=dtype),
        Relu(),  # the gradient from the head below is a new array: masked in place
        Linear(12, 12, seed=rng, dtype=dtype),
        Tanh(),
        Linear(12, 1, seed=rng, dtype=dtype),
    ]
    return MLP(layers, MSE(), 0.05, seed=0, optimizer=AdamW(lr=0.01))


def test_the_relus_after_products_are_fused_and_know_whose_gradient_is_new():
    steps = FusedStep(build(np.float64)).steps
    fused = [step for step in steps if isinstance(step, ReluAfter)]
    assert [type(step.step).__name__ for step in fused] == ["Linear", "Linear"]
    assert [step.grad_is_new for step in fused] == [False, True]
    assert not any(type(step) is Relu for step in steps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_relus_train_to_the_weights_of_the_layers_own_methods(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 5))
    y = np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    runs = []
    for fast in (True, False):
        model = build(dtype)
        runs.append((model, model.train(x, y, x, y, epochs=3, batch_size=16, fast=fast)))
    (fused, history), (plain, plain_history) = runs
    assert history == plain_history
    for key, value in plain.state_dict().items():
        np.testing.assert_array_equal(fused.state_dict()[key], value, err_msg=key)


def test_the_relu_output_and_its_gradient_equal_the_relu_layers():
    rng = np.random.default_rng(1)
    linear = Linear(4, 6, seed=0)
    x = rng.standard_normal((9, 4)).astype(np.float32)
    up_grad = rng.standard_normal((9, 6)).astype(np.float32)
    relu = Relu()
    expected = relu.forward(linear.forward(x))
    expected_grad = linear.backward(relu.backward(up_grad))

    def backward_of(step, grad, input_grad=True):
        return step.backward(grad)

    step = ReluAfter(Linear(4, 6, seed=0), Relu(), backward_of, grad_is_new=False)
    np.testing.assert_array_equal(step.forward(x), expected)
    kept = up_grad.copy()
    np.testing.assert_array_equal(step.backward(up_grad), expected_grad)
    np.testing.assert_array_equal(up_grad, kept)  # not overwritten: not declared new
    np.testing.assert_array_equal(step.step.dw, linear.dw)
