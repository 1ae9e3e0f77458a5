import numpy as np
import pytest

from barenet import SGD, Adam, AdamW, Linear, RMSprop, clip_grad_norm
from barenet.optimizers import OPTIMIZERS, get_optimizer

torch = pytest.importorskip("torch")

CASES = [
    (SGD, torch.optim.SGD, {"lr": 0.1}),
    (SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    (SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (Adam, torch.optim.Adam, {"lr": 0.01}),
    (Adam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    (AdamW, torch.optim.AdamW, {"lr": 0.01}),
    (AdamW, torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.3}),
    (RMSprop, torch.optim.RMSprop, {"lr": 0.01}),
    (
        RMSprop,
        torch.optim.RMSprop,
        {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.05},
    ),
]


def layer_and_tensors(seed=0):
    layer = Linear(4, 3, dtype=np.float64, seed=seed)
    layer.b[...] = np.random.default_rng(seed).standard_normal((1, 3))
    tensors = [
        torch.tensor(layer.w.copy(), requires_grad=True),
        torch.tensor(layer.b.copy(), requires_grad=True),
    ]
    return layer, tensors


@pytest.mark.parametrize(
    "ours, theirs, kwargs", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]
)
def test_twenty_steps_follow_torch_exactly(ours, theirs, kwargs):
    layer, tensors = layer_and_tensors()
    optimizer = ours(layer, **kwargs)
    reference = theirs(tensors, **kwargs)
    rng = np.random.default_rng(1)
    for _ in range(20):
        grads = [rng.standard_normal(layer.w.shape), rng.standard_normal(layer.b.shape)]
        layer.dw[...], layer.db[...] = grads
        for t, g in zip(tensors, grads, strict=True):
            t.grad = torch.from_numpy(g.copy())
        optimizer.step()
        reference.step()
        np.testing.assert_allclose(layer.w, tensors[0].detach().numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(layer.b, tensors[1].detach().numpy(), rtol=0, atol=1e-10)


def test_clip_grad_norm_matches_torch():
    layer, tensors = layer_and_tensors()
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal(layer.w.shape) * 5, rng.standard_normal(layer.b.shape) * 5]
    layer.dw[...], layer.db[...] = grads
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.from_numpy(g.copy())
    norm = clip_grad_norm(layer, 1.0)
    t_norm = torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    assert norm == pytest.approx(t_norm.item(), rel=1e-12)
    np.testing.assert_allclose(layer.dw, tensors[0].grad.numpy(), atol=1e-12)
    assert np.sqrt((layer.dw**2).sum() + (layer.db**2).sum()) == pytest.approx(1.0, rel=1e-5)
    before = layer.dw.copy()
    clip_grad_norm(layer, 100.0)  # below the limit: unchanged
    np.testing.assert_array_equal(layer.dw, before)


def test_state_dict_round_trip_continues_identically():
    a_layer, _ = layer_and_tensors()
    b_layer, _ = layer_and_tensors()
    a, b = Adam(a_layer, lr=0.01), Adam(b_layer, lr=0.01)
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(a_layer.w.shape) for _ in range(6)]
    for g in grads[:3]:
        a_layer.dw[...] = g
        a.step()
    b_layer.w[...] = a_layer.w
    b.load_state_dict(a.state_dict())
    for g in grads[3:]:
        a_layer.dw[...] = b_layer.dw[...] = g
        a.step()
        b.step()
    np.testing.assert_array_equal(a_layer.w, b_layer.w)


def test_errors_and_table():
    with pytest.raises(RuntimeError, match="no parameters"):
        Adam(lr=0.1).step()
    with pytest.raises(ValueError, match="lr must be"):
        SGD(lr=0)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="Parameters"):
        SGD([np.zeros(3)], lr=0.1)
    assert get_optimizer("adamw") is AdamW and set(OPTIMIZERS) >= {"sgd", "adam", "rmsprop"}
    with pytest.raises(ValueError, match="unknown optimizer"):
        get_optimizer("lbfgs")
