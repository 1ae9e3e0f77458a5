"""The training loop (``MLP.train``): it runs the model's own methods, keeps history
aligned, selects on validation data only, and stops safely."""

import math

import numpy as np
import pytest
from conftest import small_mlp, toy_data

from barenet import MLP, MSE, SGD, CrossEntropy, Layer, Linear, Relu, TrainingDiverged


class NotebookLinear(Linear):
    """A learner's Linear, with the notebook's signatures and formulas."""

    def forward(self, inp):
        self.inp = inp
        return inp @ self.w + self.b

    def backward(self, up_grad):
        self.dw = self.inp.T @ up_grad
        self.db = np.sum(up_grad, axis=0, keepdims=True)
        return up_grad @ self.w.T

    def step(self, lr):
        self.w = self.w - lr * self.dw
        self.b = self.b - lr * self.db


def test_a_notebook_style_linear_subclass_trains_like_the_built_in():
    x, y = toy_data(64)
    models = []
    for cls in (Linear, NotebookLinear):
        rng = np.random.default_rng(3)
        layers = [
            cls(3, 8, seed=rng, dtype=np.float64),
            Relu(),
            cls(8, 2, seed=rng, dtype=np.float64),
        ]
        model = MLP(layers, MSE(), 0.05, seed=0)
        model.train(x, y, epochs=3, batch_size=16)
        models.append(model)
    for key, value in models[0].state_dict().items():
        np.testing.assert_allclose(models[1].state_dict()[key], value, rtol=1e-12, atol=1e-14)


def hand_written_loop(model, x, y, epochs, batch_size):
    """The notebook's loop, written out: what MLP.train must do."""
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            prediction = model.forward(x[index])
            model.loss(prediction, y[index])
            model.backward()
            model.update()


@pytest.mark.parametrize("engine", ["fused", "methods"])
def test_train_equals_the_hand_written_loop(engine):
    # Bit equality, because both sides run the same NumPy operations: the plain methods,
    # or the fused step that performs them in place. The compiled engine runs other
    # code (numba loops, SciPy's BLAS), so it is compared with a tolerance below.
    x, y = toy_data(50)
    trained, by_hand = small_mlp(dtype=np.float64), small_mlp(dtype=np.float64)
    trained.train(x, y, epochs=3, batch_size=8, engine=engine)
    hand_written_loop(by_hand, x, y, epochs=3, batch_size=8)
    for key, value in trained.state_dict().items():
        np.testing.assert_array_equal(by_hand.state_dict()[key], value)


def test_the_compiled_engine_equals_the_hand_written_loop_to_rounding():
    # Another BLAS and other loops round differently (on AVX-512 CPUs, 1e-17 apart):
    # equal to float64 rounding, accumulated over 21 updates, not bit for bit.
    x, y = toy_data(50)
    trained, by_hand = small_mlp(dtype=np.float64), small_mlp(dtype=np.float64)
    trained.train(x, y, epochs=3, batch_size=8, engine="compiled")
    hand_written_loop(by_hand, x, y, epochs=3, batch_size=8)
    for key, value in trained.state_dict().items():
        np.testing.assert_allclose(value, by_hand.state_dict()[key], rtol=1e-12, atol=1e-14)
        assert not np.array_equal(value, small_mlp(dtype=np.float64).state_dict()[key])


def test_every_overridden_model_method_is_called_each_batch():
    calls = {"forward": 0, "loss": 0, "backward": 0, "update": 0}

    class Counting(MLP):
        def forward(self, inp):
            calls["forward"] += 1
            return super().forward(inp)

        def loss(self, prediction, target):
            calls["loss"] += 1
            return super().loss(prediction, target)

        def backward(self):
            calls["backward"] += 1
            super().backward()

        def update(self):
            calls["update"] += 1
            super().update()

    rng = np.random.default_rng(0)
    model = Counting([Linear(3, 4, seed=rng), Relu(), Linear(4, 2, seed=rng)], MSE(), 0.1)
    x, y = toy_data(20)
    model.train(x, y, epochs=2, batch_size=8)  # 3 batches per epoch
    assert calls["backward"] == calls["update"] == calls["loss"] == 6
    assert calls["forward"] >= 6


def test_an_overridden_backward_changes_training():
    class NoGradients(MLP):
        def backward(self):
            super().backward()
            for p in self.parameters():
                p.grad[...] = 0

    rng = np.random.default_rng(0)
    model = NoGradients([Linear(3, 4, seed=rng), Relu(), Linear(4, 2, seed=rng)], MSE(), 0.1)
    before = model.state_dict()
    x, y = toy_data(20)
    model.train(x, y, epochs=2, batch_size=8)
    for key, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_a_layer_method_replaced_on_the_instance_takes_effect():
    model = small_mlp()
    layer = model.layers[0]
    before = layer.w.copy()
    layer.step = lambda lr: None  # freeze this layer
    x, y = toy_data(20)
    model.train(x, y, epochs=1, batch_size=5)
    np.testing.assert_array_equal(layer.w, before)
    assert not np.array_equal(model.layers[2].w, small_mlp().layers[2].w)


def test_history_covers_every_sample_and_weights_by_batch_size():
    seen, batch_losses = [], []

    class Spy(Layer):
        def forward(self, inp):
            seen.append(len(inp))
            return inp

        def backward(self, up_grad):
            return up_grad

    class Recording(MSE):
        def forward(self, prediction, target):
            value = super().forward(prediction, target)
            batch_losses.append((value, len(prediction)))
            return value

    rng = np.random.default_rng(0)
    model = MLP([Spy(), Linear(3, 2, seed=rng)], Recording(), 0.05, seed=0)
    x, y = toy_data(10)
    history = model.train(x, y, None, None, epochs=1, batch_size=4)
    assert seen[-3:] == [4, 4, 2]
    expected = sum(v * n for v, n in batch_losses[-3:]) / 10
    assert history["train_loss"] == [pytest.approx(expected)]
    assert model.history is history


def test_history_stays_aligned_across_calls():
    model = small_mlp()
    x, y = toy_data(40)
    model.train(x, y, x, y, epochs=2, batch_size=10)
    model.train(x, y, epochs=3, batch_size=10)  # now without validation
    history = model.train(x, y, x, y, epochs=1, batch_size=10)
    assert len(history["train_loss"]) == len(history["val_loss"]) == 6 == model.epoch
    assert [math.isnan(v) for v in history["val_loss"]] == [False] * 2 + [True] * 3 + [False]


def test_validation_loss_falls_and_equals_evaluate():
    model = small_mlp()
    x, y = toy_data(200)
    history = model.train(x[:150], y[:150], x[150:], y[150:], epochs=15, batch_size=16)
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(x[150:], y[150:]), rel=1e-5)


def test_training_is_bit_reproducible_with_seeds():
    x, y = toy_data(64)
    runs = []
    for _ in range(2):
        model = small_mlp(seed=5)
        history = model.train(x, y, x, y, epochs=3, batch_size=10)
        runs.append((history, model.state_dict(), model.rng.integers(1 << 30)))
    assert runs[0][0] == runs[1][0]
    for key in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][key], runs[1][1][key])
    assert runs[0][2] == runs[1][2]
    other = small_mlp(seed=6)
    other.train(x, y, epochs=1, batch_size=10)
    assert not np.array_equal(other.layers[0].w, runs[0][1]["0.w"])


def test_references_to_weights_stay_live_through_training():
    """The fast path must not replace the arrays a learner is holding."""
    model = small_mlp(optimizer=SGD(lr=0.05, momentum=0.5, fused=True))
    w = model.layers[0].w
    x, y = toy_data(30)
    model.train(x, y, epochs=2, batch_size=8)
    assert model.layers[0].w is w and not np.array_equal(w, small_mlp().layers[0].w)


def test_classifier_trains_on_integer_labels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 2))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    model = MLP(
        [Linear(2, 16, seed=rng), Relu(), Linear(16, 3, seed=rng)], CrossEntropy(), 0.5, seed=0
    )
    model.train(x, labels, epochs=30, batch_size=16)
    assert np.mean(model.predict(x).argmax(axis=1) == labels) > 0.9


def test_divergence_stops_with_finite_weights_and_keeps_history():
    model = small_mlp(lr=1e6)
    x, y = toy_data(100)
    y = y * 1e3
    with pytest.raises(TrainingDiverged, match=r"epoch \d+, .*smaller learning rate") as info:
        model.train(x, y, x, y, epochs=20, batch_size=10)
    assert info.value.epoch >= 1
    assert all(np.isfinite(p.value).all() for p in model.parameters())
    assert len(model.history["train_loss"]) == info.value.epoch - 1


def overfitting_setup(seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((30, 2))  # pure noise
    x_val, y_val = rng.standard_normal((30, 3)), rng.standard_normal((30, 2))
    layers = [Linear(3, 64, seed=rng), Relu(), Linear(64, 2, seed=rng)]
    return MLP(layers, MSE(), lr=0.2, seed=seed), x, y, x_val, y_val


def test_early_stopping_restores_the_best_weights():
    model, x, y, x_val, y_val = overfitting_setup()
    snapshots = []
    history = model.train(
        x,
        y,
        x_val,
        y_val,
        epochs=200,
        batch_size=5,
        early_stopping=3,
        callbacks=[lambda m, e, logs: snapshots.append(m.state_dict())],
    )
    val = history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) == best + 1 + 3 < 200  # stopped 3 epochs after the best one
    for key, value in snapshots[best].items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    assert model.evaluate(x_val, y_val) == pytest.approx(val[best], rel=1e-6)


def test_best_weights_are_restored_when_training_ends_otherwise():
    model, x, y, x_val, y_val = overfitting_setup(1)
    snapshots = []

    def stop_at_eight(m, epoch, logs):
        snapshots.append(m.state_dict())
        return epoch == 8  # a callback ends training, not the patience

    history = model.train(
        x, y, x_val, y_val, epochs=50, batch_size=5, early_stopping=100, callbacks=[stop_at_eight]
    )
    best = int(np.argmin(history["val_loss"]))
    assert len(history["val_loss"]) == 8 and best < 7
    for key, value in snapshots[best].items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_early_stopping_needs_validation_data():
    model, x, y, _, _ = overfitting_setup()
    with pytest.raises(ValueError, match="early_stopping needs validation data"):
        model.train(x, y, epochs=5, batch_size=5, early_stopping=2)


def test_divergence_at_the_end_of_an_epoch_does_not_count_the_epoch():
    x, y = toy_data(20)
    model = small_mlp(lr=0.05)
    model.train(x, y, epochs=1, batch_size=20)
    model.lr = 1e300  # one batch per epoch: the update overflows the weights; the loss was finite
    with pytest.raises(TrainingDiverged, match="epoch 2, at the end of the epoch") as info:
        model.train(x, y, epochs=3, batch_size=20)
    assert info.value.batch == 0
    assert model.epoch == len(model.history["train_loss"]) == 1
    assert all(np.isfinite(p.value).all() for p in model.parameters())


class Blocks:
    """A ``BatchSource`` giving each epoch's rows in blocks (as a folder's shuffle
    buffer does), counting the blocks trained on; ``stop_after`` asks the model to stop
    after that many."""

    fixed = False

    def __init__(self, x, y, bounds, stop_after=None):
        self.x, self.y, self.bounds, self.stop_after = x, y, bounds, stop_after
        self.done = 0

    def first_rows(self):
        return self.x[:2], self.y[:2]

    def epoch_blocks(self, model):
        for start, end in zip(self.bounds[:-1], self.bounds[1:], strict=True):
            yield self.x[start:end], self.y[start:end]

    def block_done(self, trainer):
        self.done += 1
        if self.done == self.stop_after:
            trainer.model.request_stop()


def test_an_epoch_of_no_rows_is_an_error_not_a_loss_of_zero():
    """A source that gives no block in an epoch (a folder resumed past files removed
    since): no loss is recorded from zero batches."""
    from barenet.errors import BarenetValueError
    from barenet.trainer import Trainer

    x, y = toy_data(32)
    model = small_mlp(seed=2)
    with pytest.raises(BarenetValueError, match="epoch 1 has no training rows"):
        Trainer(model, epochs=2, batch_size=16).fit_source(Blocks(x, y, [0]))
    assert model.epoch == 0 and model.history["train_loss"] == []


def test_rows_from_a_source_train_as_the_same_rows_in_memory():
    """One block a epoch through the per-block engine start (a folder's path) gives the
    weights and losses of ``MLP.train`` on the same rows (its step started once)."""
    from barenet.trainer import Trainer

    x, y = toy_data(96)
    x = x.astype(np.float32)
    y = y.astype(np.float32)
    in_memory, streamed = small_mlp(seed=2), small_mlp(seed=2)
    in_memory.train(x, y, epochs=3, batch_size=16, engine="fused")
    source = Blocks(x, y, [0, 96])
    Trainer(streamed, epochs=3, batch_size=16, engine="fused").fit_source(source)
    assert source.done == 3
    assert streamed.history["train_loss"] == in_memory.history["train_loss"]
    for key, value in in_memory.state_dict().items():
        np.testing.assert_array_equal(streamed.state_dict()[key], value)


def test_an_epoch_of_blocks_reports_the_row_weighted_mean_loss():
    from barenet.trainer import Trainer

    x, y = toy_data(100)
    model = small_mlp(seed=1, dtype=np.float64)
    source = Blocks(x, y, [0, 30, 100])
    means = []
    original = Trainer._run_batches

    def record(self, step, xb, yb):
        means.append(original(self, step, xb, yb))
        return means[-1]

    trainer = Trainer(model, epochs=1, batch_size=10, engine="methods")
    trainer._run_batches = record.__get__(trainer)
    trainer.fit_source(source, x[:20], y[:20])
    assert source.done == 2 and len(means) == 2
    assert model.history["train_loss"] == [pytest.approx((30 * means[0] + 70 * means[1]) / 100)]
    assert not math.isnan(model.history["val_loss"][0])


def test_a_stop_between_blocks_ends_training_inside_the_epoch():
    from barenet.trainer import Trainer

    x, y = toy_data(90)
    model = small_mlp(seed=1, dtype=np.float64)
    source = Blocks(x, y, [0, 30, 60, 90], stop_after=1)
    Trainer(model, epochs=2, batch_size=10, engine="fused").fit_source(source)
    assert source.done == 1 and model.epoch == 0 and model.history["train_loss"] == []
    assert model.interrupted and model.stopped_mid_epoch


def test_mlp_train_relays_every_keyword_to_train_options():
    import dataclasses
    import inspect

    from barenet.trainer import TrainOptions

    data = {"self", "x_train", "y_train", "x_test", "y_test"}
    keywords = set(inspect.signature(MLP.train).parameters) - data
    assert keywords == {field.name for field in dataclasses.fields(TrainOptions)}


@pytest.mark.parametrize("engine", ["methods", "fused", "auto"])
def test_the_engine_step_starts_once_per_fit_for_rows_in_memory_and_per_block_else(
    monkeypatch, engine
):
    """Rows in memory keep today's speed: the engine's step (a compiled kernel's
    workspace, say) is started once for every epoch; a source of new blocks starts one
    per block."""
    from barenet.registry import ENGINES
    from barenet.trainer import Trainer

    engines = ENGINES.get()
    started = []
    original = engines.start_training

    def counting(trainer, x, y):
        started.append(len(x))
        return original(trainer, x, y)

    monkeypatch.setattr(engines, "start_training", counting)
    x, y = toy_data(90)
    small_mlp(seed=1).train(x, y, epochs=4, batch_size=10, engine=engine)
    assert started == [90]
    started.clear()
    source = Blocks(x.astype(np.float32), y.astype(np.float32), [0, 40, 90])
    Trainer(small_mlp(seed=1), epochs=3, batch_size=10, engine=engine).fit_source(source)
    assert started == [40, 50] * 3
