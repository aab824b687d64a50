"""Every notebook in notebooks/ runs, with small settings, without errors — none of them rots.

The notebooks read their size from SYNTHKIT_NB_ROWS / SYNTHKIT_NB_EPOCHS and write only
under SYNTHKIT_NB_WORKDIR; the kernel runs in a temporary folder, so nothing lands in the
repository. The executed notebook is kept in memory, never written back.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SMALL = {"SYNTHKIT_NB_ROWS": "800", "SYNTHKIT_NB_EPOCHS": "2"}


def _snapshot(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


def _texts(nb: nbformat.NotebookNode) -> tuple[str, int]:
    """All text the code cells produced, and how many images they displayed."""
    texts, images = [], 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                texts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                texts.append(data.get("text/plain", "") + data.get("text/html", ""))
                images += "image/png" in data
    return "\n".join(texts), images


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, dict]:
    """Each notebook executed once with small settings: {name: {nb, work, cwd, changed}}."""
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            tmp = tmp_path_factory.mktemp(path.stem)
            work, cwd = tmp / "work", tmp / "cwd"
            cwd.mkdir()
            for k, v in {**SMALL, "SYNTHKIT_NB_WORKDIR": str(work), "SYNTHKIT_TRACKING": "off"}.items():
                mp.setenv(k, v)
            before = _snapshot(NOTEBOOKS)
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
            out[path.name] = {"nb": nb, "work": work, "cwd": cwd, "changed": _snapshot(NOTEBOOKS) != before}
    return out


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs_without_errors_and_writes_nothing_in_the_repo(executed, name: str) -> None:
    run = executed[name]
    errors = [o for c in run["nb"].cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]
    assert not run["changed"], "the notebook wrote into notebooks/"
    assert not any(run["cwd"].iterdir()), "the notebook wrote into its working directory"


def test_walkthrough_produces_its_results(executed) -> None:
    run = executed["walkthrough.ipynb"]
    text, images = _texts(run["nb"])
    for needle in ("800 rows, at most 2 epochs", "mean JSD vs train", "C2ST AUC", "DCR share", "stopped because",
                   "active coordinates of c", "inactive (ignored by the model", "How close the synthetic data are", "report:"):
        assert needle in text, needle
    assert images >= 4  # column plots, perturbation and traversal
    page = (run["work"] / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", page)
    assert (run["work"] / "model" / "synthesizer.json").is_file()


def test_saved_walkthrough_shows_results() -> None:
    """The committed notebook is saved executed, so a reader on GitHub sees the outputs."""
    nb = nbformat.read(NOTEBOOKS / "walkthrough.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("outputs") for c in code), "save the notebook executed (see notebooks/README.md)"
    text, images = _texts(nb)
    assert "mean JSD vs train" in text and images >= 4
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
