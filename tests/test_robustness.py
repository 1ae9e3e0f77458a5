"""Bad input, divergence, fuzzed files and killed processes: nothing silently wrong,
nothing lost. Property tests use a bounded number of examples."""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import barenet
from barenet import MLP, MSE, Layer, Linear, Relu, Sigmoid, Tanh, TrainingDiverged
from barenet.errors import DataError, ModelFileError
from barenet.tables.datasets import read_csv

PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_mlp(sizes, activations, dtype, seed):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(a, b, dtype=dtype, seed=rng))
        layers[-1].b[...] = rng.standard_normal((1, b)) * 0.1
        if i < len(sizes) - 2:
            layers.append(activations[i % len(activations)]())
    return MLP(layers, MSE(), lr=0.05, seed=seed)


sizes_strategy = st.lists(st.integers(1, 7), min_size=2, max_size=5)


@PROPERTY
@given(
    sizes=sizes_strategy,
    activations=st.lists(st.sampled_from([Sigmoid, Tanh]), min_size=1, max_size=3),
    batch=st.integers(1, 6),
    seed=st.integers(0, 1000),
)
def test_property_gradients_match_finite_differences(sizes, activations, batch, seed):
    """Smooth activations only: Relu's kink makes finite differences meaningless at 0
    (Relu is checked away from its kink in test_activations)."""
    model = random_mlp(sizes, activations, np.float64, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]))
    y = rng.standard_normal((batch, sizes[-1]))
    report = barenet.check_gradients(model, x, y, tolerance=1e-6)
    assert report.ok, str(report)


@PROPERTY
@given(
    sizes=sizes_strategy,
    batch=st.integers(1, 9),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 1000),
)
def test_property_inputs_unchanged_and_fast_path_identical(sizes, batch, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((23, sizes[0])).astype(dtype)
    y = rng.standard_normal((23, sizes[-1])).astype(dtype)
    x_copy, y_copy = x.copy(), y.copy()
    runs = []
    for engine in ("fused", "methods"):
        model = random_mlp(sizes, [Relu], dtype, seed)
        history = model.train(x, y, x, y, epochs=2, batch_size=batch, engine=engine)
        runs.append((history, model.state_dict()))
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(y, y_copy)
    assert runs[0][0] == runs[1][0]
    for key, value in runs[0][1].items():
        np.testing.assert_array_equal(runs[1][1][key], value)


@pytest.mark.parametrize(
    "x, y, message",
    [
        (
            np.zeros((5, 4)),
            np.zeros((5, 1)),
            "x_train has 4 features per row but the model expects 3",
        ),
        (np.zeros((5, 3)), np.zeros((4, 1)), "y_train has 4 rows but the inputs have 5"),
        (np.zeros((5, 3)), np.zeros((5, 3)), "y_train has 3 columns but the model outputs 1"),
        (np.zeros((0, 3)), np.zeros((0, 1)), "x_train is empty"),
        (np.array([["a", "b", "c"]] * 5), np.zeros((5, 1)), "must hold numbers"),
        (np.array([[1, None, 2]] * 5, dtype=object), np.zeros((5, 1)), "must hold numbers"),
        (np.zeros(5), np.zeros(5), "x_train must be 2-D"),
        (np.full((5, 3), np.inf), np.zeros((5, 1)), "NaN or infinity"),
        (np.zeros((5, 3)), np.full((5, 1), np.nan), "y_train contains NaN"),
    ],
)
def test_bad_training_data_is_named(x, y, message):
    model = MLP([Linear(3, 4), Relu(), Linear(4, 1)], MSE(), lr=0.1)
    before = model.state_dict()
    with pytest.raises((ValueError, TypeError), match=message):
        model.train(x, y, epochs=1, batch_size=2)
    for key, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


@pytest.mark.parametrize("lr", [0, -1, float("nan"), float("inf")])
def test_bad_learning_rates(lr):
    with pytest.raises(ValueError, match="finite number > 0"):
        MLP([Linear(2, 1)], MSE(), lr=lr)


def test_predict_checks_its_input():
    model = MLP([Linear(3, 1)], MSE(), lr=0.1)
    with pytest.raises(ValueError, match="x has 2 features per row but the model expects 3"):
        model.predict(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((1, 3), np.nan))


def test_gradient_divergence_is_caught_before_the_update():
    class Explodes(Layer):
        calls = 0

        def forward(self, inp):
            return inp

        def backward(self, up_grad):
            Explodes.calls += 1
            return up_grad * (np.inf if Explodes.calls == 3 else 1.0)

    model = MLP([Linear(2, 3, seed=0), Explodes(), Linear(3, 1, seed=1)], MSE(), lr=0.1, seed=0)
    x = np.random.default_rng(0).standard_normal((40, 2))
    weights = []
    callback_weights = model.layers[0].w
    with pytest.raises(TrainingDiverged, match="epoch 1, batch 3: a gradient became non-finite"):
        original = model.update

        def remember():
            original()
            weights.append(callback_weights.copy())

        model.update = remember
        model.train(x, x[:, :1], epochs=1, batch_size=10)
    assert all(np.isfinite(p.value).all() for p in model.parameters())
    np.testing.assert_array_equal(model.layers[0].w, weights[-1])  # the last finite step


def valid_model(tmp_path):
    model = MLP([Linear(3, 4, seed=0), Relu(), Linear(4, 1, seed=1)], MSE(), lr=0.1)
    return model, barenet.save(model, tmp_path / "valid.npz").read_bytes()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_model_files_only_give_model_file_errors(tmp_path, data):
    original, good = valid_model(tmp_path)
    kind = data.draw(st.sampled_from(["random", "truncate", "flip"]))
    if kind == "random":
        blob = data.draw(st.binary(max_size=2000))
    elif kind == "truncate":
        blob = good[: data.draw(st.integers(0, len(good) - 1))]
    else:
        blob = bytearray(good)
        for _ in range(data.draw(st.integers(1, 20))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
        blob = bytes(blob)
    path = tmp_path / "fuzzed.npz"
    path.write_bytes(blob)
    try:
        model = barenet.load(path)
    except ModelFileError:
        return
    # a flip in an unused header byte may leave a valid file; the zip CRC catches the rest
    for key, value in original.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet=st.sampled_from(list('ab,1.-e\n\r"x 0')), max_size=200),
    raw=st.binary(max_size=200),
)
def test_fuzzed_csv_files_only_give_data_errors(tmp_path, text, raw):
    for content in (text.encode(), raw):
        path = tmp_path / "fuzzed.csv"
        path.write_bytes(content)
        try:
            header, data = read_csv(path)
        except DataError:
            continue
        assert data.shape[1] == len(header) and np.isfinite(data).all()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_training_leaves_only_complete_files(tmp_path, diabetes_csv, sig):
    rng = random.Random(int(sig))
    common = [
        sys.executable,
        "-m",
        "barenet",
        "--data",
        str(diabetes_csv),
        "--target",
        "progression",
        "--batch-size",
        "4",
        "--plot",
        "losses.png",
        "--seed",
        "1",
    ]
    checkpoint = tmp_path / "ck.npz"
    for _ in range(3):  # train, kill, resume from the checkpoint, kill, ...
        resume = ["--resume", "ck.npz"] if checkpoint.exists() else []
        last = checkpoint.stat().st_mtime_ns if checkpoint.exists() else 0
        process = subprocess.Popen(
            [*common, "--epochs", "100000", "--checkpoint", "ck.npz", "--save", "m.npz", *resume],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not checkpoint.exists() or checkpoint.stat().st_mtime_ns == last
        ):
            time.sleep(0.01)  # until this run has written a checkpoint: training is under way
        time.sleep(rng.uniform(0.0, 0.5))  # then a random moment, often mid-write
        process.send_signal(sig)
        _, err = process.communicate(timeout=60)
        if sig == signal.SIGINT:
            assert process.returncode == 130, err
        for name in ("ck.npz", "m.npz"):
            if (tmp_path / name).exists():
                model = barenet.load(tmp_path / name)
                assert model.epoch >= 1 and len(model.history["train_loss"]) == model.epoch
        if (tmp_path / "losses.png").exists():
            assert (tmp_path / "losses.png").read_bytes()[:4] == b"\x89PNG"
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] or (
            sig == signal.SIGKILL
        )  # SIGKILL may leave a temporary file, never a half file
    if sig == signal.SIGINT:
        assert (tmp_path / "m.npz").exists() and (tmp_path / "losses.png").exists()
    done_epochs = barenet.load(tmp_path / "ck.npz").epoch
    resumed = subprocess.run(
        [
            *common,
            "--epochs",
            str(done_epochs + 2),
            "--resume",
            "ck.npz",
            "--save",
            "resumed.npz",
            "--quiet",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert barenet.load(tmp_path / "resumed.npz").epoch == done_epochs + 2
