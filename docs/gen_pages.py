"""The site's generated pages, written from the code so they cannot drift from it.

mkdocs-gen-files runs this file during ``mkdocs build`` (``plugins: gen-files`` in
``mkdocs.yml``) and it writes, into the build's virtual copy of ``docs/``:

- ``reference/choices.md``: every name of every registry in ``barenet.registry``
  (activations, layers, losses, optimisers, schedules, initialisers);
- ``reference/cli.md``: every option of every subcommand of ``barenet.cli.build_parser``;
- ``reference/hyperparameters.md``: one row per ``barenet.training.hyperparams.PARAMS`` entry,
  and the presets of ``barenet.training.hyperparams.RECIPES``;
- ``reference/api/*.md``: mkdocstrings ``:::`` blocks for barenet's modules, and an
  index of ``barenet.__all__``;
- in a hand-written page, each ``<!-- generated: NAME -->`` line replaced by the
  generated text ``SNIPPETS[NAME]`` (the recipes' presets, the lists of choices);
- ``learn/notebook.ipynb``: a copy of ``examples/california_housing.ipynb``, which
  mkdocs-jupyter renders with its stored outputs (never executing it).

The functions return Markdown text and write nothing, so ``tests/test_docs.py`` checks
them directly.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "src"))  # document this tree's barenet, installed or not

import barenet  # noqa: E402
from barenet import cli, registry  # noqa: E402
from barenet.training import hyperparams  # noqa: E402

NOTEBOOK = ROOT / "examples" / "california_housing.ipynb"

# The registries, in the order the choices page lists them: (registry, title, what
# takes the name).
REGISTRIES = (
    (registry.ACTIVATIONS, "Activations", "`--activation`, `activation=`"),
    (registry.LOSSES, "Losses", "`--loss`, `loss=`"),
    (registry.OPTIMIZERS, "Optimisers", "`--optimizer`, `optimizer=`"),
    (registry.SCHEDULES, "Learning-rate schedules", "`--schedule`, `schedule=`"),
    (registry.INITIALIZERS, "Initialisers", "`--init`, `init=`, `Linear(..., init=)`"),
    (registry.LAYERS, "Layers", "model files, the ONNX export"),
)

# The API reference: one page per theme, each rendering whole modules.
API_PAGES = {
    "model": (
        "The model and training",
        ["model", "trainer", "diagnostics.recorder", "gradcheck", "engines.heap"],
    ),
    "layers": (
        "Layers",
        [
            "layers",
            "activations",
            "tabular.embeddings",
            "tabular.passthrough",
            "tabular.ensemble",
            "tabular.scaling",
            "tabular.retrieval",
        ],
    ),
    "training": (
        "Losses, optimisers, schedules, initialisers",
        ["losses", "optimizers", "schedules", "initializers"],
    ),
    "files": ("Plots and model files", ["diagnostics.plotting", "io.persistence", "io.record"]),
    "data": (
        "Data and tables",
        ["tables.datasets", "tables.columns", "tables.preprocessing", "training.metrics"],
    ),
    "config": (
        "Configuration",
        ["training.hyperparams", "training.config", "training.networks", "registry", "errors"],
    ),
    "integrations": (
        "scikit-learn, Dask and ONNX",
        ["sklearn.estimators", "sklearn.tuning", "io.onnx.export", "io.onnx.graph"],
    ),
}


def cell(text: object) -> str:
    """``text`` made safe for one cell of a Markdown table."""
    return " ".join(str(text).split()).replace("|", "\\|")


def summary(obj) -> str:
    """The first sentence-line of ``obj``'s docstring ("" without one)."""
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def api_anchor(obj) -> str:
    """The identifier mkdocstrings gives ``obj`` (``barenet.layers.Linear``)."""
    return f"{obj.__module__}.{obj.__qualname__}"


def registry_table(reg: registry.Registry) -> str:
    """One row per registered primary name: the name, its aliases, the object it
    names (linked to the API reference) and the first line of its docstring."""
    aliases: dict[str, list[str]] = {}
    for key, obj in reg.items():
        primary = reg.name_of(obj)
        if key != primary:
            aliases.setdefault(primary, []).append(key)
    rows = ["| name | aliases | object | what it is |", "| --- | --- | --- | --- |"]
    for name in reg.choices():
        obj = reg.lookup(name)
        also = ", ".join(f"`{a}`" for a in sorted(aliases.get(name, [])))
        link = f"[`{obj.__name__}`][{api_anchor(obj)}]"
        rows.append(f"| `{name}` | {also} | {link} | {cell(summary(obj))} |")
    return "\n".join(rows)


def choices_page() -> str:
    parts = [
        "# Choices",
        "",
        "Every name barenet accepts for a building block, generated from the registries "
        "in `barenet.registry` when the site is built. The command line, the estimators, "
        "`barenet.training.config.TrainConfig`, model files and the ONNX export all look names up "
        "in these registries; a lookup also accepts the class name (`Relu` for `relu`). "
        "An activation is a layer too, so it appears in both tables. To add one, see "
        "[your own layer](../learn/your-own-layer.md).",
    ]
    for reg, title, used_by in REGISTRIES:
        parts += ["", f"## {title}", "", f"Taken by {used_by}.", "", registry_table(reg)]
    return "\n".join(parts) + "\n"


def _value_of(action: argparse.Action) -> str:
    if action.choices:
        return " \\| ".join(f"`{c}`" for c in action.choices)
    if action.nargs == 0:
        return "(a switch)"
    return f"`{action.metavar or action.dest.upper()}`"


def _help_of(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    if not action.help:
        return ""
    try:  # argparse's own expansion of %(default)s and the like
        return parser._get_formatter()._expand_help(action)
    except (KeyError, TypeError, ValueError):
        return action.help


def options_table(parser: argparse.ArgumentParser) -> str:
    """One row per option of ``parser`` (help hidden with SUPPRESS left out)."""
    rows = ["| option | value | help |", "| --- | --- | --- |"]
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        names = action.option_strings or [action.dest]
        flags = ", ".join(f"`{n}`" for n in names)
        if action.required:
            flags += " (required)"
        rows.append(f"| {flags} | {_value_of(action)} | {cell(_help_of(parser, action))} |")
    return "\n".join(rows)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """``{name: subparser}`` of every subcommand, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_page(parser: argparse.ArgumentParser | None = None) -> str:
    parser = parser or cli.build_parser()
    parts = [
        "# Command line",
        "",
        "Generated from `barenet.cli.build_parser()` when the site is built: every option "
        "of every subcommand, with the help that `barenet COMMAND --help` prints. The "
        "hyper-parameter flags of `barenet train` are described once more, with the "
        "estimators' names, in [the hyper-parameter table](hyperparameters.md).",
        "",
        f"## `{parser.prog}`",
        "",
        cell(parser.description or ""),
        "",
        options_table(parser),
    ]
    for name, sub in subcommands(parser).items():
        parts += ["", f"## `{parser.prog} {name}`", ""]
        for paragraph in (sub.description or "").split("\n\n"):
            parts += [" ".join(paragraph.split()), ""]
        examples = (sub.epilog or "").splitlines()[1:]  # after "examples:"
        if examples:
            parts += ["```bash", *(line.strip() for line in examples), "```", ""]
        parts.append(options_table(sub))
    return "\n".join(parts) + "\n"


def _shown(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def hyperparams_table() -> str:
    """One row per ``hyperparams.PARAMS`` entry."""
    rows = [
        "| name | flag | default | estimators | choices | help |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for param in hyperparams.PARAMS:
        flag = "--" + param.name.replace("_", "-")
        name, default = param.for_estimator
        estimator = f"`{name}={default!r}`"
        choices = ", ".join(f"`{c}`" for c in param.choices or [])
        rows.append(
            f"| `{param.name}` | `{flag}` | `{_shown(param.default)}` | {estimator} "
            f"| {choices} | {cell(param.help)} |"
        )
    return "\n".join(rows)


def recipes_table() -> str:
    """One column per recipe in ``hyperparams.RECIPES``: its value of each parameter it
    sets, beside the parameter's default."""
    names = list(hyperparams.RECIPES)
    set_by_any = [
        p for p in hyperparams.PARAMS if any(p.name in r for r in hyperparams.RECIPES.values())
    ]
    header = "| parameter | default | " + " | ".join(f"`{n}`" for n in names) + " |"
    rows = [header, "| --- | --- |" + " --- |" * len(names)]
    for param in set_by_any:
        values = [
            f"`{_shown(hyperparams.RECIPES[n][param.name])}`"
            if param.name in hyperparams.RECIPES[n]
            else ""
            for n in names
        ]
        rows.append(f"| `{param.name}` | `{_shown(param.default)}` | " + " | ".join(values) + " |")
    return "\n".join(rows)


def hyperparams_page() -> str:
    return (
        "\n".join(
            [
                "# Hyper-parameters",
                "",
                "Generated from `barenet.training.hyperparams.PARAMS`, the one specification of "
                "barenet's training hyper-parameters. Each is a `barenet train` flag, a field "
                "of `barenet.training.config.TrainConfig`, a key of a `barenet tune` grid and a "
                "parameter of the [scikit-learn estimators](../sklearn-dask.md); the "
                "*estimators* column gives the estimators' name and default where they differ.",
                "",
                hyperparams_table(),
                "",
                "## Recipes",
                "",
                "`--recipe NAME` (`recipe=NAME` on the estimators) fills every parameter that "
                "is not given with the recipe's value (generated from "
                "`barenet.training.hyperparams.RECIPES`). On the command line every flag you give "
                "overrides the recipe; the estimators cannot tell a parameter you set from its "
                "default, so there every parameter left at its default takes the recipe's "
                "value. What the `tabular` recipe is and what it scores: "
                "[the tabular recipe](../table.md#the-tabular-recipe).",
                "",
                recipes_table(),
            ]
        )
        + "\n"
    )


def api_pages() -> dict[str, str]:
    """``{path: markdown}`` of the API reference: an index of ``barenet.__all__`` and one
    page per entry of ``API_PAGES``."""
    pages = {}
    for slug, (title, modules) in API_PAGES.items():
        parts = [f"# {title}"]
        for module in modules:
            parts += ["", f"::: barenet.{module}"]
        pages[f"reference/api/{slug}.md"] = "\n".join(parts) + "\n"
    rows = ["| name | defined in | what it is |", "| --- | --- | --- |"]
    for name in sorted(n for n in barenet.__all__ if n != "__version__"):
        obj = getattr(barenet, name)
        link = f"[`barenet.{name}`][{api_anchor(obj)}]"
        rows.append(f"| {link} | `{obj.__module__}` | {cell(summary(obj))} |")
    index = [
        "# API reference",
        "",
        "Generated from the docstrings (NumPy style, with array shapes). "
        "`import barenet` gives these names; the pages in this section document every "
        "public module.",
        "",
        "\n".join(rows),
        "",
        "Modules, by page:",
        "",
    ]
    for slug, (title, modules) in API_PAGES.items():
        listed = ", ".join(f"`barenet.{m}`" for m in modules)
        index.append(f"- [{title}]({slug}.md): {listed}")
    pages["reference/api/index.md"] = "\n".join(index) + "\n"
    return pages


def all_pages() -> dict[str, str]:
    """``{path inside docs/: text}`` of every generated Markdown page."""
    pages = {
        "reference/choices.md": choices_page(),
        "reference/cli.md": cli_page(),
        "reference/hyperparameters.md": hyperparams_page(),
    }
    pages.update(api_pages())
    return pages


def choices_summary() -> str:
    """One bullet per registry: its title and its primary names."""
    return "\n".join(
        f"- {title}: " + ", ".join(f"`{name}`" for name in reg.choices())
        for reg, title, _ in REGISTRIES
    )


def engine_coverage() -> str:
    """What the compiled engine runs and what it leaves to numpy, from the tables of
    ``barenet.engines.select`` and the registries."""
    from barenet.engines import select as engine

    def names(classes) -> str:
        return ", ".join(f"`{c.__name__}`" for c in classes) or "none"

    kinds = (
        ("layers", engine.layer_codes(), registry.LAYERS),
        ("losses", engine.LOSS_CODES, registry.LOSSES),
        ("optimisers", engine.OPTIMIZER_CODES, registry.OPTIMIZERS),
    )
    lines = []
    for kind, covered, reg in kinds:
        left = [reg.lookup(n) for n in reg.choices() if reg.lookup(n) not in covered]
        lines.append(f"- {kind}: {names(covered)}; not covered: {names(left)}")
    return "\n".join(lines)


def first_line(path: Path) -> str:
    """The first sentence of a Python file's module docstring ("" without one)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return re.split(r"(?<=[.;])\s", paragraph)[0]


def module_map() -> str:
    """One row per module under ``src/barenet`` (packages by their ``__init__.py``):
    its path and the first line of its docstring, in path order."""
    package = ROOT / "src" / "barenet"
    rows = ["| module | what it is |", "| --- | --- |"]
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent)
        shown = relative.parent.as_posix() + "/" if path.name == "__init__.py" else relative
        rows.append(f"| `{shown}` | {cell(first_line(path))} |")
    return "\n".join(rows)


def test_count() -> str:
    """How many test functions ``tests/`` holds and in how many files (counted from the
    source: each ``def test_...``, before pytest expands the parametrised ones)."""
    files = sorted((ROOT / "tests").rglob("test_*.py"))
    count = sum(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
        for path in files
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    )
    return f"{count:,} test functions in {len(files)} files"


# What a hand-written page may ask for with a line ``<!-- generated: NAME -->``.
SNIPPETS = {
    "recipes": recipes_table,
    "hyperparameters": hyperparams_table,
    "choices": choices_summary,
    "engine-coverage": engine_coverage,
    "modules": module_map,
    "test-count": test_count,
}
PLACEHOLDER = re.compile(r"^<!-- generated: ([\w.-]+) -->$", re.MULTILINE)


def fill_placeholders(text: str, where: str = "a page") -> str:
    """``text`` with each ``<!-- generated: NAME -->`` line replaced by ``SNIPPETS[NAME]()``;
    an unknown NAME is an error naming the page (it fails the build)."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in SNIPPETS:
            raise KeyError(
                f"{where}: unknown generated snippet {name!r}; known: {sorted(SNIPPETS)}"
            )
        return SNIPPETS[name]()

    return PLACEHOLDER.sub(replace, text)


def pages_with_placeholders() -> dict[str, str]:
    """``{path inside docs/: filled text}`` of every hand-written page asking for a snippet."""
    filled = {}
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if PLACEHOLDER.search(text):
            name = path.relative_to(DOCS).as_posix()
            filled[name] = fill_placeholders(text, name)
    return filled


def write_pages() -> None:
    import mkdocs_gen_files

    for path, text in pages_with_placeholders().items():
        with mkdocs_gen_files.open(path, "w") as handle:
            handle.write(text)
    for path, text in all_pages().items():
        with mkdocs_gen_files.open(path, "w") as handle:
            handle.write(text)
        mkdocs_gen_files.set_edit_path(path, "docs/gen_pages.py")
    with mkdocs_gen_files.open("learn/notebook.ipynb", "w") as handle:
        handle.write(NOTEBOOK.read_text(encoding="utf-8"))
    mkdocs_gen_files.set_edit_path("learn/notebook.ipynb", "examples/build_notebook.py")


if __name__ in ("__main__", "<run_path>"):  # run by mkdocs-gen-files (runpy.run_path)
    write_pages()
