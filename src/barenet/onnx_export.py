"""Export a trained model, preprocessing included, as a standard ONNX graph.

A model trained on the built-in data sets takes raw rows as one input (``input``,
float32, shape (N, n_features)). A model trained on a table (``barenet train --data``)
takes one input per column it uses, named after the column, shape (N, 1): float32 for
numeric columns and for true/false columns (1/0), NaN where a value is missing; string
for text columns, "" where missing; double (float64) for date and time columns, as
seconds since 1970-01-01 UTC, NaN where missing (ONNX cannot parse date text; a time
without an offset counts as UTC, as in training). The graph applies the learned
preprocessing (median imputation, missing indicators, one-hot with the "other" level,
the calendar features of date columns, as ``barenet.tables.encode``), standardises
with the saved scaler, runs the network in evaluation mode, and returns ``prediction``
in original units (regression) or ``probabilities``, ``label_index`` and ``label``, the
class label itself (classification). Needs the ``onnx`` package (``pip install onnx onnxruntime``).
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
OUTPUTS = ("prediction", "probabilities", "label_index", "label")
_INTERNAL = "barenet/"  # the prefix of the graph's own intermediate values and constants


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

    def constant(name: str, array, dtype=np.float32) -> str:
        name = f"{_INTERNAL}{name}"
        array = np.asarray(array, dtype=dtype)
        initializers.append(numpy_helper.from_array(array, name=name))
        return name

    def node(op: str, inputs: list[str], **attributes) -> str:
        output = f"{_INTERNAL}{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    prep = model.preprocessing
    n_features = model.in_dim
    columns = getattr(prep, "columns", None)
    if columns is not None:
        inputs, current = _table_inputs(columns, helper, TensorProto, constant, node)
    else:
        inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", n_features])]
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
        elif layer.onnx_op is not None:  # an activation: its own operator(s)
            current = layer.onnx_nodes(node, current)
        elif kind not in ("dropout", "identity"):  # those two are the identity in eval mode
            raise BarenetValueError(f"cannot export layer {i} ({kind}) to ONNX")
    if prep is not None and prep.classes is not None:
        probabilities = node("Softmax", [current], axis=1)
        index = node("ArgMax", [current], axis=1, keepdims=0)
        classes = np.asarray(prep.classes)
        if classes.dtype.kind in "USO":
            classes, label_type = classes.astype(object), TensorProto.STRING
        elif classes.dtype.kind == "b":
            label_type = TensorProto.BOOL
        elif classes.dtype.kind in "iu":
            classes, label_type = classes.astype(np.int64), TensorProto.INT64
        else:
            classes, label_type = classes.astype(np.float64), TensorProto.DOUBLE
        label = node("Gather", [constant("classes", classes, classes.dtype), index], axis=0)
        for name, value in (
            ("probabilities", probabilities),
            ("label_index", index),
            ("label", label),
        ):
            nodes.append(helper.make_node("Identity", [value], [name]))
        outputs = [
            helper.make_tensor_value_info(
                "probabilities", TensorProto.FLOAT, ["N", model.out_dim]
            ),
            helper.make_tensor_value_info("label_index", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("label", label_type, ["N"]),
        ]
    else:
        if prep is not None and prep.scaler_y is not None:
            current = node("Mul", [current, constant("y_scale", prep.scaler_y.scale_)])
            current = node("Add", [current, constant("y_mean", prep.scaler_y.mean_)])
        nodes.append(helper.make_node("Identity", [current], ["prediction"]))
        outputs = [
            helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["N", model.out_dim])
        ]
    for value in inputs:  # a column named like an output or an internal name cannot be an input
        if value.name in OUTPUTS or value.name.startswith(_INTERNAL):
            raise BarenetValueError(
                f"cannot export to ONNX: the column {value.name!r} has the name of one of the "
                f"graph's own values ({', '.join(OUTPUTS)}, {_INTERNAL}...); rename it and "
                "train again"
            )
    graph = helper.make_graph(
        nodes,
        "barenet_mlp",
        inputs,
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
    if columns is not None:
        metadata["columns"] = columns
    helper.set_model_props(proto, {"barenet": json.dumps(metadata)})
    onnx.checker.check_model(proto)
    return proto


def _table_inputs(columns, helper, TensorProto, constant, node):
    """``(inputs, features)``: one graph input per table column (FLOAT for numeric and
    true/false columns, NaN where missing; STRING for category columns, "" where
    missing; DOUBLE seconds since 1970-01-01 UTC for date columns, NaN where missing),
    and the value holding the features of ``tables.encode``, in the order of
    ``tables.encoded_names``."""
    from barenet.date_arithmetic import onnx_date_features
    from barenet.tables import MISSING

    inputs, parts = [], []
    for spec in columns:
        name = spec["name"]
        if spec["kind"] == "date":
            inputs.append(helper.make_tensor_value_info(name, TensorProto.DOUBLE, ["N", 1]))
            values = onnx_date_features(spec, name, node, constant, TensorProto.DOUBLE)
            parts.append(node("Cast", [node("Concat", values, axis=1)], to=TensorProto.FLOAT))
            continue
        if spec["kind"] == "category":
            inputs.append(helper.make_tensor_value_info(name, TensorProto.STRING, ["N", 1]))
            levels = list(spec["levels"])
            shape = (1, len(levels))
            equal = node("Equal", [name, constant(f"{name}/levels", levels, object)])
            if MISSING in levels:  # "" is a missing value: the level "(missing)"
                blank = node("Equal", [name, constant(f"{name}/blank", [[""]], object)])
                where = np.reshape([level == MISSING for level in levels], shape)
                blank = node("And", [blank, constant(f"{name}/missing_level", where, bool)])
                equal = node("Or", [equal, blank])
            onehot = node("Cast", [equal], to=TensorProto.FLOAT)
            parts.append(onehot)
            if spec["other"]:  # none of the levels: a rare, unseen or (unlearned) missing value
                count = node(
                    "ReduceSum",
                    [onehot, constant(f"{name}/axis", [1], np.int64)],
                    keepdims=1,
                )
                none = node("Less", [count, constant(f"{name}/half", [[0.5]])])
                parts.append(node("Cast", [none], to=TensorProto.FLOAT))
            continue
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 1]))
        missing = node("IsNaN", [name])
        median = constant(f"{name}/median", [[spec["median"]]])
        parts.append(node("Where", [missing, median, name]))
        if spec["indicator"]:
            parts.append(node("Cast", [missing], to=TensorProto.FLOAT))
    if not parts:
        raise BarenetValueError("cannot export to ONNX: the model uses no column")
    return inputs, node("Concat", parts, axis=1)


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
