"""The fast path (packed parameters, skipped first-layer gradient, mask-based Relu)
gives the same numbers as the notebook written the straightforward way."""

import numpy as np
import pytest

from barenet import MLP, MSE, SGD, Adam, Linear, Relu
from barenet.packing import PackedParameters


def straightforward_training(weights, biases, x, y, lr, epochs, batch_size, seed):
    """The notebook's MLP filled in the obvious way: float64, new arrays every step."""
    weights, biases = [w.copy() for w in weights], [b.copy() for b in biases]
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        xs, ys = x[order], y[order]
        for start in range(0, len(x), batch_size):
            inputs = [xs[start : start + batch_size]]
            for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
                out = inputs[-1] @ w + b
                inputs.append(np.maximum(0, out) if i < len(weights) - 1 else out)
            target = ys[start : start + batch_size]
            grad = 2 * (inputs[-1] - target) / target.size
            for i in range(len(weights) - 1, -1, -1):
                dw, db = inputs[i].T @ grad, grad.sum(axis=0, keepdims=True)
                if i > 0:
                    grad = (grad @ weights[i].T) * (inputs[i] > 0)
                weights[i] = weights[i] - lr * dw
                biases[i] = biases[i] - lr * db
    return weights, biases


@pytest.mark.parametrize("sizes", [[5, 16, 16, 1], [5, 32, 3], [5, 8, 8, 8, 2]])
def test_fast_training_matches_the_straightforward_loop_float64(sizes):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((103, sizes[0]))
    y = rng.standard_normal((103, sizes[-1]))
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(a, b, dtype=np.float64, seed=i))
        layers[-1].b[...] = rng.standard_normal((1, b)) * 0.1
        if i < len(sizes) - 2:
            layers.append(Relu())
    linears = [layer for layer in layers if isinstance(layer, Linear)]
    start_w = [layer.w.copy() for layer in linears]
    start_b = [layer.b.copy() for layer in linears]
    model = MLP(layers, MSE(), lr=0.05, seed=7)
    model.train(x, y, epochs=3, batch_size=16)
    want_w, want_b = straightforward_training(start_w, start_b, x, y, 0.05, 3, 16, seed=7)
    for layer, w, b in zip(linears, want_w, want_b, strict=True):
        np.testing.assert_allclose(layer.w, w, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.b, b, rtol=1e-12, atol=1e-12)


def test_parameters_are_packed_into_one_buffer_and_stay_views():
    layers = [Linear(3, 4, seed=0), Relu(), Linear(4, 2, seed=1)]
    w_before = layers[0].w.copy()
    optimizer = Adam(lr=0.01)
    MLP(layers, MSE(), optimizer=optimizer)
    (slot,) = optimizer.slots
    assert isinstance(slot, PackedParameters) and slot.value.size == 3 * 4 + 4 + 4 * 2 + 2
    assert layers[0].w.base is slot.value and layers[2].db.base is slot.grad
    np.testing.assert_array_equal(layers[0].w, w_before)


def test_replacing_a_packed_array_is_noticed():
    layer = Linear(3, 2, dtype=np.float64, seed=0)
    optimizer = SGD(layer, lr=0.5)
    layer.w = np.ones((3, 2))  # the user swaps in a new array
    layer.dw[...] = 1.0
    optimizer.step()
    np.testing.assert_array_equal(layer.w, np.full((3, 2), 0.5))
    assert optimizer.slots[0].intact()


def test_user_layer_with_its_own_step_is_still_called():
    calls = []

    class Scaled(Linear):
        def step(self, lr):
            calls.append(lr)
            super().step(lr)

    model = MLP([Linear(2, 3, seed=0), Relu(), Scaled(3, 1, seed=1)], MSE(), lr=0.1)
    x = np.ones((4, 2))
    model.loss(model(x), np.zeros((4, 1)))
    model.backward()
    before = model.layers[0].w.copy()
    model.update()
    assert calls == [0.1] and not np.array_equal(model.layers[0].w, before)
