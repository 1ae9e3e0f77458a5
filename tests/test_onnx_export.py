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
