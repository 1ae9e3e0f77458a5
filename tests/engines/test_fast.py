"""barenet.engines: the fused path computes exactly what the model's own methods compute."""

import numpy as np
import pytest

from barenet import (
    GELU,
    MLP,
    MSE,
    SGD,
    Adam,
    AdamW,
    BatchNorm1d,
    CrossEntropy,
    Dropout,
    Huber,
    LeakyRelu,
    Linear,
    Relu,
    RMSprop,
    Sigmoid,
    StepLR,
    Tanh,
)
from barenet.engines.fused.step import why_not_fused

OPTIMIZERS = {
    "plain": lambda: None,
    "sgd-momentum": lambda: SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam-fused": lambda: Adam(lr=0.01, fused=True, weight_decay=1e-3),
    "adamw": lambda: AdamW(lr=0.01),
    "rmsprop-fused": lambda: RMSprop(lr=0.01, momentum=0.5, centered=True, fused=True),
}


@pytest.fixture(autouse=True)
def numpy_engine(monkeypatch):
    """FusedStep is the NumPy engine's: ``auto`` means ``numpy`` in these tests (the
    compiled engine's equality tests are in test_engine.py)."""
    monkeypatch.setenv("BARENET_ENGINE", "fused")


def build(optimizer, dtype, loss=None, extra=()):
    rng = np.random.default_rng(1)
    layers = [
        Linear(6, 16, seed=rng, dtype=dtype),
        *[layer(dtype) for layer in extra],
        Relu(),
        Linear(16, 16, seed=rng, dtype=dtype),
        Tanh(),
        Linear(16, 3 if isinstance(loss, CrossEntropy) else 1, seed=rng, dtype=dtype),
    ]
    return MLP(layers, loss or MSE(), 0.05, seed=0, optimizer=optimizer)


def data(classes=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((150, 6))
    if classes:
        return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    return x, np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]


def assert_same(a, b):
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key], value, err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fused_and_plain_paths_give_bit_identical_weights(name, dtype):
    x, y = data()
    fused, plain = build(OPTIMIZERS[name](), dtype), build(OPTIMIZERS[name](), dtype)
    assert why_not_fused(fused) is None
    history = fused.train(x, y, x, y, 3, 32)
    plain_history = plain.train(x, y, x, y, 3, 32, engine="methods")
    assert history == plain_history
    assert_same(fused, plain)


@pytest.mark.parametrize(
    "extra, loss",
    [
        ((lambda dtype: BatchNorm1d(16, dtype=dtype),), None),
        ((lambda dtype: Dropout(0.2, seed=3),), None),
        ((lambda dtype: GELU(), lambda dtype: LeakyRelu(0.1), lambda dtype: Sigmoid()), Huber()),
        ((), CrossEntropy()),
    ],
    ids=["batchnorm", "dropout", "activations-huber", "cross-entropy"],
)
def test_fused_path_with_other_layers_and_losses(extra, loss):
    x, y = data(classes=isinstance(loss, CrossEntropy))
    runs = []
    for engine in ("fused", "methods"):
        model = build(Adam(lr=0.01, fused=True), np.float64, loss, extra)
        model.train(x, y, epochs=2, batch_size=32, engine=engine)
        runs.append(model)
    assert_same(*runs)


def test_a_schedule_on_plain_sgd_reaches_the_fused_step():
    x, y = data()
    runs = []
    for engine in ("fused", "methods"):
        model = build(None, np.float64)
        model.train(x, y, epochs=3, batch_size=32, schedule=StepLR(model, 1, 0.5), engine=engine)
        runs.append(model)
    assert runs[0].lr == 0.05 * 0.5**3
    assert_same(*runs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", [lambda: None, lambda: SGD(lr=0.1, fused=True)])
def test_clipping_is_bit_identical_too(optimizer, dtype):
    x, y = data()
    runs = []
    for engine in ("fused", "methods"):
        model = build(optimizer(), dtype)
        model.train(x, y * 50, epochs=2, batch_size=16, clip_norm=0.5, engine=engine)
        runs.append(model)
    assert_same(*runs)


def test_train_uses_the_fused_step_for_built_ins(monkeypatch):
    from barenet.engines.fused import step as runner

    calls = []
    original = runner.FusedStep.update
    monkeypatch.setattr(runner.FusedStep, "update", lambda self: calls.append(1) or original(self))
    x, y = data()
    build(None, np.float32).train(x, y, epochs=1, batch_size=50)
    assert len(calls) == 3
    build(None, np.float32).train(x, y, epochs=1, batch_size=50, engine="methods")
    assert len(calls) == 3


def test_anything_user_written_switches_the_fused_path_off():
    class MyRelu(Relu):
        pass

    class MyMSE(MSE):
        pass

    class MyMLP(MLP):
        pass

    model = build(None, np.float32)
    assert why_not_fused(model) is None
    model.layers[1] = MyRelu()
    assert "layer 1 (MyRelu)" in why_not_fused(model)
    model = build(None, np.float32)
    model.layers[0].backward = lambda up_grad: up_grad
    assert "layer 0 (Linear)" in why_not_fused(model)
    model = build(None, np.float32, loss=MyMSE())
    assert "loss (MyMSE)" in why_not_fused(model)
    model = MyMLP([Linear(2, 1)], MSE())
    assert "MyMLP" in why_not_fused(model)
    model = build(Adam(), np.float32)
    model.optimizer.update = lambda value, grad, state: None
    assert "optimiser (Adam)" in why_not_fused(model)


def test_a_method_replaced_on_the_class_switches_the_fused_path_off(monkeypatch):
    x, y = data()
    calls = []
    original = Linear.backward

    def counting_backward(self, up_grad):
        calls.append(1)
        return original(self, up_grad)

    monkeypatch.setattr(Linear, "backward", counting_backward)
    model = build(None, np.float32)
    assert "layer 0 (Linear)" in why_not_fused(model)
    model.train(x, y, epochs=1, batch_size=50)
    assert len(calls) == 3 * 3  # three Linear layers, three batches: the user's code ran
    monkeypatch.setattr(MLP, "update", lambda self: None)
    assert "MLP" in why_not_fused(build(None, np.float32))


def test_a_callback_that_runs_backward_does_not_leave_stale_gradients():
    x, y = data()
    runs = []
    for engine in ("fused", "methods"):
        model = build(Adam(lr=0.01, fused=True), np.float64)

        def probe(m, epoch, logs):  # the notebook's methods, called between epochs
            m.loss(m(x[:7]), y[:7])
            m.backward()

        model.train(x, y, epochs=3, batch_size=32, callbacks=[probe], engine=engine)
        runs.append(model)
    assert_same(*runs)


def test_clipping_a_fused_optimizer_by_hand_scales_what_step_uses():
    from barenet import clip_grad_norm

    runs = []
    for fused in (True, False):
        model = build(SGD(lr=0.1, fused=fused), np.float64)
        x, y = data()
        for start in range(0, 60, 20):
            model.loss(model(x[start : start + 20]), y[start : start + 20] * 100)
            model.backward()
            clip_grad_norm(model.optimizer, 0.1)
            model.update()
        model.optimizer.unpack()
        runs.append(model)
    assert_same(*runs)


def test_a_learning_rate_of_zero_trains_on_the_fused_path():
    x, y = data()
    model = build(None, np.float32)
    before = model.state_dict()
    model.lr = 0.0  # where a cosine schedule ends
    model.train(x, y, epochs=1, batch_size=50)
    for key, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_another_classs_method_put_on_a_class_switches_the_fused_path_off(monkeypatch):
    """barenet's function, but not the class's own: training runs it (Relu computing
    tanh), and a base class's unimplemented method put back is refused too."""
    from barenet import Tanh
    from barenet.layers import Layer

    x, y = data()
    model = build(None, np.float32)
    monkeypatch.setattr(Relu, "forward", Tanh.forward)
    assert "layer 1 (Relu)" in why_not_fused(model)
    monkeypatch.undo()
    assert why_not_fused(model) is None
    monkeypatch.setattr(Linear, "forward", Layer.forward)
    assert "layer 0 (Linear)" in why_not_fused(model)
    with pytest.raises(NotImplementedError):
        model.train(x, y, epochs=1, batch_size=50)  # the layer's own (unimplemented) forward
