"""Reading tables from disk and writing outputs without leaving half-written files.

`read_table` accepts the CSVs people actually have: UTF-8 with or without a byte-order
mark, latin-1 / cp1252 exports, UTF-16 with a byte-order mark (Excel's "Unicode text"), and
`,` `;` tab or `|` as the delimiter. Everything a user can get wrong (no file, an empty file, a
binary file, a header with no rows, ragged rows, duplicate column names) stops with a one-line
:class:`~synthkit.errors.SynthkitError` naming the file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from synthkit.errors import SynthkitError

#: Delimiters tried, in order of preference when counts tie.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

#: Bytes read to detect the encoding and the delimiter.
_SNIFF_BYTES = 1 << 20

# pandas reads fields of any length; the csv module (used here to sniff the delimiter, read the
# header and check field counts) raised _csv.Error past 128 KiB, e.g. on a long free-text note.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


def detect_encoding(sample: bytes) -> str:
    """Return the encoding of a file's first bytes: utf-8-sig, utf-16, utf-8 or cp1252/latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # A multi-byte UTF-8 character may be cut at the end of the sample: an incremental decoder
    # (final=False) accepts exactly that. (Ignoring any error in the last 3 bytes, as this did
    # before, took a short cp1252 file ending in e.g. '€' = 0x80 for UTF-8.)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
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


def read_table(path: str | os.PathLike[str], na_values: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV file into a DataFrame, detecting encoding and delimiter.

    Only empty cells are missing values, and the markers in `na_values` (e.g. ``["NA",
    "n/a"]``) when the user declares them: text such as "NA" or "None" is kept as a value.

    Raises :class:`SynthkitError` with a one-line message naming the file when the file is
    missing, empty, has a header but no rows, has duplicate column names or ragged rows.
    """
    p = Path(path)
    if not p.exists():
        raise SynthkitError(f"{p}: no such file")
    if p.is_dir():
        raise SynthkitError(f"{p}: is a directory, expected a CSV file")
    try:
        with p.open("rb") as fh:
            sample = fh.read(_SNIFF_BYTES)
    except OSError as exc:  # permissions, a FIFO gone away ...: the user's file, not a bug
        raise SynthkitError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if not sample.strip():
        raise SynthkitError(f"{p}: the file is empty")
    encoding = detect_encoding(sample)
    if encoding != "utf-16" and b"\x00" in sample:
        # Text CSVs hold no NUL bytes; without this check an .xlsx or .gz file "reads" as garbage.
        raise SynthkitError(
            f"{p}: is a binary file, not a CSV text file (an Excel workbook, a compressed file, "
            "or UTF-16 without a byte-order mark?)"
        )
    text = sample.decode(encoding, errors="ignore")
    delimiter = detect_delimiter(text)

    # The header is the first non-blank line, as for pandas.
    header = next((r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if not _is_blank(r)), [])
    names = [h.strip() for h in header]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SynthkitError(f"{p}: duplicate column name {duplicates[0]!r}")
    if any(n == "" for n in names) and len(names) > 1:
        raise SynthkitError(f"{p}: column {names.index('') + 1} has an empty header")

    # A byte that is not UTF-8 past the sniffed sample: a Windows export after all, so cp1252
    # (where every byte decodes; '€' stays '€'), else latin-1 (which decodes any byte). The
    # fallback reads go through the same error handling as the first one (before, the re-read
    # sat in an `except` clause, outside it).
    fallbacks = {"utf-8": ("cp1252", "latin-1"), "cp1252": ("latin-1",)}.get(encoding, ())
    df = None
    for enc in (encoding, *fallbacks):
        try:
            df = _read_csv(p, delimiter, enc, tuple(str(v) for v in na_values))
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise SynthkitError(f"{p}: the file is empty") from None
        except (ValueError, OSError) as exc:  # pd.errors.ParserError is a ValueError
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise SynthkitError(f"{p}: malformed CSV ({detail})") from None
        encoding = enc
        break
    if df is None:
        raise SynthkitError(f"{p}: is not valid {encoding} text (it starts with a {encoding} byte-order mark)")
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise SynthkitError(f"{p}: has a header but no data rows")
    _check_field_counts(p, encoding, delimiter, len(names))
    if delimiter != ",":
        df = _decimal_commas(df)
    return df


#: A number written with a decimal comma, optionally with '.' grouping thousands: 1.234,56
_DECIMAL_COMMA = r"-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?"


def _decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """Parse text columns written with decimal commas (European exports, which use ';' or
    tab as the delimiter) as numbers: a column converts when every value has that shape and
    at least one has a comma, so codes such as '1.234' alone are left as they are."""
    for name in df.columns[df.dtypes == object]:
        text = df[name].dropna().astype(str).str.strip()
        if len(text) and text.str.fullmatch(_DECIMAL_COMMA).all() and text.str.contains(",", regex=False).any():
            converted = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            df[name] = pd.to_numeric(converted).reindex(df.index)
    return df


def _check_field_counts(p: Path, encoding: str, delimiter: str, n_fields: int) -> None:
    """Stop at the first row whose field count differs from the header's.

    pandas only rejects rows with *more* fields than the first data row: it pads short rows
    with NaN, and when the first data rows have one field more than the header it silently
    turns the first column into the index (shifting every value one column to the left).
    """
    seen_header = False
    try:
        with p.open("r", encoding=encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, skipinitialspace=True)
            for row in reader:
                if len(row) == n_fields:
                    seen_header = True
                    continue
                if _is_blank(row):
                    continue  # a blank line, which pandas skips too
                if not seen_header:
                    break  # cannot happen: the header has n_fields fields
                raise SynthkitError(
                    f"{p}: ragged rows: line {reader.line_num} has {len(row)} field(s) but the header has {n_fields}"
                )
    except (csv.Error, UnicodeDecodeError) as exc:
        raise SynthkitError(f"{p}: malformed CSV ({exc})") from None


def _is_blank(row: list[str]) -> bool:
    """A record read from a blank (or whitespace-only) line."""
    return len(row) <= 1 and not "".join(row).strip()


def _read_csv(p: Path, delimiter: str, encoding: str, na_values: tuple[str, ...] = ()) -> pd.DataFrame:
    # Only empty cells are missing (plus what the user declares): "NA", "null", "N/A" and
    # "None" are real categories in many tables (a home-ownership code "NA", a verification
    # level "None"), and pandas' default list would turn them into gaps.
    return pd.read_csv(
        p, sep=delimiter, encoding=encoding, low_memory=False, skipinitialspace=True,
        keep_default_na=False, na_values=["", *na_values],
    )


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
    if not parent.is_dir():
        raise SynthkitError(f"{target}: {parent} is not a folder")
    if target.is_dir():
        raise SynthkitError(f"{target}: is a directory, expected a file name")
    try:
        tmp_path = _create_temp(parent, target.name)
    except OSError as exc:
        raise SynthkitError(f"{target}: cannot write in {parent} ({exc.strerror or exc})") from None
    try:
        yield tmp_path
        try:
            # An existing file keeps its permissions, as it would when overwritten in place.
            os.chmod(tmp_path, stat.S_IMODE(target.stat().st_mode))
        except FileNotFoundError:
            pass
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            raise SynthkitError(f"{target}: cannot be written ({exc.strerror or exc})") from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _create_temp(parent: Path, name: str) -> Path:
    """Create an empty temporary file in `parent`, with the permissions open() would give.

    tempfile.mkstemp (used before) creates files with mode 0600, which os.replace then gave
    the output: a CSV written for a team was readable by its owner only. os.open with 0o666
    lets the umask decide, as for any other new file.
    """
    for _ in range(100):
        tmp = parent / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name for {name} in {parent}")


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write `df` as UTF-8 CSV atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """Write `text` to `path` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
