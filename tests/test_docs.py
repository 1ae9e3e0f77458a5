"""The documentation site: the generated pages against the code they come from (every
registered name, every command-line option, every hyper-parameter, every public name),
the navigation, README as the short front door (its links, its two commands), and a
strict build of the whole site."""

import importlib.util
import re
from pathlib import Path

import pytest

import barenet
from barenet import cli, registry
from barenet.training import hyperparams

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def load_docs_module(name: str):
    """``docs/NAME.py`` as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_docs_module("gen_pages")
check_site = load_docs_module("check_site")


def table_rows(markdown: str) -> list[list[str]]:
    """The body rows of every Markdown table in ``markdown``, split into cells."""
    rows = []
    for line in markdown.splitlines():
        if not line.startswith("| ") or line.startswith("| ---"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows.append(cells)
    return rows


def code_names(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def section(page: str, heading: str) -> str:
    """The text of the ``## heading`` section of ``page``, up to the next one."""
    start = page.index(f"\n## {heading}\n")
    end = page.find("\n## ", start + 1)
    return page[start : end if end != -1 else len(page)]


# --- the lists of choices ------------------------------------------------------------


def test_every_registry_has_a_table_on_the_choices_page():
    registries = {id(r) for r in vars(registry).values() if isinstance(r, registry.Registry)}
    listed = {id(r) for r, _, _ in gen.REGISTRIES}
    assert registries == listed, "add the new registry to REGISTRIES in docs/gen_pages.py"


@pytest.mark.parametrize("reg", [r for r, _, _ in gen.REGISTRIES], ids=lambda r: r.kind)
def test_a_choices_table_names_every_registered_name_and_nothing_else(reg):
    rows = table_rows(gen.registry_table(reg))[1:]  # the header row left out
    primary = [code_names(row[0])[0] for row in rows]
    aliases = [a for row in rows for a in code_names(row[1])]
    assert primary == reg.choices()
    assert sorted(primary + aliases) == sorted(reg)  # every key, aliases included, once


@pytest.mark.parametrize("reg", [r for r, _, _ in gen.REGISTRIES], ids=lambda r: r.kind)
def test_each_choice_links_to_the_object_it_names(reg):
    for row in table_rows(gen.registry_table(reg))[1:]:
        obj = reg.lookup(code_names(row[0])[0])
        assert f"[`{obj.__name__}`][{obj.__module__}.{obj.__qualname__}]" == row[2]


def test_the_choices_page_holds_every_registry_table():
    page = gen.choices_page()
    for reg, title, _ in gen.REGISTRIES:
        assert gen.registry_table(reg) in section(page, title)


def test_the_choices_summary_lists_each_registrys_names():
    lines = gen.choices_summary().splitlines()
    assert len(lines) == len(gen.REGISTRIES)
    for line, (reg, title, _) in zip(lines, gen.REGISTRIES, strict=True):
        assert line.startswith(f"- {title}: ")
        assert code_names(line) == reg.choices()


def test_a_new_registration_shows_up_in_the_table():
    reg = registry.Registry("widget")

    @reg.register("round_one", "round")
    def round_one():
        """A widget."""

    text = gen.registry_table(reg)
    assert "| `round_one` | `round` |" in text and "A widget." in text


# --- the command-line reference ------------------------------------------------------


def test_the_cli_reference_names_every_option_of_every_subcommand():
    parser = cli.build_parser()
    page = gen.cli_page(parser)
    commands = gen.subcommands(parser)
    assert set(commands) >= {"train", "predict", "evaluate", "tune", "export-onnx"}
    for name, sub in [(None, parser), *commands.items()]:
        text = section(page, f"`barenet {name}`" if name else "`barenet`")
        for action in sub._actions:
            if action.help == "==SUPPRESS==" or not action.option_strings:
                continue
            for option in action.option_strings:
                assert f"`{option}`" in text, (name, option)
            for choice in action.choices or ():
                assert f"`{choice}`" in text, (name, option, choice)


def test_the_cli_reference_gives_each_commands_purpose_and_examples():
    from barenet.cli.help_text import COMMANDS

    page = gen.cli_page()
    for name, (purpose, _, examples) in COMMANDS.items():
        text = section(page, f"`barenet {name}`")
        assert text.split("\n\n")[1] == purpose
        for example in examples:
            assert f"\n{example.strip()}\n" in text


def test_the_cli_reference_gives_each_option_its_help_with_the_default():
    page = gen.cli_page()
    row = next(r for r in table_rows(section(page, "`barenet train`")) if "`--batch-size`" in r[0])
    assert row[2] == "rows per mini-batch (default: 32)"


# --- the hyper-parameter table -------------------------------------------------------


def test_the_hyperparameter_table_has_one_row_per_param_in_order():
    rows = table_rows(gen.hyperparams_table())[1:]
    assert [code_names(r[0])[0] for r in rows] == [p.name for p in hyperparams.PARAMS]
    for row, param in zip(rows, hyperparams.PARAMS, strict=True):
        assert row[1] == f"`--{param.name.replace('_', '-')}`"
        assert code_names(row[4]) == (param.choices or [])
        estimator_name, default = param.for_estimator
        assert row[3] == f"`{estimator_name}={default!r}`"


def test_the_hyperparameter_choices_are_the_registries():
    rows = {code_names(r[0])[0]: r for r in table_rows(gen.hyperparams_table())[1:]}
    assert code_names(rows["activation"][4]) == registry.ACTIVATIONS.choices()
    assert code_names(rows["optimizer"][4]) == registry.OPTIMIZERS.choices()


def test_the_recipes_table_gives_every_preset_value():
    rows = table_rows(gen.recipes_table())
    header, body = rows[0], {code_names(r[0])[0]: r for r in rows[1:]}
    for name, preset in hyperparams.RECIPES.items():
        column = header.index(f"`{name}`")
        for param, value in preset.items():
            assert body[param][column] == f"`{gen._shown(value)}`"


# --- the API reference and the navigation --------------------------------------------


def test_the_api_reference_renders_the_module_of_every_public_name():
    documented = {f"barenet.{m}" for _, modules in gen.API_PAGES.values() for m in modules}
    for name in barenet.__all__:
        if name != "__version__":
            module = getattr(barenet, name).__module__
            assert module in documented, f"add {module} to API_PAGES in docs/gen_pages.py"
    index = gen.api_pages()["reference/api/index.md"]
    for name in barenet.__all__:
        if name != "__version__":
            assert f"[`barenet.{name}`]" in index


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    generated = [*gen.all_pages(), "learn/notebook.ipynb"]
    written = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")]
    for page in generated + written:
        assert re.search(rf"[\s:]{re.escape(page)}\n", nav), page


def test_hand_written_pages_get_their_generated_snippets():
    filled = gen.pages_with_placeholders()
    assert {"table.md", "learn/contract.md"} <= set(filled)
    for name, text in filled.items():
        assert "<!-- generated:" not in text, name
    assert gen.recipes_table() in filled["table.md"]
    assert gen.choices_summary() in filled["learn/contract.md"]


def test_the_engine_coverage_sorts_every_registered_class_into_covered_or_not():
    from barenet.engines import select as engine

    lines = gen.engine_coverage().splitlines()
    tables = (
        (engine.layer_codes(), registry.LAYERS),
        (engine.LOSS_CODES, registry.LOSSES),
        (engine.OPTIMIZER_CODES, registry.OPTIMIZERS),
    )
    for line, (covered, reg) in zip(lines, tables, strict=True):
        listed, _, left = line.partition("; not covered: ")
        assert code_names(listed) == [c.__name__ for c in covered]
        classes = {reg.lookup(n).__name__ for n in reg.choices()}
        assert set(code_names(left)) == classes - {c.__name__ for c in covered}


def test_an_unknown_snippet_is_an_error_naming_the_page():
    with pytest.raises(KeyError, match="page.md: unknown generated snippet 'nope'"):
        gen.fill_placeholders("text\n<!-- generated: nope -->\n", "page.md")


def test_the_module_map_lists_every_module_once_with_its_docstring():
    package = ROOT / "src" / "barenet"
    rows = table_rows(gen.module_map())[1:]
    shown = [code_names(row[0])[0] for row in rows]
    expected = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent)
        expected.append(
            relative.parent.as_posix() + "/" if path.name == "__init__.py" else str(relative)
        )
    assert shown == expected
    layers = next(row for row in rows if row[0] == "`barenet/layers.py`")
    assert layers[1] == gen.first_line(package / "layers.py") != ""
    page = (DOCS / "development.md").read_text(encoding="utf-8")
    assert "<!-- generated: modules -->" in page and "<!-- generated: test-count -->" in page


def test_the_test_count_is_counted_from_the_tests():
    files = list((ROOT / "tests").rglob("test_*.py"))
    defined = sum(
        len(re.findall(r"^\s*(?:async )?def test", p.read_text(encoding="utf-8"), re.MULTILINE))
        for p in files
    )
    assert gen.test_count() == f"{defined:,} test functions in {len(files)} files"


def user_pages() -> dict[str, str]:
    """``{name: text}`` of every hand-written page and of the notebook's Markdown cells."""
    import json

    pages = {
        p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")
    }
    notebook = json.loads(gen.NOTEBOOK.read_text(encoding="utf-8"))
    pages["learn/notebook.ipynb"] = "\n".join(
        "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"
    )
    return pages


def test_no_user_page_speaks_of_issues():
    for name, text in user_pages().items():
        found = re.search(r".{0,40}\bissues?\b.{0,40}", text, re.IGNORECASE)
        assert found is None, f"{name}: {found.group(0)!r}"


def test_the_first_run_transcript_is_in_the_summarys_current_form():
    """The transcript on getting started has exactly the lines ``summary_text`` prints
    for the figures it shows, and the page says what the first run costs."""
    from barenet.cli.reporting import summary_text

    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    block = section(page, "A first run").split("```text\n")[1].split("```")[0]
    lines = [line for line in block.splitlines() if not line.startswith(("$ ", "epoch "))]
    numbers = [float(n) for n in re.findall(r"-?\d+\.\d+", "\n".join(lines[3:6]))]
    rows = [int(n) for n in re.findall(r"(\d+) rows", block)]
    epochs = int(re.search(r"Trained (\d+) epochs", block).group(1))
    seconds = [float(n) for n in re.findall(r"(\d+\.\d) s\b", lines[-2])]
    names = ("barenet MLP", "training mean", "least squares")
    metrics = [
        dict(zip(("mse", "rmse", "mae", "r2"), numbers[i * 4 : i * 4 + 4], strict=True))
        for i in range(3)
    ]
    summary = {
        "rows": {"train": rows[0], "validation": rows[1], "test": rows[1]},
        "validation": "test split",
        "interrupted": False,
        "diverged": None,
        "task": "regression",
        "dataset": "california",
        "config": {"epochs": epochs, "early_stopping": None},
        "epochs_trained": epochs,
        "kept_epoch": epochs,
        "test": metrics[0],
        "baselines": dict(zip(names[1:], metrics[1:], strict=True)),
        "wall_seconds": seconds[0],
        "train_seconds": seconds[1],
        "plot": "losses.png",
    }
    assert summary_text(summary).splitlines() == lines
    assert "compiling kernels (once)" in " ".join(section(page, "A first run").split())


# --- the site's math ------------------------------------------------------------------


MATHJAX = (
    '<!-- Load mathjax -->\n<script src=""> </script>\n<script type="text/x-mathjax-config">'
    "displayMath: [ ['$$','$$'] ]</script>\n<!-- End of mathjax configuration -->"
)


def test_the_notebooks_math_becomes_mathml_and_its_empty_loader_goes():
    pytest.importorskip("latex2mathml", reason='pip install -e ".[docs]"')
    hooks = load_docs_module("hooks")
    page = (
        f"<head>{MATHJAX}</head><p>$$f(x) = \\frac{{1}}{{1 + e^{{-x}}}}$$</p>"
        "<p>the range $(0, 1)$ and $a &lt; b$</p>"
        '<pre>print("costs $5 and $$6")</pre><p><code>$x$</code></p>'
    )
    assert check_site.page_problems(page)  # raw math and an empty loader, before
    html = hooks.render_math(page, dollars=True)
    assert check_site.page_problems(html) == []
    assert html.count('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">') == 1
    assert html.count('display="inline"') == 2 and "&lt;" not in html.split("<pre>")[0][-200:]
    assert '<pre>print("costs $5 and $$6")</pre>' in html and "<code>$x$</code>" in html
    assert "<mfrac>" in html and 'src=""' not in html


def test_markdown_math_from_arithmatex_becomes_mathml():
    pytest.importorskip("latex2mathml", reason='pip install -e ".[docs]"')
    hooks = load_docs_module("hooks")
    page = (
        '<div class="arithmatex">\\[L = \\frac{1}{N}\\]</div>'
        '<p>cost <span class="arithmatex">\\(p_i\\)</span> and $5</p>'
    )
    html = hooks.render_math(page)  # Markdown pages: bare dollars are money, left alone
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in html
    assert 'display="inline"><mrow><msub><mi>p</mi><mi>i</mi></msub>' in html
    assert "and $5</p>" in html and check_site.page_problems(html) == []


def test_the_site_check_names_raw_math_and_empty_scripts():
    assert check_site.page_problems("<p>$x$ and <code>$$</code></p><pre>\\(</pre>") == []
    assert check_site.page_problems("<p>$$x$$</p>")[0].startswith("raw math")
    assert check_site.page_problems('<script src=""></script>') == ['an empty <script src="">']


# --- the front door: README.md ---------------------------------------------------


README = ROOT / "README.md"


def test_the_readme_is_a_short_front_door():
    assert len(README.read_text(encoding="utf-8").splitlines()) < 200


def test_the_readme_links_exist():
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in local), "the front door links into the site"
    headings = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in text.splitlines()
        if line.startswith("## ")
    }
    for link in local:
        path, _, anchor = link.partition("#")
        if path:
            assert (ROOT / path).exists(), link
        else:
            assert anchor in headings, link


def test_the_readme_keeps_the_two_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[2] == "```bash"
    assert lines[3] == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && barenet"
        "   # install, train on California Housing"
    )
    assert lines[4] == (
        'pip install -e ".[test]" && python -m pytest'
        "                                   # run the tests"
    )
    assert lines[5] == "```"


# --- the site ------------------------------------------------------------------------


DOCS_TOOLS = (
    "mkdocs",
    "material",
    "mkdocstrings_handlers",
    "mkdocs_jupyter",
    "mkdocs_gen_files",
    "latex2mathml",
)


def docs_tools_missing() -> str | None:
    """The first of the docs extra's modules that is not installed, or None."""
    return next((m for m in DOCS_TOOLS if importlib.util.find_spec(m) is None), None)


@pytest.mark.skipif(
    docs_tools_missing() is not None,
    reason=f'the docs tools are not installed ({docs_tools_missing()}): pip install -e ".[docs]"',
)
def test_the_site_builds_in_strict_mode(tmp_path):
    site = tmp_path / "site"
    result = check_site.build(site)
    assert result.returncode == 0, result.stderr[-4000:]
    noise = [line for line in result.stderr.splitlines() if line and not line.startswith("INFO")]
    assert noise == [], "\n".join(noise[:40])  # no third-party notices, no warnings
    for page in ("reference/cli", "reference/choices", "learn/notebook", "reference/api/layers"):
        assert (site / page / "index.html").is_file(), page
    choices = (site / "reference/choices/index.html").read_text(encoding="utf-8")
    assert "silu" in choices and "mish" in choices
    notebook = (site / "learn/notebook/index.html").read_text(encoding="utf-8")
    assert "Training a neural network from scratch" in notebook
    assert "data:image/png;base64" in notebook  # the stored outputs, not re-executed
    assert notebook.count("<math ") >= 10 and "<mfrac>" in notebook  # rendered, offline
    assert check_site.problems(site) == []  # no raw $$, no empty <script src="">
    nav = (site / "index.html").read_text(encoding="utf-8")
    entries = re.findall(r'<span class="md-ellipsis">\s*API reference\s*</span>', nav)
    assert len(entries) == 1  # one entry: the section is its own index page
    layers = (site / "reference/api/layers/index.html").read_text(encoding="utf-8")
    assert "list(layers)" not in (site / "reference/api/model/index.html").read_text("utf-8")
    assert "Linear" in layers
    assert not (ROOT / "site").exists()
