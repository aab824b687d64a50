"""Print an HTML page to PDF with headless Chromium (or Chrome), when one is installed.

The report's print stylesheet (``@media print``) decides page breaks; Chromium only lays
the page out. Nothing is fetched: the page is self-contained and Chromium runs with its
network features off. Set ``SYNTHKIT_CHROMIUM`` to the browser's path when it is not on
``PATH`` under one of the usual names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from synthkit.errors import SynthkitError
from synthkit.tabular.io import atomic_path

#: Executable names tried, in order, when SYNTHKIT_CHROMIUM is not set.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

#: Seconds Chromium may take to print.
TIMEOUT_S = 180

#: Flags for a headless run that touches nothing outside its own temporary profile.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    env = os.environ.get("SYNTHKIT_CHROMIUM")
    if env:
        return shutil.which(env) or (env if Path(env).is_file() else None)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium(chromium: str | None = None) -> str:
    """The browser to print with; a one-line error when there is none."""
    found = chromium or find_chromium()
    if not found:
        raise SynthkitError(
            "--pdf needs headless Chromium or Chrome, and none was found (install the 'chromium' package, or set "
            "SYNTHKIT_CHROMIUM to the browser's path); the HTML report prints to PDF from any browser too"
        )
    return found


def chromium_command(chromium: str, page: Path, profile: Path, *, pdf: Path | None = None,
                     screenshot: Path | None = None, window: str = "1200,2400") -> list[str]:
    """The command line that prints `page` to `pdf` (or takes a PNG `screenshot`)."""
    cmd = [chromium, *_FLAGS, f"--user-data-dir={profile}"]
    if pdf is not None:
        cmd += ["--no-pdf-header-footer", f"--print-to-pdf={pdf}"]
    if screenshot is not None:
        cmd += [f"--window-size={window}", f"--screenshot={screenshot}"]
    return [*cmd, page.resolve().as_uri()]


def html_to_pdf(html: str, path: str | os.PathLike[str], chromium: str | None = None) -> Path:
    """Write `html` as a PDF at `path` (atomically: no half-written PDF on failure)."""
    browser = require_chromium(chromium)
    target = Path(path)
    with tempfile.TemporaryDirectory(prefix="synthkit-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        with atomic_path(target) as out:
            cmd = chromium_command(browser, page, Path(tmp) / "profile", pdf=out)
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise SynthkitError(f"{target}: Chromium did not finish printing within {TIMEOUT_S} s") from None
            except OSError as exc:
                raise SynthkitError(f"{target}: Chromium ({browser}) could not be started ({exc.strerror or exc})") from None
            if res.returncode != 0 or out.stat().st_size == 0:
                detail = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
                raise SynthkitError(f"{target}: Chromium failed to print the report ({detail[:200]})")
    return target
