"""Project VIC VICS JSON (1.x and 2.0): hash sets and case exports.

What the file is (VICS data model, from exports of forensic tools and the ``VICSDATAMODEL``
OData context URIs they write): an OData JSON document. 1.x names its model in
``"odata.metadata"`` (``http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media``), 2.0
in ``"@odata.context"`` (``http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/
<REGION>/$metadata#Media``). Its ``value`` list holds either media records directly (a hash
set, ``#Media``) or cases (``#Cases``), each with a ``Media`` list. A media record carries
``MediaID`` (integer), ``Category`` (integer; its meaning is the issuing region's scheme),
``MD5`` and ``SHA1`` (hex, usually upper case), in 2.0 a ``PhotoDNA`` string, in 1.x
``AlternativeHashes`` entries ``{"HashName": ..., "HashValue": ...}`` (``SHA1``,
``PhotoDNA``), and ``MediaFiles``, the files found with that content, each of which may repeat
``MD5``/``SHA1``.

In: either version, either shape. Every MD5 and SHA1 of a media record (its own fields,
``AlternativeHashes``, ``MediaFiles``) becomes an entry. Its label is
``vics-category:<Category>``; meta keeps ``MediaID`` and the ``PhotoDNA`` value, which needle
never interprets (it is proprietary and cannot be computed here). A record that is not an
object, has a non-integer ``Category``, a bad or mistyped hash, or no MD5/SHA1 at all is an
``ImportProblem`` on the line the record starts.

Out: VICS 2.0, a ``#Media`` hash set: one media record per ``MediaID`` (an MD5 and a SHA1
entry of one media are joined again), upper-case hex, ``Category`` from the first
``vics-category:`` label. VICS holds only md5 and sha1; other types are skipped and counted by
``write_bank_file``. Entries without a ``MediaID`` get fresh ones, numbered after the highest
given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, ClassVar

from needle.banks._common import Collector, make_entry, shorten
from needle.banks._json import RecordLines, json_scalar, load_json
from needle.banks.model import BankEntry, EntrySink, ImportResult
from needle.errors import BankError, BankFormatError, SignalFormatError

__all__ = ["CATEGORY_LABEL", "CONTEXT_2_0", "VicsFormat"]

#: label prefix that carries a VICS ``Category`` (``vics-category:1``)
CATEGORY_LABEL = "vics-category:"
#: what export writes in ``@odata.context``: VICS 2.0, a hash set of media (no region)
CONTEXT_2_0 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media"
_HASH_FIELDS = {"md5": "md5", "sha1": "sha1"}
_META_KEYS = ("MediaID", "PhotoDNA")


def _key(record: Mapping[str, Any], name: str) -> str | None:
    """The key of ``record`` that spells ``name`` without regard to case (tools write ``Md5``,
    ``MD5`` ...), or None."""
    if name in record:
        return name
    lowered = name.lower()
    for key in record:
        if key.lower() == lowered:
            return key
    return None


def _field(record: Mapping[str, Any], name: str) -> Any:
    """``record[name]`` matched without regard to case."""
    key = _key(record, name)
    return None if key is None else record[key]


def _media_number(text: str) -> int | None:
    """A ``MediaID`` as the integer VICS writes, when it reads back the same ("12", not "012",
    "٣" or a number too long for ``int``); other IDs are written as the strings they are."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        number = int(text)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        return None
    return number if str(number) == text else None


def _category(entry: BankEntry) -> int | None:
    for label in entry.labels:
        if label.startswith(CATEGORY_LABEL):
            try:
                return int(label[len(CATEGORY_LABEL) :])
            except ValueError:
                continue
    return None


class VicsFormat:
    """Project VIC VICS JSON; see the module docstring."""

    name: ClassVar[str] = "vics"
    description: ClassVar[str] = "Project VIC VICS JSON (1.x and 2.0 hash sets and case exports)"
    suffixes: ClassVar[tuple[str, ...]] = (".json",)
    signal_types: ClassVar[frozenset[str] | None] = frozenset({"md5", "sha1"})

    def sniff(self, head: bytes, filename: str) -> bool:
        text = head.decode("utf-8", "replace")
        return '"odata.metadata"' in text or '"@odata.context"' in text or "ProjectVic" in text

    def read(
        self,
        stream: IO[bytes],
        *,
        signal_type: str | None = None,
        filename: str = "",
        sink: EntrySink | None = None,
    ) -> ImportResult:
        text, doc = load_json(stream.read(), "VICS JSON")
        if not isinstance(doc, dict) or not isinstance(doc.get("value"), list):
            raise BankFormatError(
                "not a VICS JSON file: expected an object with a 'value' list "
                "(and 'odata.metadata' or '@odata.context')"
            )
        collector = Collector(self.name, sink=sink)
        lines = RecordLines(text)
        for path, record in self._records(doc["value"], collector, lines):
            try:
                entries = self._entries(record)
            except (SignalFormatError, ValueError) as exc:
                where = "".join(
                    f"[{step}]" if isinstance(step, int) else f".{step}" for step in path
                )
                collector.problem(lines.line(path), f"record {where.lstrip('.')}: {exc}")
                continue
            for entry in entries:
                if signal_type is None or entry.signal_type == signal_type:
                    collector.add(entry)
        return collector.result

    @staticmethod
    def _records(
        value: list[Any], collector: Collector, lines: RecordLines
    ) -> Iterator[tuple[list[str | int], Any]]:
        """(path, media record) for every media record, inside cases or not."""
        for i, item in enumerate(value):
            key = _key(item, "Media") if isinstance(item, dict) else None
            media = item[key] if key is not None else None
            if key is None or media is None:
                yield ["value", i], item
            elif isinstance(media, list):
                for j, record in enumerate(media):
                    yield ["value", i, key, j], record
            else:
                collector.problem(
                    lines.line(["value", i]), f"case value[{i}]: 'Media' is not a list"
                )

    @staticmethod
    def _entries(record: Any) -> list[BankEntry]:
        if not isinstance(record, dict):
            raise ValueError(f"expected an object, got {type(record).__name__}")
        labels: list[str] = []
        category = _field(record, "Category")
        if category is not None:
            if isinstance(category, bool) or not isinstance(category, int | str):
                raise ValueError(f"Category must be an integer, got {json.dumps(category)}")
            try:
                labels.append(f"{CATEGORY_LABEL}{int(category)}")
            except ValueError:
                raise ValueError(
                    f"Category must be an integer, got {shorten(str(category))}"
                ) from None
        meta: dict[str, str] = {}
        media_id = _field(record, "MediaID")
        if media_id is not None:
            meta["MediaID"] = json_scalar(media_id)
        hashes: list[tuple[str, Any]] = []
        for source in [record, *VicsFormat._list(record, "MediaFiles")]:
            for field, type_name in _HASH_FIELDS.items():
                value = _field(source, field)
                if value is not None:
                    hashes.append((type_name, value))
        for alternative in VicsFormat._list(record, "AlternativeHashes"):
            name = str(_field(alternative, "HashName") or "").lower()
            value = _field(alternative, "HashValue")
            if name in _HASH_FIELDS:
                hashes.append((_HASH_FIELDS[name], value))
            elif name == "photodna" and value is not None:
                meta.setdefault("PhotoDNA", json_scalar(value))
        photodna = _field(record, "PhotoDNA")
        if photodna not in (None, ""):
            meta["PhotoDNA"] = json_scalar(photodna)
        entries: list[BankEntry] = []
        for type_name, value in hashes:
            if value == "":
                continue  # exporters write "" for a hash they did not compute
            if not isinstance(value, str):
                raise ValueError(f"{type_name.upper()} must be a string, got {json.dumps(value)}")
            try:
                entries.append(make_entry(type_name, value, labels, meta))
            except SignalFormatError as exc:
                raise SignalFormatError(f"{exc} (value {shorten(value)})") from None
        if not entries:
            raise ValueError("no MD5 or SHA1 hash (needle cannot match a PhotoDNA-only record)")
        return entries

    @staticmethod
    def _list(record: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
        items = _field(record, name)
        if items is None:
            return []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError(f"{name} must be a list of objects")
        return items

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None:
        entries = list(entries)
        numbers = [_media_number(e.meta.get("MediaID", "")) for e in entries]
        next_id = max((n for n in numbers if n is not None), default=0) + 1
        records: list[dict[str, Any]] = []
        by_id: dict[str, dict[str, Any]] = {}
        for entry in entries:
            if entry.signal_type not in _HASH_FIELDS or (
                signal_type is not None and entry.signal_type != signal_type
            ):
                raise BankError(
                    f"VICS holds md5 and sha1 hashes, not {entry.signal_type}; use "
                    "write_bank_file, which skips and counts such entries"
                )
            field = entry.signal_type.upper()
            media_id = entry.meta.get("MediaID")
            category, photodna = _category(entry), entry.meta.get("PhotoDNA") or None
            record = by_id.get(media_id) if media_id is not None else None
            # join the md5 and sha1 of one media again, only when nothing of either is lost:
            # entries that share a MediaID but not a category or PhotoDNA get a record each
            if (
                record is None
                or field in record
                or record.get("Category") != category
                or record.get("PhotoDNA") != photodna
            ):
                if media_id is None:
                    media_id, next_id = str(next_id), next_id + 1
                number = _media_number(media_id)
                record = {"MediaID": media_id if number is None else number}
                if category is not None:
                    record["Category"] = category
                if photodna is not None:
                    record["PhotoDNA"] = photodna
                records.append(record)
                by_id.setdefault(media_id, record)
            record[field] = entry.value.upper()
        doc = {"@odata.context": CONTEXT_2_0, "value": records}
        stream.write(json.dumps(doc, indent=1, ensure_ascii=False).encode())
        stream.write(b"\n")

    def kept(self, entry: BankEntry) -> BankEntry:
        """What of ``entry`` this format stores: one category label, ``MediaID`` and ``PhotoDNA``."""
        category = _category(entry)
        labels = () if category is None else (f"{CATEGORY_LABEL}{category}",)
        meta = {k: entry.meta[k] for k in _META_KEYS if entry.meta.get(k)}
        return BankEntry(entry.signal_type, entry.value, labels, meta)
