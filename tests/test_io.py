"""Reading CSVs people actually have, and writing outputs that are never half-written.

Every bad input either reads correctly or stops with a one-line SynthkitError that names the
file; writers leave no temporary file and never clobber an existing file when they fail.
"""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthkit.tabular.io as sio
from synthkit.errors import SynthkitError
from synthkit.tabular.io import atomic_path, detect_delimiter, detect_encoding, read_table, write_table, write_text
from synthkit.tabular.schema import ColumnKind, infer_schema


def _write(tmp_path: Path, data: bytes, name: str = "data.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _read_error(path: Path, *needles: str) -> str:
    """read_table(path) must raise a one-line SynthkitError naming the file (and each needle)."""
    with pytest.raises(SynthkitError) as info:
        read_table(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg
    for needle in needles:
        assert needle in msg, msg
    return msg


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------------------


def test_utf8_without_bom(tmp_path):
    p = _write(tmp_path, "name,amount\ncafé,1\nÅsa,2\n".encode("utf-8"))
    df = read_table(p)
    assert list(df.columns) == ["name", "amount"]
    assert df["name"].tolist() == ["café", "Åsa"]
    assert df["amount"].tolist() == [1, 2]


def test_utf8_with_bom_does_not_leak_into_first_header(tmp_path):
    p = _write(tmp_path, b"\xef\xbb\xbf" + "name,amount\ncafé,1\n".encode("utf-8"))
    df = read_table(p)
    assert list(df.columns) == ["name", "amount"]  # not '\ufeffname'
    assert df["name"].tolist() == ["café"]


def test_latin1_with_semicolons(tmp_path):
    p = _write(tmp_path, "name;n\ncafé;1\nnaïve;2\n".encode("latin-1"))
    df = read_table(p)
    assert list(df.columns) == ["name", "n"]
    assert df["name"].tolist() == ["café", "naïve"]
    assert df["n"].tolist() == [1, 2]


def test_latin1_accent_in_header(tmp_path):
    p = _write(tmp_path, "Région,montant\nÎle,3\n".encode("latin-1"))
    df = read_table(p)
    assert list(df.columns) == ["Région", "montant"]
    assert df["Région"].tolist() == ["Île"]


def test_cp1252_euro_sign(tmp_path):
    p = _write(tmp_path, "amount;currency;note\n1;€;“quoted”\n2;€;ok\n".encode("cp1252"))
    df = read_table(p)
    assert df["currency"].tolist() == ["€", "€"]
    assert df["note"].tolist() == ["“quoted”", "ok"]


def test_cp1252_byte_in_the_last_bytes_of_a_short_file(tmp_path):
    # Bug fixed: a non-UTF-8 byte among the last 3 bytes was taken for a cut multi-byte
    # character, the file read as UTF-8 and then as latin-1, and '€' came back as '\x80'.
    p = _write(tmp_path, b"amount;cur\n1;\x80\n")
    assert read_table(p)["cur"].tolist() == ["€"]
    p = _write(tmp_path, "name\ncafé\n".encode("cp1252"), "short.csv")
    assert read_table(p)["name"].tolist() == ["café"]


def test_non_utf8_byte_past_the_sniffed_sample_falls_back_to_cp1252(tmp_path, monkeypatch):
    monkeypatch.setattr(sio, "_SNIFF_BYTES", 32)
    rows = "".join(f"{i},plain\n" for i in range(20))
    p = _write(tmp_path, ("id,label\n" + rows + "99,prix en €\n").encode("cp1252"))
    df = read_table(p)
    assert len(df) == 21
    assert df["label"].iloc[-1] == "prix en €"


def test_malformed_csv_after_a_fallback_encoding_is_still_a_synthkit_error(tmp_path, monkeypatch):
    # The re-read in a fallback encoding goes through the same error handling as the first read.
    monkeypatch.setattr(sio, "_SNIFF_BYTES", 32)
    rows = "".join(f"{i},plain\n" for i in range(20))
    p = _write(tmp_path, ("id,label\n" + rows + "99,café\n100,x,extra\n").encode("latin-1"))
    _read_error(p, "line 23")


def test_utf16_with_bom_excel_unicode_text(tmp_path):
    p = _write(tmp_path, "name\tamount\ncafé\t1\nzoë\t2\n".encode("utf-16"))
    df = read_table(p)
    assert list(df.columns) == ["name", "amount"]
    assert df["name"].tolist() == ["café", "zoë"]
    assert df["amount"].tolist() == [1, 2]


def test_detect_encoding():
    assert detect_encoding(b"\xef\xbb\xbfa,b\n") == "utf-8-sig"
    assert detect_encoding("a,b\ncafé,1\n".encode("utf-8")) == "utf-8"
    assert detect_encoding(b"a,b\n1,2\n") == "utf-8"
    # A multi-byte character cut by the end of the sample is still UTF-8.
    assert detect_encoding("a\ncafé".encode("utf-8")[:-1]) == "utf-8"
    assert detect_encoding("a\ncafé;1\n".encode("latin-1")) == "cp1252"
    assert detect_encoding(b"a\n\x80") == "cp1252"
    # 0x81 is undefined in cp1252: only latin-1 decodes it.
    assert detect_encoding(b"a\n\x81x\n") == "latin-1"
    assert detect_encoding("a\n".encode("utf-16")) == "utf-16"


# ---------------------------------------------------------------------------------------
# Delimiters
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters(tmp_path, delim):
    text = delim.join(["id", "income", "city"]) + "\n"
    text += delim.join(["1", "1200.5", "Paris"]) + "\n"
    text += delim.join(["2", "980.25", "Lyon"]) + "\n"
    df = read_table(_write(tmp_path, text.encode()))
    assert list(df.columns) == ["id", "income", "city"]
    assert df["income"].tolist() == [1200.5, 980.25]
    assert df["city"].tolist() == ["Paris", "Lyon"]


def test_semicolon_file_with_decimal_commas_is_not_split_on_commas(tmp_path):
    df = read_table(_write(tmp_path, b"a;b\n1,5;x\n2,5;y\n"))
    assert list(df.columns) == ["a", "b"]
    assert df["b"].tolist() == ["x", "y"]


def test_detect_delimiter():
    assert detect_delimiter("a,b,c\n1,2,3\n") == ","
    assert detect_delimiter("a;b;c\n1;2;3\n") == ";"
    assert detect_delimiter("a\tb\n1\t2\n") == "\t"
    assert detect_delimiter("a|b\n1|2\n") == "|"
    # Commas inside quoted fields of a semicolon file do not count.
    assert detect_delimiter('name;note\n"Smith, J";"a, b, c"\n"Doe, A";"d, e"\n') == ";"
    # One column, or nothing at all: the default.
    assert detect_delimiter("amount\n1\n2\n") == ","
    assert detect_delimiter("") == ","


def test_single_column_file(tmp_path):
    df = read_table(_write(tmp_path, b"amount\n1.5\n2.5\n"))
    assert list(df.columns) == ["amount"]
    assert df["amount"].tolist() == [1.5, 2.5]


def test_spaces_after_delimiter_and_crlf_line_ends(tmp_path):
    df = read_table(_write(tmp_path, b"a, b\r\n1, x\r\n2, y\r\n"))
    assert list(df.columns) == ["a", "b"]
    assert df["b"].tolist() == ["x", "y"]


def test_quoted_newline_and_blank_lines(tmp_path):
    df = read_table(_write(tmp_path, b'a,b\n"line1\nline2",1\n\n3,4\n\n'))
    assert df["a"].tolist() == ["line1\nline2", "3"]
    assert df["b"].tolist() == [1, 4]


def test_leading_blank_lines_before_the_header(tmp_path):
    df = read_table(_write(tmp_path, b"\n  \nid;x\n1;2.5\n"))
    assert list(df.columns) == ["id", "x"]
    assert df["x"].tolist() == [2.5]


def test_field_longer_than_the_csv_module_default_limit(tmp_path):
    # Bug fixed: the delimiter sniffing raised _csv.Error on a field over 128 KiB.
    note = "x" * 300_000
    df = read_table(_write(tmp_path, f'id,note\n1,"{note}"\n2,short\n'.encode()))
    assert df["note"].str.len().tolist() == [300_000, 5]


def test_bom_file_that_is_not_utf8(tmp_path):
    _read_error(_write(tmp_path, b"\xef\xbb\xbfa,b\n\xff,1\n"), "not valid")


# ---------------------------------------------------------------------------------------
# Degenerate files and columns
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf"], ids=["zero-bytes", "whitespace", "bom-only"])
def test_empty_file(tmp_path, data):
    _read_error(_write(tmp_path, data), "empty")


@pytest.mark.parametrize("data", [b"a,b,c\n", b"a,b,c"], ids=["newline", "no-newline"])
def test_header_only(tmp_path, data):
    _read_error(_write(tmp_path, data), "no data rows")


def test_single_row(tmp_path):
    df = read_table(_write(tmp_path, b"id,amount,city\n7,12.5,Paris\n"))
    assert df.shape == (1, 3)
    schema = infer_schema(df)
    # One row: every column holds a single value.
    assert {c.kind for c in schema.columns} == {ColumnKind.CONSTANT}
    assert schema["amount"].constant_value == 12.5
    assert schema.n_rows == 1


def test_all_null_and_constant_columns(tmp_path):
    rows = "".join(f"{i},,same,{i * 1.5}\n" for i in range(30))
    df = read_table(_write(tmp_path, ("id,empty,const,x\n" + rows).encode()))
    assert df["empty"].isna().all()
    schema = infer_schema(df)
    assert schema["empty"].kind is ColumnKind.CONSTANT
    assert schema["empty"].missing_rate == 1.0
    assert schema["empty"].constant_value is None
    assert schema["const"].kind is ColumnKind.CONSTANT
    assert schema["const"].constant_value == "same"
    assert schema["const"].missing_rate == 0.0


def test_column_of_mixed_numbers_and_text(tmp_path):
    values = [str(v) for v in np.round(np.linspace(1, 500, 100), 3)]
    values[:3] = ["unknown", "see note", "unknown"]  # ("n/a" would be read as missing by pandas)
    mostly_text = ["abc", "12", "def", "7"] * 25
    rows = "".join(f"{a},{b}\n" for a, b in zip(values, mostly_text))
    df = read_table(_write(tmp_path, ("amount,code\n" + rows).encode()))
    assert df["amount"].dtype == object
    schema = infer_schema(df)
    amount = schema["amount"]
    assert amount.kind is ColumnKind.CONTINUOUS
    assert amount.missing_rate == 0.03
    assert any("'unknown'" in note for note in amount.notes)
    assert schema["code"].kind is ColumnKind.CATEGORICAL


def test_unparseable_dates_read_as_text(tmp_path):
    rows = "".join(f"{i},not a date {i % 7},2021-13-{i:02d}\n" for i in range(1, 31))
    df = read_table(_write(tmp_path, ("id,when,bad_iso\n" + rows).encode()))
    schema = infer_schema(df)
    assert schema["when"].kind is ColumnKind.CATEGORICAL
    assert schema["when"].datetime_format is None
    # Month 13 never parses: unique per row, so an identifier, not a datetime.
    assert schema["bad_iso"].kind is not ColumnKind.DATETIME
    assert schema["bad_iso"].datetime_format is None


# ---------------------------------------------------------------------------------------
# Structural errors
# ---------------------------------------------------------------------------------------


def test_duplicate_column_names(tmp_path):
    _read_error(_write(tmp_path, b"a,b,a\n1,2,3\n"), "duplicate", "'a'")


def test_duplicate_column_names_after_stripping_spaces(tmp_path):
    _read_error(_write(tmp_path, b"a, b,b \n1,2,3\n"), "duplicate", "'b'")


def test_empty_header_name(tmp_path):
    _read_error(_write(tmp_path, b"a,,c\n1,2,3\n"), "column 2")


def test_ragged_row_with_too_many_fields(tmp_path):
    _read_error(_write(tmp_path, b"a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n"), "line 3")


def test_ragged_row_with_too_few_fields(tmp_path):
    # Bug fixed: pandas padded short rows with NaN, silently.
    _read_error(_write(tmp_path, b"a,b,c\n1,2,3\n4,5\n8,9,10\n"), "line 3", "ragged")


def test_ragged_first_row_longer_than_header(tmp_path):
    # Bug fixed: pandas made the first column the index and shifted every value one column
    # to the left (a=[2, 5], b=[3, 6]), silently.
    _read_error(_write(tmp_path, b"a,b\n1,2,3\n4,5,6\n"), "line 2", "ragged")


def test_unterminated_quote(tmp_path):
    _read_error(_write(tmp_path, b'a,b\n1,"open\n3,4\n'), "malformed")


def test_missing_file(tmp_path):
    _read_error(tmp_path / "nope.csv", "no such file")


def test_directory_path(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    _read_error(folder, "directory")


@pytest.mark.parametrize(
    "data",
    [gzip.compress(b"a,b\n1,2\n"), b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4],
    ids=["gzip", "xlsx-like"],
)
def test_binary_file(tmp_path, data):
    # Bug fixed: a compressed file or a workbook "read" as a table of garbage.
    _read_error(_write(tmp_path, data), "binary")


def test_unreadable_file(tmp_path, monkeypatch):
    p = _write(tmp_path, b"a,b\n1,2\n")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    _read_error(p, "Permission denied")


def test_errors_are_always_synthkit_errors(tmp_path):
    """A battery of bad files: never another exception type."""
    cases = {
        "ragged_latin1.csv": "a;b\ncafé;1;2\n".encode("latin-1"),
        "only_delims.csv": b",,,\n,,,\n",
        "quote_header.csv": b'"a,b\n1,2\n',
        "nul.csv": b"a,b\n1,\x002\n",
    }
    for name, data in cases.items():
        p = _write(tmp_path, data, name)
        try:
            read_table(p)
        except SynthkitError as exc:
            assert str(p) in str(exc)
            assert "\n" not in str(exc)


# ---------------------------------------------------------------------------------------
# Writing: atomic_path, write_table, write_text
# ---------------------------------------------------------------------------------------


def test_write_table_round_trip_and_no_leftovers(tmp_path):
    df = pd.DataFrame({"id": [1, 2, 3], "name": ["café", "a,b", 'say "hi"'], "x": [0.5, np.nan, 2.25]})
    target = tmp_path / "out.csv"
    write_table(df, target)
    assert _listing(tmp_path) == ["out.csv"]
    back = read_table(target)
    pd.testing.assert_frame_equal(back, df)


def test_write_text(tmp_path):
    target = tmp_path / "schema.json"
    write_text('{"name": "café"}\n', target)
    assert target.read_bytes() == '{"name": "café"}\n'.encode("utf-8")
    assert _listing(tmp_path) == ["schema.json"]


def test_atomic_path_writes_beside_the_target(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent  # same folder: os.replace is atomic
        assert tmp != target
        assert not target.exists()  # nothing visible until the block succeeds
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert _listing(tmp_path) == ["out.csv"]


def test_atomic_path_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with atomic_path("rel.txt") as tmp:
        tmp.write_text("ok")
    assert (tmp_path / "rel.txt").read_text() == "ok"
    assert _listing(tmp_path) == ["rel.txt"]


def test_atomic_path_error_keeps_existing_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("original")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("boom")
    assert target.read_text() == "original"
    assert _listing(tmp_path) == ["out.csv"]


def test_atomic_path_error_without_existing_file_creates_nothing(tmp_path):
    target = tmp_path / "new.csv"
    with pytest.raises(KeyError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise KeyError("x")
    assert _listing(tmp_path) == []


def test_write_table_failure_midway_does_not_clobber(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("original")

    def half_write(self, path, *args, **kwargs):
        Path(path).write_text("id,x\n1,")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_write)
    with pytest.raises(OSError):
        write_table(pd.DataFrame({"id": [1], "x": [2]}), target)
    assert target.read_text() == "original"
    assert _listing(tmp_path) == ["out.csv"]


def test_write_text_type_error_does_not_clobber(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("original")
    with pytest.raises(TypeError):
        write_text(b"bytes are not text", target)  # type: ignore[arg-type]
    assert target.read_text() == "original"
    assert _listing(tmp_path) == ["out.txt"]


def test_missing_output_folder(tmp_path):
    target = tmp_path / "no" / "such" / "out.csv"
    with pytest.raises(SynthkitError, match="does not exist") as info:
        write_table(pd.DataFrame({"a": [1]}), target)
    assert str(target) in str(info.value)
    assert _listing(tmp_path) == []


def test_output_path_is_a_directory(tmp_path):
    # Bug fixed: os.replace raised IsADirectoryError after the block had run.
    target = tmp_path / "out.csv"
    target.mkdir()
    with pytest.raises(SynthkitError, match="directory") as info:
        write_table(pd.DataFrame({"a": [1]}), target)
    assert str(target) in str(info.value)
    assert _listing(tmp_path) == ["out.csv"]
    assert list(target.iterdir()) == []


def test_output_folder_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SynthkitError) as info:
        write_text("hi", blocker / "out.txt")
    assert str(blocker / "out.txt") in str(info.value)
    assert blocker.read_text() == "x"


def test_replace_failure_is_a_synthkit_error_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("original")

    def fail(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sio.os, "replace", fail)
    with pytest.raises(SynthkitError, match="Permission denied") as info:
        write_text("new", target)
    assert str(target) in str(info.value)
    assert target.read_text() == "original"
    assert _listing(tmp_path) == ["out.csv"]


def test_new_output_gets_default_permissions(tmp_path):
    # Bug fixed: tempfile.mkstemp made every output mode 0600 (owner-only).
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "shared.csv"
    write_table(pd.DataFrame({"a": [1]}), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_overwritten_output_keeps_its_permissions(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_text("new", target)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_decimal_commas_in_semicolon_files_are_numbers(tmp_path):
    p = tmp_path / "eu.csv"
    p.write_bytes("Betrag;Name;Saldo\n1,5;Müller;1.234,50\n2,25;Łukasz;2,00\n-3;Nuñez;12\n".encode("utf-8"))
    df = read_table(p)
    assert df["Betrag"].tolist() == [1.5, 2.25, -3.0]
    assert df["Saldo"].tolist() == [1234.5, 2.0, 12.0]
    assert df["Name"].tolist() == ["Müller", "Łukasz", "Nuñez"]


def test_dot_decimals_in_semicolon_files_are_unchanged(tmp_path):
    p = tmp_path / "codes.csv"
    p.write_text("code;x\n1.234;a\n5.678;b\n", encoding="utf-8")
    df = read_table(p)
    assert df["code"].tolist() == [1.234, 5.678]  # no comma anywhere: dots are decimal points
