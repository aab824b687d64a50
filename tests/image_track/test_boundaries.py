"""One core, two tracks (ARCHITECTURE.md): the image track builds on synthkit.core only, and
nothing in synthkit imports the image track except the CLI's lazy hook for `synthkit image`
(tests/image_track/test_cli.py checks that the tabular commands never load it)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_image_track_imports_only_the_core_of_synthkit():
    files = sorted((ROOT / "image_track").rglob("*.py"))
    assert files
    for f in files:
        bad = {m for m in _imports(f) if m.startswith("synthkit") and not m.startswith("synthkit.core")}
        assert not bad, f"{f.relative_to(ROOT)} imports {sorted(bad)}"


def test_synthkit_never_imports_the_image_track():
    for f in sorted((ROOT / "synthkit").rglob("*.py")):
        bad = {m for m in _imports(f) if m.split(".")[0] == "image_track"}
        assert not bad, f"{f.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_cli_hook_is_the_only_mention_of_the_image_track_in_synthkit():
    mentions = {
        str(f.relative_to(ROOT)): [line.strip() for line in f.read_text().splitlines() if "image_track" in line]
        for f in sorted((ROOT / "synthkit").rglob("*.py"))
    }
    mentions = {k: v for k, v in mentions.items() if v}
    assert list(mentions) == ["synthkit/cli.py"], mentions
    assert [line for line in mentions["synthkit/cli.py"] if "image_track.cli:image" in line], mentions
