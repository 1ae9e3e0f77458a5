"""The example notebook: ``examples/build_notebook.py`` writes its cells, executes them and
saves it with its outputs. These tests check that the saved notebook is the script's, that
its outputs say what the text claims (every gradient check passes except the deliberately
broken layer's, the learner's layers train and match the built-ins, the files round-trip,
the command line runs), and, when California Housing is available, execute it again."""

import importlib.util
import math
import re
from pathlib import Path

import pytest
from conftest import california_home, needs_california

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = EXAMPLES / "california_housing.ipynb"
REPORT = re.compile(r"^(NOT )?all within tolerance", re.MULTILINE)


def builder():
    spec = importlib.util.spec_from_file_location("build_notebook", EXAMPLES / "build_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def cell_defining(notebook, snippet: str):
    (cell,) = [cell for cell in code_cells(notebook) if snippet in cell.source]
    return cell


def floats_after(label: str, text: str) -> list[float]:
    match = re.search(re.escape(label) + r"(.*)$", text, re.MULTILINE)
    assert match, f"no line starting {label!r}"
    return [float(v) for v in re.findall(r"-?\d+\.\d+", match.group(1))]


def check_outputs(notebook) -> None:
    cells = code_cells(notebook)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    for cell in cells:
        assert cell.outputs, f"no output from:\n{cell.source}"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{cell.source}\nraised {errors[0].ename}: {errors[0].evalue}"
    everything = "".join(text_of(cell) for cell in cells)

    # barenet's own code is shown for every piece of the teaching notebook
    shown = [cell for cell in cells if re.match(r"show\(|print\(\"MLP\"", cell.source)]
    assert len(shown) >= 9
    for cell in shown:
        assert "# barenet/" in text_of(cell) and "def " in text_of(cell), cell.source
    methods = text_of(cell_defining(notebook, "barenet.MLP.update"))
    assert all(f"def {name}(self" in methods for name in ("forward", "loss", "backward", "update"))
    assert "def _run_batches(" in text_of(cell_defining(notebook, "Trainer._run_batches"))

    # every gradient check passes, except the deliberately broken BuggyTanh's
    buggy = cell_defining(notebook, "class BuggyTanh")
    for cell in cells:
        verdicts = REPORT.findall(text_of(cell))
        if cell is buggy:
            assert verdicts == ["NOT "], text_of(cell)
        else:
            assert "NOT " not in verdicts, f"{cell.source}\n{text_of(cell)}"
    assert len(REPORT.findall(everything)) >= 7  # Linear, Sigmoid, Relu, MSE, 2 Tanh, MyLinear

    # the learner's Tanh trains, and both learner's layers match the built-ins bit for bit
    tanh_losses = floats_after("MyTanh train loss per epoch:", everything)
    assert len(tanh_losses) >= 2 and all(math.isfinite(v) for v in tanh_losses)
    assert tanh_losses[-1] < tanh_losses[0]
    assert "same weights as with barenet.Tanh: True" in everything
    assert "same weights with MyLinear as with barenet.Linear: True" in everything

    # the notebook's network learns: its test RMSE beats predicting the mean price
    rmse = floats_after("test RMSE:", everything)[0]
    (baseline,) = floats_after("always predicting the mean training price: RMSE", everything)
    assert rmse < 0.8 * baseline
    images = [o for cell in cells for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 4, "the loss plot and three diagnostics figures are shown"

    # the diagnostics' three contrasts say what the text says they show
    def watched(name):
        text = everything.split(f"\n{name}:\n", 1)[1]
        gradients = floats_after("  gradient norm, first layer", text)
        return gradients, text.split("\n")[:4]  # gradients, ratio, units, outcome

    (relu_first, _), _ = watched("Relu")
    (sigmoid_first, sigmoid_last), _ = watched("Sigmoid")
    assert sigmoid_first < sigmoid_last / 2 and sigmoid_first < relu_first / 2
    _, lines = watched("Tanh, weights 6 times larger")
    assert max(float(v) for v in re.findall(r"saturated (\d+)%", lines[2])) > 20
    ratio = {
        name: floats_after(
            "  first layer's largest update/weight ratio", everything.split(name)[1]
        )
        for name in ("plain SGD, clip_norm=1.0:", "plain SGD, no clipping:")
    }
    assert ratio["plain SGD, no clipping:"][0] > 1.5 * ratio["plain SGD, clip_norm=1.0:"][0]

    # the command line, a CSV file, saving and loading, the estimator
    assert "Test set: 4128 rows of california" in everything
    assert "Model saved: diabetes.npz" in everything
    predictions = text_of(cell_defining(notebook, "!barenet predict")).split()
    assert predictions[0] == "predicted_progression" and len(predictions) == 4
    assert 0 < floats_after("r2:", everything)[0] <= 1
    assert everything.count("identical predictions: True") == 2
    assert "BarenetTypeError: cannot describe layer 1 (MyTanh)" in everything
    assert 0.2 < floats_after("barenet R^2 on the test rows:", everything)[0] <= 1


def test_saved_notebook_is_the_one_the_script_builds():
    saved = nbformat.read(NOTEBOOK, as_version=4)
    built = builder().build()
    assert [(c.cell_type, c.source) for c in saved.cells] == [
        (c.cell_type, c.source) for c in built.cells
    ], "run python examples/build_notebook.py"


def test_saved_notebook_carries_its_outputs():
    check_outputs(nbformat.read(NOTEBOOK, as_version=4))


@pytest.mark.slow
@needs_california
def test_notebook_executes_and_writes_only_into_a_temporary_folder(tmp_path, monkeypatch):
    """Opened in a folder (here a copy of examples/), the notebook leaves that folder as
    it was: its files go to a folder of its own under the temporary directory."""
    opened_in, temporary = tmp_path / "examples", tmp_path / "tmp"
    opened_in.mkdir()
    temporary.mkdir()
    (opened_in / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())
    monkeypatch.setenv("SCIKIT_LEARN_DATA", california_home())
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TMPDIR", str(temporary))  # the kernel's tempfile folder
    build_notebook = builder()
    notebook = build_notebook.execute(build_notebook.build(), opened_in)
    check_outputs(notebook)
    assert [p.name for p in opened_in.iterdir()] == [NOTEBOOK.name]
    (workdir,) = temporary.glob("barenet-walkthrough-*")
    for name in ("losses.png", "california.npz", "diabetes.npz", "diabetes.csv"):
        assert (workdir / name).exists(), name
