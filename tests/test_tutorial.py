"""docs/tutorial.ipynb: kept small in the repository, and executed whole so that it never rots."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_tutorial_is_saved_valid_and_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    with_outputs = [i for i, cell in enumerate(code_cells(notebook)) if cell.outputs or cell.execution_count]
    assert not with_outputs, f"code cells {with_outputs} of {NOTEBOOK.name} hold outputs; clear them before saving"


@pytest.mark.slow
def test_the_tutorial_runs_on_builtin_data_and_draws_every_step(tmp_path):
    """About five minutes on 2 cores: it trains four pipelines and a learning curve."""
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel inherits this process's environment, so E2ELAB_CACHE_DIR is the tests' private cache.
    NotebookClient(notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()

    cells = code_cells(notebook)  # execute() has raised on any cell's error
    figures = sum("image/png" in output.get("data", {}) for cell in cells for output in cell.outputs)
    # digits samples, 2 image pipelines' stages, 2 speech pipelines' stages, the curve, the explanation
    assert figures >= 7
    curve = json.loads((tmp_path / "runs" / "tutorial" / "curve-digits" / "curve.json").read_text())
    assert set(curve["pipelines"]) == {"end-to-end", "traditional"}
    printed = "".join(output.get("text", "") for cell in cells for output in cell.outputs if output.output_type == "stream")
    assert printed.count("trustworthy: ") == 2
