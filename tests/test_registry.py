"""One registry per kind of building block."""

import numpy as np
import pytest

from barenet.registry import ACTIVATIONS, INITIALIZERS, LAYERS, LOSSES, OPTIMIZERS, SCHEDULES


def test_registries_cover_every_building_block_once():
    assert set(ACTIVATIONS.choices()) <= set(LAYERS.choices())
    assert {"linear", "dropout", "batchnorm", "relu", "identity"} <= set(LAYERS.choices())
    for registry in (LAYERS, LOSSES, OPTIMIZERS, SCHEDULES, INITIALIZERS):
        for name in registry.choices():
            obj = registry.lookup(name)
            assert registry.name_of(obj) == name
    # the class name finds the same class (files of barenet 0.1 used class names)
    assert LAYERS.lookup("LeakyRelu") is LAYERS.lookup("leaky_relu")


def test_adding_an_activation_is_one_decorated_class(monkeypatch):
    """Registered on the real registries, a new activation is a layer, a valid
    ``activation=`` value and trains; removed again afterwards."""
    from barenet.layers import Layer
    from barenet.training.config import TrainConfig, build_model

    for registry in (ACTIVATIONS, LAYERS):
        monkeypatch.setattr(registry, "_objects", dict(registry._objects))
        monkeypatch.setattr(registry, "_names", dict(registry._names))

    @ACTIVATIONS.register("swish_for_test")
    class SwishForTest(Layer):
        onnx_op = None

        def forward(self, x):
            self.x = x
            return x / (1 + np.exp(-x))

        def backward(self, grad):
            s = 1 / (1 + np.exp(-self.x))
            return grad * (s + self.x * s * (1 - s))

    assert LAYERS.lookup("swish_for_test") is SwishForTest
    assert ACTIVATIONS.name_of(SwishForTest()) == "swish_for_test"
    model = build_model(TrainConfig(hidden=(4,), activation="swish_for_test"), 3, 1)
    assert isinstance(model.layers[1], SwishForTest)
    with pytest.raises(ValueError, match="registered twice"):
        ACTIVATIONS.register("swish_for_test")(SwishForTest)
    with pytest.raises(TypeError, match="not one of barenet's activations"):
        ACTIVATIONS.name_of(object())


def test_every_activation_exports_to_onnx_by_its_own_declaration():
    for name in ACTIVATIONS.choices():
        layer = ACTIVATIONS.lookup(name)()
        assert name == "identity" or isinstance(layer.onnx_op, str), name
    assert ACTIVATIONS.lookup("leaky_relu")(0.2).onnx_attributes() == {"alpha": 0.2}
    assert ACTIVATIONS.lookup("gelu")().onnx_attributes() == {"approximate": "tanh"}
