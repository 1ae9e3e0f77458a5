"""The structure the docs promise (docs/development.md, "Layout"): no import cycles, a
trainer that uses only the model's public API, one registry per kind, one
hyper-parameter spec."""

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


def test_importing_a_name_from_the_package_root_is_an_edge_to_the_root():
    tool = load_tool()
    modules = {"barenet", "barenet.tuning", "barenet.persistence"}
    assert tool.imports_of("from barenet import __version__", modules) == {"barenet"}
    assert tool.imports_of("from barenet import tuning", modules) == {"barenet.tuning"}
    edges = {"barenet": {"barenet.persistence"}, "barenet.persistence": {"barenet"}}
    assert tool.cycles(edges) == [["barenet", "barenet.persistence"]]


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


BUILTIN_OK = {"NotImplementedError", "KeyboardInterrupt", "ArgumentTypeError"}


def test_every_raise_in_barenet_uses_a_barenet_error():
    """Errors raised on purpose derive from BarenetError (re-raises and abstract methods
    aside), so the command line can tell a user's mistake from a bug."""
    names = set(vars(__import__("barenet.errors", fromlist=["x"])))
    offenders = []
    for path in sorted((ROOT / "src/barenet").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in names and name not in BUILTIN_OK:
                    offenders.append(f"{path.name}:{node.lineno} {name}")
    assert offenders == []
