"""Export a trained model, preprocessing included, as a standard ONNX graph.

A model trained on the built-in data sets takes raw rows as one input (``input``,
float32, shape (N, n_features)). A model trained on a table (``barenet train --data``)
takes one input per column it uses, named after the column, shape (N, 1): double
(float64) for numeric columns and for true/false columns (1/0), NaN where a value is
missing; string for text columns, "" (or only spaces) where missing, surrounding spaces
ignored as ``barenet predict`` ignores them; double for date and time columns, as
seconds since 1970-01-01 UTC, NaN where missing (ONNX cannot parse date text; a time
without an offset counts as UTC, as in training). The graph applies the learned
preprocessing (median imputation, missing indicators, one-hot with the "other" level,
the words of free-text columns, the calendar features of date columns, as
``barenet.tables.columns.encode``), clips each numeric column to its training range
(``Preprocessing.clip``) and applies the saved scaler, in float64, as ``predict`` does,
then rounds the features to the network's float32 once, as ``predict`` does, so that a
column of 1e8 plus noise keeps its information and both give the same network inputs (a
far value is an edge value, as in ``predict``); it runs the network in evaluation mode,
and returns ``prediction`` in original units (regression) or ``probabilities``,
``label_index`` and ``label``, the class label itself (classification). Needs the
``onnx`` package (``pip install onnx onnxruntime``).

Each layer writes its own nodes (``Layer.onnx_nodes``, through ``barenet.io.onnx.graph``),
so every built-in layer exports, and so does a user's layer that defines them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from barenet.errors import BarenetValueError
from barenet.io.atomic import atomic_path
from barenet.io.file_checks import check_finite_weights
from barenet.io.onnx.graph import INTERNAL, OnnxGraph
from barenet.io.persistence import load

OPSET = 20  # Gelu with approximate="tanh" needs opset 20
OUTPUTS = ("prediction", "probabilities", "label_index", "label")


def to_onnx(model):
    """Build the ONNX ``ModelProto`` of ``model`` (with ``model.preprocessing`` if any).

    ``model`` is an ``MLP`` or a fitted ``BarenetRegressor``/``BarenetClassifier``
    (whose graph takes ``input``, (N, n_features), and answers as ``predict`` does).
    Every layer writes its own nodes (``Layer.onnx_nodes``), in evaluation mode.
    """
    graph = OnnxGraph()
    model, prep = _network_and_preprocessing(model)
    check_finite_weights(model, "cannot export to ONNX")
    inputs, current = _graph_inputs(graph, model, prep)
    for i, layer in enumerate(model.layers):
        try:
            current = layer.onnx_nodes(graph, current)
        except BarenetValueError as error:
            raise BarenetValueError(f"cannot export layer {i} to ONNX: {error}") from None
    if prep is not None and prep.classes is not None:
        outputs = _classifier_outputs(graph, model, prep, current)
    else:
        outputs = _regressor_outputs(graph, model, prep, current)
    _check_input_names(inputs)
    return _model_proto(graph, inputs, outputs, prep)


def _network_and_preprocessing(model):
    """``(MLP, Preprocessing or None)`` of an ``MLP`` or a fitted barenet estimator."""
    network = getattr(model, "model_", None)
    if network is None:
        if hasattr(model, "get_params"):  # an estimator not fitted yet
            raise BarenetValueError(f"cannot export {type(model).__name__} to ONNX: fit it first")
        return model, model.preprocessing
    if network.preprocessing is not None:
        return network, network.preprocessing
    return network, _estimator_preprocessing(model, network)


def _estimator_preprocessing(estimator, network):
    """The answers of ``estimator.predict`` as a ``Preprocessing``: its classes, or its
    target's mean and scale."""
    from sklearn.preprocessing import StandardScaler

    from barenet.tables.preprocessing import Preprocessing

    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(network.in_dim)]
    names = [str(name) for name in names]
    if hasattr(estimator, "classes_"):
        return Preprocessing(names, classes=list(estimator.classes_))
    scaler = StandardScaler()  # only its mean_ and scale_ are read
    scaler.mean_ = np.asarray(estimator.y_mean_, dtype=np.float64)
    scaler.scale_ = np.asarray(estimator.y_scale_, dtype=np.float64)
    return Preprocessing(names, scaler_y=scaler)


def _graph_inputs(graph, model, prep):
    """``(inputs, features)``: the graph's inputs and the value holding the network's
    standardised input features."""
    onnx = graph.onnx
    columns = getattr(prep, "columns", None)
    if columns is not None:
        inputs, current = _table_inputs(
            columns, onnx.helper, onnx.TensorProto, graph.constant, graph.node
        )
        current = _clipped(graph, prep, current)
    else:
        inputs = [
            onnx.helper.make_tensor_value_info(
                "input", onnx.TensorProto.FLOAT, ["N", model.in_dim]
            )
        ]
        current = "input"
    if prep is not None and prep.scaler_x is not None:  # in float64, as barenet does
        if columns is None:  # table columns are float64 already
            current = graph.cast(current, np.float64)
        mean = graph.constant("x_mean", prep.scaler_x.mean_, np.float64)
        scale = graph.constant("x_scale", prep.scaler_x.scale_, np.float64)
        current = graph.node("Div", [graph.node("Sub", [current, mean]), scale])
        current = graph.cast(current, np.float32)
    elif columns is not None:
        current = graph.cast(current, np.float32)
    return inputs, current


def _clipped(graph, prep, features: str) -> str:
    """The DOUBLE features (N, k) with each numeric column's feature clipped to its
    training range (``Preprocessing.ranges``) as ``Preprocessing.clip`` clips them:
    ``Min`` and ``Max`` with bounds of -inf and inf for the other features, exact in
    float64 (NaN cannot reach them: blanks are imputed first)."""
    from barenet.tables.columns import encoded_names

    ranges = prep.ranges
    if not ranges or not ranges["features"] or prep.columns is None:
        return features
    width = len(encoded_names(prep.columns))
    low, high = np.full((1, width), -np.inf), np.full((1, width), np.inf)
    low[0, ranges["features"]], high[0, ranges["features"]] = ranges["low"], ranges["high"]
    features = graph.node("Max", [features, graph.constant("low", low, np.float64)])
    return graph.node("Min", [features, graph.constant("high", high, np.float64)])


def _classifier_outputs(graph, model, prep, logits: str) -> list:
    """``probabilities`` (softmax), ``label_index`` (argmax) and ``label`` (the class)."""
    helper, TensorProto = graph.onnx.helper, graph.onnx.TensorProto
    probabilities = graph.node("Softmax", [logits], axis=1)
    index = graph.node("ArgMax", [logits], axis=1, keepdims=0)
    classes = np.asarray(prep.classes)
    if classes.dtype.kind in "USO":
        classes, label_type = classes.astype(object), TensorProto.STRING
    elif classes.dtype.kind == "b":
        label_type = TensorProto.BOOL
    elif classes.dtype.kind in "iu":
        classes, label_type = classes.astype(np.int64), TensorProto.INT64
    else:
        classes, label_type = classes.astype(np.float64), TensorProto.DOUBLE
    label = graph.node(
        "Gather", [graph.constant("classes", classes, classes.dtype), index], axis=0
    )
    for name, value in (
        ("probabilities", probabilities),
        ("label_index", index),
        ("label", label),
    ):
        graph.output(value, name)
    return [
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", model.out_dim]),
        helper.make_tensor_value_info("label_index", TensorProto.INT64, ["N"]),
        helper.make_tensor_value_info("label", label_type, ["N"]),
    ]


def _regressor_outputs(graph, model, prep, current: str) -> list:
    """``prediction``, in the target's units when the model scaled it."""
    if prep is not None and prep.scaler_y is not None:
        current = graph.node("Mul", [current, graph.constant("y_scale", prep.scaler_y.scale_)])
        current = graph.node("Add", [current, graph.constant("y_mean", prep.scaler_y.mean_)])
    graph.output(current, "prediction")
    FLOAT = graph.onnx.TensorProto.FLOAT
    return [graph.onnx.helper.make_tensor_value_info("prediction", FLOAT, ["N", model.out_dim])]


def _check_input_names(inputs) -> None:
    """A column named like an output or an internal name cannot be an input."""
    for value in inputs:
        if value.name in OUTPUTS or value.name.startswith(INTERNAL):
            raise BarenetValueError(
                f"cannot export to ONNX: the column {value.name!r} has the name of one of the "
                f"graph's own values ({', '.join(OUTPUTS)}, {INTERNAL}...); rename it and "
                "train again"
            )


def _model_proto(graph, inputs, outputs, prep):
    """The checked ``ModelProto``, with barenet's metadata (names, target, classes)."""
    onnx, helper = graph.onnx, graph.onnx.helper
    body = helper.make_graph(
        graph.nodes, "barenet_mlp", inputs, outputs, initializer=graph.initializers
    )
    proto = helper.make_model(
        body, producer_name="barenet", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    proto.ir_version = 9
    metadata = {
        "feature_names": prep.feature_names if prep else None,
        "target_name": prep.target_name if prep else None,
        "classes": prep.classes if prep else None,
    }
    columns = getattr(prep, "columns", None)
    if columns is not None:
        metadata["columns"] = columns
    helper.set_model_props(proto, {"barenet": json.dumps(metadata)})
    onnx.checker.check_model(proto)
    return proto


def _table_inputs(columns, helper, TensorProto, constant, node):
    """``(inputs, features)``: one graph input per table column (DOUBLE for numeric and
    true/false columns, NaN where missing; STRING for category and free-text columns,
    blank where missing, compared without surrounding spaces; DOUBLE seconds since 1970-01-01 UTC
    for date columns, NaN where missing), and the DOUBLE value (N, n_features) holding
    the features of ``tables.encode``, in the order of ``tables.encoded_names``."""
    from barenet.tables.calendar import onnx_date_features
    from barenet.tables.free_text import onnx_word_matches

    inputs, parts = [], []
    for spec in columns:
        name = spec["name"]
        if spec["kind"] == "date":
            inputs.append(helper.make_tensor_value_info(name, TensorProto.DOUBLE, ["N", 1]))
            values = onnx_date_features(spec, name, node, constant, TensorProto.DOUBLE)
            parts.append(node("Concat", values, axis=1))
            continue
        if spec["kind"] == "text":  # a 0/1 feature per word (barenet.tables.free_text)
            inputs.append(helper.make_tensor_value_info(name, TensorProto.STRING, ["N", 1]))
            parts.append(node("Cast", [onnx_word_matches(spec, node)], to=TensorProto.DOUBLE))
            continue
        if spec["kind"] == "category":
            inputs.append(helper.make_tensor_value_info(name, TensorProto.STRING, ["N", 1]))
            onehot = node("Cast", [_category_matches(spec, node)], to=TensorProto.DOUBLE)
            parts.append(onehot)
            if spec["other"]:  # none of the levels: a rare, unseen or (unlearned) missing value
                count = node(
                    "ReduceSum",
                    [onehot, constant(f"{name}/axis", [1], np.int64)],
                    keepdims=1,
                )
                half = constant(f"{name}/half", [[0.5]], np.float64)
                none = node("Less", [count, half])
                parts.append(node("Cast", [none], to=TensorProto.DOUBLE))
            continue
        inputs.append(helper.make_tensor_value_info(name, TensorProto.DOUBLE, ["N", 1]))
        missing = node("IsNaN", [name])
        median = constant(f"{name}/median", [[spec["median"]]], np.float64)
        parts.append(node("Where", [missing, median, name]))
        if spec["indicator"]:
            parts.append(node("Cast", [missing], to=TensorProto.DOUBLE))
    if not parts:
        raise BarenetValueError("cannot export to ONNX: the model uses no column")
    return inputs, node("Concat", parts, axis=1)


#: what ``str.strip`` removes (the characters whose ``isspace()`` is true), in RE2 syntax
SPACES = "[" + "".join(f"\\x{{{c:x}}}" for c in range(0x3000 + 1) if chr(c).isspace()) + "]*"


def _regex_literal(text: str) -> str:
    """``text`` matched literally in RE2: every character not a letter or digit escaped
    as ``\\x{...}``."""
    return "".join(c if c.isalnum() and c.isascii() else f"\\x{{{ord(c):x}}}" for c in text)


def _category_matches(spec: dict, node) -> str:
    """BOOL (N, n_levels): whether each row's text, without surrounding spaces (as
    ``tables.encode`` strips it), is each level; a blank value is the level
    ``(missing)`` if the column learned one."""
    from barenet.tables.columns import MISSING

    name, matches = spec["name"], []
    for level in spec["levels"]:
        text = _regex_literal(level)
        text = f"(?:{text})?" if level == MISSING else text
        matches.append(node("RegexFullMatch", [name], pattern=f"{SPACES}{text}{SPACES}"))
    return node("Concat", matches, axis=1)


def export_onnx(model, path) -> Path:
    """Write ``model`` as an ONNX file (atomically). Returns the path."""
    proto = to_onnx(model)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(proto.SerializeToString())
    return path


def run_export(args, stdout) -> int:
    from barenet.cli.outputs import check_export

    check_export(args)  # before any work: --out is not the model, nor a folder
    path = export_onnx(load(args.model), args.out)
    print(f"ONNX model written to {path}", file=stdout)
    return 0
