"""The example notebook runs from top to bottom (so it cannot rot)."""

import shutil
from pathlib import Path

import pytest
from conftest import california_home, needs_california

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "california_housing.ipynb"


def test_saved_notebook_carries_its_outputs():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count for cell in code_cells)  # all were run
    assert sum(bool(cell.outputs) for cell in code_cells) >= len(code_cells) - 1
    images = [o for cell in code_cells for o in cell.outputs if "image/png" in o.get("data", {})]
    assert images, "the loss plot is saved in the notebook"


@needs_california
def test_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("SCIKIT_LEARN_DATA", california_home())
    monkeypatch.setenv("MPLBACKEND", "Agg")
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    notebook = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    text = "".join(
        o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "identical predictions: True" in text
    assert (tmp_path / "losses.png").exists() and (tmp_path / "model.npz").exists()
