"""NCMEC hash-sharing XML: reading, round trip, per-record problems, hostile XML refused."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from needle.banks import BankEntry, ImportResult, read_bank_file, write_bank_file
from needle.banks.ncmec import NcmecFormat
from needle.errors import BankError, BankFormatError

# an opaque stand-in: needle must keep a PhotoDNA value without interpreting it
PHOTODNA = "0a1b2c3d4e5f..."


def _read(text: str, **kw: str) -> ImportResult:
    return NcmecFormat().read(io.BytesIO(text.encode()), **kw)


def test_reads_images_and_videos(hashes: Any) -> None:
    text = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
    <images count="1" maxTimestamp="2017-10-24T15:10:00Z">
        <image>
            <member id="42">Example Member</member>
            <timestamp>2017-10-24T15:00:00Z</timestamp>
            <id>image1</id>
            <classification>A1</classification>
            <fingerprints>
                <md5>{hashes.md5(1)}</md5>
                <sha1>{hashes.sha1(1).upper()}</sha1>
                <pdq>{hashes.pdq(1)}</pdq>
                <pdna>{PHOTODNA}</pdna>
            </fingerprints>
        </image>
    </images>
    <videos count="1" maxTimestamp="2019-11-24T15:10:00Z">
        <video>
            <member id="101">TX Example</member>
            <timestamp>2019-11-24T15:10:00Z</timestamp>
            <id>video1</id>
            <fingerprints>
                <md5>{hashes.md5(2)}</md5>
                <tmk-pdqf rel="self" href="/v2/entries/1/fingerprints/TMK_PDQF"/>
            </fingerprints>
        </video>
    </videos>
    <paging><next>/v2/entries?from=x&amp;to=y</next></paging>
</queryResult>
"""
    image_meta = {
        "id": "image1",
        "member_id": "42",
        "member": "Example Member",
        "timestamp": "2017-10-24T15:00:00Z",
        "PhotoDNA": PHOTODNA,
    }
    video_meta = {
        "id": "video1",
        "member_id": "101",
        "member": "TX Example",
        "timestamp": "2019-11-24T15:10:00Z",
        "entry_type": "video",
    }

    result = _read(text)

    assert result.problems == []
    label = ("ncmec-classification:A1",)
    assert result.entries == [
        BankEntry("md5", hashes.md5(1), label, image_meta),
        BankEntry("sha1", hashes.sha1(1), label, image_meta),
        BankEntry("pdq", hashes.pdq(1), label, image_meta),
        BankEntry("md5", hashes.md5(2), (), video_meta),
    ]


def test_round_trip(tmp_path: Path, hashes: Any) -> None:
    meta = {"id": "image7", "member_id": "42", "member": "M", "timestamp": "2020-01-01T00:00:00Z"}
    entries = [
        BankEntry(
            "md5", hashes.md5(1), ("ncmec-classification:A2",), {**meta, "PhotoDNA": PHOTODNA}
        ),
        BankEntry(
            "pdq", hashes.pdq(1), ("ncmec-classification:A2",), {**meta, "PhotoDNA": PHOTODNA}
        ),
        BankEntry("sha1", hashes.sha1(1), (), {"id": "v1", "entry_type": "video"}),
        BankEntry("md5", hashes.md5(2)),
    ]
    path = tmp_path / "ncmec.xml"

    exported = write_bank_file(entries, path, format="ncmec")
    written = path.read_text()
    result = read_bank_file(path)

    assert exported.lossless and exported.written == 4
    assert 'xmlns="https://hashsharing.ncmec.org/hashsharing/v2"' in written
    assert written.count("<image>") == 2 and written.count("<video>") == 1
    assert result.format == "ncmec"
    assert result.problems == []
    images_first = [entries[0], entries[1], entries[3], entries[2]]  # the format groups them
    assert result.entries == images_first


def test_malformed_records_are_reported_with_their_lines(hashes: Any) -> None:
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
  <images>
    <image><id>good</id><fingerprints><md5>{hashes.md5(1)}</md5></fingerprints></image>
    <image><id>short</id><fingerprints><md5>{hashes.md5(2)[:-1]}</md5></fingerprints></image>
    <image><id>none</id></image>
    <deletedImage><id>gone</id></deletedImage>
    <image>
      <id>pdna-only</id>
      <fingerprints><pdna>{PHOTODNA}</pdna></fingerprints>
    </image>
    <image><id>badhex</id><fingerprints>
      <sha1>{hashes.sha1(1)}</sha1><pdq>{"g" * 64}</pdq></fingerprints></image>
    <image><id>good2</id><fingerprints><sha1>{hashes.sha1(2)}</sha1></fingerprints></image>
  </images>
</queryResult>
"""
    result = _read(text)

    assert [e.meta["id"] for e in result.entries] == ["good", "good2"]
    assert [p.line for p in result.problems] == [5, 6, 7, 8, 12]
    messages = [p.message for p in result.problems]
    assert messages[0].startswith("<image> id 'short': md5 must be 32 hex digits, got 31")
    assert "no md5, sha1 or pdq" in messages[1]
    assert "deletion" in messages[2]
    assert "no md5, sha1 or pdq" in messages[3]
    assert "pdq value is not hexadecimal" in messages[4]


def test_signal_type_keeps_only_that_type(hashes: Any) -> None:
    text = (
        "<queryResult><images><image><fingerprints>"
        f"<md5>{hashes.md5(1)}</md5><pdq>{hashes.pdq(1)}</pdq>"
        "</fingerprints></image></images></queryResult>"
    )

    result = _read(text, signal_type="pdq")

    assert [e.signal_type for e in result.entries] == ["pdq"]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<queryResult><images><image><id>&lol3;</id></image></images></queryResult>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE queryResult [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<queryResult><images><image><id>&secret;</id></image></images></queryResult>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_declarations_are_refused(text: str) -> None:
    with pytest.raises(BankFormatError, match="declares entities or external references"):
        _read(text)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<queryResult><images><image>", "malformed XML at line 1"),
        ('{"value": []}', "malformed XML at line 1 column 1"),
        ("<cases><image/></cases>", r"root element is <cases>"),
    ],
)
def test_a_file_that_is_not_ncmec_xml_raises(text: str, match: str) -> None:
    with pytest.raises(BankFormatError, match=match):
        _read(text)


def test_types_it_cannot_hold_are_counted(tmp_path: Path, hashes: Any) -> None:
    entries = [BankEntry("sha256", hashes.sha256(1)), BankEntry("md5", hashes.md5(1), ("other",))]

    exported = write_bank_file(entries, tmp_path / "n.xml", format="ncmec")

    assert exported.written == 1
    assert dict(exported.skipped) == {"sha256": 1}
    assert exported.dropped_labels == 1
    with pytest.raises(BankError, match="md5, sha1 and pdq"):
        NcmecFormat().write(entries, io.BytesIO())


def test_two_records_sharing_an_id_are_written_apart() -> None:
    """Found by fuzz/bank_ncmec.py: records of one id but different members and times were
    merged into one on export, and one's member and timestamp were lost."""
    import io

    from needle.banks import registry

    def image(kind: str, value: str, when: str, member: str) -> str:
        return (
            f'<image><member id="42">{member}</member><timestamp>{when}</timestamp>'
            f"<id>image1</id><fingerprints><{kind}>{value}</{kind}></fingerprints></image>"
        )

    # the first record has no md5, so a writer keyed on the id alone put the second's md5 in it
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><queryResult><images count="2">'
        + image("sha1", "a" * 40, "2017-10-24T15:00:00Z", "One")
        + image("md5", "b" * 32, "2018-01-01T00:00:00Z", "Two")
        + "</images></queryResult>"
    )
    fmt = registry.get("ncmec")
    first = fmt.read(io.BytesIO(xml.encode()), filename="h.xml").entries
    out = io.BytesIO()
    fmt.write(first, out)
    again = fmt.read(io.BytesIO(out.getvalue()), filename="h.xml").entries
    assert {(e.value, e.meta["timestamp"], e.meta["member"]) for e in again} == {
        ("a" * 40, "2017-10-24T15:00:00Z", "One"),
        ("b" * 32, "2018-01-01T00:00:00Z", "Two"),
    }
