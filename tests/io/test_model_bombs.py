"""Model-file bombs (issue 30): small files whose members decompress to about 1 GB are
refused, naming the member, before anything large is decompressed or allocated; a
record claiming a huge layer of any kind over small stored arrays is refused before
any layer is built; a retrieval model of many held rows predicts in bounded memory.

The bombs are ``benchmarks/model_bombs.py``'s (which also measures time and RSS). The
1 GB bombs are slow tests (``python -m pytest -m slow``); the claim bombs are small."""

import importlib.util
import json
import re
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import barenet
from barenet import MLP, MSE, Linear
from barenet.errors import ModelFileError
from barenet.io import persistence
from barenet.tabular import retrieval
from barenet.tabular.retrieval import Retrieval

slow = pytest.mark.slow  # builds 1 GB bombs (or a retrieval model of 200,000 rows)

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "model_bombs.py"


def _bombs_module():
    spec = importlib.util.spec_from_file_location("model_bombs", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bombs_module():
    return _bombs_module()


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    return _bombs_module().build_bombs(tmp_path_factory.mktemp("bombs"))


@pytest.fixture(scope="module")
def claims(tmp_path_factory, bombs_module):
    return bombs_module.claim_bombs(tmp_path_factory.mktemp("claims"))


def _peak_while_loading(path):
    """``(error or None, peak bytes traced)`` of ``barenet.load(path)``."""
    tracemalloc.start()
    try:
        barenet.load(path)
        error = None
    except ModelFileError as raised:
        error = raised
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return error, peak


@slow
@pytest.mark.parametrize(
    ("bomb", "member", "why"),
    [
        ("unknown_member", "extra.npy", "unknown member"),
        ("raw_member", "param/0.b.npy", "not a NumPy array"),
        ("metadata", "__meta__.npy", "would decompress to 1,07"),
        ("metadata_24mb", "__meta__.npy", "a description is one text of at most"),
        ("wrong_shape", "param/0.w.npy", "would decompress to 1,07"),
        ("wrong_shape_24mb", "param/0.w.npy", r"the record says float32 of shape \(3, 4\)"),
    ],
)
def test_a_bomb_is_refused_naming_its_member_in_bounded_memory(bombs, bomb, member, why):
    path = bombs[bomb]
    assert path.stat().st_size < 2_000_000  # 1-2 MB or less on disk
    with zipfile.ZipFile(path) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    assert declared > 24e6  # ... that decompresses to 24 MB or about 1 GB
    error, peak = _peak_while_loading(path)
    assert error is not None, f"{bomb} was loaded"
    assert member in str(error) and re.search(why, str(error))
    assert peak < 20e6


@slow
def test_the_honest_file_the_bombs_come_from_loads(bombs):
    error, _ = _peak_while_loading(bombs["honest"])
    assert error is None


@slow
def test_a_small_unknown_member_is_refused_too(tmp_path, bombs):
    path = tmp_path / "extra.npz"
    path.write_bytes(bombs["honest"].read_bytes())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ModelFileError, match="unknown member 'notes.txt'"):
        barenet.load(path)


@slow
def test_a_missing_parameter_is_refused_by_name(tmp_path, bombs):
    path = tmp_path / "missing.npz"
    with zipfile.ZipFile(bombs["honest"]) as old, zipfile.ZipFile(path, "w") as new:
        for name in old.namelist():
            if name != "param/2.b.npy":
                new.writestr(name, old.read(name))
    with pytest.raises(ModelFileError, match="'2.b' is missing"):
        barenet.load(path)


@slow
def test_a_compressed_copy_of_a_model_file_still_loads(tmp_path, bombs):
    path = tmp_path / "deflated.npz"
    with zipfile.ZipFile(bombs["honest"]) as old:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
            for name in old.namelist():
                new.writestr(name, old.read(name))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        barenet.load(path).predict(x), barenet.load(bombs["honest"]).predict(x)
    )


@slow
def test_a_description_over_its_cap_is_refused_before_it_is_read(tmp_path, bombs):
    path = tmp_path / "long.npz"
    with zipfile.ZipFile(bombs["honest"]) as old, zipfile.ZipFile(path, "w") as new:
        for name in old.namelist():
            if name != "__meta__.npy":
                new.writestr(name, old.read(name))
        meta = json.loads(str(np.load(bombs["honest"])["__meta__"]))
        meta["padding"] = " " * (5 * 2**20)  # 20 MB as NumPy stores text, deflated
        info = zipfile.ZipInfo("__meta__.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with new.open(info, "w", force_zip64=True) as member:
            np.lib.format.write_array(member, np.array(json.dumps(meta)))
    error, peak = _peak_while_loading(path)
    assert "'__meta__.npy' (the description)" in str(error)
    assert peak < 20e6


def _retrieval_model(n_rows, top=0):
    rows = np.random.default_rng(0).standard_normal((n_rows, 4)).astype(np.float32)
    layer = Retrieval(4, 1, n_rows, rows=rows, targets=rows[:, :1], heads=2, dim=4, top=top)
    model = MLP([layer, Linear(layer.out_dim, 1, seed=1)], MSE(), 0.1)
    model.eval()
    return model


@slow
@pytest.mark.parametrize("top", [0, 8])
def test_retrieval_predicts_many_held_rows_in_bounded_chunks(monkeypatch, top):
    model = _retrieval_model(200_000, top)
    x = np.random.default_rng(1).standard_normal((300, 4)).astype(np.float32)
    tracemalloc.start()
    try:
        chunked = model.predict(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100e6  # all at once: 300 x 200,000 scores, 240 MB an array
    monkeypatch.setattr(retrieval, "SCORE_BUDGET", 10**9)
    whole = model.predict(x)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-5)


def test_retrieval_backward_after_a_chunked_evaluation_says_what_to_do(monkeypatch):
    monkeypatch.setattr(retrieval, "SCORE_BUDGET", 10)
    model = _retrieval_model(50)
    layer = model.layers[0]
    out = layer.forward(np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(barenet.errors.BarenetValueError, match="training mode"):
        layer.backward(np.ones_like(out))


@slow
def test_an_honest_description_over_16_mib_still_loads(tmp_path):
    model = MLP([Linear(3, 1, seed=0)], MSE(), 0.1)
    path = barenet.save(model, tmp_path / "long.npz", extra={"notes": "x" * (5 * 2**20)})
    assert path.stat().st_size > 20 * 2**20  # stored as NumPy stores text, uncompressed
    assert barenet.load(path).layers[0].w.shape == (3, 1)


# claim bomb -> (the member named, what the file stores, what the record says)
CLAIMED = {
    "claim_linear": ("param/0.w.npy", "(4, 8)", "(90, 1000000)"),
    "claim_batchnorm": ("param/0.gamma.npy", "(1, 4)", "(1, 1000000)"),
    "claim_member_scale": ("param/1.r.npy", "(2, 4)", "(100, 900000)"),
    "claim_ensemble_linear": ("param/2.w.npy", "(2, 4, 3)", "(1000, 300, 300)"),
    "claim_periodic": ("param/0.c.npy", "(4, 2)", "(100, 900000)"),
    "claim_feature_linear": ("param/1.w.npy", "(4, 4, 2)", "(1000, 300, 300)"),
    "claim_passthrough": ("param/0.w.npy", "(4, 2, 2)", "(1000, 1000, 80)"),
    "claim_retrieval_rows": ("param/0.rows.npy", "(50, 4)", "(1000000, 4)"),
}


def _refused_before_building(monkeypatch, path):
    """The ``ModelFileError`` of loading ``path``, with ``build`` made to fail the test
    and the memory traced: at most 20 MB (the claims are of 300 MB to 1.5 GB)."""

    def build(record):
        raise AssertionError("the record was built before its sizes were checked")

    monkeypatch.setattr(persistence, "build", build)
    error, peak = _peak_while_loading(path)
    assert error is not None, f"{path.name} was loaded"
    assert peak < 20e6
    return str(error)


@pytest.mark.parametrize("bomb", sorted(CLAIMED))
def test_a_record_claiming_a_huge_layer_is_refused_before_it_is_built(
    monkeypatch, bombs_module, claims, bomb
):
    """Each layer kind says the exact shapes its configuration makes: a layer claimed
    huge (about 90,000,000 numbers) over the small arrays the file stores, and 1.5
    million stored zero weights (what barenet's earlier, loose check let through), is
    refused naming the member, both shapes and the layer's kind."""
    _, index, _ = bombs_module.CLAIMS[bomb]
    member, stored, claimed = CLAIMED[bomb]
    assert claims[bomb].stat().st_size < 20_000
    message = _refused_before_building(monkeypatch, claims[bomb])
    assert f"member '{member}' holds float32 of shape {stored}" in message
    assert f"the record says float32 of shape {claimed} (layer {index}, " in message


def test_piecewise_bins_padded_to_a_huge_table_are_refused_before_they_are_built(
    monkeypatch, claims
):
    """A piecewise encoding stores nothing, but pads every feature to the most bins:
    one feature of 1,000 bins and 19,999 of one would make four tables of 20,000,000."""
    message = _refused_before_building(monkeypatch, claims["claim_piecewise_bins"])
    assert "layer 0 (piecewise_linear)" in message
    assert "tables of 80,000,000 numbers" in message


@pytest.mark.parametrize(
    "kind",
    ["linear", "batchnorm", "ensemble", "periodic", "piecewise", "passthrough", "retrieval"],
)
def test_the_honest_file_of_each_kind_loads_with_the_weights_it_stored(claims, kind):
    """The exact shapes are exactly what barenet saves: every kind's honest file (the
    one its claim bomb was made from) loads, with the weights it stored."""
    model = barenet.load(claims[f"honest_{kind}"])
    with np.load(claims[f"honest_{kind}"]) as data:
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(value, data[f"param/{key}"])


def test_a_layer_class_that_cannot_say_its_shapes_is_not_read(monkeypatch, tmp_path):
    """A registered layer with parameters but no ``stored_shapes`` cannot be checked
    before it is built: its file is refused, saying what the class needs."""
    from barenet.registry import LAYERS

    monkeypatch.setattr(LAYERS, "_objects", dict(LAYERS._objects))
    monkeypatch.setattr(LAYERS, "_names", dict(LAYERS._names))

    @LAYERS.register("scaled_for_test")
    class Scaled(barenet.layers.Layer):
        param_names = ("s",)

        def __init__(self, width=3):
            super().__init__()
            self.s, self.ds = np.ones((1, width), np.float32), np.zeros((1, width), np.float32)
            self.in_dim = self.out_dim = width

        def config(self):
            return {"width": self.in_dim}

    path = barenet.save(MLP([Scaled(), Linear(3, 1, seed=0)], MSE(), 0.1), tmp_path / "s.npz")
    with pytest.raises(ModelFileError, match="give it a stored_shapes"):
        barenet.load(path)


CONFIGURATIONS = [
    {"recipe": "tabular"},
    {"recipe": "small"},
    {"recipe": "tabular-best"},
    {"recipe": "tabular-best", "retrieval_encoder": "linear", "embedding": "periodic"},
    {"recipe": "tabular", "embedding": "piecewise_tree", "scaling": "robust"},
    {"recipe": "small", "scaling": "quantile", "embedding": "piecewise", "dtype": "float64"},
    {"hidden": (8, 8), "batchnorm": True, "dropout": 0.1},
]


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("options", CONFIGURATIONS, ids=str)
def test_every_recipe_s_layers_say_exactly_the_shapes_they_build(options, task, binary):
    """For every recipe (and the other layer options), the shapes each layer computes
    from its record entry are the shapes and dtypes of the arrays it builds, so every
    real model's file is read."""
    from barenet.io.file_checks import expected_arrays
    from barenet.io.record import describe
    from barenet.training.config import TrainConfig, build_model

    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 6))
    if binary:  # a 0/1 column, passed through by piecewise_passthrough
        x[:, 5] = rng.integers(0, 2, 120)
    y = (x[:, :1] > 0).astype(float) if task == "classification" else x[:, :1]
    model = build_model(
        TrainConfig(**options), 6, 2 if task == "classification" else 1, task, x, y
    )
    expected = expected_arrays(describe(model, task=task), "model")
    built = {key: (value.shape, value.dtype) for key, value in model.state_dict().items()}
    assert {key: need[:2] for key, need in expected.items()} == built


def test_a_stored_array_no_layer_of_the_record_holds_is_refused(tmp_path, claims):
    """Exactly the arrays the record's layers compute: one more (a parameter name the
    layer does not have, or a layer the record does not list) is refused by name."""
    for name in ("param/0.extra.npy", "param/9.w.npy", "optim/0.v/m.npy"):
        path = tmp_path / "more.npz"
        path.write_bytes(claims["honest_linear"].read_bytes())
        with zipfile.ZipFile(path, "a") as archive, archive.open(name, "w") as member:
            np.lib.format.write_array(member, np.zeros((4, 8), np.float32))
        with pytest.raises(ModelFileError, match=f"unknown member '{name}'"):
            barenet.load(path)
