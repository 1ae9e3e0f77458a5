"""barenet.engines.fused.products: a product step without its bias, and the per-member head's
backward, give the layers' own numbers bit for bit; FusedStep.evaluate gives
MLP.evaluate's."""

import numpy as np
import pytest

from barenet import (
    MLP,
    MSE,
    AdamW,
    Ensemble,
    EnsembleLinear,
    EnsembleMean,
    FeatureLinear,
    Linear,
    MemberScale,
    Relu,
)
from barenet.engines.fused.products import member_head_backward, product_of
from barenet.engines.fused.step import FusedStep


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_size, k, in_dim", [(5, 3, 4), (64, 16, 32)])  # loop or not
def test_the_member_heads_backward_is_the_layers_own(dtype, batch_size, k, in_dim):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch_size, k * in_dim)).astype(dtype)
    up_grad = rng.standard_normal((batch_size, k)).astype(dtype)
    own, fused = (EnsembleLinear(in_dim, 1, k, shared=False, seed=1, dtype=dtype) for _ in "ab")
    own.forward(x)
    fused.forward(x)
    expected = own.backward(up_grad)
    strided = np.repeat(up_grad, 2, axis=1)[:, ::2]  # as the loss may give it: a view
    got = member_head_backward(fused, strided)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(fused.dw, own.dw)
    np.testing.assert_array_equal(fused.db, own.db)
    assert member_head_backward(fused, up_grad, input_grad=False) is None


@pytest.mark.parametrize(
    "layer",
    [Linear(6, 4, seed=0), EnsembleLinear(3, 4, 2, seed=0), FeatureLinear(3, 2, 5, seed=0)],
)
def test_a_product_without_its_bias_and_the_bias_give_the_layers_forward(layer):
    rng = np.random.default_rng(2)
    layer.b = rng.standard_normal(layer.b.shape).astype(np.float32)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    expected = layer.forward(x)
    product = product_of(layer)
    np.testing.assert_array_equal(product.forward(x) + product.bias_row(), expected)
    assert product.forward(np.zeros((5, 7), dtype=np.float32)) is None  # layer's message
    up_grad = rng.standard_normal(expected.shape).astype(np.float32)
    expected_grad = layer.backward(up_grad)
    expected_dw = layer.dw.copy()
    np.testing.assert_array_equal(product.backward(up_grad), expected_grad)
    np.testing.assert_array_equal(layer.dw, expected_dw)
    assert product.bias_grad_row().base is not None  # a view: written into db itself


def test_no_split_where_the_bias_gradient_is_not_one_writable_row():
    layer = Linear(3, 4, seed=0)
    layer.db = np.zeros((1, 8), dtype=np.float32)[:, ::2]  # a strided view
    assert product_of(layer).bias_grad_row() is None
    layer.db = np.zeros((1, 4), dtype=np.float32)
    layer.db.flags.writeable = False
    assert product_of(layer).bias_grad_row() is None
    assert product_of(EnsembleLinear(3, 4, 2, shared=False, seed=0)) is None
    assert product_of(Relu()) is None


def model(kind):
    rng = np.random.default_rng(3)
    if kind == "plain":
        layers = [Linear(4, 64, seed=rng), Relu(), Linear(64, 1, seed=rng)]
    else:  # a TabM-mini: an ensemble block, a Relu, a per-member head
        layers = [Ensemble(8, 4), MemberScale(8, 4, seed=rng), EnsembleLinear(4, 64, 8, seed=rng)]
        layers += [Relu(), EnsembleLinear(64, 1, 8, shared=False, seed=rng), EnsembleMean(8, 1)]
    return MLP(layers, MSE(), 0.01, seed=0, optimizer=AdamW(lr=0.01))


def test_a_learners_predict_still_gives_the_validation_loss():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = x[:, :1]
    net = model("plain")
    calls = []
    own_predict = net.predict

    def predict(inputs, *args, **kwargs):
        calls.append(len(inputs))
        return own_predict(inputs, *args, **kwargs) * 0.0  # a learner's (odd) change

    net.predict = predict
    assert not FusedStep(net).evaluates_as_the_model()
    history = net.train(x, y, x, y, epochs=2, batch_size=32, engine="fused")
    assert calls.count(64) == 2  # once per epoch, on the validation rows
    expected = float(np.mean(y.astype(np.float64) ** 2))
    assert history["val_loss"] == [pytest.approx(expected, rel=1e-5)] * 2
    assert FusedStep(model("plain")).evaluates_as_the_model()


@pytest.mark.parametrize("kind, exact", [("plain", True), ("ensemble", False)])
def test_fused_evaluate_gives_the_models_evaluate(kind, exact):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 4)).astype(np.float32)
    y = x[:, :1] * x[:, 1:2]
    net = model(kind)
    net.train(x, y, epochs=1, batch_size=32, engine="fused")
    expected = net.evaluate(x, y, engine="methods")
    step = FusedStep(net)
    with step:
        got = step.evaluate(x, y)  # predict's chunks: the same products on both sides
        in_chunks = step.evaluate(x, y, batch_size=128)  # other chunks: to rounding
        assert net.training  # the mode is given back
    if exact:
        assert got == expected
    else:  # the block groups its sums differently
        assert got == pytest.approx(expected, rel=1e-5)
    assert in_chunks == pytest.approx(expected, rel=1e-5)


def test_embeddings_with_a_relu_train_to_the_weights_of_the_layers_own_methods():
    """Piecewise-linear encoding, FeatureLinear and its Relu (in one loop each way, 64 x
    128 per batch), a Linear head: bit for bit with the layers' own methods."""
    from barenet import PiecewiseLinearEncoding

    rng = np.random.default_rng(8)
    x = rng.standard_normal((256, 8)).astype(np.float32)
    y = np.sin(x[:, :1]) * x[:, 1:2]
    edges = [np.quantile(x[:, j], np.linspace(0, 1, 9)) for j in range(8)]
    runs = []
    for engine in ("fused", "methods"):
        layers = [PiecewiseLinearEncoding(edges), FeatureLinear(8, 8, 16, seed=1), Relu()]
        layers += [Linear(128, 1, seed=2)]
        net = MLP(layers, MSE(), 0.01, seed=0, optimizer=AdamW(lr=0.01))
        runs.append((net, net.train(x, y, x, y, epochs=3, batch_size=64, engine=engine)))
    (fused, history), (plain, plain_history) = runs
    steps = FusedStep(fused).steps
    assert [type(s).__name__ for s in steps] == ["PiecewiseStep", "ReluAfter", "Linear"]
    assert history == plain_history
    for key, value in plain.state_dict().items():
        np.testing.assert_array_equal(fused.state_dict()[key], value, err_msg=key)
