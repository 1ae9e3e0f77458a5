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
    assert "barenet.trainer" in edges and "barenet.model" in edges["barenet.io.record"]
    assert tool.cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle():
    tool = load_tool()
    assert tool.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_importing_a_name_from_the_package_root_is_an_edge_to_the_root():
    tool = load_tool()
    modules = {"barenet", "barenet.sklearn", "barenet.sklearn.tuning", "barenet.io.persistence"}
    assert tool.imports_of("from barenet import __version__", modules) == {"barenet"}
    assert tool.imports_of("from barenet import sklearn", modules) == {"barenet.sklearn"}
    assert tool.imports_of("from barenet.sklearn import tuning", modules) == {
        "barenet.sklearn.tuning"
    }
    edges = {"barenet": {"barenet.io.persistence"}, "barenet.io.persistence": {"barenet"}}
    assert tool.cycles(edges) == [["barenet", "barenet.io.persistence"]]


@pytest.mark.parametrize("module", ["trainer.py", "engines/fused/step.py"])
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


CORE = {
    "layers.py",
    "activations.py",
    "losses.py",
    "initializers.py",
    "optimizers.py",
    "schedules.py",
    "model.py",
    "trainer.py",
    "gradcheck.py",
}


def test_the_top_level_holds_the_notebooks_core_and_at_most_25_entries():
    entries = {p.name for p in (ROOT / "src/barenet").iterdir() if p.name != "__pycache__"}
    assert CORE <= entries
    assert len(entries) <= 25, sorted(entries)


@pytest.mark.parametrize("old", sorted(barenet.MOVED_MODULES))
def test_a_module_path_from_before_the_move_still_imports(old):
    """``barenet.datasets`` (say) is the module ``barenet.tables.datasets``: the same object,
    so its functions, classes and monkeypatching are shared."""
    moved = importlib.import_module(f"barenet.{old}")
    new = importlib.import_module(f"barenet.{barenet.MOVED_MODULES[old]}")
    if old == "fast":  # an old package: a stand-in whose attributes are the new one's
        assert moved.select is new.select
    else:
        assert moved is new and moved.__spec__.name == new.__name__


# -- the layering: what may import what ------------------------------------------------

CORE_MODULES = {f"barenet.{name[:-3]}" for name in CORE} | {
    "barenet.errors",
    "barenet.registry",
    "barenet._checks",
    "barenet._version",
}
PACKAGES = ("tabular", "tables", "streaming", "training", "engines", "io", "diagnostics")
PACKAGES += ("cli", "sklearn")


def test_the_core_imports_no_package_that_grew_around_it():
    """The notebook's core (layers ... trainer, gradcheck) imports nothing from the
    engines, tables, training, cli or sklearn packages, nor any other package: the
    engines install themselves in ``barenet.registry.ENGINES`` and the core asks there."""
    edges = load_tool().graph()
    offenders = {
        module: sorted(name for name in edges[module] if name.split(".")[1] in PACKAGES)
        for module in CORE_MODULES
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_only_the_command_line_imports_argparse():
    offenders = []
    for path in sorted((ROOT / "src/barenet").rglob("*.py")):
        if "cli" in path.relative_to(ROOT / "src/barenet").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(name.split(".")[0] == "argparse" for name in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def is_package(dotted: str) -> bool:
    """Whether ``barenet.x`` is a package (a folder) rather than a module."""
    return (ROOT / "src" / Path(*dotted.split("."))).is_dir()


def private_imports(source: str, module: str) -> list[str]:
    """``from a.b import _x`` (or of a private module ``a._b``) where ``module`` is not
    inside the package that owns the private name (``a`` for ``a._b``, ``a.b`` for
    ``a.b._x``): a private name is the business of its own package only."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        if not node.module.startswith("barenet"):
            continue
        for alias in node.names:
            dotted = f"{node.module}.{alias.name}".split(".")
            for depth, part in enumerate(dotted):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(dotted[:depth])
                    if not is_package(owner):  # a private name of module ``owner``
                        owner = owner.rpartition(".")[0]
                    if not (module + ".").startswith(owner + "."):
                        found.append(f"{module}: from {node.module} import {alias.name}")
                    break
    return found


def test_the_private_import_rule_tells_inside_from_outside():
    inside = [
        ("from barenet.streaming.columns import _floats", "barenet.streaming.blocks"),
        ("from barenet._checks import check_number", "barenet.tables.columns"),
        ("from barenet.diagnostics._kernels import spread", "barenet.diagnostics.recorder"),
    ]
    outside = [
        ("from barenet.cli.data_args import _names", "barenet.streaming.train"),
        ("from barenet.diagnostics._kernels import spread", "barenet.model"),
        ("from barenet.engines.compiled.training import _plan", "barenet.engines.select"),
    ]
    assert [private_imports(source, module) for source, module in inside] == [[], [], []]
    assert all(len(private_imports(source, module)) == 1 for source, module in outside)


def test_no_module_imports_another_packages_private_name():
    tool = load_tool()
    offenders = []
    for path in sorted((ROOT / "src/barenet").rglob("*.py")):
        offenders += private_imports(path.read_text(), tool.module_name(path))
    assert offenders == []


def long_functions(source: str, limit: int = 60) -> list[str]:
    """The functions of ``source`` longer than ``limit`` lines (docstrings included)."""
    return [
        f"{node.name}:{node.lineno} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > limit
    ]


def test_no_function_is_over_60_lines():
    found = set()
    for path in sorted((ROOT / "src/barenet").rglob("*.py")):
        for entry in long_functions(path.read_text()):
            found.add(f"{path.relative_to(ROOT)}:{entry.split(':')[0]}")
    assert found == set()


def test_the_length_rule_counts_lines():
    source = "def f():\n" + "    x = 1\n" * 60 + "\n\ndef g():\n    pass\n"
    assert long_functions(source) == ["f:1 (61 lines)"]


def test_the_tests_mirror_the_source_tree():
    """A package's tests sit in the folder of its name (tests/tables/ for
    src/barenet/tables/); the notebook's core and the cross-cutting tests sit at the top."""
    packages = {
        path.name
        for path in (ROOT / "src" / "barenet").iterdir()
        if path.is_dir() and (path / "__init__.py").exists()
    }
    folders = {
        path.name for path in (ROOT / "tests").iterdir() if path.is_dir() and path.name[0] != "_"
    }
    folders.discard("__pycache__")
    assert folders, "the tests are not grouped by package"
    assert folders <= packages, f"test folders with no package: {sorted(folders - packages)}"
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), "two test files share a name (pytest imports by name)"
