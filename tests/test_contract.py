"""The README is the contract: its commands are what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_install_run_and_test_commands() -> None:
    blocks = _bash_blocks()
    assert len(blocks) >= 2
    main_job, tests = blocks[0], blocks[1]
    assert main_job.startswith("pip install") and "synthkit " in main_job
    assert tests.startswith("pip install") and "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _bash_blocks()[1] in ci


def test_torch_pinned_for_every_install() -> None:
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text(encoding="utf-8")
    for block in _bash_blocks()[:2]:
        assert "-c constraints.txt" in block
