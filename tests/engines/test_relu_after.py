"""barenet.engines.fused.relu_after: a Relu after a product, applied in place, gives the
numbers of the layers' own methods."""

import numpy as np
import pytest

from barenet import MLP, MSE, AdamW, Dropout, Linear, Relu, Tanh
from barenet.engines.fused.relu_after import ReluAfter
from barenet.engines.fused.step import FusedStep


@pytest.fixture(autouse=True)
def numpy_engine(monkeypatch):
    monkeypatch.setenv("BARENET_ENGINE", "fused")


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
    for engine in ("fused", "methods"):
        model = build(dtype)
        runs.append((model, model.train(x, y, x, y, epochs=3, batch_size=16, engine=engine)))
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

    step = ReluAfter(Linear(4, 6, seed=0), backward_of, grad_is_new=False)
    np.testing.assert_array_equal(step.forward(x), expected)
    kept = up_grad.copy()
    np.testing.assert_array_equal(step.backward(up_grad), expected_grad)
    np.testing.assert_array_equal(up_grad, kept)  # not overwritten: not declared new
    np.testing.assert_array_equal(step.step.dw, linear.dw)


def test_minus_infinity_becomes_nan_as_in_the_relus_own_forward():
    """-inf * 0 is NaN in Relu.forward; the fused step keeps it (so training's
    divergence check sees it), where np.maximum would have made it 0."""
    linear = Linear(1, 2, seed=0)
    linear.w[...] = [[-np.inf, 1.0]]
    step = ReluAfter(linear, lambda s, g, input_grad=True: s.backward(g))
    x = np.ones((3, 1), dtype=np.float32)
    expected = Relu().forward(x @ linear.w + linear.b)
    out = step.forward(x)
    assert np.isnan(out[:, 0]).all() and np.isnan(expected[:, 0]).all()
    np.testing.assert_array_equal(out[:, 1], expected[:, 1])


def wide(dtype):
    """Layers wide enough (64 x 64 per batch) for the compiled loops to run."""
    rng = np.random.default_rng(5)
    layers = [Linear(5, 64, seed=rng, dtype=dtype), Relu()]
    layers += [Linear(64, 64, seed=rng, dtype=dtype), Relu(), Linear(64, 1, seed=rng, dtype=dtype)]
    return MLP(layers, MSE(), 0.05, seed=0, optimizer=AdamW(lr=0.01))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_loops_train_to_the_weights_of_the_layers_own_methods(dtype, monkeypatch):
    import barenet.engines.fused.loops as loops

    calls = {"bias_relu": 0, "relu_grad_and_bias_sum": 0}
    for name in calls:
        original = getattr(loops, name)

        def counted(*args, _name=name, _original=original):
            calls[_name] += 1
            return _original(*args)

        monkeypatch.setattr(loops, name, counted)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 5))
    y = np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    runs = []
    for engine in ("fused", "methods"):
        model = wide(dtype)
        runs.append((model, model.train(x, y, x, y, epochs=3, batch_size=64, engine=engine)))
    (fused, history), (plain, plain_history) = runs
    assert calls["bias_relu"] > 0 and calls["relu_grad_and_bias_sum"] > 0  # the loops ran
    assert history == plain_history
    for key, value in plain.state_dict().items():
        np.testing.assert_array_equal(fused.state_dict()[key], value, err_msg=key)


def test_a_step_without_a_split_runs_its_own_methods_with_the_relu_in_place():
    """A per-member EnsembleLinear has no product without its bias here: its own forward
    and backward run, and only the Relu is applied in place."""
    from barenet import EnsembleLinear

    rng = np.random.default_rng(6)
    layer = EnsembleLinear(3, 4, 2, shared=False, seed=0)
    layer.b = rng.standard_normal(layer.b.shape).astype(np.float32)
    x = rng.standard_normal((7, 6)).astype(np.float32)
    up_grad = rng.standard_normal((7, 8)).astype(np.float32)
    relu = Relu()
    expected = relu.forward(layer.forward(x))
    expected_grad = layer.backward(relu.backward(up_grad))
    expected_db = layer.db.copy()
    step = ReluAfter(layer, lambda s, g, input_grad=True: s.backward(g))
    assert step.product is None
    np.testing.assert_array_equal(step.forward(x), expected)
    np.testing.assert_array_equal(step.backward(up_grad.copy()), expected_grad)
    np.testing.assert_array_equal(layer.db, expected_db)


def test_a_bias_of_another_shape_gets_numpys_broadcast_not_a_read_past_its_end():
    """Linear.forward broadcasts a (1, 1) bias; so does the fused step (NumPy's passes),
    where the loop, without bounds checks, would have read past the bias."""
    from barenet import SGD

    rng = np.random.default_rng(10)
    x = rng.standard_normal((64, 8))
    y = x[:, :1]
    runs = []
    for engine in ("fused", "methods"):
        layers = [Linear(8, 4096, seed=1), Relu(), Linear(4096, 1, seed=2)]
        layers[0].b = np.full((1, 1), 0.5, dtype=np.float32)
        net = MLP(layers, MSE(), 0.01, seed=0, optimizer=SGD(lr=0.01))
        runs.append(net.predict(x, engine="methods"))
        with pytest.raises(ValueError):  # the bias's gradient has the wrong shape
            net.train(x, y, epochs=1, batch_size=64, engine=engine)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_a_single_column_keeps_numpys_pairwise_sum():
    from barenet.engines.fused.relu_after import relu_grad_and_bias_sum

    rng = np.random.default_rng(9)
    grad = rng.standard_normal((4096, 1)) * 10.0 ** rng.integers(-8, 8, (4096, 1))
    out = np.ones_like(grad)
    db = np.empty(1)
    result = relu_grad_and_bias_sum(grad.copy(), out, db, in_place=True)
    np.testing.assert_array_equal(result, grad)
    assert db[0] == grad.sum(axis=0)[0]  # NumPy's own sum, bit for bit
