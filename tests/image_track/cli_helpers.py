"""Helpers the image CLI tests share (not a test module: pytest puts this folder on sys.path)."""

from __future__ import annotations

from click.testing import CliRunner, Result

from image_track.cli import image


def invoke(*args: str) -> Result:
    """`synthkit image ARGS…`, exceptions not caught (a traceback fails the test)."""
    return CliRunner().invoke(image, list(args), catch_exceptions=False)


def one_error_line(res: Result) -> str:
    """The only line on stderr of a command that failed with exit code 2: 'error: …', no traceback."""
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    return lines[0]
