"""The format registry, guessing a file's format, and reading/writing bank files by path."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import needle.banks as banks
from needle.banks import (
    BankEntry,
    ExportResult,
    guess_format,
    read_bank_file,
    registry,
    write_bank_file,
)
from needle.errors import BankError, BankFormatError


def test_registry_holds_every_builtin_format() -> None:
    assert registry.names() == [
        "ncmec",
        "vics",
        "stopncii",
        "te-simple-csv",
        "te-local-file",
        "csv",
        "text",
    ]
    assert banks.format_names() == registry.names()
    assert set(banks.__all__) >= {"BankEntry", "ImportProblem", "ImportResult", "BankFormat"}


def _files(tmp: Path, h: Any) -> dict[str, Path]:
    """One small file per format, under names that do and do not give the format away."""
    xml = f"<queryResult><images><image><fingerprints><md5>{h.md5(1)}</md5></fingerprints></image></images></queryResult>"
    vics = json.dumps({"@odata.context": "x#Media", "value": [{"MediaID": 1, "MD5": h.md5(1)}]})
    stop = json.dumps(
        {"count": 1, "hashRecords": [{"signalType": "VideoMD5", "hashValue": h.md5(1)}]}
    )
    contents = {
        "ncmec": ("export.xml", xml),
        "vics": ("hashset.json", vics),
        "stopncii": ("page.json", stop),
        "te-simple-csv": ("simple.HASH_MD5.te", f"{h.md5(1)},1,2021,a\n"),
        "te-local-file": ("signals.txt", f"video_md5 {h.md5(1)}\n"),
        "csv": ("bank.csv", f"signal_type,signal\nmd5,{h.md5(1)}\n"),
        "text": ("bank.txt", f"# hashes\n{h.md5(1)}\n"),
    }
    files = {}
    for name, (filename, text) in contents.items():
        files[name] = tmp / filename
        files[name].write_text(text)
    return files


@pytest.mark.parametrize(
    "name", ["ncmec", "vics", "stopncii", "te-simple-csv", "te-local-file", "csv", "text"]
)
def test_read_bank_file_guesses_the_format_from_name_and_content(
    tmp_path: Path, hashes: Any, name: str
) -> None:
    path = _files(tmp_path, hashes)[name]

    result = read_bank_file(path)

    assert result.format == name
    assert [(e.signal_type, e.value) for e in result.entries] == [("md5", hashes.md5(1))]


@pytest.mark.parametrize("name", ["ncmec", "vics", "stopncii", "te-local-file", "csv", "text"])
def test_content_alone_is_enough_without_a_telling_suffix(
    tmp_path: Path, hashes: Any, name: str
) -> None:
    original = _files(tmp_path, hashes)[name]
    renamed = original.with_name("download.dat")
    original.rename(renamed)

    assert read_bank_file(renamed).format == name


def test_an_unrecognisable_file_raises_naming_the_formats(tmp_path: Path) -> None:
    path = tmp_path / "notes.dat"
    path.write_text("just some words\n")

    with pytest.raises(BankFormatError) as excinfo:
        read_bank_file(path)
    message = str(excinfo.value)
    assert "notes.dat" in message and "format=" in message
    for name in registry.names():
        assert name in message


def test_a_json_file_of_neither_json_format_raises(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"hello": "world"}')

    with pytest.raises(BankFormatError, match="cannot tell the format"):
        read_bank_file(path)


def test_format_given_by_name_wins_over_the_suffix(tmp_path: Path, hashes: Any) -> None:
    path = tmp_path / "list.json"
    path.write_text(f"{hashes.pdq(1)}\n")

    result = read_bank_file(path, format="text", signal_type="pdq")

    assert result.format == "text" and len(result.entries) == 1


def test_unknown_format_name_and_missing_file_raise_clearly(tmp_path: Path) -> None:
    with pytest.raises(BankFormatError, match="unknown bank format 'xlsx'; known formats: ncmec"):
        read_bank_file(tmp_path / "x", format="xlsx")
    with pytest.raises(BankFormatError, match=r"cannot read bank file .*No such file"):
        read_bank_file(tmp_path / "missing.txt")
    with pytest.raises(BankFormatError, match="unknown bank format"):
        write_bank_file([], tmp_path / "out", format="xlsx")


def test_the_old_name_threatexchange_says_what_replaced_it(tmp_path: Path) -> None:
    with pytest.raises(BankFormatError, match=r"te-simple-csv .* te-local-file"):
        read_bank_file(tmp_path / "simple.pdq.te", format="threatexchange")
    with pytest.raises(BankFormatError, match="named for what reads them"):
        write_bank_file([], tmp_path / "out.te", format="threatexchange")


def test_guess_format_prefers_a_sniffed_suffix_match(hashes: Any) -> None:
    stop = json.dumps({"hashRecords": []}).encode()
    assert guess_format("a.json", stop).name == "stopncii"
    assert guess_format("a.json", b'{"odata.metadata": "", "value": []}').name == "vics"
    assert guess_format("empty.csv", b"").name == "csv"  # the only .csv format
    assert guess_format("list.txt", f"md5,{hashes.md5(1)}".encode()).name == "csv"
    assert guess_format("list.txt", b"").name == "text"


def test_every_format_reports_what_it_cannot_hold(tmp_path: Path, hashes: Any) -> None:
    entries = [
        BankEntry("md5", hashes.md5(1), ("l",), {"k": "v"}),
        BankEntry("sha1", hashes.sha1(1)),
        BankEntry("sha256", hashes.sha256(1)),
        BankEntry("pdq", hashes.pdq(1)),
    ]
    expected_skips = {
        "text": {},
        "csv": {},
        "vics": {"sha256": 1, "pdq": 1},
        "stopncii": {"sha1": 1, "sha256": 1},
        "ncmec": {"sha256": 1},
        "te-local-file": {"sha1": 1},
    }
    for name, skips in expected_skips.items():
        exported = write_bank_file(entries, tmp_path / f"out.{name}", format=name)
        assert dict(exported.skipped) == skips, name
        assert exported.written == 4 - sum(skips.values()), name
        assert exported.dropped_meta == 1, name  # nobody holds the made-up meta key "k"
        written = read_bank_file(tmp_path / f"out.{name}", format=name)
        assert written.problems == [], name
        assert len(written.entries) == exported.written, name


def test_written_file_reads_back_what_the_format_kept(tmp_path: Path, hashes: Any) -> None:
    entries = [BankEntry("md5", hashes.md5(i), (f"l{i}",)) for i in range(5)]

    for name in ["text", "csv", "vics", "stopncii", "ncmec", "te-local-file"]:
        path = tmp_path / f"k.{name}"
        write_bank_file(entries, path, format=name)
        values = [e.value for e in read_bank_file(path, format=name).entries]
        assert values == [e.value for e in entries], name


def test_a_failed_write_leaves_no_file_behind(tmp_path: Path, hashes: Any) -> None:
    path = tmp_path / "mixed.te"  # the name says no type, so the entries must share one
    entries = [BankEntry("md5", hashes.md5(1)), BankEntry("sha1", hashes.sha1(1))]

    with pytest.raises(BankError, match="holds one signal type"):
        write_bank_file(entries, path, format="te-simple-csv")
    assert list(tmp_path.iterdir()) == []


def test_write_into_a_missing_folder_raises_bank_error(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="cannot write bank file"):
        write_bank_file([], tmp_path / "no" / "such" / "dir.csv", format="csv")


def test_export_result_summary_says_what_was_left_out() -> None:
    result = ExportResult("vics", "/x.json", 3, {"pdq": 2}, dropped_labels=1, dropped_meta=0)

    assert not result.lossless
    assert result.summary() == (
        "wrote 3 entries to /x.json (vics); skipped 2 pdq (the format cannot hold them or not "
        "the type asked); 1 entries lost labels the format cannot hold"
    )
    assert ExportResult("csv", "/y", 1).lossless


def test_duplicates_across_records_are_kept_once_with_labels_merged(hashes: Any) -> None:
    from needle.banks.csvfile import CsvFormat

    data = f"md5,{hashes.md5(1)},a\nmd5,{hashes.md5(1)},b,a\n".encode()

    result = CsvFormat().read(io.BytesIO(data))

    assert result.entries == [BankEntry("md5", hashes.md5(1), ("a", "b"))]


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(
        ["ncmec", "vics", "stopncii", "te-simple-csv", "te-local-file", "csv", "text"]
    ),
    data=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet='0123456789abcdef,#"\n\r{}[]<>:/ -', max_size=300).map(str.encode),
    ),
)
def test_property_no_input_makes_a_reader_raise_anything_but_bank_format_error(
    name: str, data: bytes
) -> None:
    fmt = registry.get(name)
    try:
        result = fmt.read(io.BytesIO(data), filename="simple.md5.te")
    except BankFormatError:
        return
    assert all(p.line >= 1 for p in result.problems)
