"""``OnnxGraph``: the small interface through which each layer writes its ONNX nodes.

A layer's ``onnx_nodes(graph, inp) -> str`` (``barenet.layers.Layer``) receives the
name of its input, a float32 tensor of shape (N, in_dim), adds the nodes that compute
its evaluation-mode output, and returns that output's name. It uses three methods:

- ``graph.node(op, inputs, **attributes) -> name``: one ONNX operator with one output;
- ``graph.constant(name, array, dtype=float32) -> name``: a constant (an initialiser);
- ``graph.cast(inp, dtype) -> name``: a ``Cast`` to a NumPy dtype.

Names are made unique here, so a layer chooses short readable ones (``"w"``,
``"edges"``). Needs the ``onnx`` package, imported when a graph is created.
"""

from __future__ import annotations

import itertools

import numpy as np

from barenet.errors import BarenetValueError

INTERNAL = "barenet/"  # the prefix of the graph's own intermediate values and constants


def import_onnx():
    """The ``onnx`` module, or an error that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise BarenetValueError(
            "ONNX export needs the onnx package: pip install onnx onnxruntime "
            "(or, in a barenet checkout, pip install -e '.[onnx]')"
        ) from None
    return onnx


class OnnxGraph:
    """Nodes and constants of an ONNX graph under construction.

    Attributes
    ----------
    nodes : list of onnx.NodeProto
    initializers : list of onnx.TensorProto
        The constants, in the order they were added.
    """

    def __init__(self) -> None:
        self.onnx = import_onnx()
        self.nodes: list = []
        self.initializers: list = []
        self._taken: set[str] = set()
        self._counter = itertools.count()

    def _unique(self, name: str) -> str:
        name = f"{INTERNAL}{name}"
        unique, n = name, 1
        while unique in self._taken:
            n += 1
            unique = f"{name}_{n}"
        self._taken.add(unique)
        return unique

    def constant(self, name: str, array, dtype=np.float32) -> str:
        """Add ``array`` (converted to ``dtype``; ``object`` for strings) as a constant
        named after ``name``; return its name in the graph."""
        name = self._unique(name)
        array = np.asarray(array, dtype=dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name=name))
        return name

    def node(self, op: str, inputs: list[str], **attributes) -> str:
        """Add the operator ``op`` on ``inputs``; return the name of its one output."""
        output = self._unique(f"{op.lower()}_{next(self._counter)}")
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], **attributes))
        return output

    def cast(self, inp: str, dtype) -> str:
        """``inp`` converted to the NumPy ``dtype`` (``np.float64``, ``np.int64``...)."""
        to = self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        return self.node("Cast", [inp], to=to)

    def output(self, value: str, name: str) -> None:
        """Expose ``value`` as the graph output ``name``."""
        self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name]))
