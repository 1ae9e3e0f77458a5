"""The engines: the compiled engine computes what the NumPy engine (the notebook's methods)
computes, and ``auto`` picks it only where it applies."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import barenet
from barenet import (
    GELU,
    MAE,
    MLP,
    MSE,
    SGD,
    Adam,
    AdamW,
    BatchNorm1d,
    BCEWithLogits,
    CosineAnnealingLR,
    CrossEntropy,
    Dropout,
    Huber,
    Identity,
    LeakyRelu,
    Linear,
    Relu,
    RMSprop,
    Sigmoid,
    Softmax,
    StepLR,
    Tanh,
    TrainingDiverged,
)
from barenet.engines import select as engine
from barenet.engines.compiled import training as compiled_runner
from barenet.engines.select import resolve_engine, why_not_compiled


@pytest.fixture(autouse=True)
def auto_means_auto(monkeypatch):
    """These tests choose engines themselves, whatever BARENET_ENGINE the suite runs with."""
    monkeypatch.delenv("BARENET_ENGINE", raising=False)


# after one epoch: float64 agrees to ~1e-12; float32 to its rounding
TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-11, "atol": 1e-12}}


def build(dtype=np.float32, *, middle=(Relu,), loss=None, optimizer=None, out_dim=1, seed=1):
    """8 -> 16 -> [middle] -> 16 -> out_dim, with ``middle`` a list of layer factories."""
    rng = np.random.default_rng(seed)
    layers = [
        Linear(8, 16, seed=rng, dtype=dtype),
        *[make() for make in middle],
        Linear(16, 16, seed=rng, dtype=dtype),
        Tanh(),
        Linear(16, out_dim, seed=rng, dtype=dtype),
    ]
    return MLP(layers, loss or MSE(), 0.05, seed=0, optimizer=optimizer)


def data(kind="regression", n=300):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 8))
    if kind == "labels":
        return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    if kind == "binary":
        return x, (x[:, :1] + x[:, 1:2] > 0).astype(float)
    return x, np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]


def train_both(make, x, y, epochs=1, batch_size=32, **kwargs):
    """The same model trained on each engine: (fused model, compiled model, histories)."""
    runs = {}
    for name in ("fused", "compiled"):
        model = make()
        history = model.train(x, y, x, y, epochs, batch_size, engine=name, **kwargs)
        runs[name] = (model, {k: list(v) for k, v in history.items()})
    return runs["fused"], runs["compiled"]


def assert_close(a, b, dtype):
    for key, value in a.state_dict().items():
        np.testing.assert_allclose(b.state_dict()[key], value, err_msg=key, **TOLERANCE[dtype])


DTYPES = [np.float32, np.float64]
MIDDLES = {
    "relu": (Relu,),
    "leaky_relu": (lambda: LeakyRelu(0.1),),
    "sigmoid": (Sigmoid,),
    "tanh": (Tanh,),
    "gelu": (GELU,),
    "softplus": (barenet.activations.Softplus,),
    "identity": (Identity,),
    "dropout": (Relu, lambda: Dropout(0.3, seed=5)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("middle", list(MIDDLES))
def test_each_layer_agrees_with_the_numpy_engine(middle, dtype):
    x, y = data()
    (a, history_a), (b, history_b) = train_both(lambda: build(dtype, middle=MIDDLES[middle]), x, y)
    assert_close(a, b, dtype)
    np.testing.assert_allclose(history_b["train_loss"], history_a["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(history_b["val_loss"], history_a["val_loss"], rtol=1e-5)


LOSSES = {
    "mse": (MSE, "regression", 1),
    "mae": (MAE, "regression", 1),
    "huber": (lambda: Huber(0.5), "regression", 1),
    "bce": (BCEWithLogits, "binary", 1),
    "cross_entropy_labels": (CrossEntropy, "labels", 3),
    "cross_entropy_one_hot": (CrossEntropy, "one_hot", 3),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", list(LOSSES))
def test_each_loss_agrees_with_the_numpy_engine(loss, dtype):
    make_loss, kind, out_dim = LOSSES[loss]
    x, y = data("labels" if kind == "one_hot" else kind)
    if kind == "one_hot":
        y = np.eye(3)[y]
    (a, history_a), (b, history_b) = train_both(
        lambda: build(dtype, loss=make_loss(), out_dim=out_dim), x, y
    )
    assert_close(a, b, dtype)
    np.testing.assert_allclose(history_b["train_loss"], history_a["train_loss"], rtol=1e-5)


OPTIMIZERS = {
    "plain": lambda: None,
    "sgd": lambda: SGD(lr=0.05),
    "sgd_momentum_dampening": lambda: SGD(lr=0.05, momentum=0.9, dampening=0.1),
    "sgd_nesterov_weight_decay": lambda: SGD(
        lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2
    ),
    "adam": lambda: Adam(lr=0.01),
    "adam_weight_decay_fused": lambda: Adam(lr=0.01, weight_decay=1e-2, fused=True),
    "adamw": lambda: AdamW(lr=0.01, weight_decay=0.1),
    "rmsprop": lambda: RMSprop(lr=0.01),
    "rmsprop_centered_momentum": lambda: RMSprop(
        lr=0.01, momentum=0.5, centered=True, weight_decay=1e-3
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_each_optimizer_agrees_with_the_numpy_engine(optimizer, dtype):
    x, y = data()
    (a, _), (b, _) = train_both(lambda: build(dtype, optimizer=OPTIMIZERS[optimizer]()), x, y)
    assert_close(a, b, dtype)
    if a.optimizer is not None:  # the state an optimiser keeps is the same, per parameter
        state_a, state_b = a.optimizer.state_dict(), b.optimizer.state_dict()
        assert state_b["state"].keys() == state_a["state"].keys()
        for key, state in state_a["state"].items():
            assert state_b["state"][key].keys() == state.keys(), key
            for name, value in state.items():
                scale = np.abs(value).max() if isinstance(value, np.ndarray) else 1.0
                np.testing.assert_allclose(
                    state_b["state"][key][name],
                    value,
                    err_msg=f"{key} {name}",
                    rtol=TOLERANCE[dtype]["rtol"],
                    atol=TOLERANCE[dtype]["rtol"] * scale,
                )


# -- coverage, derived from the registries ----------------------------------------------


def test_every_builtin_is_compiled_or_declared_uncovered_with_a_reason():
    """Every barenet class in LAYERS, LOSSES and OPTIMIZERS (as the registries are now)
    has a compiled code or a declared reason; no reason is left for a name that is gone
    or compiled. A new built-in (a Softplus in activations.py) fails here until declared."""
    table = engine.coverage()
    assert set(table) == {"layer", "loss", "optimiser"}
    assert "relu" in table["layer"] and "mse" in table["loss"] and "adam" in table["optimiser"]
    uncovered = set()
    for kind, entries in table.items():
        for name, code in entries.items():
            if isinstance(code, str) and code.startswith("not compiled: "):
                assert name in engine.NOT_COMPILED, f"{kind} {name} has no declared reason"
                uncovered.add(name)
    assert set(engine.NOT_COMPILED) == uncovered


def _classes(factories) -> set:
    return {type(make()) for factory in factories for make in factory}


def test_every_compiled_builtin_is_tested_equal_to_its_numpy_methods():
    """The equality tests above run every class the compiled engine covers: a class
    added to the engine's codes without a test here fails."""
    from barenet import registry

    table = engine.coverage()
    compiled = {
        kind: {
            registry.lookup(name)
            for name, code in table[kind].items()
            if not (isinstance(code, str) and code.startswith("not compiled: "))
        }
        for kind, registry in (
            ("layer", registry.LAYERS),
            ("loss", registry.LOSSES),
            ("optimiser", registry.OPTIMIZERS),
        )
    }
    tested_layers = _classes(MIDDLES.values()) | {Linear}  # every network has Linear layers
    assert compiled["layer"] <= tested_layers
    assert compiled["loss"] <= {type(make()) for make, _, _ in LOSSES.values()}
    tested_optimizers = {type(make()) for make in OPTIMIZERS.values()} - {type(None)}
    assert compiled["optimiser"] <= tested_optimizers
    assert compiled["layer"] == set(engine.layer_codes())  # and the codes are all registered


def test_why_not_compiled_prints_the_declared_reason():
    from barenet import Ensemble, EnsembleLinear, EnsembleMean, MemberScale

    model = MLP(
        [
            Ensemble(2, 3),
            MemberScale(2, 3, seed=0),
            EnsembleLinear(3, 1, 2, seed=0),
            EnsembleMean(2, 1),
        ],
        MSE(),
        0.01,
        seed=0,
    )
    why = why_not_compiled(model)
    assert "layer 0 (Ensemble)" in why and engine.NOT_COMPILED["ensemble"] in why


ORDER_SCRIPT = """
import sys
if sys.argv[1] == "engines first":
    import barenet.engines.fused.step as step
    import barenet.engines.select as select
from barenet import MLP, MSE, Linear, Relu
from barenet.registry import LAYERS

@LAYERS.register("user_relu_for_the_order_test")
class UserRelu(Relu):
    pass

if sys.argv[1] != "engines first":
    import barenet.engines.fused.step as step
    import barenet.engines.select as select
model = MLP([Linear(2, 1, seed=0), UserRelu()], MSE(), 0.01, seed=0)
print(step.builtin_methods(UserRelu) is None, step.builtin_methods(Relu) is not None,
      "layer 1 (UserRelu)" in step.why_not_fused(model),
      "layer 1 (UserRelu)" in (select.why_not_compiled(model) or ""))
"""


@pytest.mark.parametrize("order", ["engines first", "user's layer first"])
def test_a_users_layer_is_never_builtin_whichever_is_imported_first(order):
    """In a fresh process, importing the engines before or after a user registers a
    subclass of a built-in layer: the engines never take it for the built-in."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", ORDER_SCRIPT, order], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"] * 4


def test_a_class_registered_after_import_is_a_builtin_if_barenets(monkeypatch):
    """Which classes are built-in is read from the registries when asked, not from a
    snapshot at import: a user's layer registered later is never built-in, and a
    built-in whose method is replaced later stops counting as one."""
    from barenet.engines.fused.step import builtin_methods, why_not_fused
    from barenet.registry import LAYERS

    class Doubled(Relu):  # a user's layer, registered under its own name
        pass

    monkeypatch.setattr(LAYERS, "_names", {**LAYERS._names, Doubled: "doubled"})
    assert builtin_methods(Doubled) is None
    assert builtin_methods(Relu) is not None
    model = MLP([Linear(2, 1, seed=0), Doubled()], MSE(), 0.01, seed=0)
    assert "layer 1 (Doubled)" in why_not_fused(model)
    monkeypatch.setattr(Relu, "backward", lambda self, up_grad: up_grad)
    relu_model = MLP([Linear(2, 1, seed=0), Relu()], MSE(), 0.01, seed=0)
    assert "layer 1 (Relu)" in why_not_fused(relu_model)


@pytest.mark.parametrize("dtype", DTYPES)
def test_several_epochs_with_clipping_a_schedule_and_odd_batches(dtype):
    x, y = data(n=203)  # a last batch of 11 rows

    def make():
        model = build(dtype, optimizer=SGD(lr=0.1, momentum=0.9))
        return model

    runs = []
    for name in ("fused", "compiled"):
        model = make()
        schedule = StepLR(model.optimizer, 1, 0.5)
        model.train(x, y * 20, x, y, 3, 24, clip_norm=0.5, schedule=schedule, engine=name)
        runs.append(model)
    assert runs[1].optimizer.lr == runs[0].optimizer.lr == 0.1 * 0.5**3
    np.testing.assert_allclose(
        runs[1].history["train_loss"], runs[0].history["train_loss"], rtol=1e-4
    )
    assert_close(*runs, dtype) if dtype == np.float64 else None
    for key, value in runs[0].state_dict().items():
        np.testing.assert_allclose(runs[1].state_dict()[key], value, atol=1e-4, err_msg=key)


def test_a_schedule_on_plain_sgd_reaches_the_compiled_engine():
    x, y = data()
    runs = []
    for name in ("fused", "compiled"):
        model = build(np.float64)
        model.train(x, y, epochs=3, schedule=CosineAnnealingLR(model, 3), engine=name)
        runs.append(model)
    assert_close(*runs, np.float64)


def test_same_seed_same_engine_is_bit_identical():
    x, y = data()
    runs = [build(middle=MIDDLES["dropout"], optimizer=Adam(lr=0.01)) for _ in range(2)]
    for model in runs:
        model.train(x, y, x, y, 2, 16, engine="compiled")
    assert runs[0].history == runs[1].history
    for key, value in runs[0].state_dict().items():
        np.testing.assert_array_equal(runs[1].state_dict()[key], value, err_msg=key)


def test_dropout_layers_with_separate_generators_draw_as_the_numpy_engine():
    x, y = data()

    def make():
        return build(
            np.float64,
            middle=(Relu, lambda: Dropout(0.2, seed=1), Sigmoid, lambda: Dropout(0.5, seed=2)),
        )

    (a, _), (b, _) = train_both(make, x, y, epochs=2)
    assert_close(a, b, np.float64)


def test_early_stopping_and_callbacks_run_per_epoch():
    x, y = data()
    seen = {}
    for name in ("fused", "compiled"):
        model = build(np.float64, optimizer=Adam(lr=0.05))
        epochs = []
        model.train(
            x[:200],
            y[:200],
            x[200:],
            y[200:],
            40,
            16,
            early_stopping=2,
            callbacks=[lambda m, epoch, logs, epochs=epochs: epochs.append(logs["val_loss"])],
            engine=name,
        )
        seen[name] = (model, epochs)
    (a, epochs_a), (b, epochs_b) = seen["fused"], seen["compiled"]
    assert len(epochs_a) < 40 and len(epochs_b) == len(epochs_a)
    np.testing.assert_allclose(epochs_b, epochs_a, rtol=1e-9)
    assert_close(a, b, np.float64)  # both restored the best epoch's weights


def test_a_callback_running_the_notebook_methods_between_epochs():
    x, y = data()
    runs = []
    for name in ("fused", "compiled"):
        model = build(np.float64, optimizer=Adam(lr=0.01, fused=True))

        def probe(m, epoch, logs):
            m.loss(m(x[:7]), y[:7])
            m.backward()
            m.layers[0].w = m.layers[0].w * 0.5  # a new array: the engine must repack

        model.train(x, y, epochs=3, batch_size=32, callbacks=[probe], engine=name)
        runs.append(model)
    assert_close(*runs, np.float64)


def test_divergence_is_caught_before_the_update_at_the_same_batch():
    x, y = data()
    errors, models = {}, {}
    for name in ("fused", "compiled"):
        model = build(np.float32, optimizer=SGD(lr=1e4))
        with pytest.raises(TrainingDiverged) as caught:
            model.train(x, y * 1e3, epochs=3, batch_size=16, engine=name)
        errors[name], models[name] = caught.value, model
    assert (errors["compiled"].epoch, errors["compiled"].batch) == (
        errors["fused"].epoch,
        errors["fused"].batch,
    )
    assert str(errors["compiled"]).split(":")[0] == str(errors["fused"]).split(":")[0]
    for p in models["compiled"].parameters():
        assert np.isfinite(p.value).all()


def test_predict_in_chunks_equals_the_numpy_engine():
    x, _ = data()
    for dtype in DTYPES:
        model = build(dtype, middle=MIDDLES["dropout"])
        expected = model.predict(x, engine="methods")
        got = model.predict(x, batch_size=7, engine="compiled")
        assert got.shape == (300, 1) and got.dtype == dtype
        np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])
        assert model.training  # the mode is unchanged


def test_the_parameters_are_the_layers_own_arrays_after_training():
    x, y = data()
    model = build()
    w = model.layers[0].w
    model.train(x, y, epochs=1, engine="compiled")
    assert model.layers[0].w is w and not np.shares_memory(w, model.layers[2].w)
    before = w.copy()
    model.train(x, y, epochs=1, engine="compiled")
    assert not np.array_equal(w, before)  # updated in place


# -- choosing the engine ------------------------------------------------------------


def test_auto_picks_compiled_for_covered_built_ins(monkeypatch):
    model = build(middle=MIDDLES["dropout"], optimizer=AdamW())
    assert why_not_compiled(model) is None
    assert resolve_engine(model, "auto") == "compiled"
    assert resolve_engine(model, "methods") == "methods"
    assert resolve_engine(model, "fused") == "fused"
    calls = []
    original = compiled_runner.CompiledTraining.run_batches
    monkeypatch.setattr(
        compiled_runner.CompiledTraining,
        "run_batches",
        lambda self, *args: calls.append(1) or original(self, *args),
    )
    x, y = data()
    model.train(x, y, epochs=1, batch_size=32)
    assert calls
    calls.clear()
    model.train(x, y, epochs=1, batch_size=32, engine="fused")
    assert not calls


def test_auto_keeps_the_fused_step_for_wide_layers_where_blas_wins():
    """From ``WIDE_LAYER`` units on, ``auto`` means fused (docs/speed.md measured the
    compiled engine 0.59x the fused step's speed at 1,024 wide); asking for the
    compiled engine still gets it."""
    narrow = MLP(
        [Linear(8, engine.WIDE_LAYER - 1), Relu(), Linear(engine.WIDE_LAYER - 1, 1)], MSE(), 0.01
    )
    wide = MLP([Linear(8, engine.WIDE_LAYER), Relu(), Linear(engine.WIDE_LAYER, 1)], MSE(), 0.01)
    assert resolve_engine(narrow, "auto") == "compiled"
    assert resolve_engine(wide, "auto") == "fused"
    assert resolve_engine(wide, "compiled") == "compiled"
    wide_input = MLP([Linear(784, 64), Relu(), Linear(64, 1)], MSE(), 0.01)  # hidden 64
    assert resolve_engine(wide_input, "auto") == "compiled"


def test_a_learners_change_switches_compiled_off(monkeypatch):
    class MyRelu(Relu):
        pass

    model = build(middle=(MyRelu,))
    assert "layer 1 (MyRelu)" in why_not_compiled(model)
    assert resolve_engine(model, "auto") == "methods"
    with pytest.raises(ValueError, match=r"engine='fused' cannot run .*layer 1 \(MyRelu\)"):
        model.train(*data(), epochs=1, engine="fused")
    with pytest.raises(ValueError, match=r"engine='compiled' cannot run .*layer 1 \(MyRelu\)"):
        model.train(*data(), epochs=1, engine="compiled")

    model = build()
    model.layers[2].forward = lambda inp: inp
    assert resolve_engine(model, "auto") == "methods"

    calls = []
    original = Tanh.backward
    monkeypatch.setattr(Tanh, "backward", lambda self, g: calls.append(1) or original(self, g))
    model = build()
    assert resolve_engine(model, "auto") == "methods"
    model.train(*data(), epochs=1, batch_size=100)
    assert len(calls) == 3  # the learner's code ran, once per batch


@pytest.mark.parametrize(
    "make, named",
    [
        (lambda: build(middle=(lambda: BatchNorm1d(16),)), "layer 1 (BatchNorm1d)"),
        (lambda: build(middle=(Softmax,)), "layer 1 (Softmax)"),
    ],
)
def test_uncovered_layers_fall_back_or_raise_naming_the_layer(make, named):
    model = make()
    assert named in why_not_compiled(model)
    assert resolve_engine(model, "auto") == "fused"
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")):
        model.train(*data(), epochs=1, engine="compiled")
    with pytest.raises(ValueError, match="cannot run this model"):
        model.predict(data()[0], engine="compiled")
    model.train(*data(), epochs=1)  # auto: fused


def test_an_unknown_engine_is_an_error(monkeypatch):
    with pytest.raises(ValueError, match="engine must be one of"):
        build().train(*data(), epochs=1, engine="jax")
    monkeypatch.setenv("BARENET_ENGINE", "fortran")
    with pytest.raises(ValueError, match="BARENET_ENGINE must be one of"):
        build().train(*data(), epochs=1)


def test_barenet_engine_sets_what_auto_means(monkeypatch):
    model = build()
    for name in ("methods", "fused"):
        monkeypatch.setenv("BARENET_ENGINE", name)
        assert resolve_engine(model, "auto") == name
        assert resolve_engine(model, "compiled") == "compiled"
    monkeypatch.setenv("BARENET_ENGINE", "compiled")
    assert resolve_engine(model, "auto") == "compiled"
    assert resolve_engine(build(middle=(lambda: BatchNorm1d(16),)), "auto") == "fused"

    class MyRelu(Relu):
        pass

    # there an engine that cannot run the model falls back, as auto does
    monkeypatch.setenv("BARENET_ENGINE", "fused")
    assert resolve_engine(build(middle=(MyRelu,)), "auto") == "methods"


def test_without_numba_auto_falls_back_with_a_notice(monkeypatch, capsys):
    monkeypatch.setattr(engine, "_kernels", None)
    monkeypatch.setattr(engine, "_import_error", "ModuleNotFoundError: No module named 'numba'")
    model = build()
    x, y = data()
    model.train(x, y, epochs=1, verbose=True)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "numba unavailable, training without it" in err
    model.train(x, y, epochs=1)
    assert capsys.readouterr().err == ""  # silent unless verbose
    with pytest.raises(ValueError, match="numba cannot be imported"):
        model.train(x, y, epochs=1, engine="compiled")
    assert model.predict(x).shape == (300, 1)


def test_fast_false_and_compiled_contradict():
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="fast=False"):
        build().train(*data(), epochs=1, engine="compiled", fast=False)


# -- the engine everywhere ----------------------------------------------------------


def test_estimators_take_engine():
    from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor

    x, y = data()
    fits = [
        BarenetRegressor(hidden=(16,), epochs=2, random_state=0, engine=name).fit(x, y.ravel())
        for name in ("fused", "compiled")
    ]
    assert fits[1].get_params()["engine"] == "compiled"
    np.testing.assert_allclose(fits[1].predict(x), fits[0].predict(x), rtol=1e-4, atol=1e-5)
    x, labels = data("labels")
    probabilities = [
        BarenetClassifier(hidden=(16,), epochs=2, random_state=0, engine=name)
        .fit(x, labels)
        .predict_proba(x)
        for name in ("fused", "compiled")
    ]
    np.testing.assert_allclose(probabilities[1], probabilities[0], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="engine must be one of"):
        BarenetRegressor(engine="gpu").fit(x, y.ravel())


def test_the_command_line_takes_engine(tmp_path, capsys, monkeypatch):
    import json

    from barenet.cli import main

    monkeypatch.chdir(tmp_path)
    summaries = {}
    for name in ("fused", "compiled"):
        common = ["--dataset", "diabetes", "--epochs", "2", "--plot", "none", "--json"]
        assert main([*common, "--engine", name]) == 0
        summaries[name] = json.loads(capsys.readouterr().out)
    assert summaries["compiled"]["config"]["engine"] == "compiled"
    np.testing.assert_allclose(
        summaries["compiled"]["history"]["train_loss"],
        summaries["fused"]["history"]["train_loss"],
        rtol=1e-4,
    )
    with pytest.raises(SystemExit):
        main(["--dataset", "diabetes", "--engine", "gpu"])


def test_a_stop_request_acts_between_chunks(monkeypatch):
    monkeypatch.setattr(compiled_runner, "CHUNK_ROWS", 64)  # two batches of 32 per chunk
    calls = []
    original = compiled_runner.CompiledTraining.run_batches

    def stop_after_first_chunk(self, *args):
        calls.append(args[1:])
        self.model.request_stop()
        return original(self, *args)

    monkeypatch.setattr(compiled_runner.CompiledTraining, "run_batches", stop_after_first_chunk)
    model = build()
    before = model.state_dict()
    model.train(*data(), epochs=2, batch_size=32, engine="compiled")
    assert calls == [(0, 2)] and model.interrupted and model.epoch == 0
    assert not np.array_equal(model.state_dict()["0.w"], before["0.w"])  # two batches ran


def test_a_read_only_install_without_a_home_caches_in_the_temporary_folder(tmp_path):
    from barenet.engines.compiled.formulas import cache_folder_fallback

    writable = tmp_path / "package"
    writable.mkdir()
    assert cache_folder_fallback(str(writable), str(tmp_path)) is None
    missing = str(tmp_path / "no" / "such")
    assert cache_folder_fallback(missing, str(tmp_path)) is None  # the user's cache folder
    assert cache_folder_fallback(missing, missing).endswith("barenet-numba")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 7), min_size=2, max_size=5),
    batch=st.integers(1, 9),
    seed=st.integers(0, 1000),
)
def test_property_any_shape_and_batch_agrees_with_the_numpy_engine(sizes, batch, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((23, sizes[0]))
    y = rng.standard_normal((23, sizes[-1]))
    x_copy = x.copy()
    runs = []
    for name in ("fused", "compiled"):
        init = np.random.default_rng(seed)
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(Linear(a, b, seed=init, dtype=np.float64))
            if i < len(sizes) - 2:
                layers.append((Relu, Sigmoid, Tanh)[i % 3]())
        model = MLP(layers, MSE(), lr=0.05, seed=seed)
        model.train(x, y, x, y, epochs=2, batch_size=batch, engine=name)
        runs.append(model)
    np.testing.assert_array_equal(x, x_copy)
    assert_close(*runs, np.float64)
    np.testing.assert_allclose(runs[1].history["val_loss"], runs[0].history["val_loss"], 1e-10)


def test_only_the_blas_numba_calls_runs_on_one_thread():
    import os

    import scipy
    from threadpoolctl import threadpool_info

    def threads():
        info = threadpool_info()
        return {i["filepath"]: i["num_threads"] for i in info if i["user_api"] == "blas"}

    from barenet.engines.compiled import training as compiled_runner

    # as in a fresh process: the limit is set at the first kernel call (a scikit-learn
    # threadpool_limits block around an earlier test may have restored the old count)
    compiled_runner._blas_limited = False
    before = threads()
    build().predict(data()[0], engine="compiled")
    after = threads()
    scipy_dir = os.path.dirname(scipy.__file__)
    for path, count in after.items():
        if path.startswith(scipy_dir):
            assert count == 1, path
        else:
            assert count == before.get(path, count), path
