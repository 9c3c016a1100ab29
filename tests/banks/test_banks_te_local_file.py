"""te-local-file: ``TYPE SIGNAL`` lines, what python-threatexchange's local_file reads."""

from __future__ import annotations

import io
from typing import Any

import pytest

from needle.banks import BankEntry
from needle.banks.te_local_file import LocalFileFormat
from needle.errors import BankError


def test_lines_with_types_bare_lines_and_problems(hashes: Any) -> None:
    data = "\n".join(
        [
            f"pdq {hashes.pdq(1)}",  # 1
            f"video_md5 {hashes.md5(1).upper()}",  # 2
            f"  video_sha256 {hashes.sha256(1)}  ",  # 3
            "# a comment",  # 4
            "",  # 5
            f"sha1 {hashes.sha1(1)}",  # 6: needle's own name
            hashes.md5(2),  # 7: bare, length says md5
            "url https://example.org/",  # 8: a type needle does not match
            f"pdq {hashes.pdq(2)[:-2]}",  # 9
        ]
    ).encode()

    result = LocalFileFormat().read(io.BytesIO(data))

    assert [(e.signal_type, e.value) for e in result.entries] == [
        ("pdq", hashes.pdq(1)),
        ("md5", hashes.md5(1)),
        ("sha256", hashes.sha256(1)),
        ("sha1", hashes.sha1(1)),
        ("md5", hashes.md5(2)),
    ]
    assert [p.line for p in result.problems] == [8, 9]
    assert "unknown signal type 'url'" in result.problems[0].message


def test_bare_pdq_lines_need_the_type_given(hashes: Any) -> None:
    data = f"{hashes.pdq(1)}\n".encode()
    assert LocalFileFormat().read(io.BytesIO(data)).problems[0].line == 1
    result = LocalFileFormat().read(io.BytesIO(data), signal_type="pdq")
    assert result.entries == [BankEntry("pdq", hashes.pdq(1))]


def test_sniff_wants_a_known_type_before_hex(hashes: Any) -> None:
    fmt = LocalFileFormat()
    assert fmt.sniff(f"# list\n\npdq {hashes.pdq(1)}\n".encode(), "x.txt")
    assert fmt.sniff(f"video_md5 {hashes.md5(1)}\n".encode(), "x")
    assert not fmt.sniff(f"{hashes.md5(1)}\n".encode(), "x.txt")  # that is text
    assert not fmt.sniff(f"url {hashes.md5(1)}\n".encode(), "x.txt")
    assert not fmt.sniff(b"pdq not-hex\n", "x.txt")
    assert not fmt.sniff(b"", "x.txt")


def test_write_uses_threatexchange_names_and_refuses_sha1(hashes: Any) -> None:
    out = io.BytesIO()
    LocalFileFormat().write(
        [BankEntry("md5", hashes.md5(1), ("l",)), BankEntry("pdq", hashes.pdq(1))], out
    )
    assert out.getvalue().decode() == f"video_md5 {hashes.md5(1)}\npdq {hashes.pdq(1)}\n"
    with pytest.raises(BankError, match="no sha1 signal type"):
        LocalFileFormat().write([BankEntry("sha1", hashes.sha1(1))], io.BytesIO())
