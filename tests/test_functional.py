"""barenet.functional: each shared formula once, and every engine's restatement of a
formula declared (``@mirrors``) and pinned to its NumPy original."""

import hashlib
import importlib
import inspect

import numpy as np
import pytest

import barenet
from barenet import functional as F

ENGINE_MODULES = (
    "barenet.engines.compiled.formulas",
    "barenet.engines.compiled.kernels",
    "barenet.engines.fused.loops",
    "barenet.engines.fused.relu_after",
    "barenet.engines.fused.products",
    "barenet.engines.fused.adam",
)
# compiled functions that restate no formula of a layer, loss or optimiser
NOT_FORMULAS = {
    "barenet.engines.compiled.formulas.cast",
    "barenet.engines.compiled.formulas.copy_rows",
    "barenet.engines.compiled.kernels._pointer_to",
    "barenet.engines.compiled.kernels._gather_batch",  # copies rows
}

# The source of each original an engine mirrors, as reviewed with its mirrors. A failure
# here means a NumPy original changed: update every function that mirrors it (see
# barenet.functional.MIRRORS), check the engine tests still agree, then the hash here.
PINNED = {
    "barenet.activations.GELU.backward": "c80c8b1d44716c15",
    "barenet.activations.GELU.forward": "3afbb557771e8fc6",
    "barenet.activations.LeakyRelu.backward": "b9dd6b73f25d7696",
    "barenet.activations.LeakyRelu.forward": "08b73091a954284e",
    "barenet.activations.Relu.backward": "46624599061395bb",
    "barenet.activations.Relu.forward": "044c4d6dc4932d9d",
    "barenet.activations.Sigmoid.backward": "4bb8adc15a05f99f",
    "barenet.activations.Softplus.backward": "0085977687dd2ce0",
    "barenet.activations.Softplus.forward": "36ae4eba35957b95",
    "barenet.activations.Tanh.backward": "3cf0fc9926dd31d4",
    "barenet.activations.Tanh.forward": "2b90ed42d15fda5d",
    "barenet.functional.log1p_exp_neg_abs": "c793c87019728aff",
    "barenet.functional.log_softmax": "ded0b1e1c2ec29b1",
    "barenet.functional.softplus": "7073a5165c7dbc1d",
    "barenet.functional.sigmoid": "5eee107f8e005a5f",
    "barenet.layers.Dropout.backward": "199967fc62eaf81d",
    "barenet.layers.Dropout.forward": "01b36e4c48e618d8",
    "barenet.layers.Linear.backward": "7fb5192632f0cf19",
    "barenet.layers.Linear.forward": "d0b0e172d5d4a174",
    "barenet.losses.BCEWithLogits.backward": "f51a271353357d30",
    "barenet.losses.BCEWithLogits.forward": "8946692f2fe9270e",
    "barenet.losses.CrossEntropy.backward": "1bbc0e077a37004e",
    "barenet.losses.CrossEntropy.forward": "df36a7380a66f651",
    "barenet.losses.Huber.backward": "bf30594d4e0b2bde",
    "barenet.losses.Huber.forward": "050fcd0bf2f5ffad",
    "barenet.losses.MAE.backward": "32829a15738aa08a",
    "barenet.losses.MAE.forward": "0491ccd51beb9c86",
    "barenet.losses.MSE.backward": "29c554f859f8109b",
    "barenet.losses.MSE.forward": "058871366496d02b",
    "barenet.model.MLP.forward": "648228f7e9221200",
    "barenet.optimizers.Adam.update": "ec9d30ea525dbab5",
    "barenet.optimizers.AdamW.update": "a0c81c8b04cb48cd",
    "barenet.optimizers.Optimizer.update": "e0b75d07dee6ad55",
    "barenet.optimizers.RMSprop.update": "332da0a3a0002885",
    "barenet.optimizers.SGD.update": "9662da2e987a2a1b",
    "barenet.optimizers.clip_grad_norm": "5ba8911293e8d6c1",
    "barenet.tabular.embeddings.PiecewiseLinearEncoding.forward": "839fda06058d3bbb",
    "barenet.tabular.ensemble.EnsembleLinear.backward": "f059146b6f178a4c",
    "barenet.tabular.ensemble.EnsembleLinear.forward": "f4b356f8a443c360",
    "barenet.tabular.ensemble.MemberScale.forward": "5b2b2131a6b2c0e8",
    "barenet.trainer.Trainer._run_batches": "10ff37e73f53d317",
}


def resolve(dotted: str):
    parts = dotted.split(".")
    for stop in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:stop]))
            break
        except ImportError:
            continue
    for attribute in parts[stop:]:
        obj = getattr(obj, attribute)
    return obj


def source_hash(obj) -> str:
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def mirrors():
    for module in ENGINE_MODULES:
        importlib.import_module(module)
    return dict(F.MIRRORS)


def test_every_original_a_mirror_names_exists_and_is_pinned(mirrors):
    originals = {name for names in mirrors.values() for name in names}
    assert originals == set(PINNED)
    for name in originals:
        assert callable(resolve(name)), name


@pytest.mark.parametrize("original", sorted(PINNED))
def test_a_mirrored_original_is_unchanged_since_its_mirrors_were_reviewed(original, mirrors):
    users = sorted(name for name, names in mirrors.items() if original in names)
    assert source_hash(resolve(original)) == PINNED[original], (
        f"{original} changed: review {users}, then update PINNED"
    )


def test_every_compiled_function_of_the_engines_declares_what_it_mirrors(mirrors):
    undeclared = []
    for module_name in ENGINE_MODULES:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            function = getattr(obj, "py_func", None)  # a numba dispatcher
            if function is None or function.__module__ != module_name:
                continue
            dotted = f"{module_name}.{name}"
            if dotted not in mirrors and dotted not in NOT_FORMULAS:
                undeclared.append(dotted)
    assert undeclared == []


def test_the_declaration_records_the_python_function_under_numba():
    @F.mirrors("barenet.layers.Linear.forward")
    def restated(x):
        return x

    key = f"{__name__}.test_the_declaration_records_the_python_function_under_numba"
    assert F.MIRRORS.pop(f"{key}.<locals>.restated") == ("barenet.layers.Linear.forward",)


# -- the formulas ----------------------------------------------------------------------


def test_sigmoid_is_the_logistic_function_and_finite_at_the_extremes():
    x = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(F.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15, atol=0)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        extremes = F.sigmoid(np.array([-1e300, -800.0, 800.0, 1e300]))
    assert extremes.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert F.sigmoid(np.zeros(3, np.float32)).dtype == np.float32


def test_softplus_and_its_tail():
    x = np.linspace(-20, 20, 81)
    np.testing.assert_allclose(F.softplus(x), np.log1p(np.exp(x)), rtol=1e-13)
    np.testing.assert_allclose(F.log1p_exp_neg_abs(x), np.log1p(np.exp(-np.abs(x))))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert F.softplus(np.array([1e300]))[0] == 1e300


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 5, (6, 4))
    x[0] = [1000.0, 999.0, -1000.0, 0.0]  # shifted by the row max: no overflow
    s = F.softmax(x)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.log(s[1:]), F.log_softmax(x)[1:], rtol=1e-12, atol=1e-12)
    moderate = x[1:]
    expected = np.exp(moderate) / np.exp(moderate).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(s[1:], expected, rtol=1e-13)


@pytest.mark.parametrize(
    "make, formula",
    [
        (barenet.Sigmoid, "sigmoid"),
        (barenet.SiLU, "sigmoid"),
        (barenet.Mish, "softplus"),
        (barenet.Softmax, "softmax"),
    ],
)
def test_a_layer_computes_through_the_shared_formula(make, formula, monkeypatch):
    """The formula lives once: replacing it changes the layer."""
    x = np.linspace(-2, 2, 8).reshape(2, 4)
    before = make().forward(x)
    monkeypatch.setattr(F, formula, lambda v: np.zeros_like(v))
    assert not np.array_equal(make().forward(x), before)


def test_the_logistic_losses_compute_through_the_shared_formulas(monkeypatch):
    z, y = np.array([[0.3], [-1.2]]), np.array([[1.0], [0.0]])
    bce, ce = barenet.BCEWithLogits(), barenet.CrossEntropy()
    bce_before, ce_before = bce(z, y), ce(np.hstack([z, -z]), np.array([0, 1]))
    monkeypatch.setattr(F, "log1p_exp_neg_abs", lambda v: np.zeros_like(v))
    monkeypatch.setattr(F, "log_softmax", lambda v: np.zeros_like(v))
    assert bce(z, y) != bce_before
    assert ce(np.hstack([z, -z]), np.array([0, 1])) != ce_before
