"""te-simple-csv, python-threatexchange's ``simple.<TYPE>.te`` files: round trip, problems, type
from name. (Round trips with threatexchange itself: test_banks_threatexchange_interop.py.)"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from needle.banks import BankEntry, read_bank_file, write_bank_file
from needle.banks.threatexchange import ThreatExchangeFormat, signal_type_from_filename
from needle.errors import BankError, BankFormatError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("simple.pdq.te", "pdq"),
        ("simple.HASH_PDQ.te", "pdq"),
        ("simple.HASH_MD5.te", "md5"),
        ("video_md5.te", "md5"),
        ("/state/simple.sha1.te", "sha1"),
        ("simple.HASH_URL.te", None),
        ("bank.csv", None),
    ],
)
def test_signal_type_from_filename(name: str, expected: str | None) -> None:
    assert signal_type_from_filename(name) == expected


def test_round_trip(tmp_path: Path, hashes: Any) -> None:
    entries = [
        BankEntry(
            "pdq",
            hashes.pdq(1),
            ("media_type_photo", "true_positive"),
            {"first_descriptor_id": "3058061737574159", "added_on": "2020-07-01T18:31:15+0000"},
        ),
        BankEntry("pdq", hashes.pdq(2), (), {"added_on": "mine"}),
        BankEntry("pdq", hashes.pdq(3)),
    ]
    path = tmp_path / "simple.HASH_PDQ.te"

    exported = write_bank_file(entries, path, format="te-simple-csv")
    result = read_bank_file(path)

    assert exported.lossless and exported.written == 3
    assert result.format == "te-simple-csv"
    assert result.problems == []
    assert result.entries == entries


def test_round_trip_of_the_hma_variant_with_indicator_ids(hashes: Any) -> None:
    entries = [
        BankEntry(
            "md5", hashes.md5(1), ("a",), {"indicator_id": "12345", "first_descriptor_id": "6789"}
        ),
        BankEntry("md5", hashes.md5(2), (), {"added_on": "today"}),
    ]
    out = io.BytesIO()
    ThreatExchangeFormat().write(entries, out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode())))

    result = ThreatExchangeFormat().read(io.BytesIO(out.getvalue()), filename="simple.HASH_MD5.te")

    assert [len(row) for row in rows] == [5, 5]
    assert rows[0] == [hashes.md5(1), "12345", "6789", "", "a"]
    assert result.entries == entries


def test_reads_the_file_python_threatexchange_writes(hashes: Any) -> None:
    # what CliIndicatorSerialization.store writes: csv.writer rows of
    # (indicator, first_descriptor_id, added_on, " ".join(labels))
    buffer = io.StringIO()
    csv.writer(buffer).writerow((hashes.md5(1), 42, "2021-01-01T00:00:00+0000", "tag1 tag2"))

    result = ThreatExchangeFormat().read(
        io.BytesIO(buffer.getvalue().encode()), filename="simple.HASH_MD5.te"
    )

    assert result.problems == []
    assert result.entries == [
        BankEntry(
            "md5",
            hashes.md5(1),
            ("tag1", "tag2"),
            {"first_descriptor_id": "42", "added_on": "2021-01-01T00:00:00+0000"},
        )
    ]


def test_malformed_rows_are_reported_and_the_rest_imported(hashes: Any) -> None:
    data = "\r\n".join(
        [
            f"{hashes.pdq(1)},1,2021,a b",  # 1
            f"{hashes.pdq(2)[:-1]},2,2021,",  # 2: 63 digits
            f"{hashes.pdq(3)},notanumber,2021,",  # 3
            f"{hashes.pdq(4)},1,2",  # 4: three columns
            "",  # 5
            hashes.pdq(5),  # 6: bare hash
            f"{hashes.md5(1)},3,2021,",  # 7: an md5 in a pdq file
            f"{hashes.pdq(6)},0,,",  # 8: no descriptor, no date
        ]
    ).encode()

    result = ThreatExchangeFormat().read(io.BytesIO(data), filename="simple.pdq.te")

    assert [(e.value, e.labels, dict(e.meta)) for e in result.entries] == [
        (hashes.pdq(1), ("a", "b"), {"first_descriptor_id": "1", "added_on": "2021"}),
        (hashes.pdq(5), (), {}),
        (hashes.pdq(6), (), {}),
    ]
    assert [p.line for p in result.problems] == [2, 3, 4, 7]
    assert "pdq must be 64 hex digits, got 63" in result.problems[0].message
    assert "not an integer" in result.problems[1].message
    assert "expected 4 columns" in result.problems[2].message
    assert "got 32" in result.problems[3].message


def test_a_name_without_a_type_needs_the_type_given(hashes: Any) -> None:
    data = f"{hashes.md5(1)},1,x,\n".encode()

    with pytest.raises(BankFormatError, match=r"simple\.<type>\.te"):
        ThreatExchangeFormat().read(io.BytesIO(data), filename="export.te")
    result = ThreatExchangeFormat().read(io.BytesIO(data), filename="export.te", signal_type="md5")
    assert [e.value for e in result.entries] == [hashes.md5(1)]


def test_labels_with_spaces_are_joined_and_reported(tmp_path: Path, hashes: Any) -> None:
    entries = [BankEntry("md5", hashes.md5(1), ("two words",)), BankEntry("sha1", hashes.sha1(1))]

    exported = write_bank_file(entries, tmp_path / "simple.md5.te", format="te-simple-csv")

    assert exported.written == 1
    assert dict(exported.skipped) == {"sha1": 1}  # the file name says md5
    assert exported.dropped_labels == 1
    assert read_bank_file(tmp_path / "simple.md5.te").entries[0].labels == ("two_words",)


def test_write_refuses_mixed_types_in_one_file(hashes: Any) -> None:
    entries = [BankEntry("md5", hashes.md5(1)), BankEntry("sha1", hashes.sha1(1))]

    with pytest.raises(BankError, match="holds one signal type"):
        ThreatExchangeFormat().write(entries, io.BytesIO())


def test_csv_level_problems_are_reported_like_the_csv_format(hashes: Any) -> None:
    """Both formats read rows through one CSV reader: a quoted line break keeps the numbers
    of later rows right, and a malformed row or a line that is not UTF-8 is reported on its
    own line, the same way in both."""
    from needle.banks.csvfile import CsvFormat

    te_rows = [
        f'{hashes.pdq(1)},1,2021,"a\nb"'.encode(),  # 1-2: a quoted line break
        f'{hashes.pdq(2)},1,2021,"bad"quote'.encode(),  # 3: malformed CSV
        b"\xff\xfe,1,2021,",  # 4: not UTF-8
        f"{hashes.pdq(3)},1,2021,".encode(),  # 5
    ]
    csv_rows = [
        f'pdq,{hashes.pdq(1)},"a\nb"'.encode(),
        f'pdq,{hashes.pdq(2)},"bad"quote'.encode(),
        b"\xff\xfe,pdq",
        f"pdq,{hashes.pdq(3)}".encode(),
    ]
    te = ThreatExchangeFormat().read(io.BytesIO(b"\n".join(te_rows)), filename="simple.pdq.te")
    plain = CsvFormat().read(io.BytesIO(b"\n".join(csv_rows)))
    for result in (te, plain):
        assert [e.value for e in result.entries] == [hashes.pdq(1), hashes.pdq(3)]
        assert [(p.line, p.message.split(":")[0]) for p in result.problems] == [
            (3, "malformed CSV row"),
            (4, "not UTF-8 text (bad byte at column 1)"),
        ]
