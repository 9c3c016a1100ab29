"""Plain text hash lists: round trip, per-line problems, type inference, the PDQ test lists."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from needle.banks import BankEntry, ImportResult, read_bank_file, write_bank_file
from needle.banks.text import TextFormat
from needle.errors import BankError


def _read(data: bytes, **kw: str) -> ImportResult:
    return TextFormat().read(io.BytesIO(data), **kw)


def test_round_trip_mixed_types(tmp_path: Path, hashes: Any) -> None:
    entries = [
        BankEntry("md5", hashes.md5(1)),
        BankEntry("pdq", hashes.pdq(1)),
        BankEntry("sha256", hashes.sha256(1)),
        BankEntry("md5", hashes.md5(2)),
        BankEntry("sha1", hashes.sha1(1)),
    ]
    path = tmp_path / "bank.txt"
    exported = write_bank_file(entries, path, format="text")
    assert exported.written == 5 and exported.lossless

    result = read_bank_file(path)  # no type given: the file's "# signal_type:" lines say it

    assert result.format == "text"
    assert result.problems == []
    key = lambda e: (e.signal_type, e.value)  # noqa: E731
    assert sorted(result.entries, key=key) == sorted(entries, key=key)


def test_malformed_lines_are_reported_and_the_rest_imported(hashes: Any) -> None:
    data = (
        "\n".join(
            [
                "# a comment",  # 1
                hashes.md5(1),  # 2
                "",  # 3
                "xyz" + hashes.md5(2)[3:],  # 4: not hex
                hashes.md5(3)[:-1],  # 5: 31 digits
                hashes.sha1(1).upper() + "   # trailing comment",  # 6
                hashes.sha256(1),  # 7: 64 digits without a type
                hashes.md5(1),  # 8: duplicate of line 2
                "  " + hashes.md5(4) + "  ",  # 9
            ]
        ).encode()
        + b"\n\xff\xfe"
        + hashes.md5(5).encode()
        + b"\n"
        + hashes.md5(6).encode()
    )

    result = _read(data)

    assert [(e.signal_type, e.value) for e in result.entries] == [
        ("md5", hashes.md5(1)),
        ("sha1", hashes.sha1(1)),
        ("md5", hashes.md5(4)),
        ("md5", hashes.md5(6)),
    ]
    assert [p.line for p in result.problems] == [4, 5, 7, 10]
    assert "not hexadecimal" in result.problems[0].message
    assert "31-digit" in result.problems[1].message
    assert "sha256 or pdq" in result.problems[2].message
    assert "UTF-8" in result.problems[3].message


def test_given_type_overrides_inference_and_directives(hashes: Any) -> None:
    data = f"# signal_type: sha256\n{hashes.pdq(1)}\n{hashes.md5(1)}\n".encode()

    result = _read(data, signal_type="pdq")

    assert [e.signal_type for e in result.entries] == ["pdq"]
    assert [p.line for p in result.problems] == [3]
    assert "pdq must be 64 hex digits" in result.problems[0].message


def test_directive_sets_type_for_lines_below(hashes: Any) -> None:
    data = (
        f"{hashes.md5(1)}\n# signal_type: sha256\n{hashes.sha256(1)}\n"
        f"# signal_type: nonsense\n{hashes.sha1(1)}\n"
    ).encode()

    result = _read(data)

    assert [(e.signal_type, e.value) for e in result.entries] == [
        ("md5", hashes.md5(1)),
        ("sha256", hashes.sha256(1)),
        ("sha1", hashes.sha1(1)),
    ]
    assert [p.line for p in result.problems] == [4]
    assert "unknown signal type" in result.problems[0].message


def test_write_refuses_an_entry_of_another_type(hashes: Any) -> None:
    with pytest.raises(BankError, match="cannot hold a md5"):
        TextFormat().write([BankEntry("md5", hashes.md5(1))], io.BytesIO(), signal_type="pdq")


def test_write_bank_file_skips_and_counts_other_types(tmp_path: Path, hashes: Any) -> None:
    entries = [BankEntry("pdq", hashes.pdq(1), ("x",)), BankEntry("md5", hashes.md5(1))]

    exported = write_bank_file(entries, tmp_path / "p.txt", format="text", signal_type="pdq")

    assert exported.written == 1
    assert dict(exported.skipped) == {"md5": 1}
    assert exported.dropped_labels == 1  # text holds no labels
    assert not exported.lossless
    assert "skipped 1 md5" in exported.summary()


_HEX_TYPES = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(_HEX_TYPES)), st.binary(min_size=32, max_size=32)),
        max_size=30,
    )
)
def test_property_round_trip_of_random_hashes(items: list[tuple[str, bytes]]) -> None:
    entries = {(t, raw[: _HEX_TYPES[t]].hex()): None for t, raw in items}
    out = io.BytesIO()
    TextFormat().write([BankEntry(t, v) for t, v in entries], out)

    result = TextFormat().read(io.BytesIO(out.getvalue()))

    assert result.problems == []
    assert sorted((e.signal_type, e.value) for e in result.entries) == sorted(entries)


@pytest.mark.parametrize(("name", "count"), [("needles.txt", 100), ("haystack.txt", 1350)])
def test_pdq_reference_lists_import_as_text(testdata: Path, name: str, count: int) -> None:
    path = testdata / "pdq" / "reg-test-input" / name
    lines = path.read_text().split()
    assert len(lines) == count and all(len(line) == 64 for line in lines)  # the files' shape

    result = read_bank_file(path, signal_type="pdq")

    assert result.format == "text"
    assert result.problems == []
    assert len(result.entries) == len(set(lines))
    assert all(e.signal_type == "pdq" for e in result.entries)
    assert [e.value for e in result.entries] == list(dict.fromkeys(line.lower() for line in lines))


def test_pdq_reference_list_without_a_type_reports_every_line(testdata: Path) -> None:
    result = read_bank_file(testdata / "pdq" / "reg-test-input" / "needles.txt")

    assert result.entries == []
    assert [p.line for p in result.problems] == list(range(1, 101))
