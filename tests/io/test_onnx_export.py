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
    probabilities, index, labels = run_onnx(tmp_path / "d.onnx", x)
    np.testing.assert_array_equal(labels, model.preprocessing.predict(model, x))
    np.testing.assert_array_equal(labels, np.asarray(model.preprocessing.classes)[index])
    assert labels.dtype == np.int64  # numeric labels stay numeric
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_export_errors(tmp_path, capsys):
    assert main(["export-onnx", "--model", str(tmp_path / "none.npz"), "--out", "x.onnx"]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_classifier_metadata_and_a_model_without_preprocessing(tmp_path):
    import json

    import onnx

    from barenet import MLP, MSE, CrossEntropy, Layer, Linear, Sigmoid
    from barenet.errors import BarenetValueError
    from barenet.io.onnx.export import export_onnx
    from barenet.tables.preprocessing import Preprocessing

    model = MLP([Linear(3, 5, seed=0), Sigmoid(), Linear(5, 2, seed=1)], CrossEntropy())
    model.layers[2].b[...] = [[0.5, -0.5]]
    x = np.random.default_rng(0).standard_normal((20, 3))
    (raw,) = run_onnx(export_onnx(model, tmp_path / "raw.onnx"), x)  # the network's outputs
    np.testing.assert_allclose(raw, model.predict(x), rtol=1e-5, atol=1e-6)

    model.preprocessing = Preprocessing(["a", "b", "c"], "kind", None, None, ["no", "yes"])
    export_onnx(model, tmp_path / "clf.onnx")
    probabilities, index, labels = run_onnx(tmp_path / "clf.onnx", x)
    np.testing.assert_array_equal(index, np.argmax(model.predict(x), axis=1))
    assert labels.tolist() == [["no", "yes"][i] for i in index]
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

    with pytest.raises(BarenetValueError, match=r"layer 1 to ONNX: Mine has no ONNX form"):
        export_onnx(MLP([Linear(3, 1), Mine()], CrossEntropy()), tmp_path / "mine.onnx")
    assert not (tmp_path / "mine.onnx").exists()

    class Doubled(Mine):  # a user's layer exports once it writes its own nodes
        def forward(self, inp):
            return 2 * inp

        def onnx_nodes(self, graph, inp):
            return graph.node("Mul", [inp, graph.constant("two", 2.0)])

    doubled = MLP([Linear(3, 2, seed=0), Doubled()], MSE())
    (out,) = run_onnx(export_onnx(doubled, tmp_path / "doubled.onnx"), x)
    np.testing.assert_allclose(out, doubled.predict(x), rtol=1e-6)


def test_a_missing_onnx_package_gives_an_install_command_that_works(monkeypatch):
    import builtins

    import barenet
    from barenet.io.onnx.export import to_onnx

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    model = barenet.MLP([barenet.Linear(2, 1)], barenet.MSE())
    with pytest.raises(ValueError, match=r"pip install onnx onnxruntime"):
        to_onnx(model)


def mixed_table(path, target, *, missing_plans=10, seed=0):
    """A CSV of raw mixed-type rows: numbers with blanks, a text column (with rare values
    pooled into "other" and, with ``missing_plans`` >= 5 training rows, a "(missing)"
    level), a true/false column with blanks, and a string-label or numeric target."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = 240
    size = rng.uniform(20, 200, n).round(1)
    rooms = rng.integers(1, 6, n).astype(float)
    plan = rng.choice(["basic", "plus", "family"], n).astype(object)
    plan[:4] = ["rare1", "rare2", "rare3", "rare4"]
    garden = rng.choice(["True", "False"], n).astype(object)
    score = size / 40 + (plan == "plus") * 2 + (garden == "True") - rooms / 3
    score = score + rng.normal(0, 0.3, n)
    frame = pd.DataFrame({"size": size, "rooms": rooms, "plan": plan, "garden": garden})
    frame.loc[5:14, "size"] = np.nan
    frame.loc[20 : 20 + missing_plans - 1, "plan"] = np.nan
    frame.loc[40:44, "garden"] = np.nan
    if target == "label":
        frame["label"] = np.where(score > np.median(score), "high", "low")
    else:
        frame["price"] = (score * 1000).round(2)
    frame.to_csv(path, index=False)


NEW_ROWS = """garden,plan,rooms,size,comment
True,student,2,,an unseen plan and a missing size
,,4,150.5,a missing plan and garden
False,plus,1,80,
True,basic,5,33.3,
"""


def onnx_feeds(frame):
    """The graph's inputs for raw rows, as a user would build them: numbers as float64
    (NaN where missing), true/false as 1/0 (NaN where missing), text as strings ("" where
    missing); in the order of ``frame``'s columns, not the model's."""
    floats = {"True": 1.0, "False": 0.0, True: 1.0, False: 0.0}
    return {
        "garden": frame["garden"].map(floats).to_numpy(np.float64).reshape(-1, 1),
        "plan": frame["plan"].fillna("").to_numpy(object).reshape(-1, 1),
        "rooms": frame["rooms"].to_numpy(np.float64).reshape(-1, 1),
        "size": frame["size"].to_numpy(np.float64).reshape(-1, 1),
    }


def train_and_export(tmp_path, capsys, target, **table):
    mixed_table(tmp_path / "t.csv", target, **table)
    (tmp_path / "new.csv").write_text(NEW_ROWS)
    train = ["--data", "t.csv", "--target", target, "--epochs", "5", "--quiet"]
    assert main([*train, "--plot", "none", "--save", "m.npz"]) == 0
    assert main(["export-onnx", "--model", "m.npz", "--out", "m.onnx"]) == 0
    capsys.readouterr()
    return barenet.load("m.npz")


def barenet_predict(capsys, *extra):
    import csv

    assert main(["predict", "--model", "m.npz", "--data", "new.csv", *extra]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    return rows[0], rows[1:]


def test_a_table_classifier_takes_raw_rows_with_missing_and_unseen_values(
    tmp_path, capsys, monkeypatch
):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    model = train_and_export(tmp_path, capsys, "label")
    columns = {spec["name"]: spec for spec in model.preprocessing.columns}
    # every path of the graph is used: an imputed number with its indicator, a plain
    # number, a "(missing)" level, an "other" level, and true/false with an indicator
    assert columns["size"]["indicator"] and not columns["rooms"]["indicator"]
    assert "(missing)" in columns["plan"]["levels"] and columns["plan"]["other"]
    assert columns["garden"]["kind"] == "bool" and columns["garden"]["indicator"]
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    inputs = {i.name: i.type for i in session.get_inputs()}
    assert inputs == {
        "size": "tensor(double)",
        "rooms": "tensor(double)",
        "plan": "tensor(string)",
        "garden": "tensor(double)",
    }
    assert [o.name for o in session.get_outputs()] == ["probabilities", "label_index", "label"]

    rows = pd.concat([pd.read_csv("t.csv").drop(columns="label"), pd.read_csv("new.csv")])
    probabilities, index, labels = session.run(None, onnx_feeds(rows))
    prep = model.preprocessing
    assert labels.tolist() == prep.predict(model, rows).tolist()
    assert set(labels.tolist()) == {"high", "low"} and labels.dtype == object
    np.testing.assert_array_equal(index, [prep.classes.index(v) for v in labels])
    np.testing.assert_allclose(probabilities, prep.probabilities(model, rows), atol=1e-5)

    header, answers = barenet_predict(capsys, "--proba")  # the command line, on the file
    assert header == ["predicted_label", "proba_high", "proba_low"]
    new = slice(len(rows) - 4, None)
    assert [row[0] for row in answers] == labels[new].tolist()
    np.testing.assert_allclose(
        [[float(v) for v in row[1:]] for row in answers], probabilities[new], atol=1e-5
    )


def test_a_table_regressor_answers_in_original_units(tmp_path, capsys, monkeypatch):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    model = train_and_export(tmp_path, capsys, "price", missing_plans=2)
    plan = next(spec for spec in model.preprocessing.columns if spec["name"] == "plan")
    assert "(missing)" not in plan["levels"] and plan["other"]  # a blank plan is "other"
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    rows = pd.concat([pd.read_csv("t.csv").drop(columns="price"), pd.read_csv("new.csv")])
    (prediction,) = session.run(["prediction"], onnx_feeds(rows))
    expected = model.preprocessing.predict(model, rows)
    assert np.ptp(expected) > 100  # original units (the target spans thousands)
    np.testing.assert_allclose(prediction[:, 0], expected, rtol=1e-5, atol=1e-3)
    _, answers = barenet_predict(capsys)
    np.testing.assert_allclose([float(r[0]) for r in answers], prediction[-4:, 0], rtol=1e-5)


def test_a_column_named_like_an_output_is_a_clear_error(tmp_path):
    from barenet import MLP, MSE, Linear
    from barenet.errors import BarenetError
    from barenet.io.onnx.export import export_onnx
    from barenet.tables.preprocessing import Preprocessing

    model = MLP([Linear(2, 1, seed=0)], MSE())
    spec = {"kind": "numeric", "median": 0.0, "indicator": False}
    columns = [{"name": "a", **spec}, {"name": "prediction", **spec}]
    model.preprocessing = Preprocessing(["a", "prediction"], "y", columns=columns)
    with pytest.raises(BarenetError, match="'prediction'.*rename it"):
        export_onnx(model, tmp_path / "p.onnx")
    assert not (tmp_path / "p.onnx").exists()
    columns[1]["name"] = "b"
    (prediction,) = run_onnx_feeds(export_onnx(model, tmp_path / "p.onnx"), np.eye(2))
    np.testing.assert_allclose(prediction, model.predict(np.eye(2)), rtol=1e-6)


def run_onnx_feeds(path, x):
    session = onnxruntime.InferenceSession(str(path))
    names = [i.name for i in session.get_inputs()]
    assert names == ["a", "b"]
    return session.run(None, {n: x[:, [i]].astype(np.float64) for i, n in enumerate(names)})


@pytest.mark.parametrize("activation", ["silu", "mish"])
def test_silu_and_mish_models_export_and_match_onnxruntime(tmp_path, activation):
    import onnx

    from barenet import MLP, MSE, Linear, Mish, SiLU
    from barenet.io.onnx.export import export_onnx

    layer = {"silu": SiLU, "mish": Mish}[activation]
    rng = np.random.default_rng(0)
    model = MLP(
        [
            Linear(4, 16, seed=rng),
            layer(),
            Linear(16, 8, seed=rng),
            layer(),
            Linear(8, 2, seed=rng),
        ],
        MSE(),
    )
    for linear in model.layers[::2]:
        linear.b[...] = rng.standard_normal(linear.b.shape)
    x = rng.standard_normal((50, 4)) * 4  # well into both tails of the activations
    path = export_onnx(model, tmp_path / f"{activation}.onnx")
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    if activation == "silu":
        assert ops.count("Sigmoid") == 2 and ops.count("Mul") == 2  # x * sigmoid(x)
    else:
        assert ops.count("Mish") == 2
    (prediction,) = run_onnx(path, x)
    np.testing.assert_allclose(prediction, model.predict(x), rtol=1e-5, atol=1e-5)


# -- each registered layer's own ONNX nodes, against its evaluation-mode forward --------


def _fitted_rows(rng):
    """Training rows for the fitted layers: a skewed feature, one with repeated values,
    a constant one and a plain one (different bin and quantile counts per feature)."""
    return np.column_stack(
        [
            rng.lognormal(0, 1, 200),
            rng.integers(0, 4, 200).astype(float),
            np.full(200, 2.5),
            rng.standard_normal(200),
        ]
    )


def _layer_examples(rng):
    """``{registered name: [(layer, in_dim), ...]}``: one or more instances of each."""
    from barenet import layers
    from barenet.registry import ACTIVATIONS
    from barenet.tabular.embeddings import (
        FeatureLinear,
        PeriodicEmbedding,
        PiecewiseLinearEncoding,
        quantile_bins,
        tree_bins,
    )
    from barenet.tabular.ensemble import Ensemble, EnsembleLinear, EnsembleMean, MemberScale
    from barenet.tabular.passthrough import PiecewisePassthrough
    from barenet.tabular.retrieval import Retrieval
    from barenet.tabular.scaling import QuantileScaling, RobustScaling

    rows = _fitted_rows(rng)
    examples = {name: [(ACTIVATIONS.lookup(name)(), 6)] for name in ACTIVATIONS.choices()}
    examples["leaky_relu"].append((ACTIVATIONS.lookup("leaky_relu")(0.2), 6))
    examples.update(
        {
            "linear": [(layers.Linear(6, 3, seed=rng), 6)],
            "batchnorm": [(layers.BatchNorm1d(6, eps=1e-3), 6)],
            "dropout": [(layers.Dropout(0.4, seed=0), 6)],
            "piecewise_linear": [
                (PiecewiseLinearEncoding(quantile_bins(rows, 8)), 4),
                (PiecewiseLinearEncoding(tree_bins(rows, rows[:, 0], 5, min_leaf=10)), 4),
            ],
            "piecewise_passthrough": [
                (PiecewisePassthrough(4, [0, 2], quantile_bins(rows[:, [0, 2]], 6), 3), 4)
            ],
            "periodic": [(PeriodicEmbedding(4, 3, sigma=0.5, seed=rng), 4)],
            "feature_linear": [(FeatureLinear(3, 4, 2, seed=rng), 12)],
            "ensemble": [(Ensemble(3, 4), 4)],
            "member_scale": [(MemberScale(3, 4, seed=rng), 12)],
            "ensemble_linear": [
                (EnsembleLinear(4, 5, 3, seed=rng), 12),
                (EnsembleLinear(4, 2, 3, shared=False, seed=rng), 12),
            ],
            "ensemble_mean": [(EnsembleMean(3, 2), 6)],
            "quantile_scaling": [(QuantileScaling.fit(rows, 50), 4)],
            "robust_scaling": [(RobustScaling.fit(rows), 4)],
            "retrieval": [
                (Retrieval(4, 1, 200, rows=rows, targets=rows[:, :1], dim=3, seed=rng), 4),
                (Retrieval(4, 3, 200, rows=rows, targets=rows[:, 1:], heads=1, seed=rng), 4),
            ],
        }
    )
    for instances in examples.values():  # random weights and statistics, not the initial ones
        for layer, _ in instances:
            for name in (*layer.param_names, "running_mean", "running_var"):
                if hasattr(layer, name):
                    value = getattr(layer, name)
                    value[...] = np.abs(rng.standard_normal(value.shape)) + 0.5
                    value *= rng.choice([-1, 1], value.shape) if name != "running_var" else 1
    return examples


# Registered layers that cannot be exported, each with the reason (none today): a new
# layer needs an example above or an entry here.
UNEXPORTABLE: dict[str, str] = {}


def run_layer_graph(layer, x):
    """``layer``'s ONNX nodes alone as a graph, run by onnxruntime on ``x``."""
    import onnx

    from barenet.io.onnx.export import OPSET
    from barenet.io.onnx.graph import OnnxGraph

    graph = OnnxGraph()
    helper, FLOAT = graph.onnx.helper, graph.onnx.TensorProto.FLOAT
    graph.output(layer.onnx_nodes(graph, "x"), "y")
    body = helper.make_graph(
        graph.nodes,
        "layer",
        [helper.make_tensor_value_info("x", FLOAT, ["N", x.shape[1]])],
        [helper.make_tensor_value_info("y", FLOAT, ["N", "out"])],
        initializer=graph.initializers,
    )
    proto = helper.make_model(body, opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = 9
    onnx.checker.check_model(proto)
    session = onnxruntime.InferenceSession(proto.SerializeToString())
    return session.run(None, {"x": x})[0]


def _all_layer_names():
    import barenet  # noqa: F401  (registers every built-in layer)
    from barenet.registry import LAYERS

    return LAYERS.choices()


@pytest.mark.parametrize("name", _all_layer_names())
def test_each_registered_layers_onnx_nodes_equal_its_evaluation_forward(name):
    rng = np.random.default_rng(0)
    examples = _layer_examples(rng)
    if name in UNEXPORTABLE:
        assert name not in examples
        return
    assert name in examples, f"add an example of {name!r} above, or list it in UNEXPORTABLE"
    for layer, in_dim in examples[name]:
        x = (rng.standard_normal((64, in_dim)) * 3).astype(np.float32)
        x[:4] *= 1e3  # far outside any fitted range: the ends of bins and quantiles
        x[4] = 0.0
        expected = layer.eval().forward(x)
        got = run_layer_graph(layer, x)
        assert got.shape == expected.shape and got.dtype == np.float32, name
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=repr(layer))


def test_a_layer_of_unknown_form_is_named_and_the_graph_fails_cleanly():
    from barenet.layers import Layer

    class Nameless(Layer):
        pass

    from barenet.errors import BarenetValueError

    with pytest.raises(BarenetValueError, match="Nameless has no ONNX form"):
        run_layer_graph(Nameless(), np.zeros((2, 2), np.float32))


# -- the tabular recipe's models: onnxruntime on raw rows equals barenet predict -------

TABULAR = ["--recipe", "tabular", "--epochs", "3", "--hidden", "16,16", "--bins", "8"]
TABULAR += ["--embedding-dim", "4", "--batch-size", "32"]


@pytest.mark.parametrize(
    ("target", "options"),
    [
        ("price", ["--embedding", "piecewise", "--scaling", "quantile", "--ensemble", "4"]),
        ("label", ["--embedding", "piecewise", "--scaling", "quantile", "--ensemble", "4"]),
        ("price", ["--embedding", "piecewise_tree", "--scaling", "robust", "--ensemble", "3"]),
        ("label", ["--embedding", "piecewise_tree", "--ensemble", "1", "--batchnorm"]),
        ("price", ["--embedding", "periodic", "--ensemble", "2", "--dropout", "0.1"]),
        ("label", ["--embedding", "periodic", "--scaling", "robust", "--ensemble", "4"]),
    ],
)
def test_tabular_recipe_models_give_barenet_predicts_answers_on_raw_rows(
    tmp_path, capsys, monkeypatch, target, options
):
    """Raw rows with blanks, an unseen category and the columns in another order (plus
    one the model does not use): labels exactly, values to 1e-5."""
    import pandas as pd

    from barenet.registry import LAYERS

    monkeypatch.chdir(tmp_path)
    mixed_table(tmp_path / "t.csv", target)
    (tmp_path / "new.csv").write_text(NEW_ROWS)
    train = ["--data", "t.csv", "--target", target, *TABULAR, *options]
    assert main([*train, "--quiet", "--plot", "none", "--save", "m.npz"]) == 0
    assert main(["export-onnx", "--model", "m.npz", "--out", "m.onnx"]) == 0
    capsys.readouterr()
    model = barenet.load("m.npz")
    kinds = {LAYERS.name_of(layer) for layer in model.layers}
    embedding = options[options.index("--embedding") + 1]
    # the table's one-hot and indicator columns pass through a piecewise embedding
    assert {"periodic": "periodic"}.get(embedding, "piecewise_passthrough") in kinds
    if "--scaling" in options:
        assert f"{options[options.index('--scaling') + 1]}_scaling" in kinds
    assert ("ensemble_mean" in kinds) == (options[options.index("--ensemble") + 1] != "1")

    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    new = pd.read_csv("new.csv")
    rows = pd.concat([pd.read_csv("t.csv").drop(columns=target), new])
    outputs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, onnx_feeds(rows)),
            strict=True,
        )
    )
    expected = model.preprocessing.predict(model, rows)
    header, answers = barenet_predict(capsys, *(["--proba"] if target == "label" else []))
    if target == "label":
        assert outputs["label"].tolist() == expected.tolist()
        assert [row[0] for row in answers] == outputs["label"][-len(new) :].tolist()
        probabilities = model.preprocessing.probabilities(model, rows)
        np.testing.assert_allclose(outputs["probabilities"], probabilities, rtol=1e-5, atol=1e-6)
    else:
        # to 1e-5 of each value, or of the target's scale near 0 (the network's units)
        close = {"rtol": 1e-5, "atol": 1e-5 * model.preprocessing.scaler_y.scale_[0]}
        prediction = outputs["prediction"][:, 0]
        np.testing.assert_allclose(prediction, expected, **close)
        np.testing.assert_allclose(
            [float(r[0]) for r in answers], prediction[-len(new) :], **close
        )
    assert header[0] in ("predicted_label", "predicted_price")


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_tabular_estimators_export_and_answer_as_predict(tmp_path, kind):
    from barenet.io.onnx.export import export_onnx
    from barenet.sklearn.estimators import BarenetClassifier, BarenetRegressor

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 5)) * [1, 10, 0.1, 1, 100]
    score = x[:, 0] + x[:, 1] / 10 - x[:, 4] / 100
    settings = {"recipe": "tabular", "epochs": 3, "hidden": (16, 16), "bins": 8}
    settings |= {"embedding_dim": 4, "ensemble": 4, "batch_size": 32, "random_state": 0}
    if kind == "regressor":
        estimator = BarenetRegressor(scaling="quantile", **settings).fit(x, 1000 * score + 5)
    else:
        labels = np.array(["low", "mid", "high"])[np.digitize(score, [-1, 1])]
        estimator = BarenetClassifier(embedding="periodic", **settings).fit(x, labels)
    path = export_onnx(estimator, tmp_path / "e.onnx")
    outputs = run_onnx(path, x)
    if kind == "regressor":
        (prediction,) = outputs
        assert np.ptp(prediction) > 100  # the target's units
        close = {"rtol": 1e-5, "atol": 1e-5 * estimator.y_scale_[0]}  # as above
        np.testing.assert_allclose(prediction[:, 0], estimator.predict(x), **close)
    else:
        probabilities, _, labels = outputs
        assert labels.tolist() == estimator.predict(x).tolist()
        np.testing.assert_allclose(probabilities, estimator.predict_proba(x), rtol=1e-5, atol=1e-6)


def test_export_refuses_non_finite_weights_naming_the_parameter(tmp_path):
    from barenet import MLP, MSE, BatchNorm1d, Linear, Relu
    from barenet.errors import BarenetValueError
    from barenet.io.onnx.export import export_onnx, to_onnx
    from barenet.sklearn.estimators import BarenetRegressor

    model = MLP([Linear(3, 4, seed=0), BatchNorm1d(4), Relu(), Linear(4, 1, seed=1)], MSE())
    model.layers[3].w[2, 0] = np.nan
    with pytest.raises(
        BarenetValueError,
        match=r"'3\.w' holds NaN or infinite values \(1 of 4, in layer 3, Linear\)",
    ):
        export_onnx(model, tmp_path / "nan.onnx")
    assert not (tmp_path / "nan.onnx").exists()
    model.layers[3].w[2, 0] = 0.5
    model.layers[1].running_var[0, 1] = np.inf  # a buffer, not a trained parameter
    with pytest.raises(BarenetValueError, match=r"'1\.running_var' holds .*BatchNorm1d"):
        to_onnx(model)
    model.layers[1].running_var[0, 1] = 1.0
    export_onnx(model, tmp_path / "fixed.onnx")  # finite again: exported, and it answers
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(
        run_onnx(tmp_path / "fixed.onnx", x)[0], model.predict(x), rtol=1e-5, atol=1e-6
    )

    with pytest.raises(BarenetValueError, match="fit it first"):
        to_onnx(BarenetRegressor())
