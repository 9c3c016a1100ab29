"""Hostile bank files the fuzzers found (fuzz/bank_*.py): a whole file that cannot be read is a
``BankFormatError``, a bad record an ``ImportProblem``, and what was read survives export.

Every input is built here; the hashes are digests of made-up strings (``conftest.Hashes``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from needle.banks import BankEntry, read_bank_file, registry, write_bank_file
from needle.banks.vics import CONTEXT_2_0
from needle.errors import BankFormatError

NCMEC_HEAD = '<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images>'


@pytest.mark.parametrize("encoding", ["UTF-6", "shift_jis", "UTF-32"])
def test_ncmec_xml_in_an_encoding_expat_cannot_stream(tmp_path: Path, encoding: str) -> None:
    """expat raised LookupError (unknown encoding) or ValueError (multi-byte encodings)."""
    doc = f'<?xml version="1.0" encoding="{encoding}"?>\n{NCMEC_HEAD}</images></queryResult>'
    with pytest.raises(BankFormatError, match="NCMEC files are UTF-8"):
        registry.get("ncmec").read(io.BytesIO(doc.encode("ascii")))
    path = tmp_path / "hashes.xml"  # the same through format guessing
    path.write_text(doc, encoding="ascii")
    with pytest.raises(BankFormatError):
        read_bank_file(path)


def test_vics_case_media_key_in_other_case(hashes: Any) -> None:
    """A bad record under ``"media"`` (not ``"Media"``) was reported with a KeyError while
    looking up its line."""
    doc = {
        "@odata.context": CONTEXT_2_0,
        "value": [{"CaseID": 1, "media": [{"MediaID": 1, "MD5": hashes.md5(1)}, {"MD5": 5}]}],
    }
    result = registry.get("vics").read(io.BytesIO(json.dumps(doc, indent=1).encode()))
    assert [e.value for e in result.entries] == [hashes.md5(1)]
    (problem,) = result.problems
    assert problem.line == 11 and "value[0].media[1]" in problem.message


@pytest.mark.parametrize("fmt", ["vics", "stopncii"])
def test_json_integer_too_long_to_convert(fmt: str) -> None:
    """json.loads raised ValueError (Python's 4300-digit limit), which is no JSONDecodeError."""
    doc = b'{"odata.metadata": "x", "value": [1], "hashRecords": [' + b"7" * 5000 + b"]}"
    with pytest.raises(BankFormatError, match="4300"):
        registry.get(fmt).read(io.BytesIO(doc))


@pytest.mark.parametrize(("fmt", "key"), [("vics", "value"), ("stopncii", "hashRecords")])
def test_problem_in_a_deeply_nested_document(fmt: str, key: str) -> None:
    """Finding a bad record's line re-parses with the pure-Python scanner, which hit the
    recursion limit where the C parser had not: the problem is kept, its line unknown."""
    doc = f'{{"odata.metadata": "x", "{key}": [5, {"[" * 600}{"]" * 600}]}}'.encode()
    result = registry.get(fmt).read(io.BytesIO(doc))
    assert len(result.problems) == 2
    assert all(p.line == 0 for p in result.problems)
    assert "[0]" in str(result.problems[0]) and not str(result.problems[0]).startswith("line")


def test_vics_export_keeps_categories_of_entries_sharing_a_media_id(
    tmp_path: Path, hashes: Any
) -> None:
    """Two media records with one MediaID but different categories were joined on export and
    one category silently replaced by the other."""
    entries = [
        BankEntry("md5", hashes.md5(1), ("vics-category:1",), {"MediaID": "11"}),
        BankEntry("sha1", hashes.sha1(1), ("vics-category:0",), {"MediaID": "11"}),
        BankEntry("md5", hashes.md5(2), ("vics-category:3",), {"MediaID": "12", "PhotoDNA": "A"}),
        BankEntry("sha1", hashes.sha1(2), ("vics-category:3",), {"MediaID": "12", "PhotoDNA": "B"}),
        BankEntry("md5", hashes.md5(3), ("vics-category:2",), {"MediaID": "13"}),
        BankEntry("sha1", hashes.sha1(3), ("vics-category:2",), {"MediaID": "13"}),
    ]
    path = tmp_path / "out.json"
    assert write_bank_file(entries, path, format="vics").lossless
    again = {(e.signal_type, e.value): e for e in read_bank_file(path, format="vics").entries}
    for entry in entries:
        assert again[(entry.signal_type, entry.value)] == entry
    records = json.loads(path.read_text())["value"]
    assert sum(r["MediaID"] == 13 for r in records) == 1  # agreeing entries are still joined


@pytest.mark.parametrize("media_id", ["007", "²", "٣", "9" * 5000])
def test_vics_export_of_media_ids_that_are_not_plain_integers(
    tmp_path: Path, hashes: Any, media_id: str
) -> None:
    """``str.isdigit`` accepts "²" and "٣", which ``int`` refuses or reads as another number;
    "007" came back as 7 and 5000 digits past ``int``'s limit raised ValueError."""
    entry = BankEntry("md5", hashes.md5(1), (), {"MediaID": media_id})
    path = tmp_path / "out.json"
    write_bank_file([entry], path, format="vics")
    (again,) = read_bank_file(path, format="vics").entries
    assert again.meta["MediaID"] == media_id


def test_stopncii_export_of_a_meta_value_too_long_for_int(hashes: Any) -> None:
    entry = BankEntry("pdq", hashes.pdq(1), (), {"lastModtimestamp": "9" * 5000})
    out = io.BytesIO()
    registry.get("stopncii").write([entry], out)
    (record,) = json.loads(out.getvalue())["hashRecords"]
    assert record["lastModtimestamp"] == "9" * 5000
