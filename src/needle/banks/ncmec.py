"""NCMEC hash-sharing XML: the ``queryResult`` documents of NCMEC's hash-sharing API (v2).

What the file is (read from facebook/ThreatExchange ``python-threatexchange``,
``exchanges/clients/ncmec/hash_api.py`` and its test data, which follow NCMEC's
``hashsharing/v2/documentation.pdf``)::

    <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
      <images count="..." maxTimestamp="...">
        <image>
          <member id="42">Example Member</member>
          <timestamp>2017-10-24T15:00:00Z</timestamp>
          <id>image1</id>
          <classification>A1</classification>
          <fingerprints><md5>..</md5><sha1>..</sha1><pdq>..</pdq><pdna>..</pdna></fingerprints>
        </image>
        <deletedImage><member id="43">..</member><id>image4</id>..</deletedImage>
      </images>
      <videos> <video>..</video> <deletedVideo>..</deletedVideo> </videos>
    </queryResult>

In: such a document, parsed incrementally (records are dropped once read, so a large dump
does not fill memory) with ``defusedxml``: entity declarations and external references are
refused, so neither a billion-laughs expansion nor a local-file read can happen. Each
``<image>``/``<video>`` gives one entry per ``md5``, ``sha1`` and ``pdq`` fingerprint; its
label is ``ncmec-classification:<classification>``; meta keeps ``id``, ``member_id``,
``member``, ``timestamp``, ``entry_type`` (``video`` only; ``image`` is the default) and the
PhotoDNA value as ``PhotoDNA``, opaque. Fingerprints needle does not compute (``tmk-pdqf``,
``videntifier``) are ignored. A record with a bad or no usable fingerprint, and a
``deletedImage``/``deletedVideo`` (a removal, which an import cannot apply), are
``ImportProblem`` s on the line of the record's start tag.

Out: the same shape, one ``<image>``/``<video>`` per NCMEC ``id`` (entries without one get an
element each, without ``<id>``). NCMEC holds md5, sha1 and pdq.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import IO, Any, ClassVar

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from needle.banks._common import Collector, make_entry, shorten
from needle.banks.model import BankEntry, EntrySink, ImportResult
from needle.errors import BankError, BankFormatError, SignalFormatError

__all__ = ["CLASSIFICATION_LABEL", "NAMESPACE", "NcmecFormat"]

NAMESPACE = "https://hashsharing.ncmec.org/hashsharing/v2"
#: label prefix that carries an NCMEC ``classification`` (``ncmec-classification:A1``)
CLASSIFICATION_LABEL = "ncmec-classification:"
#: fingerprint element -> needle signal type
_FINGERPRINTS = {"md5": "md5", "sha1": "sha1", "pdq": "pdq"}
_RECORDS = frozenset({"image", "video"})
_DELETIONS = frozenset({"deletedImage", "deletedVideo"})
_RECORD_TAGS = _RECORDS | _DELETIONS
_META_KEYS = ("id", "member_id", "member", "timestamp", "entry_type", "PhotoDNA")
_CHUNK = 1 << 20


class _RecordBuilder:
    """An ElementTree parser target that hands each finished record to ``_record``.

    It builds elements like ``TreeBuilder``, keeping only the text of leaf elements (all this
    format has), detaches each record (``<image>``, ``<video>``, their deletions) from its
    parent once handled, and remembers the line of the record's start tag, which the
    C-accelerated parser does not expose.
    """

    def __init__(self, collector: Collector, only: str | None) -> None:
        self.parser: Any = None
        self.root: ET.Element | None = None
        self._collector = collector
        self._only = only
        self._stack: list[ET.Element] = []
        self._lines: list[int] = []  # start lines of the records now open
        self._text: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._text = []  # text before a child: indentation, never data in this format
        element = ET.Element(tag.rpartition("}")[2], attrib)
        if self._stack:
            self._stack[-1].append(element)
        else:
            self.root = element
        if element.tag in _RECORD_TAGS:
            self._lines.append(self.parser.parser.CurrentLineNumber)
        self._stack.append(element)

    def data(self, text: str) -> None:
        self._text.append(text)

    def end(self, tag: str) -> None:
        element = self._stack.pop()
        if self._text:
            if not len(element):
                element.text = "".join(self._text)
            self._text = []
        if element.tag in _RECORD_TAGS:
            _record(element, self._lines.pop(), self._collector, self._only)
            if self._stack:
                self._stack[-1].remove(element)

    def close(self) -> ET.Element | None:
        return self.root


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _record(element: ET.Element, line: int, collector: Collector, only: str | None) -> None:
    """Turn one finished ``<image>``/``<video>`` (or deletion) into entries or a problem."""
    record_id = _text(element.find("id"))
    name = f"<{element.tag}>" + (f" id {shorten(record_id)}" if record_id else "")
    if element.tag in _DELETIONS:
        collector.problem(line, f"{name} is a deletion; an import adds entries and cannot apply it")
        return
    labels = []
    classification = _text(element.find("classification"))
    if classification:
        labels.append(CLASSIFICATION_LABEL + classification)
    meta: dict[str, str] = {}
    if record_id:
        meta["id"] = record_id
    member = element.find("member")
    if member is not None:
        if member.get("id"):
            meta["member_id"] = member.get("id", "")
        if _text(member):
            meta["member"] = _text(member)
    if _text(element.find("timestamp")):
        meta["timestamp"] = _text(element.find("timestamp"))
    if element.tag == "video":
        meta["entry_type"] = "video"
    fingerprints = element.find("fingerprints")
    hashes: list[tuple[str, str]] = []
    for child in fingerprints if fingerprints is not None else ():
        if child.tag == "pdna" and _text(child):
            meta["PhotoDNA"] = _text(child)
        elif child.tag in _FINGERPRINTS and _text(child):
            hashes.append((_FINGERPRINTS[child.tag], _text(child)))
    if not hashes:
        collector.problem(line, f"{name} has no md5, sha1 or pdq fingerprint")
        return
    entries = []
    for type_name, value in hashes:
        try:
            entries.append(make_entry(type_name, value, labels, meta))
        except SignalFormatError as exc:
            collector.problem(line, f"{name}: {exc} (value {shorten(value)})")
            return
    for entry in entries:
        if only is None or entry.signal_type == only:
            collector.add(entry)


class NcmecFormat:
    """NCMEC hash-sharing XML; see the module docstring."""

    name: ClassVar[str] = "ncmec"
    description: ClassVar[str] = "NCMEC hash-sharing XML (queryResult of the hash-sharing API v2)"
    suffixes: ClassVar[tuple[str, ...]] = (".xml",)
    signal_types: ClassVar[frozenset[str] | None] = frozenset(_FINGERPRINTS.values())

    def sniff(self, head: bytes, filename: str) -> bool:
        return b"<queryResult" in head or b"hashsharing.ncmec.org" in head

    def read(
        self,
        stream: IO[bytes],
        *,
        signal_type: str | None = None,
        filename: str = "",
        sink: EntrySink | None = None,
    ) -> ImportResult:
        collector = Collector(self.name, sink=sink)
        target = _RecordBuilder(collector, signal_type)
        parser = DefusedXMLParser(target=target)  # forbids entity declarations and external refs
        target.parser = parser
        try:
            while chunk := stream.read(_CHUNK):
                parser.feed(chunk)
            parser.close()
        except ET.ParseError as exc:
            line, column = exc.position
            raise BankFormatError(
                f"not an NCMEC hash-sharing XML file: malformed XML at line {line} "
                f"column {column + 1}; check that the file is complete"
            ) from None
        except DefusedXmlException as exc:
            raise BankFormatError(
                f"refused NCMEC XML file: it declares entities or external references ({exc}), "
                "which a hash list never needs and which can exhaust memory or read local files"
            ) from None
        except (LookupError, ValueError) as exc:
            # expat refuses an encoding it does not know or cannot stream (the XML declaration's
            # encoding="..."): LookupError "unknown encoding", ValueError "multi-byte encodings"
            if isinstance(exc, ValueError) and "encoding" not in str(exc):
                raise
            raise BankFormatError(
                f"not a readable NCMEC hash-sharing XML file: {exc}; NCMEC files are UTF-8"
            ) from None
        if target.root is None or target.root.tag != "queryResult":
            found = target.root.tag if target.root is not None else "nothing"
            raise BankFormatError(
                f"not an NCMEC hash-sharing XML file: the root element is <{found}>, "
                "expected <queryResult>"
            )
        return collector.result

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None:
        # unqualified tags under a literal xmlns: ElementTree's default_namespace option
        # refuses the unqualified attributes (count, id) the format uses
        root = ET.Element("queryResult", {"xmlns": NAMESPACE})
        groups: dict[str, ET.Element] = {"image": ET.Element("images")}
        groups["video"] = ET.Element("videos")
        records: dict[
            tuple[str, str, tuple[str, ...], tuple[tuple[str, str], ...]], ET.Element
        ] = {}
        for entry in entries:
            if entry.signal_type not in _FINGERPRINTS or (
                signal_type is not None and entry.signal_type != signal_type
            ):
                raise BankError(
                    f"NCMEC XML holds md5, sha1 and pdq fingerprints, not {entry.signal_type}; "
                    "use write_bank_file, which skips and counts such entries"
                )
            kind = "video" if entry.meta.get("entry_type") == "video" else "image"
            record_id = entry.meta.get("id", "")
            # one record per id *and* what it says: two records sharing an id (a damaged or
            # hostile file) are written apart, so neither's member or timestamp is lost
            key = (kind, record_id, entry.labels, tuple(sorted(entry.meta.items())))
            record = records.get(key) if record_id else None
            fingerprints = record.find("fingerprints") if record is not None else None
            if fingerprints is None or fingerprints.find(entry.signal_type) is not None:
                record = self._element(kind, entry)
                groups[kind].append(record)
                if record_id:
                    records.setdefault(key, record)
                fingerprints = ET.SubElement(record, "fingerprints")
            ET.SubElement(fingerprints, entry.signal_type).text = entry.value
            if entry.meta.get("PhotoDNA") and fingerprints.find("pdna") is None:
                ET.SubElement(fingerprints, "pdna").text = entry.meta["PhotoDNA"]
        for group in groups.values():
            if len(group):
                group.set("count", str(len(group)))
                root.append(group)
        ET.indent(root)
        buffer = io.BytesIO()
        ET.ElementTree(root).write(buffer, encoding="UTF-8", xml_declaration=True)
        stream.write(buffer.getvalue())
        stream.write(b"\n")

    @staticmethod
    def _element(kind: str, entry: BankEntry) -> ET.Element:
        record = ET.Element(kind)
        meta = entry.meta
        if meta.get("member_id") or meta.get("member"):
            member = ET.SubElement(record, "member")
            if meta.get("member_id"):
                member.set("id", meta["member_id"])
            member.text = meta.get("member", "")
        if meta.get("timestamp"):
            ET.SubElement(record, "timestamp").text = meta["timestamp"]
        if meta.get("id"):
            ET.SubElement(record, "id").text = meta["id"]
        for label in entry.labels:
            if label.startswith(CLASSIFICATION_LABEL):
                ET.SubElement(record, "classification").text = label[len(CLASSIFICATION_LABEL) :]
                break
        return record

    def kept(self, entry: BankEntry) -> BankEntry:
        """What of ``entry`` this format stores: one classification label, six meta keys."""
        first = next((x for x in entry.labels if x.startswith(CLASSIFICATION_LABEL)), None)
        labels = () if first is None else (first,)
        meta = {k: entry.meta[k].strip() for k in _META_KEYS if entry.meta.get(k, "").strip()}
        if meta.get("entry_type") != "video":
            meta.pop("entry_type", None)
        return BankEntry(entry.signal_type, entry.value, labels, meta)
