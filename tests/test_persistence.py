import json
import zipfile

import numpy as np
import pytest

import barenet
from barenet import (
    MLP,
    MSE,
    BatchNorm1d,
    CrossEntropy,
    Dropout,
    Layer,
    Linear,
    Relu,
    Tanh,
)
from barenet.persistence import ModelFileError, Preprocessing


def trained_model(seed=0):
    rng = np.random.default_rng(seed)
    layers = [
        Linear(4, 16, seed=rng),
        BatchNorm1d(16),
        Relu(),
        Dropout(0.2, seed=1),
        Linear(16, 8, seed=rng),
        Tanh(),
        Linear(8, 2, seed=rng),
    ]
    model = MLP(layers, MSE(), 0.05, seed=seed)
    x = rng.standard_normal((64, 4))
    model.train(x, x[:, :2] ** 2, x, x[:, :2] ** 2, epochs=3, batch_size=16)
    return model, x


def test_round_trip_gives_bit_identical_predictions(tmp_path):
    model, x = trained_model()
    path = model.save(tmp_path / "model.npz")
    loaded = barenet.load(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.history == model.history and loaded.epoch == 3
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    np.testing.assert_array_equal(loaded.layers[1].running_var, model.layers[1].running_var)


def test_round_trip_keeps_preprocessing_and_classifier_loss(tmp_path):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    raw = rng.normal(10, 3, (30, 3))
    prep = Preprocessing(["a", "b", "c"], "label", StandardScaler().fit(raw), None, [3, 7])
    model = MLP([Linear(3, 2, dtype=np.float64)], CrossEntropy(), 0.1)
    model.save(tmp_path / "clf.npz", preprocessing=prep)
    loaded = barenet.load(tmp_path / "clf.npz")
    assert isinstance(loaded.loss_fun, CrossEntropy) and loaded.dtype == np.float64
    assert loaded.preprocessing.classes == [3, 7]
    assert loaded.preprocessing.feature_names == ["a", "b", "c"]
    np.testing.assert_array_equal(
        loaded.preprocessing.predict(loaded, raw), prep.predict(model, raw)
    )


def test_file_has_no_pickles_and_records_its_configuration(tmp_path):
    model, _ = trained_model()
    path = model.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        assert all(data[k].dtype != object for k in data.files)
    assert meta["barenet_version"] == barenet.__version__
    assert meta["layers"][0] == {
        "type": "Linear",
        "config": {"in_dim": 4, "out_dim": 16, "init": "glorot_uniform"},
    }
    assert meta["loss"]["type"] == "MSE"


def test_bad_files_give_one_clear_error(tmp_path):
    model, _ = trained_model()
    good = model.save(tmp_path / "good.npz").read_bytes()
    cases = {
        "missing.npz": None,
        "truncated.npz": good[: len(good) // 2],
        "empty.npz": b"",
        "garbage.npz": b"this is not a zip file at all" * 10,
        "corrupt.npz": good[:200] + bytes(b ^ 0x5A for b in good[200:400]) + good[400:],
    }
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelFileError, match=name):
            barenet.load(tmp_path / name)
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a barenet model"):
        barenet.load(tmp_path / "foreign.npz")
    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as z:
        z.writestr(
            "x.npy",
            b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, "
            b"'shape': (1,), }" + b" " * 50 + b"\n" + b"\x80\x04K\x01.",
        )
    with pytest.raises(ModelFileError):
        barenet.load(tmp_path / "pickled.npz")


def test_incompatible_version_is_refused(tmp_path):
    model, _ = trained_model()
    path = model.save(tmp_path / "m.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["__meta__"]))
    meta["format_version"] = 99
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(ModelFileError, match="format version 99 is not supported"):
        barenet.load(tmp_path / "future.npz")
    meta["format_version"] = 1
    meta["layers"][0]["type"] = "Conv2d"
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "odd.npz", **arrays)
    with pytest.raises(ModelFileError, match="does not rebuild"):
        barenet.load(tmp_path / "odd.npz")


def test_user_layers_cannot_be_saved_silently(tmp_path):
    class Mine(Layer):
        def forward(self, inp):
            return inp

        def backward(self, up_grad):
            return up_grad

    model = MLP([Linear(2, 2), Mine()], MSE(), 0.1)
    with pytest.raises(TypeError, match="Mine"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_crash_while_writing_leaves_no_file(tmp_path, monkeypatch):
    model, _ = trained_model()
    path = model.save(tmp_path / "m.npz")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    with pytest.raises(KeyboardInterrupt):
        model.save(tmp_path / "new.npz")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
