"""Tampered model files (barenet.io.file_checks): the record is checked against itself
and the stored arrays before anything is built, so every file is loaded or refused
with one ``ModelFileError``, a refused one with at most 2 MB allocated (the time it
takes is measured by ``benchmarks/model_bombs.py``, not asserted here)."""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pandas as pd
import pytest

import barenet
from barenet import MLP, MSE, CrossEntropy, Linear, Relu
from barenet.errors import BarenetValueError, ModelFileError
from barenet.io.file_checks import MAX_PARAMETERS, MAX_WIDTH
from barenet.tables.preprocessing import Preprocessing


def _classifier_file(tmp_path):
    """A small saved classifier with table columns (a category and a number)."""
    return barenet.save(_classifier(), tmp_path / "c.npz")


def _classifier():
    from barenet.cli.data_args import split_table

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.standard_normal(60), "c": rng.choice(["p", "q", "r"], 60)})
    y = pd.Series(np.where(frame["a"] > 0, "yes", "no"))
    split = split_table(frame, y, "y")
    model = MLP(
        [Linear(split.x_train.shape[1], 4, seed=0), Relu(), Linear(4, 2, seed=1)],
        CrossEntropy(),
        0.1,
    )
    model.preprocessing = split.preprocessing
    return model


def _regressor_file(tmp_path):
    return barenet.save(_regressor(), tmp_path / "r.npz")


def _regressor():
    model = MLP([Linear(3, 4, seed=0), Relu(), Linear(4, 1, seed=1)], MSE(), 0.1)
    from sklearn.preprocessing import StandardScaler

    x = np.random.default_rng(0).standard_normal((20, 3))
    model.preprocessing = Preprocessing(
        ["a", "b", "c"], "y", StandardScaler().fit(x), StandardScaler().fit(x[:, :1])
    )
    return model


def _tamper(path, change_meta=None, change_arrays=None):
    """Rewrite ``path`` with its description and arrays changed in place."""
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    if change_meta:
        change_meta(meta)
    if change_arrays:
        change_arrays(arrays)
    arrays["__meta__"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _refused_quickly(path, match):
    """Refused with at most 2 MB allocated: the smallest claim tested (2,000 x 2,000
    float32 weights) would allocate 16 MB if it were built."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=match):
            barenet.load(path)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 2e6


@pytest.mark.parametrize("width", [10**8, 10**12])
def test_a_layer_claiming_a_huge_width_is_refused_before_allocation(tmp_path, width):
    def claim(meta):
        meta["record"]["layers"][0]["config"]["out_dim"] = width

    _refused_quickly(_tamper(_regressor_file(tmp_path), claim), "at most")


def test_many_layers_within_the_width_bound_are_refused_by_the_parameter_bound(tmp_path):
    def claim(meta):
        layer = {"type": "linear", "config": {"in_dim": MAX_WIDTH, "out_dim": MAX_WIDTH}}
        meta["record"]["layers"] = [layer] * 3

    _refused_quickly(_tamper(_regressor_file(tmp_path), claim), f"{MAX_PARAMETERS:,}")


def test_a_record_claiming_more_weights_than_the_file_stores_is_refused(tmp_path):
    """Within every absolute bound (2,000 x 2,000 weights), but a 6 kB file cannot back
    them: refused before the layer is built, not after allocating it."""

    def claim(meta):
        meta["record"]["layers"][0]["config"].update(in_dim=2000, out_dim=2000)
        meta["record"]["layers"][2]["config"].update(in_dim=2000)

    _refused_quickly(
        _tamper(_regressor_file(tmp_path), claim),
        r"'param/0.w.npy' holds float32 of shape \(3, 4\); the record says float32 of shape "
        r"\(2000, 2000\)",
    )


def test_the_tabular_recipe_model_is_within_the_bounds(tmp_path):
    from barenet.training.config import TrainConfig, build_model

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((300, 8)), rng.standard_normal((300, 1))
    model = build_model(TrainConfig(recipe="tabular"), 8, 1, "regression", x, y)
    loaded = barenet.load(barenet.save(model, tmp_path / "tabular.npz"))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_a_retrieval_model_counts_its_rows_and_a_tampered_one_is_refused(tmp_path):
    """Retrieval says the shapes it holds itself (rows x features, encoders): its file
    loads, and a record claiming a million rows that the file does not store is refused
    before allocation."""
    from barenet.training.config import TrainConfig, build_model

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((300, 8)), rng.standard_normal((300, 1))
    model = build_model(TrainConfig(recipe="tabular-best"), 8, 1, "regression", x, y)
    path = barenet.save(model, tmp_path / "best.npz")
    np.testing.assert_array_equal(barenet.load(path).predict(x), model.predict(x))

    def claim(meta):
        for layer in meta["record"]["layers"]:
            if layer["type"] == "retrieval":
                layer["config"]["n_rows"] = MAX_WIDTH

    _refused_quickly(_tamper(path, claim), r"the record says float32 of shape \(1000000, 8\)")


def test_an_array_header_claiming_more_than_the_file_holds_is_refused(tmp_path):
    path = _regressor_file(tmp_path)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("param/9.w.npy", buffer.getvalue() + b"\0" * 64)
    _refused_quickly(path, "claims shape")


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda m: m["preprocessing"]["classes"].append("maybe"), "3 classes for 2 outputs"),
        (lambda m: m["preprocessing"].update(classes=["no"]), "1 classes for 2 outputs"),
        (lambda m: m["preprocessing"].update(classes=["no", "no"]), "repeat a label"),
        (lambda m: m["preprocessing"]["scaler_x"]["mean"].append(0.0), "feature scaler"),
        (lambda m: m["preprocessing"]["columns"][1]["levels"].append("s"), "make 5 features"),
        (lambda m: m["preprocessing"]["scaler_x"]["scale"].__setitem__(0, 0.0), "scale <= 0"),
    ],
    ids=["more-classes", "fewer-classes", "repeated-class", "scaler", "level", "zero-scale"],
)
def test_preprocessing_that_does_not_fit_the_network_is_refused(tmp_path, change, match):
    path = _tamper(_classifier_file(tmp_path), change)
    with pytest.raises(ModelFileError, match=match):
        barenet.load(path)


def test_a_target_scaler_of_the_wrong_length_is_refused(tmp_path):
    def change(meta):
        meta["preprocessing"]["scaler_y"]["mean"] = [0.0, 1.0]

    with pytest.raises(ModelFileError, match="target scaler"):
        barenet.load(_tamper(_regressor_file(tmp_path), change))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights_are_refused_at_load_and_by_onnx_export(tmp_path, value):
    def poison(arrays):
        arrays["param/0.w"] = arrays["param/0.w"].copy()
        arrays["param/0.w"][1, 2] = value

    path = _tamper(_regressor_file(tmp_path), change_arrays=poison)
    with pytest.raises(ModelFileError, match="'0.w' holds NaN or infinite"):
        barenet.load(path)
    model = MLP([Linear(3, 2, seed=0)], MSE(), 0.1)
    model.layers[0].w[0, 0] = value
    pytest.importorskip("onnx")
    from barenet.io.onnx.export import to_onnx

    with pytest.raises(BarenetValueError, match="'0.w' holds NaN"):
        to_onnx(model)


def test_finite_weights_whose_sum_overflows_still_load(tmp_path):
    """The finiteness check sums first: finite float64 weights adding up to infinity are
    still checked one by one, and accepted."""
    model = MLP([Linear(3, 2, seed=0, dtype=np.float64)], MSE(), 0.1)
    model.layers[0].w[...] = 1e308
    loaded = barenet.load(barenet.save(model, tmp_path / "big.npz"))
    np.testing.assert_array_equal(loaded.layers[0].w, model.layers[0].w)


def test_a_parameter_stored_in_fortran_order_loads_with_its_values(tmp_path):
    """Parameters are read straight into the built layers' arrays; one stored in Fortran
    order (barenet writes C order) is read on its own and then copied."""
    model = _regressor()
    path = barenet.save(model, tmp_path / "r.npz")

    def fortran(arrays):
        arrays["param/0.w"] = np.asfortranarray(arrays["param/0.w"])

    loaded = barenet.load(_tamper(path, change_arrays=fortran))
    np.testing.assert_array_equal(loaded.layers[0].w, model.layers[0].w)
    assert loaded.layers[0].w.flags.c_contiguous


def test_a_parameter_of_another_dtype_than_the_record_is_refused(tmp_path):
    def widen(arrays):
        arrays["param/0.w"] = arrays["param/0.w"].astype(np.float64)

    with pytest.raises(ModelFileError, match="the record says float32"):
        barenet.load(_tamper(_regressor_file(tmp_path), change_arrays=widen))


def test_untampered_files_still_load_and_predict_as_the_saved_model(tmp_path):
    rng = np.random.default_rng(5)
    regressor, classifier = _regressor(), _classifier()
    regressor_rows = pd.DataFrame(rng.standard_normal((30, 3)), columns=["a", "b", "c"])
    classifier_rows = pd.DataFrame(
        {"a": rng.standard_normal(30), "c": rng.choice(["p", "q", "r", "unseen"], 30)}
    )
    for model, rows, name in (
        (regressor, regressor_rows, "r.npz"),
        (classifier, classifier_rows, "c.npz"),
    ):
        loaded = barenet.load(barenet.save(model, tmp_path / name))
        saved = model.preprocessing.predict(model, rows)
        np.testing.assert_array_equal(loaded.preprocessing.predict(loaded, rows), saved)
        encoded = model.preprocessing.transform(rows)  # the network's own outputs too
        np.testing.assert_array_equal(loaded.predict(encoded), model.predict(encoded))
        assert len(set(np.ravel(saved).tolist())) > 1  # the answers depend on the rows


@pytest.mark.parametrize("epoch", [-3, 2.5, "5", True, None])
def test_an_epoch_that_is_not_a_whole_number_is_refused_by_name(tmp_path, epoch):
    path = _tamper(_regressor_file(tmp_path), lambda meta: meta.update(epoch=epoch))
    with pytest.raises(ModelFileError, match=r"r\.npz: its epoch must be a whole number >= 0"):
        barenet.load(path)


@pytest.mark.parametrize("size", [5.0, "5", -5, True])
def test_a_size_that_is_not_a_whole_number_is_refused_by_name(tmp_path, size):
    """Not "gives w the shape (5.0, 4)": the configuration entry, its layer, the value."""

    def claim(meta):
        meta["record"]["layers"][0]["config"]["in_dim"] = size

    path = _tamper(_regressor_file(tmp_path), claim)
    with pytest.raises(ModelFileError) as caught:
        barenet.load(path)
    message = str(caught.value)
    assert f"layer 0 (linear): the record's in_dim is {size!r}, not a whole number" in message
    assert "the file was altered" in message


def test_a_parameterless_layers_size_that_is_not_a_whole_number_names_the_layer(tmp_path):
    """A layer with no stored shapes (an ensemble's mean) is refused by its constructor:
    the message names the layer too."""
    from barenet.tabular.ensemble import EnsembleLinear, EnsembleMean, MemberScale

    model = MLP(
        [MemberScale(2, 3), EnsembleLinear(3, 1, k=2, seed=0), EnsembleMean(2, 1)], MSE(), 0.1
    )
    path = barenet.save(model, tmp_path / "e.npz")

    def claim(meta):
        meta["record"]["layers"][2]["config"]["k"] = 2.0

    with pytest.raises(ModelFileError, match=r"layer 2 \(ensemble_mean\): EnsembleMean k must"):
        barenet.load(_tamper(path, claim))


def _free_text_file(tmp_path):
    """A small saved classifier with a free-text column (``job``) and a number."""
    from text_tables import titled

    from barenet.cli.data_args import split_table

    frame = titled(300)
    y = pd.Series(np.where(frame["y"] > 0.5, "yes", "no"))
    split = split_table(frame[["job", "x"]], y, "y")
    model = MLP([Linear(split.x_train.shape[1], 2, seed=0)], CrossEntropy(), 0.1)
    model.preprocessing = split.preprocessing
    assert model.preprocessing.columns[0]["kind"] == "text"
    return barenet.save(model, tmp_path / "t.npz"), frame, model


def test_a_free_text_spec_is_stored_as_json_and_loads(tmp_path):
    path, frame, model = _free_text_file(tmp_path)
    with np.load(path) as data:
        assert not any(data[key].dtype == object for key in data.files)  # no pickle
        meta = json.loads(str(data["__meta__"]))
    spec = meta["preprocessing"]["columns"][0]
    assert spec["kind"] == "text" and "manager" in spec["words"]
    loaded = barenet.load(path)
    assert loaded.preprocessing.columns == model.preprocessing.columns
    np.testing.assert_array_equal(
        loaded.preprocessing.predict(loaded, frame),
        model.preprocessing.predict(model, frame),
    )


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda s: s["words"].append("zzz"), "make .* features"),
        (lambda s: s["words"].__setitem__(0, "Manager"), "lowercase single words"),
        (lambda s: s["words"].__setitem__(0, "sales manager"), "lowercase single words"),
        (lambda s: s.pop("words"), "not a list of text"),
        (lambda s: s.update(missing="yes"), "not true or false"),
    ],
    ids=["more-words", "uppercase", "two-words", "no-words", "missing-flag"],
)
def test_a_tampered_free_text_spec_is_refused(tmp_path, change, match):
    path, _, _ = _free_text_file(tmp_path)
    path = _tamper(path, lambda m: change(m["preprocessing"]["columns"][0]))
    with pytest.raises(ModelFileError, match=match):
        barenet.load(path)
