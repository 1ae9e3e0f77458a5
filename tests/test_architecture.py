"""The structure README promises: no import cycles, a trainer that uses only the
model's public API, one registry per kind, one hyper-parameter spec."""

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import barenet

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools/import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_import_graph_has_no_cycles():
    tool = load_tool()
    edges = tool.graph()
    assert "barenet.trainer" in edges and "barenet.model" in edges["barenet.record"]
    assert tool.cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle():
    tool = load_tool()
    assert tool.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", ["trainer.py", "fast/runner.py"])
def test_the_training_loop_uses_only_public_members_of_the_model(module):
    tree = ast.parse((ROOT / "src/barenet" / module).read_text())
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name | ast.Attribute)
        and (
            getattr(node.value, "id", None) == "model"
            or getattr(node.value, "attr", "") == "model"
        )
        and node.attr.startswith("_")
    ]
    assert private == []


def test_every_error_barenet_raises_on_purpose_is_a_barenet_error():
    for call in (
        lambda: barenet.Linear(0, 1),
        lambda: barenet.MLP([], barenet.MSE()),
        lambda: barenet.MSE().backward(),
        lambda: barenet.load("/no/such/file.npz"),
        lambda: barenet.MLP([barenet.Linear(2, 1)], barenet.MSE()).predict(np.zeros((1, 3))),
    ):
        with pytest.raises(barenet.BarenetError):
            call()
