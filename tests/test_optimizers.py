import numpy as np
import pytest
from conftest import TORCH_MISSING

from barenet import MLP, MSE, SGD, Adam, AdamW, Linear, Relu, RMSprop, clip_grad_norm
from barenet.registry import OPTIMIZERS

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.05}),
]
OURS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}


def two_layers(seed=0):
    rng = np.random.default_rng(seed)
    layers = [Linear(4, 3, dtype=np.float64, seed=seed), Linear(3, 2, dtype=np.float64, seed=seed)]
    for layer in layers:
        layer.b[...] = rng.standard_normal(layer.b.shape)
    return layers


def params_of(layers):
    return [p for layer in layers for p in layer.parameters()]


def set_grads(layers, rng):
    grads = []
    for layer in layers:
        layer.dw = rng.standard_normal(layer.w.shape)  # as the notebook's backward: new arrays
        layer.db = rng.standard_normal(layer.b.shape)
        grads += [layer.dw.copy(), layer.db.copy()]
    return grads


@pytest.mark.parametrize("fused", [False, True], ids=["per-parameter", "fused"])
@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_twenty_steps_follow_torch_exactly(name, kwargs, fused):
    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    layers = two_layers()
    tensors = [torch.tensor(p.value.copy(), requires_grad=True) for p in params_of(layers)]
    optimizer = OURS[name](params_of(layers), fused=fused, **kwargs)
    reference = getattr(torch.optim, name)(tensors, **kwargs)
    rng = np.random.default_rng(1)
    for _ in range(20):
        for t, g in zip(tensors, set_grads(layers, rng), strict=True):
            t.grad = torch.from_numpy(g)
        optimizer.step()
        reference.step()
    optimizer.unpack()
    for p, t in zip(params_of(layers), tensors, strict=True):
        np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_fused_gives_the_same_numbers_and_state_layout(name, kwargs):
    plain_layers, fused_layers = two_layers(), two_layers()
    originals = [p.value for p in params_of(fused_layers)]
    plain = OURS[name](params_of(plain_layers), **kwargs)
    fused = OURS[name](params_of(fused_layers), fused=True, **kwargs)
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    for _ in range(5):
        set_grads(plain_layers, rng_a)
        set_grads(fused_layers, rng_b)
        plain.step()
        fused.step()
    a, b = plain.state_dict(), fused.state_dict()
    assert set(a["state"]) == set(b["state"]) == {"0", "1", "2", "3"}
    for key, state in a["state"].items():
        assert state.keys() == b["state"][key].keys()
        for k, v in state.items():
            np.testing.assert_array_equal(v, b["state"][key][k])
    fused.unpack()  # the layers get their own arrays back, updated
    for p, q, original in zip(
        params_of(plain_layers), params_of(fused_layers), originals, strict=True
    ):
        assert q.value is original
        np.testing.assert_array_equal(p.value, q.value)


def test_model_optimizer_state_is_keyed_per_parameter():
    model = MLP([Linear(3, 4, seed=0), Relu(), Linear(4, 1, seed=1)], MSE(), optimizer=Adam())
    x, y = np.random.default_rng(0).standard_normal((16, 3)), np.zeros((16, 1))
    model.train(x, y, epochs=1, batch_size=8)
    state = model.optimizer.state_dict()["state"]
    assert set(state) == {"0.w", "0.b", "2.w", "2.b"} and state["2.w"]["step"] == 2
    assert state["0.w"]["exp_avg"].shape == (3, 4)


def test_replacing_a_packed_array_is_noticed():
    layers = two_layers()
    optimizer = SGD(params_of(layers), lr=0.1, fused=True)
    rng = np.random.default_rng(4)
    set_grads(layers, rng)
    optimizer.step()
    layers[0].w = np.zeros((4, 3))  # the user replaces an array while packed
    grads = set_grads(layers, rng)
    optimizer.step()
    np.testing.assert_allclose(layers[0].w, -0.1 * grads[0])


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    layers = two_layers()
    rng = np.random.default_rng(2)
    grads = [g * 5 for g in set_grads(layers, rng)]
    for layer, (gw, gb) in zip(layers, zip(grads[::2], grads[1::2], strict=True), strict=True):
        layer.dw, layer.db = gw.copy(), gb.copy()
    tensors = [torch.zeros(g.shape, dtype=torch.float64) for g in grads]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.from_numpy(g.copy())
    norm = clip_grad_norm(params_of(layers), 1.0)
    t_norm = torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    assert norm == pytest.approx(t_norm.item(), rel=1e-12)
    np.testing.assert_allclose(layers[0].dw, tensors[0].grad.numpy(), atol=1e-12)


def test_clip_grad_norm_scales_to_the_limit_and_leaves_small_gradients():
    layers = two_layers()
    set_grads(layers, np.random.default_rng(3))
    for layer in layers:
        layer.dw *= 10
    clip_grad_norm(params_of(layers), 1.0)
    total = np.sqrt(sum(float((p.grad**2).sum()) for p in params_of(layers)))
    assert total == pytest.approx(1.0, rel=1e-5)
    before = layers[0].dw.copy()
    clip_grad_norm(params_of(layers), 100.0)  # below the limit: unchanged
    np.testing.assert_array_equal(layers[0].dw, before)


@pytest.mark.parametrize("fused", [False, True])
def test_state_dict_round_trip_continues_identically(fused):
    a_layers, b_layers = two_layers(), two_layers()
    a = Adam(params_of(a_layers), lr=0.01, fused=fused)
    b = Adam(params_of(b_layers), lr=0.01, fused=not fused)
    rng = np.random.default_rng(3)
    for _ in range(3):
        set_grads(a_layers, rng)
        a.step()
    for p, q in zip(params_of(a_layers), params_of(b_layers), strict=True):
        q.value[...] = p.value
    b.load_state_dict(a.state_dict())  # the layout does not depend on fusing
    for _ in range(3):
        grads = set_grads(a_layers, rng)
        for layer, gw, gb in zip(b_layers, grads[::2], grads[1::2], strict=True):
            layer.dw, layer.db = gw, gb
        a.step()
        b.step()
    a.unpack()
    b.unpack()
    for p, q in zip(params_of(a_layers), params_of(b_layers), strict=True):
        np.testing.assert_array_equal(p.value, q.value)


def test_errors():
    with pytest.raises(RuntimeError, match="no parameters"):
        Adam(lr=0.1).step()
    with pytest.raises(ValueError, match="lr must be"):
        SGD(lr=0)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum must be"):
        SGD(lr=0.1, momentum=-0.5)
    with pytest.raises(TypeError, match="Parameters"):
        SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="Adam betas must be two numbers"):
        Adam(betas=(0.9,))
    with pytest.raises(TypeError, match="SGD dampening must be a number"):
        SGD(dampening="a")
    with pytest.raises(ValueError, match=r"unknown optimiser 'lbfgs'; choose one of \['adam'"):
        OPTIMIZERS.lookup("lbfgs")
    model = MLP([Linear(2, 1)], MSE(), optimizer=Adam())
    state = model.optimizer.state_dict()
    state["state"]["9.w"] = state["state"].pop("0.w")
    with pytest.raises(ValueError, match="optimiser state is for parameters"):
        model.optimizer.load_state_dict(state)
