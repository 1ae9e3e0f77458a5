import json
import zipfile

import numpy as np
import pytest

import barenet
from barenet import (
    MLP,
    MSE,
    Adam,
    BatchNorm1d,
    CrossEntropy,
    Dropout,
    Layer,
    Linear,
    Relu,
    Tanh,
)
from barenet.errors import BarenetTypeError, ModelFileError
from barenet.io.persistence import FORMAT_VERSION, read, rebuild
from barenet.tables.preprocessing import Preprocessing
from barenet.training.config import TrainConfig, build_model


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
    path = barenet.save(model, tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    loaded = barenet.load(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.history == model.history and loaded.epoch == 3
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    np.testing.assert_array_equal(loaded.layers[1].running_var, model.layers[1].running_var)
    assert loaded.layers[3].p == 0.2 and loaded.lr == 0.05


def test_history_without_validation_round_trips_as_nan(tmp_path):
    model, x = trained_model()
    model.train(x, x[:, :2] ** 2, epochs=2, batch_size=16)  # no validation: nan entries
    loaded = barenet.load(barenet.save(model, tmp_path / "m.npz"))
    assert len(loaded.history["train_loss"]) == len(loaded.history["val_loss"]) == 5
    assert np.isnan(loaded.history["val_loss"][3:]).all()
    np.testing.assert_array_equal(loaded.history["val_loss"][:3], model.history["val_loss"][:3])
    meta, _ = read(tmp_path / "m.npz")
    assert meta["history"]["val_loss"][3:] == [None, None]  # strict JSON: no NaN


def test_round_trip_keeps_preprocessing_and_classifier_loss(tmp_path):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    raw = rng.normal(10, 3, (30, 3))
    prep = Preprocessing(["a", "b", "c"], "label", StandardScaler().fit(raw), None, [3, 7])
    model = MLP([Linear(3, 2, dtype=np.float64, seed=0)], CrossEntropy(), 0.1)
    barenet.save(model, tmp_path / "clf.npz", preprocessing=prep)
    loaded = barenet.load(tmp_path / "clf.npz")
    assert isinstance(loaded.loss_fun, CrossEntropy) and loaded.dtype == np.float64
    assert loaded.record["task"] == "classification"
    assert loaded.preprocessing.classes == [3, 7] and loaded.preprocessing.task == "classification"
    assert loaded.preprocessing.feature_names == ["a", "b", "c"]
    answers = loaded.preprocessing.predict(loaded, raw)
    np.testing.assert_array_equal(answers, prep.predict(model, raw))
    assert set(answers) <= {3, 7}  # labels, not output indices


def test_preprocessing_attached_to_the_model_is_saved(tmp_path):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    raw_x, raw_y = rng.normal(5, 2, (40, 2)), rng.normal(100, 10, (40, 1))
    prep = Preprocessing(["u", "v"], "w", StandardScaler().fit(raw_x), StandardScaler().fit(raw_y))
    model = MLP([Linear(2, 1, seed=0)], MSE(), 0.1)
    model.preprocessing = prep
    loaded = barenet.load(barenet.save(model, tmp_path / "m.npz"))
    assert loaded.preprocessing.target_name == "w" and loaded.preprocessing.task == "regression"
    expected = prep.scaler_y.inverse_transform(model.predict(prep.scaler_x.transform(raw_x)))
    np.testing.assert_allclose(loaded.preprocessing.predict(loaded, raw_x), expected[:, 0])


def test_file_has_no_pickles_and_records_the_model(tmp_path):
    model, _ = trained_model()
    path = barenet.save(model, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        assert all(data[k].dtype != object for k in data.files)
    assert meta["barenet_version"] == barenet.__version__
    assert meta["format_version"] == FORMAT_VERSION == 2
    record = meta["record"]
    assert record["layers"][0] == {
        "type": "linear",
        "config": {"in_dim": 4, "out_dim": 16, "init": "glorot_uniform", "dtype": "float32"},
    }
    assert [layer["type"] for layer in record["layers"]] == [
        "linear",
        "batchnorm",
        "relu",
        "dropout",
        "linear",
        "tanh",
        "linear",
    ]
    assert record["loss"] == {"type": "mse", "config": {}} and record["task"] == "regression"


def test_a_recipe_model_keeps_its_record_and_optimiser(tmp_path):
    config = TrainConfig(hidden=(5,), optimizer="rmsprop", momentum=0.5, lr=0.02, seed=4)
    model = build_model(config, 3, 2)
    x = np.random.default_rng(0).standard_normal((20, 3))
    model.train(x, x[:, :2], epochs=1, batch_size=5)
    meta, arrays = read(barenet.save(model, tmp_path / "m.npz"))
    assert meta["record"]["seed"] == 4 and meta["record"]["task"] == "regression"
    assert [e["type"] for e in meta["record"]["layers"]] == ["linear", "relu", "linear"]
    assert meta["record"]["optimizer"]["type"] == "rmsprop"
    rebuilt = rebuild(meta, arrays)
    assert type(rebuilt.optimizer) is type(model.optimizer)
    assert rebuilt.optimizer.momentum == 0.5 and rebuilt.optimizer.lr == 0.02
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))


def test_bad_files_give_one_clear_error(tmp_path):
    model, _ = trained_model()
    good = barenet.save(model, tmp_path / "good.npz").read_bytes()
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


def _rewrite(source, target, change):
    with np.load(source) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["__meta__"]))
    change(meta)
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(target, **arrays)
    return target


def test_incompatible_or_inconsistent_files_are_refused(tmp_path):
    model, _ = trained_model()
    path = barenet.save(model, tmp_path / "m.npz")

    def version(number):
        return lambda meta: meta.update(format_version=number)

    for number in (1, 99):  # version 1 (barenet 0.1) stored no model record
        with pytest.raises(ModelFileError, match=f"format version {number} is not supported"):
            barenet.load(_rewrite(path, tmp_path / f"v{number}.npz", version(number)))

    def conv(meta):
        meta["record"]["layers"][0]["type"] = "Conv2d"

    with pytest.raises(ModelFileError, match="does not rebuild.*Conv2d"):
        barenet.load(_rewrite(path, tmp_path / "odd.npz", conv))

    def no_record(meta):
        del meta["record"]

    with pytest.raises(ModelFileError, match="does not rebuild"):
        barenet.load(_rewrite(path, tmp_path / "norecord.npz", no_record))

    def wider(meta):
        meta["record"]["layers"][0]["config"]["out_dim"] = 17

    with pytest.raises(ModelFileError, match=r"'param/0.w.npy' .* the record says .*\(4, 17\)"):
        barenet.load(_rewrite(path, tmp_path / "wider.npz", wider))


def test_user_layers_cannot_be_saved_silently(tmp_path):
    class Mine(Layer):
        def forward(self, inp):
            return inp

        def backward(self, up_grad):
            return up_grad

    model = MLP([Linear(2, 2), Mine()], MSE(), 0.1)
    with pytest.raises(BarenetTypeError, match="Mine"):
        barenet.save(model, tmp_path / "m.npz")
    model = MLP([Linear(2, 2)], MSE(), 0.1, optimizer=Adam())
    model.optimizer = type("MyOptimizer", (), {})()
    with pytest.raises(BarenetTypeError, match="MyOptimizer"):
        barenet.save(model, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_crash_while_writing_leaves_no_file(tmp_path, monkeypatch):
    model, _ = trained_model()
    path = barenet.save(model, tmp_path / "m.npz")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        barenet.save(model, path)
    with pytest.raises(KeyboardInterrupt):
        barenet.save(model, tmp_path / "new.npz")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def tabular_model(x, y):
    """A model with every tabular layer: both scalings, the piecewise-linear and periodic
    embeddings, per-feature linear layers, an ensemble (both EnsembleLinear kinds) and
    SiLU and Mish."""
    from barenet import (
        Ensemble,
        EnsembleLinear,
        EnsembleMean,
        FeatureLinear,
        MemberScale,
        Mish,
        PeriodicEmbedding,
        PiecewiseLinearEncoding,
        QuantileScaling,
        RobustScaling,
        SiLU,
    )
    from barenet.tabular.embeddings import tree_bins

    rng = np.random.default_rng(0)
    robust = RobustScaling.fit(x)
    quantile = QuantileScaling.fit(robust(x.astype(np.float32)), n_quantiles=64)
    encoding = PiecewiseLinearEncoding(tree_bins(x, y[:, 0], n_bins=6, min_leaf=8))
    k = 3
    layers = [
        robust,
        quantile,
        PeriodicEmbedding(4, 3, sigma=0.5, seed=rng),
        FeatureLinear(4, 6, 2, seed=rng),
        Mish(),
        Linear(8, 4, seed=rng),  # back to one number per feature for the encoding
        encoding,
        FeatureLinear(4, encoding.n_bins, 2, seed=rng),
        SiLU(),
        Ensemble(k, 8),
        MemberScale(k, 8, seed=rng),
        EnsembleLinear(8, 6, k, seed=rng),
        Relu(),
        EnsembleLinear(6, 2, k, shared=False, seed=rng),
        EnsembleMean(k, 2),
    ]
    return MLP(layers, MSE(), 0.05, seed=0, optimizer=Adam(lr=0.01))


def test_a_model_with_every_tabular_layer_round_trips(tmp_path):
    from barenet.io.record import describe

    rng = np.random.default_rng(3)
    x = rng.exponential(size=(200, 4))
    y = np.column_stack([np.log1p(x[:, 0]) - x[:, 1], x[:, 2] * x[:, 3]])
    model = tabular_model(x, y)
    model.train(x, y, x, y, epochs=2, batch_size=32)
    loaded = barenet.load(barenet.save(model, tmp_path / "tabular.npz"))
    assert describe(loaded) == describe(model)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    prediction = model.predict(x)
    assert prediction.shape == (200, 2)
    np.testing.assert_array_equal(loaded.predict(x), prediction)
    members = model.forward(x.astype(np.float32))  # training mode: each member's output
    assert members.shape == (200, 3, 2)
    np.testing.assert_array_equal(loaded.forward(x.astype(np.float32)), members)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value, err_msg=key)
    assert loaded.history == model.history


def test_a_zip_version_python_cannot_read_is_a_model_file_error(tmp_path):
    """A damaged directory may declare a zip version Python's zipfile does not read
    (NotImplementedError, found by the model-file fuzzer): a ModelFileError, no traceback."""
    model, _ = trained_model()
    path = barenet.save(model, tmp_path / "model.npz")
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first central directory record
    data[entry + 6] = 64  # version needed to extract: 6.4
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="not a readable barenet model file.*version 6.4"):
        barenet.load(path)
