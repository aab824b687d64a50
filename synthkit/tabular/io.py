"""Reading tables from disk and writing outputs without leaving half-written files.

`read_table` accepts the CSVs people actually have: UTF-8 with or without a byte-order
mark, latin-1 / cp1252 exports, and `,` `;` tab or `|` as the delimiter. Everything a user
can get wrong (no file, an empty file, a header with no rows, ragged rows, duplicate column
names) stops with a one-line :class:`~synthkit.errors.SynthkitError` naming the file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from synthkit.errors import SynthkitError

#: Delimiters tried, in order of preference when counts tie.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

#: Bytes read to detect the encoding and the delimiter.
_SNIFF_BYTES = 1 << 20


def detect_encoding(sample: bytes) -> str:
    """Return the encoding of a file's first bytes: utf-8-sig, utf-8 or cp1252/latin-1."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    # A multi-byte UTF-8 character may be cut at the end of the sample: ignore the last 3 bytes.
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:
            return "utf-8"
    # cp1252 is what spreadsheet exports on Windows use; latin-1 decodes any byte.
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(text: str) -> str:
    """Pick the delimiter that splits the header and the next lines into equally many fields."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", 0
    for delim in DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=delim))) for line in lines]
        header = counts[0]
        if header < 2:
            continue
        # A delimiter that gives every line the header's field count is the real one.
        score = header * 2 if all(c == header for c in counts) else header
        if score > best_score:
            best, best_score = delim, score
    return best


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV file into a DataFrame, detecting encoding and delimiter.

    Raises :class:`SynthkitError` with a one-line message naming the file when the file is
    missing, empty, has a header but no rows, has duplicate column names or ragged rows.
    """
    p = Path(path)
    if not p.exists():
        raise SynthkitError(f"{p}: no such file")
    if p.is_dir():
        raise SynthkitError(f"{p}: is a directory, expected a CSV file")
    with p.open("rb") as fh:
        sample = fh.read(_SNIFF_BYTES)
    if not sample.strip():
        raise SynthkitError(f"{p}: the file is empty")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="ignore")
    delimiter = detect_delimiter(text)

    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    names = [h.strip() for h in header]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SynthkitError(f"{p}: duplicate column name {duplicates[0]!r}")
    if any(n == "" for n in names) and len(names) > 1:
        raise SynthkitError(f"{p}: column {names.index('') + 1} has an empty header")

    try:
        df = _read_csv(p, delimiter, encoding)
    except UnicodeDecodeError:
        # A non-UTF-8 byte past the sniffed sample: the file is latin-1 after all.
        df = _read_csv(p, delimiter, "latin-1")
    except pd.errors.EmptyDataError:
        raise SynthkitError(f"{p}: the file is empty") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise SynthkitError(f"{p}: malformed CSV ({detail})") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise SynthkitError(f"{p}: has a header but no data rows")
    return df


def _read_csv(p: Path, delimiter: str, encoding: str) -> pd.DataFrame:
    return pd.read_csv(p, sep=delimiter, encoding=encoding, low_memory=False, skipinitialspace=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    Outputs are never half-written: on any error the temporary file is removed and an
    existing file at `path` is left untouched.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise SynthkitError(f"{target}: the folder {parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write `df` as UTF-8 CSV atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """Write `text` to `path` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
