"""Project VIC VICS JSON 1.x and 2.0: reading both shapes, round trip, per-record problems."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from needle.banks import BankEntry, ImportResult, read_bank_file, write_bank_file
from needle.banks.vics import CONTEXT_2_0, VicsFormat
from needle.errors import BankError, BankFormatError

# an opaque stand-in: needle must keep a PhotoDNA value without interpreting it
PHOTODNA = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def _read(doc: object, **kw: str) -> ImportResult:
    return VicsFormat().read(io.BytesIO(json.dumps(doc, indent=1).encode()), **kw)


def test_reads_a_2_0_hash_set(hashes: Any) -> None:
    doc = {
        "@odata.context": CONTEXT_2_0,
        "value": [
            {
                "MediaID": 1,
                "Category": 1,
                "MD5": hashes.md5(1).upper(),
                "SHA1": hashes.sha1(1).upper(),
                "PhotoDNA": PHOTODNA,
                "MediaSize": 2835,
            },
            {"MediaID": 2, "Category": "3", "MD5": hashes.md5(2), "SHA1": ""},
        ],
    }

    result = _read(doc)

    assert result.problems == []
    assert result.entries == [
        BankEntry(
            "md5", hashes.md5(1), ("vics-category:1",), {"MediaID": "1", "PhotoDNA": PHOTODNA}
        ),
        BankEntry(
            "sha1", hashes.sha1(1), ("vics-category:1",), {"MediaID": "1", "PhotoDNA": PHOTODNA}
        ),
        BankEntry("md5", hashes.md5(2), ("vics-category:3",), {"MediaID": "2"}),
    ]


def test_reads_a_1_x_case_with_nested_media_files_and_alternative_hashes(hashes: Any) -> None:
    doc = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
        "value": [
            {
                "CaseNumber": "demo",
                "Media": [
                    {
                        "MediaID": 7,
                        "Category": 2,
                        "MD5": hashes.md5(1),
                        "MediaFiles": [{"FileName": "a.jpg", "MD5": hashes.md5(1)}],
                        "AlternativeHashes": [
                            {"HashName": "SHA1", "HashValue": hashes.sha1(1)},
                            {"HashName": "PhotoDNA", "HashValue": PHOTODNA},
                        ],
                    },
                    {"MediaID": 8, "MediaFiles": [{"MD5": hashes.md5(2), "SHA1": hashes.sha1(2)}]},
                ],
            }
        ],
    }

    result = _read(doc)

    assert result.problems == []
    assert [(e.signal_type, e.value, e.labels, dict(e.meta)) for e in result.entries] == [
        ("md5", hashes.md5(1), ("vics-category:2",), {"MediaID": "7", "PhotoDNA": PHOTODNA}),
        ("sha1", hashes.sha1(1), ("vics-category:2",), {"MediaID": "7", "PhotoDNA": PHOTODNA}),
        ("md5", hashes.md5(2), (), {"MediaID": "8"}),
        ("sha1", hashes.sha1(2), (), {"MediaID": "8"}),
    ]


def test_round_trip_writes_2_0(tmp_path: Path, hashes: Any) -> None:
    entries = [
        BankEntry(
            "md5", hashes.md5(1), ("vics-category:1",), {"MediaID": "10", "PhotoDNA": PHOTODNA}
        ),
        BankEntry(
            "sha1", hashes.sha1(1), ("vics-category:1",), {"MediaID": "10", "PhotoDNA": PHOTODNA}
        ),
        BankEntry("md5", hashes.md5(2), ("vics-category:0",), {"MediaID": "11"}),
        BankEntry("sha1", hashes.sha1(3), (), {"MediaID": "12"}),
    ]
    path = tmp_path / "export.json"

    exported = write_bank_file(entries, path, format="vics")
    doc = json.loads(path.read_text())
    result = read_bank_file(path)

    assert exported.lossless and exported.written == 4
    assert doc["@odata.context"] == CONTEXT_2_0
    assert doc["value"][0] == {
        "MediaID": 10,
        "Category": 1,
        "MD5": hashes.md5(1).upper(),
        "SHA1": hashes.sha1(1).upper(),
        "PhotoDNA": PHOTODNA,
    }
    assert len(doc["value"]) == 3  # one media record per MediaID
    assert result.format == "vics"
    assert result.problems == []
    assert result.entries == entries


def test_malformed_records_are_reported_with_their_lines(hashes: Any) -> None:
    good, short, bad_category = hashes.md5(1), hashes.md5(2)[:-1], hashes.md5(3)
    lines = [
        f'{{"@odata.context": "{CONTEXT_2_0}",',  # 1
        ' "value": [',  # 2
        f'  {{"MediaID": 1, "MD5": "{good}"}},',  # 3: good
        f'  {{"MediaID": 2, "MD5": "{short}"}},',  # 4: 31 digits
        f'  {{"MediaID": 3, "Category": "high", "MD5": "{bad_category}"}},',  # 5
        '  "not an object",',  # 6
        f'  {{"MediaID": 5, "PhotoDNA": "{PHOTODNA}"}},',  # 7: no MD5/SHA1
        '  {"MediaID": 6,',  # 8
        '   "MD5": 12345},',  # 9: wrong JSON type
        f'  {{"MediaID": 7, "SHA1": "{hashes.sha1(1)}"}},',  # 10: good
        f'  {{"MediaID": 8, "MediaFiles": {{"MD5": "{hashes.md5(4)}"}}}}',  # 11: not a list
        " ]}",
    ]
    text = "\n".join(lines)

    result = VicsFormat().read(io.BytesIO(text.encode()))

    assert [(e.signal_type, e.value) for e in result.entries] == [
        ("md5", hashes.md5(1)),
        ("sha1", hashes.sha1(1)),
    ]
    assert [p.line for p in result.problems] == [4, 5, 6, 7, 8, 11]
    messages = [p.message for p in result.problems]
    assert messages[0].startswith("record value[1]: md5 must be 32 hex digits, got 31")
    assert "Category must be an integer" in messages[1]
    assert "expected an object" in messages[2]
    assert "no MD5 or SHA1" in messages[3]
    assert "MD5 must be a string" in messages[4]
    assert "MediaFiles must be a list" in messages[5]


def test_problem_lines_inside_cases(hashes: Any) -> None:
    doc = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Cases",
        "value": [{"Media": [{"MD5": hashes.md5(1)}, {"MD5": "zz"}]}],
    }
    text = json.dumps(doc, indent=1)
    zz_line = next(n for n, line in enumerate(text.splitlines(), 1) if '"zz"' in line)
    bad_line = zz_line - 1  # indent=1 puts the record's "{" on the line above its field

    result = VicsFormat().read(io.BytesIO(text.encode()))

    assert len(result.entries) == 1
    assert [p.line for p in result.problems] == [bad_line]
    assert result.problems[0].message.startswith("record value[0].Media[1]:")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"{not json", "invalid JSON at line 1"),
        (b'{"value": 3}', "'value' list"),
        (b"[1, 2]", "'value' list"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_a_file_that_is_not_vics_json_raises(data: bytes, match: str) -> None:
    with pytest.raises(BankFormatError, match=match):
        VicsFormat().read(io.BytesIO(data))


def test_pdq_cannot_be_exported_and_is_counted(tmp_path: Path, hashes: Any) -> None:
    entries = [
        BankEntry("pdq", hashes.pdq(1)),
        BankEntry("pdq", hashes.pdq(2)),
        BankEntry("md5", hashes.md5(1), ("csam-known",), {"source": "x"}),
    ]

    exported = write_bank_file(entries, tmp_path / "v.json", format="vics")

    assert exported.written == 1
    assert dict(exported.skipped) == {"pdq": 2}
    assert exported.dropped_labels == 1 and exported.dropped_meta == 1
    result = read_bank_file(tmp_path / "v.json")
    assert [(e.signal_type, e.value, dict(e.meta)) for e in result.entries] == [
        ("md5", hashes.md5(1), {"MediaID": "1"})  # a fresh MediaID
    ]
    with pytest.raises(BankError, match="md5 and sha1"):
        VicsFormat().write(entries, io.BytesIO())
