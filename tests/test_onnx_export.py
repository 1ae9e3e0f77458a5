import numpy as np
import pytest

import barenet
from barenet.cli import main

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def run_onnx(path, x):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})


@pytest.mark.parametrize(
    "extra",
    [[], ["--activation", "gelu", "--batchnorm", "--dropout", "0.1"], ["--activation", "tanh"]],
)
def test_regression_export_matches_barenet(tmp_path, capsys, monkeypatch, extra):
    from sklearn.datasets import load_diabetes

    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "--dataset",
                "diabetes",
                "--epochs",
                "3",
                "--quiet",
                "--plot",
                "none",
                "--save",
                "m.npz",
                *extra,
            ]
        )
        == 0
    )
    assert main(["export-onnx", "--model", "m.npz", "--out", "m.onnx"]) == 0
    model = barenet.load("m.npz")
    x = load_diabetes().data
    (onnx_prediction,) = run_onnx(tmp_path / "m.onnx", x)
    expected = model.preprocessing.predict(model, x)
    np.testing.assert_allclose(onnx_prediction[:, 0], expected, rtol=1e-5, atol=1e-5 * 150)
    assert "written" in capsys.readouterr().out


def test_classifier_export_gives_probabilities_and_labels(tmp_path, monkeypatch, capsys):
    from sklearn.datasets import load_digits

    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "--dataset",
                "digits",
                "--epochs",
                "2",
                "--quiet",
                "--plot",
                "none",
                "--save",
                "d.npz",
            ]
        )
        == 0
    )
    assert main(["export-onnx", "--model", "d.npz", "--out", "d.onnx"]) == 0
    model = barenet.load("d.npz")
    x = load_digits().data[:200]
    probabilities, labels = run_onnx(tmp_path / "d.onnx", x)
    np.testing.assert_array_equal(labels, model.preprocessing.predict(model, x))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_export_errors(tmp_path, capsys):
    assert main(["export-onnx", "--model", str(tmp_path / "none.npz"), "--out", "x.onnx"]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_classifier_metadata_and_a_model_without_preprocessing(tmp_path):
    import json

    import onnx

    from barenet import MLP, CrossEntropy, Layer, Linear, Sigmoid
    from barenet.onnx_export import export_onnx
    from barenet.preprocessing import Preprocessing

    model = MLP([Linear(3, 5, seed=0), Sigmoid(), Linear(5, 2, seed=1)], CrossEntropy())
    model.layers[2].b[...] = [[0.5, -0.5]]
    x = np.random.default_rng(0).standard_normal((20, 3))
    (raw,) = run_onnx(export_onnx(model, tmp_path / "raw.onnx"), x)  # the network's outputs
    np.testing.assert_allclose(raw, model.predict(x), rtol=1e-5, atol=1e-6)

    model.preprocessing = Preprocessing(["a", "b", "c"], "kind", None, None, ["no", "yes"])
    export_onnx(model, tmp_path / "clf.onnx")
    probabilities, labels = run_onnx(tmp_path / "clf.onnx", x)
    np.testing.assert_array_equal(labels, np.argmax(model.predict(x), axis=1))
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "clf.onnx")).metadata_props}
    metadata = json.loads(props["barenet"])
    assert metadata == {
        "feature_names": ["a", "b", "c"],
        "target_name": "kind",
        "classes": ["no", "yes"],
    }

    class Mine(Layer):
        def forward(self, inp):
            return inp

        def backward(self, up_grad):
            return up_grad

    with pytest.raises(TypeError, match="Mine"):
        export_onnx(MLP([Linear(3, 1), Mine()], CrossEntropy()), tmp_path / "mine.onnx")
    assert not (tmp_path / "mine.onnx").exists()


def test_a_missing_onnx_package_gives_an_install_command_that_works(monkeypatch):
    import builtins

    import barenet
    from barenet.onnx_export import to_onnx

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    model = barenet.MLP([barenet.Linear(2, 1)], barenet.MSE())
    with pytest.raises(ValueError, match=r"pip install onnx onnxruntime"):
        to_onnx(model)
