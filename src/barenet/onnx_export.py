"""Export a trained model, preprocessing included, as a standard ONNX graph.

The graph takes raw rows (``input``, float32, shape (N, n_features)), standardises
them with the saved scaler, runs the network in evaluation mode, and returns
``prediction`` in original units (regression) or ``probabilities`` and
``label_index`` (classification; the class labels are in the model's metadata).
Needs the ``onnx`` package (``pip install onnx onnxruntime``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from barenet._files import atomic_path
from barenet.errors import BarenetValueError
from barenet.persistence import load
from barenet.registry import LAYERS

OPSET = 20  # Gelu with approximate="tanh" needs opset 20


def _f32(array) -> np.ndarray:
    return np.asarray(array, dtype=np.float32)


def to_onnx(model):
    """Build the ONNX ``ModelProto`` of ``model`` (with ``model.preprocessing`` if any)."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise BarenetValueError(
            "ONNX export needs the onnx package: pip install onnx onnxruntime "
            "(or, in a barenet checkout, pip install -e '.[onnx]')"
        ) from None

    nodes, initializers = [], []
    counter = iter(range(10**6))

    def constant(name: str, array) -> str:
        initializers.append(numpy_helper.from_array(_f32(array), name=name))
        return name

    def node(op: str, inputs: list[str], **attributes) -> str:
        output = f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    prep = model.preprocessing
    n_features = model.in_dim
    columns = getattr(prep, "columns", None) or []
    learned = [c["name"] for c in columns if c["kind"] != "numeric" or c["indicator"]]
    if learned:
        raise BarenetValueError(
            "ONNX export does not yet include the table preprocessing (missing values, "
            f"categories, true/false) that columns {', '.join(learned)} need"
        )
    current = "input"
    if prep is not None and prep.scaler_x is not None:
        current = node("Sub", [current, constant("x_mean", prep.scaler_x.mean_)])
        current = node("Div", [current, constant("x_scale", prep.scaler_x.scale_)])
    for i, layer in enumerate(model.layers):
        kind = LAYERS.name_of(layer)
        if kind == "linear":
            current = node(
                "Gemm",
                [current, constant(f"w{i}", layer.w), constant(f"b{i}", layer.b.reshape(-1))],
            )
        elif kind == "batchnorm":
            current = node(
                "BatchNormalization",
                [
                    current,
                    constant(f"gamma{i}", layer.gamma.reshape(-1)),
                    constant(f"beta{i}", layer.beta.reshape(-1)),
                    constant(f"mean{i}", layer.running_mean.reshape(-1)),
                    constant(f"var{i}", layer.running_var.reshape(-1)),
                ],
                epsilon=layer.eps,
            )
        elif layer.onnx_op is not None:  # an activation: its own operator
            current = node(layer.onnx_op, [current], **layer.onnx_attributes())
        elif kind not in ("dropout", "identity"):  # those two are the identity in eval mode
            raise BarenetValueError(f"cannot export layer {i} ({kind}) to ONNX")
    outputs = []
    if prep is not None and prep.classes is not None:
        probabilities = node("Softmax", [current], axis=1)
        label = node("ArgMax", [current], axis=1, keepdims=0)
        nodes.append(helper.make_node("Identity", [probabilities], ["probabilities"]))
        nodes.append(helper.make_node("Identity", [label], ["label_index"]))
        outputs = [
            helper.make_tensor_value_info(
                "probabilities", TensorProto.FLOAT, ["N", model.out_dim]
            ),
            helper.make_tensor_value_info("label_index", TensorProto.INT64, ["N"]),
        ]
    else:
        if prep is not None and prep.scaler_y is not None:
            current = node("Mul", [current, constant("y_scale", prep.scaler_y.scale_)])
            current = node("Add", [current, constant("y_mean", prep.scaler_y.mean_)])
        nodes.append(helper.make_node("Identity", [current], ["prediction"]))
        outputs = [
            helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["N", model.out_dim])
        ]
    graph = helper.make_graph(
        nodes,
        "barenet_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", n_features])],
        outputs,
        initializer=initializers,
    )
    proto = helper.make_model(
        graph, producer_name="barenet", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    proto.ir_version = 9
    metadata = {
        "feature_names": prep.feature_names if prep else None,
        "target_name": prep.target_name if prep else None,
        "classes": prep.classes if prep else None,
    }
    helper.set_model_props(proto, {"barenet": json.dumps(metadata)})
    onnx.checker.check_model(proto)
    return proto


def export_onnx(model, path) -> Path:
    """Write ``model`` as an ONNX file (atomically). Returns the path."""
    proto = to_onnx(model)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(proto.SerializeToString())
    return path


def run_export(args, stdout) -> int:
    path = export_onnx(load(args.model), args.out)
    print(f"ONNX model written to {path}", file=stdout)
    return 0
