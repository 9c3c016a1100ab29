"""StopNCII ``hashRecords`` JSON: reading, round trip, per-record problems."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from needle.banks import BankEntry, read_bank_file, write_bank_file
from needle.banks.stopncii import StopNCIIFormat
from needle.errors import BankError, BankFormatError


def _page(*records: object) -> dict[str, object]:
    return {
        "count": len(records),
        "nextSetTimestamp": 1625175071,
        "nextPageToken": "token",
        "hasMoreRecords": False,
        "hashRecords": list(records),
    }


def test_reads_pdq_and_md5_records_keeping_their_fields(hashes: Any) -> None:
    doc = _page(
        {
            "lastModtimestamp": 1625175071,
            "hashValue": hashes.pdq(1).upper(),
            "hashStatus": "Active",
            "caseNumbers": {"cc592711-7068-442f-b5d2-24d50d389751": "Active"},
            "signalType": "ImagePDQ",
            "hashRegions": ["UK"],
            "CSPFeedbacks": [{"source": "Example", "feedbackValue": "Blocked", "tags": ["t1"]}],
        },
        {"signalType": "VideoMD5", "hashValue": hashes.md5(1), "hashStatus": "Received"},
    )

    result = StopNCIIFormat().read(io.BytesIO(json.dumps(doc).encode()))

    assert result.problems == []
    assert result.entries == [
        BankEntry(
            "pdq",
            hashes.pdq(1),
            (),
            {
                "lastModtimestamp": "1625175071",
                "hashStatus": "Active",
                "caseNumbers": '{"cc592711-7068-442f-b5d2-24d50d389751":"Active"}',
                "hashRegions": '["UK"]',
                "CSPFeedbacks": '[{"feedbackValue":"Blocked","source":"Example","tags":["t1"]}]',
            },
        ),
        BankEntry("md5", hashes.md5(1), (), {"hashStatus": "Received"}),
    ]


def test_round_trip(tmp_path: Path, hashes: Any) -> None:
    entries = [
        BankEntry(
            "pdq",
            hashes.pdq(1),
            (),
            {
                "lastModtimestamp": "1661426988",
                "hashStatus": "Active",
                "caseNumbers": '{"a":"Active","b":"Received"}',
                "CSPFeedbacks": '[{"feedbackValue":"Undefined","source":"X","tags":["one"]}]',
                "hashRegions": '["UK"]',
            },
        ),
        BankEntry("md5", hashes.md5(1)),
    ]
    path = tmp_path / "stopncii.json"

    exported = write_bank_file(entries, path, format="stopncii")
    doc = json.loads(path.read_text())
    result = read_bank_file(path)

    assert exported.lossless and exported.written == 2
    assert doc["count"] == 2 and doc["hasMoreRecords"] is False
    assert doc["hashRecords"][0]["lastModtimestamp"] == 1661426988  # typed JSON again
    assert doc["hashRecords"][0]["caseNumbers"] == {"a": "Active", "b": "Received"}
    assert doc["hashRecords"][1] == {"signalType": "VideoMD5", "hashValue": hashes.md5(1)}
    assert result.format == "stopncii"
    assert result.problems == []
    assert result.entries == entries


def test_malformed_records_are_reported_with_their_lines(hashes: Any) -> None:
    records = [
        {"signalType": "ImagePDQ", "hashValue": hashes.pdq(1)},  # good
        {"signalType": "ImagePDQ", "hashValue": hashes.pdq(2)[:-2]},  # 62 digits
        {"signalType": "VideoTMK", "hashValue": "abc"},  # type needle does not match
        {"signalType": "ImagePDQ"},  # missing hashValue
        {"signalType": "ImagePDQ", "hashValue": hashes.pdq(3), "lastModtimestamp": "x"},
        {"signalType": "ImagePDQ", "hashValue": hashes.pdq(4), "hashStatus": "Withdrawn"},
        7,
        {"signalType": "VideoMD5", "hashValue": hashes.md5(1)},  # good
    ]
    text = "{\n" + '"count": 8,\n"hashRecords": [\n'
    text += ",\n".join(json.dumps(r) for r in records)  # record i on line 4 + i
    text += "\n]}\n"

    result = StopNCIIFormat().read(io.BytesIO(text.encode()))

    assert [(e.signal_type, e.value) for e in result.entries] == [
        ("pdq", hashes.pdq(1)),
        ("md5", hashes.md5(1)),
    ]
    assert [p.line for p in result.problems] == [5, 6, 7, 8, 9, 10]
    messages = [p.message for p in result.problems]
    assert messages[0].startswith("hashRecords[1]: pdq must be 64 hex digits, got 62")
    assert "VideoTMK" in messages[1]
    assert "hashValue must both be present" in messages[2]
    assert "lastModtimestamp has the wrong JSON type" in messages[3]
    assert "Withdrawn" in messages[4]
    assert "expected an object" in messages[5]


@pytest.mark.parametrize(
    ("data", "match"),
    [(b'{"hashRecords": 1', "invalid JSON"), (b'{"records": []}', "'hashRecords' list")],
)
def test_a_file_that_is_not_stopncii_json_raises(data: bytes, match: str) -> None:
    with pytest.raises(BankFormatError, match=match):
        StopNCIIFormat().read(io.BytesIO(data))


def test_types_and_fields_it_cannot_hold_are_counted(tmp_path: Path, hashes: Any) -> None:
    entries = [
        BankEntry("sha1", hashes.sha1(1)),
        BankEntry("pdq", hashes.pdq(1), ("label",), {"MediaID": "3"}),
    ]

    exported = write_bank_file(entries, tmp_path / "s.json", format="stopncii")

    assert exported.written == 1
    assert dict(exported.skipped) == {"sha1": 1}
    assert exported.dropped_labels == 1 and exported.dropped_meta == 1
    with pytest.raises(BankError, match="pdq and md5"):
        StopNCIIFormat().write(entries, io.BytesIO())
