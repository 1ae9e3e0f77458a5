"""One registry per kind of building block."""

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


def test_adding_an_activation_is_one_decorated_class(tmp_path):
    from barenet.layers import Layer
    from barenet.registry import Registry

    layers = Registry("layer")
    activations = Registry("activation", parent=layers)

    @activations.register("swish")
    class Swish(Layer):
        onnx_op = None

    assert layers.lookup("swish") is Swish and activations.name_of(Swish()) == "swish"
    with pytest.raises(ValueError, match="registered twice"):
        activations.register("swish")(Swish)
    with pytest.raises(TypeError, match="not one of barenet's activations"):
        activations.name_of(object())


def test_every_activation_exports_to_onnx_by_its_own_declaration():
    for name in ACTIVATIONS.choices():
        layer = ACTIVATIONS.lookup(name)()
        assert name == "identity" or isinstance(layer.onnx_op, str), name
    assert ACTIVATIONS.lookup("leaky_relu")(0.2).onnx_attributes() == {"alpha": 0.2}
    assert ACTIVATIONS.lookup("gelu")().onnx_attributes() == {"approximate": "tanh"}
