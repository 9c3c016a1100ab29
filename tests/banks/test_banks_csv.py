"""CSV hash lists ``signal_type,signal[,label...]``: round trip, per-row problems, header."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from needle.banks import BankEntry, ImportResult, read_bank_file, write_bank_file
from needle.banks.csvfile import CsvFormat


def _read(data: bytes, **kw: str) -> ImportResult:
    return CsvFormat().read(io.BytesIO(data), **kw)


def test_round_trip_with_labels(tmp_path: Path, hashes: Any) -> None:
    entries = [
        BankEntry("md5", hashes.md5(1), ("category a", 'quoted "label", with comma')),
        BankEntry("pdq", hashes.pdq(1)),
        BankEntry("sha256", hashes.sha256(1), ("multi\nline",)),
        BankEntry("sha1", hashes.sha1(1), ("x", "y", "z")),
    ]
    path = tmp_path / "bank.csv"

    exported = write_bank_file(entries, path, format="csv")
    result = read_bank_file(path)

    assert exported.lossless and exported.written == 4
    assert result.format == "csv"
    assert result.problems == []
    assert result.entries == entries


def test_malformed_rows_are_reported_and_the_rest_imported(hashes: Any) -> None:
    data = "\n".join(
        [
            "signal_type,signal,label",  # 1: header
            f"md5,{hashes.md5(1)},a",  # 2
            f"md5,{hashes.md5(2)[:-2]}",  # 3: 30 digits
            f"ripemd,{hashes.md5(3)}",  # 4: unknown type
            f'sha1,{hashes.sha1(1)},"two\nlines"',  # 5-6: quoted line break
            "md5",  # 7: no signal column
            f",{hashes.sha1(2)},inferred",  # 8: empty type -> inferred sha1
            "# a comment row",  # 9
            f"pdq,{hashes.pdq(1)},b,,c",  # 10: empty label cell dropped
            f",{hashes.sha256(1)}",  # 11: 64 digits, no type anywhere
            f"MD5,{hashes.md5(1).upper()},extra",  # 12: duplicate of row 2, label merged
            f'sha1,{hashes.sha1(3)},"bad"quote',  # 13: malformed CSV
            f"HASH_PDQ,{hashes.pdq(2)}",  # 14: ThreatExchange spelling
        ]
    ).encode()

    result = _read(data)

    assert [(e.signal_type, e.value, e.labels) for e in result.entries] == [
        ("md5", hashes.md5(1), ("a", "extra")),
        ("sha1", hashes.sha1(1), ("two\nlines",)),
        ("sha1", hashes.sha1(2), ("inferred",)),
        ("pdq", hashes.pdq(1), ("b", "c")),
        ("pdq", hashes.pdq(2), ()),
    ]
    assert [p.line for p in result.problems] == [3, 4, 7, 11, 13]
    assert "md5 must be 32 hex digits, got 30" in result.problems[0].message
    assert "unknown signal type 'ripemd'" in result.problems[1].message
    assert "missing the signal column" in result.problems[2].message
    assert "sha256 or pdq" in result.problems[3].message
    assert "malformed CSV" in result.problems[4].message


def test_empty_type_column_uses_the_given_type(hashes: Any) -> None:
    result = _read(f",{hashes.pdq(1)}\nsha256,{hashes.sha256(1)}\n".encode(), signal_type="pdq")

    assert [(e.signal_type, e.value) for e in result.entries] == [
        ("pdq", hashes.pdq(1)),
        ("sha256", hashes.sha256(1)),
    ]


def test_header_is_only_recognised_on_the_first_row(hashes: Any) -> None:
    result = _read(f"md5,{hashes.md5(1)}\ntype,signal\n".encode())

    assert len(result.entries) == 1
    assert [p.line for p in result.problems] == [2]


_LENGTHS = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}
_labels = st.lists(
    st.text(min_size=1, max_size=12).map(str.strip).filter(bool), max_size=4, unique=True
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(_LENGTHS)), st.binary(min_size=32, max_size=32), _labels),
        max_size=20,
        unique_by=lambda item: (item[0], item[1][: _LENGTHS[item[0]]]),
    )
)
def test_property_round_trip_of_random_hashes_and_labels(
    items: list[tuple[str, bytes, list[str]]],
) -> None:
    entries = [BankEntry(t, raw[: _LENGTHS[t]].hex(), tuple(labels)) for t, raw, labels in items]
    out = io.BytesIO()
    CsvFormat().write(entries, out)

    result = CsvFormat().read(io.BytesIO(out.getvalue()))

    assert result.problems == []
    assert result.entries == entries
