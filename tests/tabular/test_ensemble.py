"""Parameter-efficient ensembles: finite differences, the TabM formula in PyTorch,
training, and the fused path."""

import numpy as np
import pytest
from conftest import TORCH_MISSING, assert_gradients_ok

from barenet import (
    MLP,
    MSE,
    SGD,
    Adam,
    AdamW,
    Ensemble,
    EnsembleLinear,
    EnsembleMean,
    FeatureLinear,
    MemberScale,
    PeriodicEmbedding,
    PiecewiseLinearEncoding,
    QuantileScaling,
    Relu,
    RobustScaling,
    SiLU,
)
from barenet.engines.fused.step import why_not_fused
from barenet.errors import BarenetValueError
from barenet.tabular.embeddings import quantile_bins

TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


def normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# -- finite differences ---------------------------------------------------------------


def test_ensemble_copies_rows_and_sums_gradients():
    layer = Ensemble(3, 2)
    x = normal((4, 2))
    out = layer(x)
    assert out.shape == (4, 6)
    for member in range(3):
        np.testing.assert_array_equal(out[:, 2 * member : 2 * member + 2], x)
    assert_gradients_ok(layer, x)


def test_member_scale_finite_differences_and_random_signs():
    layer = MemberScale(3, 4, dtype=np.float64, seed=0)
    assert set(np.unique(layer.r)) == {-1.0, 1.0}
    layer.r = normal((3, 4), seed=1)  # away from +-1, so that r's gradient is general
    assert_gradients_ok(layer, normal((5, 12), seed=2))


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-member"])
def test_ensemble_linear_finite_differences(shared):
    layer = EnsembleLinear(4, 3, 2, shared=shared, dtype=np.float64, seed=0)
    layer.b[...] = normal(layer.b.shape, seed=1)
    assert layer.w.shape == ((4, 3) if shared else (2, 4, 3))
    assert_gradients_ok(layer, normal((5, 8), seed=2))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_ensemble_mean_finite_differences(training):
    layer = EnsembleMean(3, 2).train(training)
    out = layer(normal((5, 6)))
    assert out.shape == ((5, 3, 2) if training else (5, 2))
    assert_gradients_ok(layer, normal((5, 6)))


def test_ensemble_mean_is_the_members_mean_in_eval_mode():
    layer = EnsembleMean(4, 2)
    x = normal((6, 8))
    members = layer.train()(x)
    assert members.shape == (6, 4, 2)
    np.testing.assert_array_equal(members[:, 1], x[:, 2:4])
    np.testing.assert_allclose(layer.eval()(x), x.reshape(6, 4, 2).mean(axis=1))


@pytest.mark.parametrize(
    "layer, width",
    [
        (Ensemble(3, 2), 2),
        (MemberScale(3, 2, seed=0), 6),
        (EnsembleLinear(2, 4, 3, seed=0), 6),
        (EnsembleMean(3, 2), 6),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, int) else str(value),
)
def test_input_shape_errors_name_the_layer(layer, width):
    name = type(layer).__name__
    with pytest.raises(
        BarenetValueError, match=rf"{name}\(.*\(batch_size, {width}\), got \(4, 5\)"
    ):
        layer(np.zeros((4, 5)))


# -- PyTorch: the TabM / BatchEnsemble formula ------------------------------------------


def tabm_layers(dtype, k=4, in_dim=3, hidden=5, out_dim=2):
    rng = np.random.default_rng(7)
    layers = [
        Ensemble(k, in_dim),
        MemberScale(k, in_dim, dtype=dtype, seed=rng),
        EnsembleLinear(in_dim, hidden, k, dtype=dtype, seed=rng),
        Relu(),
        EnsembleLinear(hidden, out_dim, k, shared=False, dtype=dtype, seed=rng),
        EnsembleMean(k, out_dim),
    ]
    layers[1].r = (layers[1].r * rng.uniform(0.5, 1.5, layers[1].r.shape)).astype(dtype)
    for layer in (layers[2], layers[4]):
        layer.b[...] = rng.standard_normal(layer.b.shape) * 0.1
    return layers


@DTYPES
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_ensemble_matches_the_tabm_formula_in_torch(dtype, training):
    """out_m = relu((x * r_m) @ W + b_m) @ W2_m + b2_m; while training the loss is the
    mean over members of each member's MSE, in evaluation the MSE of their mean."""
    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    tol = TOLERANCE[dtype]
    k = 4
    layers = tabm_layers(dtype, k)
    model = MLP(layers, MSE(), lr=0.1)
    model.train(training)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((9, 3)).astype(dtype)
    y = rng.standard_normal((9, 2)).astype(dtype)
    out = model(x)
    loss = model.loss(out, y)
    model.backward()

    def param(array):
        return torch.from_numpy(np.array(array)).requires_grad_()

    t_r, t_w, t_b = param(layers[1].r), param(layers[2].w), param(layers[2].b)
    t_w2, t_b2 = param(layers[4].w), param(layers[4].b)
    t_x, t_y = torch.from_numpy(x), torch.from_numpy(y)
    members = t_x[:, None, :] * t_r  # (batch, k, in)
    hidden = torch.relu(members @ t_w + t_b)  # one shared W, a bias per member
    t_out = torch.einsum("bkh,kho->bko", hidden, t_w2) + t_b2
    if training:
        t_loss = torch.stack([((t_out[:, m] - t_y) ** 2).mean() for m in range(k)]).mean()
    else:
        t_out = t_out.mean(dim=1)
        t_loss = ((t_out - t_y) ** 2).mean()
    t_loss.backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=tol, atol=tol)
    assert loss == pytest.approx(t_loss.item(), rel=tol, abs=tol)
    pairs = [
        (layers[1].dr, t_r),
        (layers[2].dw, t_w),
        (layers[2].db, t_b),
        (layers[4].dw, t_w2),
        (layers[4].db, t_b2),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=tol, atol=tol)


def test_input_gradient_of_the_ensemble_matches_torch():
    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    layers = tabm_layers(np.float64)
    x = normal((6, 3), seed=3)
    up_grad = normal((6, 4, 2), seed=4)
    inp = x
    for layer in layers:
        inp = layer.forward(inp)
    grad = up_grad
    for layer in reversed(layers):
        grad = layer.backward(grad)
    t_x = torch.from_numpy(x.copy()).requires_grad_()
    r, w, b = (torch.from_numpy(a) for a in (layers[1].r, layers[2].w, layers[2].b))
    w2, b2 = torch.from_numpy(layers[4].w), torch.from_numpy(layers[4].b)
    hidden = torch.relu((t_x[:, None, :] * r) @ w + b)
    t_out = torch.einsum("bkh,kho->bko", hidden, w2) + b2
    (t_out * torch.from_numpy(up_grad)).sum().backward()
    np.testing.assert_allclose(inp, t_out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(grad, t_x.grad.numpy(), atol=1e-12)


# -- training -----------------------------------------------------------------------


def toy_regression(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    return x, np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]


def front_layers(front, dtype, rng, x):
    """Layers before the ensemble, and their output width (3 features, 4 each)."""
    if front == "periodic":
        return [
            PeriodicEmbedding(3, 4, sigma=0.3, dtype=dtype, seed=rng),
            FeatureLinear(3, 8, 4, dtype=dtype, seed=rng),
            Relu(),
        ], 12
    layers = []
    if front == "scaled-piecewise":
        robust = RobustScaling.fit(x, dtype=dtype)
        quantile = QuantileScaling.fit(robust.forward(x), n_quantiles=50, dtype=dtype)
        layers, x = [robust, quantile], quantile.forward(robust.forward(x))
    encoding = PiecewiseLinearEncoding(quantile_bins(x, 6), dtype=dtype)
    return [
        *layers,
        encoding,
        FeatureLinear(3, encoding.n_bins, 4, dtype=dtype, seed=rng),
        Relu(),
    ], 12


def ensemble_mlp(x, dtype=np.float32, optimizer=None, front="periodic", k=4):
    rng = np.random.default_rng(1)
    front, width = front_layers(front, dtype, rng, x)
    layers = [
        *front,
        Ensemble(k, width),
        MemberScale(k, width, dtype=dtype, seed=rng),
        EnsembleLinear(width, 16, k, dtype=dtype, seed=rng),
        SiLU(),
        EnsembleLinear(16, 1, k, shared=False, dtype=dtype, seed=rng),
        EnsembleMean(k, 1),
    ]
    return MLP(layers, MSE(), 0.05, seed=0, optimizer=optimizer)


def test_an_ensemble_mlp_trains_and_predicts_one_column():
    x, y = toy_regression()
    model = ensemble_mlp(x, optimizer=Adam(lr=0.01))
    before = model.evaluate(x, y)
    history = model.train(x, y, x, y, epochs=15, batch_size=32)
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert model.evaluate(x, y) < 0.5 * before
    prediction = model.predict(x)
    assert prediction.shape == (256, 1)
    assert model.training  # predict restores the mode
    members = model.forward(x.astype(np.float32))
    assert members.shape == (256, 4, 1)
    np.testing.assert_allclose(prediction, members.mean(axis=1), rtol=1e-5, atol=1e-6)
    assert not np.allclose(members[:, 0], members[:, 1])  # the members differ


# -- the fused path ---------------------------------------------------------------------

OPTIMIZERS = {
    "plain": lambda: None,
    "sgd-momentum": lambda: SGD(lr=0.02, momentum=0.9, weight_decay=1e-3),
    "adam-fused": lambda: Adam(lr=0.01, fused=True),
    "adamw-fused": lambda: AdamW(lr=0.01, fused=True),
    "adam": lambda: Adam(lr=0.01),
}


# The fused path runs Ensemble, MemberScale and the first EnsembleLinear as one product
# (barenet.engines.fused.ensemble_block): the same multiply-adds grouped differently, so the two
# paths agree to rounding (relative 1e-4 in float32 after 3 epochs, 1e-9 in float64).
TOLERANCE = {np.float32: 1e-4, np.float64: 1e-9}


@pytest.mark.parametrize("front", ["periodic", "piecewise"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fused_and_plain_paths_agree_to_rounding(name, dtype, front):
    x, y = toy_regression(150)
    fused, plain, start = (ensemble_mlp(x, dtype, OPTIMIZERS[name](), front) for _ in range(3))
    assert why_not_fused(fused) is None
    history = fused.train(x, y, x, y, 3, 32)
    plain_history = plain.train(x, y, x, y, 3, 32, engine="methods")
    rtol = TOLERANCE[dtype]
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose(history[key], plain_history[key], rtol=rtol)
    start = start.state_dict()
    for key, value in plain.state_dict().items():
        np.testing.assert_allclose(
            fused.state_dict()[key], value, rtol=rtol, atol=rtol * 0.1, err_msg=key
        )
        assert not np.array_equal(start[key], value), f"{key} never trained"


def test_scaling_layers_keep_the_fused_path():
    x, y = toy_regression(150)
    fused, plain = (
        ensemble_mlp(x, np.float32, Adam(lr=0.01, fused=True), "scaled-piecewise")
        for _ in range(2)
    )
    fused.train(x, y, epochs=2, batch_size=32)
    plain.train(x, y, epochs=2, batch_size=32, engine="methods")
    for key, value in plain.state_dict().items():
        rtol = TOLERANCE[np.float32]
        np.testing.assert_allclose(
            fused.state_dict()[key], value, rtol=rtol, atol=rtol * 0.1, err_msg=key
        )
    assert why_not_fused(fused) is None
