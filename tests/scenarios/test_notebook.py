"""``notebooks/explore.ipynb`` runs from top to bottom in a fresh kernel, so
it cannot rot: a cell that raises fails this test (nbclient raises
``CellExecutionError``), and the outputs that matter are there."""
from __future__ import annotations

import base64
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"


def _execute(nb: nbformat.NotebookNode) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's inline one
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONHASHSEED"] = "0"
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute(env=env)


def _outputs(cell: nbformat.NotebookNode, mime: str) -> list[str]:
    return [o["data"][mime] for o in cell.get("outputs", []) if mime in o.get("data", {})]


def test_the_notebook_runs_and_shows_tables_and_figures() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit the notebook without outputs"
    _execute(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, (cell.source, errors)
    first = _outputs(code[0], "text/html")
    assert first and "<table>" in first[0] and "availability" in first[0]
    pngs = [png for cell in code for png in _outputs(cell, "image/png")]
    assert len(pngs) >= 4  # availability, latency, healing, the sweep's intervals
    assert all(base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n" for png in pngs)
    frames = [c for c in code if "to_frame()" in c.source or "load_frame(" in c.source
              or "summary_frame(" in c.source]
    assert len(frames) == 3
    for cell in frames:
        assert any("<table" in html for html in _outputs(cell, "text/html")), cell.source
    sweep_text = "".join(o.get("text", "") for c in code for o in c.outputs
                         if o.output_type == "stream")
    assert "== sweep leader_down" in sweep_text and "± 95% CI" in sweep_text


def test_a_cell_that_raises_fails_the_run() -> None:
    """The check above can fail: a raising cell stops the execution."""
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import ddbsim"),
                                         nbformat.v4.new_code_cell("raise RuntimeError('rotten')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    try:
        _execute(nb)
    except CellExecutionError as exc:
        assert "rotten" in str(exc)
    else:
        raise AssertionError("a raising cell did not fail the notebook's run")
