"""The same weights in barenet and in PyTorch give the same numbers."""

import numpy as np
import pytest
from conftest import TORCH_MISSING

from barenet import (
    GELU,
    MAE,
    MLP,
    MSE,
    BatchNorm1d,
    BCEWithLogits,
    CrossEntropy,
    Huber,
    LeakyRelu,
    Linear,
    Mish,
    Relu,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)

torch = pytest.importorskip("torch", reason=TORCH_MISSING)
nn = torch.nn

TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def to_torch_layer(layer, dtype):
    if isinstance(layer, Linear):
        t = nn.Linear(layer.in_dim, layer.out_dim, dtype=TORCH_DTYPE[dtype])
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(layer.w.T.copy()))
            t.bias.copy_(torch.from_numpy(layer.b[0].copy()))
        return t
    if isinstance(layer, BatchNorm1d):
        t = nn.BatchNorm1d(
            layer.num_features, momentum=layer.momentum, eps=layer.eps, dtype=TORCH_DTYPE[dtype]
        )
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(layer.gamma[0].copy()))
            t.bias.copy_(torch.from_numpy(layer.beta[0].copy()))
        return t
    activations = {
        Relu: nn.ReLU,
        Sigmoid: nn.Sigmoid,
        Tanh: nn.Tanh,
        LeakyRelu: lambda: nn.LeakyReLU(layer.slope),
        GELU: lambda: nn.GELU(approximate="tanh"),
        Softmax: lambda: nn.Softmax(dim=1),
        SiLU: nn.SiLU,
        Mish: nn.Mish,
    }
    return activations[type(layer)]()


def torch_grads(module):
    grads = []
    for m in module:
        if isinstance(m, nn.Linear | nn.BatchNorm1d):
            grads.append(
                m.weight.grad.numpy().T
                if isinstance(m, nn.Linear)
                else m.weight.grad.numpy()[None]
            )
            grads.append(m.bias.grad.numpy()[None])
    return grads


def build(dtype, hidden_activation, seed=0, extra=()):
    rng = np.random.default_rng(seed)
    layers = [
        Linear(6, 16, seed=rng, dtype=dtype),
        hidden_activation(),
        *extra,
        Linear(16, 16, seed=rng, dtype=dtype),
        hidden_activation(),
        Linear(16, 3, seed=rng, dtype=dtype),
    ]
    for layer in layers:
        if isinstance(layer, Linear):
            layer.b[...] = rng.standard_normal(layer.b.shape) * 0.1
    return layers


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("activation", [Relu, Sigmoid, Tanh, LeakyRelu, GELU, SiLU, Mish])
def test_mlp_outputs_loss_gradients_and_three_sgd_steps_match_torch(dtype, activation):
    tol = TOLERANCE[dtype]
    layers = build(dtype, activation)
    reference = nn.Sequential(*[to_torch_layer(layer, dtype) for layer in layers])
    model = MLP(layers, MSE(), lr=0.05)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.05)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.standard_normal((10, 6)).astype(dtype)
        y = rng.standard_normal((10, 3)).astype(dtype)
        out = model(x)
        loss = model.loss(out, y)
        model.backward()
        optimizer.zero_grad()
        t_out = reference(torch.from_numpy(x))
        t_loss = nn.MSELoss()(t_out, torch.from_numpy(y))
        t_loss.backward()
        np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
        assert loss == pytest.approx(t_loss.item(), rel=tol, abs=tol)
        ours = [p.grad for p in model.parameters()]
        for a, b in zip(ours, torch_grads(reference), strict=True):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
        model.update()
        optimizer.step()
    for layer, t in zip(layers, reference, strict=True):
        if isinstance(layer, Linear):
            np.testing.assert_allclose(layer.w, t.weight.detach().numpy().T, rtol=tol, atol=tol)
            np.testing.assert_allclose(layer.b[0], t.bias.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_matches_torch(mode):
    layers = build(np.float64, Relu, extra=(BatchNorm1d(16, dtype=np.float64),))
    reference = nn.Sequential(*[to_torch_layer(layer, np.float64) for layer in layers])
    model = MLP(layers, MSE(), lr=0.05)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x, y = rng.standard_normal((12, 6)), rng.standard_normal((12, 3))
        model.train() if mode == "train" else model.eval()
        reference.train(mode == "train")
        out = model(x)
        model.loss(out, y)
        model.backward()
        t_out = reference(torch.from_numpy(x))
        reference.zero_grad()
        nn.MSELoss()(t_out, torch.from_numpy(y)).backward()
        np.testing.assert_allclose(out, t_out.detach().numpy(), atol=1e-10)
        for a, b in zip([p.grad for p in model.parameters()], torch_grads(reference), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-10)
        bn, t_bn = layers[2], reference[2]
        np.testing.assert_allclose(bn.running_mean[0], t_bn.running_mean.numpy(), atol=1e-12)
        np.testing.assert_allclose(bn.running_var[0], t_bn.running_var.numpy(), atol=1e-12)


@pytest.mark.parametrize(
    "ours, theirs, target_kind",
    [
        (MSE(), nn.MSELoss(), "real"),
        (MAE(), nn.L1Loss(), "real"),
        (Huber(0.5), nn.HuberLoss(delta=0.5), "real"),
        (BCEWithLogits(), nn.BCEWithLogitsLoss(), "binary"),
        (CrossEntropy(), nn.CrossEntropyLoss(), "labels"),
    ],
    ids=["mse", "mae", "huber", "bce", "cross_entropy"],
)
def test_losses_and_their_gradients_match_torch(ours, theirs, target_kind):
    rng = np.random.default_rng(3)
    prediction = rng.standard_normal((8, 4)) * 3
    if target_kind == "real":
        target, t_target = (t := rng.standard_normal((8, 4))), torch.from_numpy(t)
    elif target_kind == "binary":
        target = (rng.random((8, 4)) < 0.5).astype(float)
        t_target = torch.from_numpy(target)
    else:
        target = rng.integers(0, 4, 8)
        t_target = torch.from_numpy(target)
    t_prediction = torch.from_numpy(prediction.copy()).requires_grad_()
    t_loss = theirs(t_prediction, t_target)
    t_loss.backward()
    assert ours(prediction, target) == pytest.approx(t_loss.item(), rel=1e-12)
    np.testing.assert_allclose(ours.backward(), t_prediction.grad.numpy(), atol=1e-14)


def test_cross_entropy_extreme_logits_match_torch():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]])
    labels = np.array([1, 2])
    t = torch.from_numpy(logits)
    expected = nn.CrossEntropyLoss()(t, torch.from_numpy(labels)).item()
    assert CrossEntropy()(logits, labels) == pytest.approx(expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("ours, theirs", [(SiLU, nn.SiLU), (Mish, nn.Mish)], ids=["silu", "mish"])
def test_silu_and_mish_match_torch_over_a_wide_range(ours, theirs, dtype):
    tol = TOLERANCE[dtype]
    x = np.concatenate([np.linspace(-40, 40, 801), [-1e4, -100.0, 100.0, 1e4]])
    x = x.reshape(5, -1).astype(dtype)
    up_grad = np.random.default_rng(4).standard_normal(x.shape).astype(dtype)
    layer = ours()
    out = layer(x)
    grad = layer.backward(up_grad)
    t_x = torch.from_numpy(x.copy()).requires_grad_()
    t_out = theirs()(t_x)
    (t_out * torch.from_numpy(up_grad)).sum().backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, t_x.grad.numpy(), rtol=tol, atol=tol)
