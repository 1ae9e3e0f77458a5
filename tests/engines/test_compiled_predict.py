"""The compiled engine's predict: its plan per model, and the fast path for small calls
(``quick_predict``), which must refuse what the general path refuses and see every
change that the general path would."""

import numpy as np
import pytest

from barenet import MLP, MSE, Adam, Dropout, LeakyRelu, Linear, Relu, Tanh
from barenet.engines.compiled import predict as compiled_predict

# float32 outputs of the two engines agree to their rounding; float64 to ~1e-12
TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-11, "atol": 1e-12}}


@pytest.fixture(autouse=True)
def auto_means_auto(monkeypatch):
    monkeypatch.delenv("BARENET_ENGINE", raising=False)


def build(dtype=np.float32, middle=Relu, seed=1):
    rng = np.random.default_rng(seed)
    layers = [
        Linear(8, 16, seed=rng, dtype=dtype),
        middle(),
        Linear(16, 16, seed=rng, dtype=dtype),
        Tanh(),
        Linear(16, 1, seed=rng, dtype=dtype),
    ]
    return MLP(layers, MSE(), 0.05, seed=0)


def rows(n=300, dtype=np.float32):
    return np.random.default_rng(0).standard_normal((n, 8)).astype(dtype)


def quick_calls(monkeypatch) -> list:
    """Record each call quick_predict answers (not None)."""
    answered = []
    original = compiled_predict.quick_predict

    def recording(*args):
        out = original(*args)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(compiled_predict, "quick_predict", recording)
    return answered


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, 128, 129, 1000])
def test_outputs_equal_the_numpy_engines(dtype, n):
    model = build(dtype)
    x = rows(n, dtype)
    expected = model.predict(x, engine="methods")
    first = model.predict(x, engine="compiled")  # the general path
    again = model.predict(x, engine="compiled")  # the fast path
    for got in (first, again):
        assert got.shape == (n, 1) and got.dtype == dtype
        np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])
    np.testing.assert_array_equal(again, first)  # the same kernel on the same rows
    np.testing.assert_allclose(
        model.predict(x, batch_size=5, engine="compiled"), expected, **TOLERANCE[dtype]
    )


def test_the_fast_path_answers_the_common_call(monkeypatch):
    answered = quick_calls(monkeypatch)
    model = build()
    x = rows(1)
    model.predict(x, engine="compiled")
    model.predict(x, engine="compiled")
    model.predict(x.astype(np.float64), engine="compiled")  # converted, as check_features would
    model.predict(x)  # auto: a choice of its own
    model.predict(x)
    assert answered == [False, True, True, False, True]


def test_each_returned_array_is_new():
    model = build()
    x = rows(1)
    first = model.predict(x, engine="compiled")
    kept = first.copy()
    second = model.predict(x * 2, engine="compiled")
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, kept)  # not overwritten by the later call


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (
            np.zeros((1, 7), np.float32),
            ValueError,
            "x has 7 features per row but the model expects 8",
        ),
        (
            np.full((1, 8), np.nan, np.float32),
            ValueError,
            r"x contains NaN or infinity \(first at index \(0, 0\)\)",
        ),
        (
            np.array([[0, 0, 0, 0, 0, 0, 0, np.inf]]),
            ValueError,
            r"NaN or infinity \(first at index \(0, 7\)\)",
        ),
        (np.zeros((0, 8), np.float32), ValueError, "x is empty"),
        (np.zeros(8, np.float32), ValueError, "x must be 2-D"),
        (np.array([["a"] * 8]), TypeError, "x must hold numbers"),
        (np.zeros((1, 8), np.complex64), TypeError, "complex"),
    ],
)
def test_bad_input_gives_the_same_error_after_the_fast_path_is_primed(bad, error, message):
    from barenet.errors import BarenetError

    model = build()
    model.predict(rows(1), engine="compiled")  # the choice and the plan are kept
    with pytest.raises(error, match=message) as caught:
        model.predict(bad, engine="compiled")
    assert isinstance(caught.value, BarenetError)
    fresh = build()  # and the same as on a fresh model (the general path only)
    with pytest.raises(error, match=message):
        fresh.predict(bad, engine="compiled")


def test_a_nan_far_down_the_rows_is_found():
    model = build()
    x = rows(1000)
    model.predict(x, engine="compiled")
    x[999, 3] = np.nan
    with pytest.raises(ValueError, match=r"first at index \(999, 3\)"):
        model.predict(x, engine="compiled")


def test_bad_batch_sizes_and_engines_are_refused():
    model = build()
    x = rows(1)
    model.predict(x, engine="compiled")
    with pytest.raises(ValueError, match="predict batch_size must be >= 1"):
        model.predict(x, batch_size=0, engine="compiled")
    with pytest.raises(TypeError, match="predict batch_size must be an integer"):
        model.predict(x, batch_size=2.0, engine="compiled")
    with pytest.raises(ValueError, match="engine must be one of"):
        model.predict(x, engine="jax")


def test_weights_edited_in_place_or_replaced_are_seen():
    model = build(middle=lambda: LeakyRelu(0.1))
    x = rows(1)
    first = model.predict(x, engine="compiled")
    plan = compiled_predict.plan_of(model)
    assert plan.direct  # the kernel reads the arrays where they are
    model.layers[2].w *= 2.0  # in place: same arrays, same plan, new numbers
    doubled = model.predict(x, engine="compiled")
    assert compiled_predict.plan_of(model) is plan
    assert not np.allclose(doubled, first)
    np.testing.assert_allclose(
        doubled, model.predict(x, engine="methods"), **TOLERANCE[np.float32]
    )
    model.layers[4].b = model.layers[4].b + 1.0  # a new array: a new plan
    moved = model.predict(x, engine="compiled")
    assert compiled_predict.plan_of(model) is not plan
    np.testing.assert_allclose(moved, doubled + 1.0, **TOLERANCE[np.float32])
    model.layers[1].slope = 0.3  # a new slope
    np.testing.assert_allclose(
        model.predict(rows(), engine="compiled"),
        model.predict(rows(), engine="methods"),
        **TOLERANCE[np.float32],
    )
    plan = compiled_predict.plan_of(model)
    model.predict(rows(), engine="compiled")
    assert compiled_predict.plan_of(model) is plan  # kept while nothing changes


def test_a_transposed_weight_array_is_read_afresh():
    model = build()
    x = rows(1)
    w = model.layers[0].w
    model.layers[0].w = np.asfortranarray(w)  # no flat view of it exists
    model.predict(x, engine="compiled")
    model.layers[0].w *= 3.0
    np.testing.assert_allclose(
        model.predict(x, engine="compiled"),
        model.predict(x, engine="methods"),
        **TOLERANCE[np.float32],
    )


def test_a_replaced_layer_or_a_changed_list_is_seen():
    model = build()
    x = rows(5)
    model.predict(x, engine="compiled")
    model.layers[3] = Relu()  # Tanh -> Relu
    np.testing.assert_allclose(
        model.predict(x, engine="compiled"),
        model.predict(x, engine="methods"),
        **TOLERANCE[np.float32],
    )
    model.layers.insert(1, Dropout(0.5, seed=0))  # evaluation mode: no change in numbers
    np.testing.assert_allclose(
        model.predict(x, engine="compiled"),
        model.predict(x, engine="methods"),
        **TOLERANCE[np.float32],
    )
    model.layers.append(Relu())
    np.testing.assert_allclose(
        model.predict(x, engine="compiled"),
        model.predict(x, engine="methods"),
        **TOLERANCE[np.float32],
    )
    assert (model.predict(x) >= 0).all()


def test_a_learners_override_after_the_first_call_is_honoured():
    """A method replaced on the instance or on the class, after the fast path was primed:
    auto runs the learner's code (numpy), compiled refuses, as on a first call."""
    model = build()
    x = rows(3)
    model.predict(x)
    model.predict(x, engine="compiled")
    calls = []
    model.layers[3].forward = lambda inp: calls.append(1) or np.zeros_like(inp)
    assert (model.predict(x) == model.layers[4].b).all()  # the override ran
    assert calls
    with pytest.raises(ValueError, match=r"cannot run this model: layer 3 \(Tanh\)"):
        model.predict(x, engine="compiled")
    del model.layers[3].forward
    model.predict(x, engine="compiled")  # primed again


def test_a_class_level_forward_override_is_honoured(monkeypatch):
    model = build()
    x = rows(3)
    model.predict(x)
    model.predict(x, engine="compiled")  # primed
    forwards = []
    original_forward = Relu.forward
    monkeypatch.setattr(
        Relu, "forward", lambda self, inp: forwards.append(1) or original_forward(self, inp)
    )
    with pytest.raises(ValueError, match=r"layer 1 \(Relu\) is not an unchanged"):
        model.predict(x, engine="compiled")
    model.predict(x)  # auto: the learner's forward runs
    assert forwards
    monkeypatch.setattr(MLP, "forward", lambda self, inp: np.zeros((len(inp), 1), np.float32))
    with pytest.raises(ValueError, match=r"the model \(MLP\) is not barenet's MLP"):
        model.predict(x, engine="compiled")


def test_another_classs_method_put_on_a_class_is_a_change(monkeypatch):
    """barenet's own function, but another class's: Relu computing tanh is not Relu."""
    model = build()
    x = rows(3)
    model.predict(x, engine="compiled")
    monkeypatch.setattr(Relu, "forward", Tanh.forward)
    with pytest.raises(ValueError, match=r"layer 1 \(Relu\) is not an unchanged"):
        model.predict(x, engine="compiled")
    expected = model.layers[0].forward(x)
    for layer in model.layers[1:]:
        expected = layer.forward(expected)
    np.testing.assert_allclose(model.predict(x), expected, **TOLERANCE[np.float32])


@pytest.mark.parametrize("name", ["eval", "train", "forward_in_chunks"])
def test_the_models_methods_around_forward_are_what_predict_runs(name):
    model = build()
    x = rows(3)
    model.predict(x)
    model.predict(x)  # primed
    calls = []
    original = getattr(model, name)
    setattr(model, name, lambda *args: calls.append(1) or original(*args))
    model.predict(x)
    assert calls  # auto ran the numpy path, which calls it
    with pytest.raises(ValueError, match="is not barenet's MLP with its own methods"):
        model.predict(x, engine="compiled")


def test_predict_looks_only_at_what_it_runs(monkeypatch):
    """A learner's backward, loss or optimiser changes training (auto trains on numpy)
    but not the predictions: predict stays compiled, on the fast path too."""
    from barenet.engines.select import resolve_engine

    answered = quick_calls(monkeypatch)
    model = build()
    x = rows(3)
    expected = model.predict(x, engine="methods")
    model.predict(x, engine="compiled")
    original = Tanh.backward
    monkeypatch.setattr(Tanh, "backward", lambda self, g: original(self, g))
    model.loss_fun.backward = lambda: np.zeros(1)
    model.optimizer = Adam().attach(model.parameters())
    model.optimizer.step = lambda lr: None
    assert resolve_engine(model, "auto") == "methods"  # training: the learner's methods
    assert resolve_engine(model, "auto", predicting=True) == "compiled"
    np.testing.assert_allclose(
        model.predict(x, engine="compiled"), expected, **TOLERANCE[np.float32]
    )
    model.predict(x)
    np.testing.assert_allclose(model.predict(x), expected, **TOLERANCE[np.float32])
    assert answered[-1]  # the fast path answered the last call


def test_a_subclass_swapped_in_or_an_optimiser_set_is_seen():
    class MyTanh(Tanh):
        def forward(self, inp):
            return inp * 0

    model = build()
    x = rows(3)
    model.predict(x, engine="compiled")
    model.layers[3].__class__ = MyTanh
    assert (model.predict(x) == model.layers[4].b).all()
    model.layers[3].__class__ = Tanh
    model.predict(x, engine="compiled")
    choice = compiled_predict._entries[id(model)].choice
    model.optimizer = Adam().attach(model.parameters())
    model.predict(x, engine="compiled")  # predict does not run the optimiser
    assert compiled_predict._entries[id(model)].choice is choice


def test_barenet_engine_is_read_on_each_auto_call(monkeypatch):
    model = build()
    x = rows(1)
    model.predict(x)
    plan = compiled_predict.plan_of(model)
    monkeypatch.setenv("BARENET_ENGINE", "fortran")
    with pytest.raises(ValueError, match="BARENET_ENGINE must be one of"):
        model.predict(x)
    monkeypatch.setenv("BARENET_ENGINE", "methods")
    calls = []
    monkeypatch.setattr(compiled_predict.PredictPlan, "run", lambda *a: calls.append(1))
    model.predict(x)
    assert not calls and compiled_predict.plan_of(model) is plan


def test_the_cache_does_not_leak_between_models_or_outlive_them():
    import gc

    a, b = build(seed=1), build(seed=2)
    x = rows(2)
    out_a = a.predict(x, engine="compiled")
    out_b = b.predict(x, engine="compiled")
    assert not np.allclose(out_a, out_b)
    np.testing.assert_array_equal(a.predict(x, engine="compiled"), out_a)
    np.testing.assert_array_equal(b.predict(x, engine="compiled"), out_b)
    assert compiled_predict.plan_of(a) is not compiled_predict.plan_of(b)
    key = id(a)
    del a
    gc.collect()
    assert key not in compiled_predict._entries


def test_weights_of_another_dtype_are_copied_and_cast():
    model = build()
    x = rows(4)
    model.predict(x, engine="compiled")
    model.layers[2].w = model.layers[2].w.astype(np.float64)  # read through a flat copy
    assert not compiled_predict.PredictPlan(model, 8).direct
    model.layers[2].w *= 0.5
    got = model.predict(x, engine="compiled")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, model.predict(x, engine="methods"), rtol=2e-5, atol=2e-6)


def test_a_weight_array_of_the_wrong_size_is_an_error_naming_it():
    from barenet.errors import BarenetValueError

    model = build()
    model.layers[2].w = np.zeros((16, 15), np.float32)  # the kernel would read past it
    with pytest.raises(
        BarenetValueError,
        match=r"Linear.w has shape \(16, 15\), but the layer maps 16 features to 16",
    ):
        model.predict(rows(1), engine="compiled")


def test_an_instance_dict_replaced_with_an_override_in_it_is_seen():
    model = build()
    x = rows(3)
    model.predict(x)
    tanh = model.layers[3]
    tanh.__dict__ = dict(vars(tanh), forward=lambda inp: inp * 0)
    assert (model.predict(x) == model.layers[4].b).all()  # the override ran (the methods engine)
