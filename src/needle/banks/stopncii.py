"""StopNCII.org hash records: the JSON the StopNCII ``FetchHashes`` API returns.

What the file is (read from facebook/ThreatExchange ``python-threatexchange``,
``exchanges/clients/stopncii/api.py`` and its tests): an object with ``count``,
``nextPageToken``, ``nextSetTimestamp``, ``hasMoreRecords`` and ``hashRecords``, a list of::

    {"signalType": "ImagePDQ" | "VideoMD5" | "VideoTMK" | "Text" | "URL" | "Unknown",
     "hashValue": "<hex>", "hashStatus": "Received" | "Active" | "Withdrawn" | "Deleted",
     "lastModtimestamp": <unix seconds>, "caseNumbers": {"<case guid>": "<status>"},
     "CSPFeedbacks": [{"source": ..., "feedbackValue": ..., "tags": [...]}],
     "hashRegions": ["UK", ...]}

In: such a document (one saved page). ``ImagePDQ`` records become pdq entries and
``VideoMD5`` records md5 entries; every other field is kept as meta, strings as they are and
anything else as compact JSON. A record of another signal type, one whose ``hashStatus`` is
``Withdrawn`` or ``Deleted`` (StopNCII asks clients to delete those), or one with a missing
or mistyped field is an ``ImportProblem`` on the line the record starts.

Out: the same shape, with ``count`` and ``hasMoreRecords: false``; a record carries the fields
its entry's meta holds (``lastModtimestamp``, ``hashStatus``, ``caseNumbers``,
``CSPFeedbacks``, ``hashRegions``). Labels and other meta have no place in a hash record and
are reported as dropped by ``write_bank_file``; pdq and md5 are the only types it holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import IO, Any, ClassVar

from needle.banks._common import Collector, make_entry, shorten
from needle.banks._json import RecordLines, json_scalar, load_json
from needle.banks.model import BankEntry, EntrySink, ImportResult
from needle.errors import BankError, BankFormatError, SignalFormatError

__all__ = ["SIGNAL_TYPES", "StopNCIIFormat"]

#: StopNCII ``signalType`` -> needle signal type
SIGNAL_TYPES: Mapping[str, str] = {"ImagePDQ": "pdq", "VideoMD5": "md5"}
_TO_STOPNCII = {needle: theirs for theirs, needle in SIGNAL_TYPES.items()}
#: statuses whose hashes StopNCII asks clients to delete
_DELETED = frozenset({"Withdrawn", "Deleted"})
#: record fields export writes back, with the JSON type each must have
_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "lastModtimestamp": int,
    "hashStatus": str,
    "caseNumbers": (dict, list),
    "CSPFeedbacks": list,
    "hashRegions": list,
}


class StopNCIIFormat:
    """StopNCII ``hashRecords`` JSON; see the module docstring."""

    name: ClassVar[str] = "stopncii"
    description: ClassVar[str] = "StopNCII JSON (hashRecords of the FetchHashes API)"
    suffixes: ClassVar[tuple[str, ...]] = (".json",)
    signal_types: ClassVar[frozenset[str] | None] = frozenset(SIGNAL_TYPES.values())

    def sniff(self, head: bytes, filename: str) -> bool:
        return b'"hashRecords"' in head

    def read(
        self,
        stream: IO[bytes],
        *,
        signal_type: str | None = None,
        filename: str = "",
        sink: EntrySink | None = None,
    ) -> ImportResult:
        text, doc = load_json(stream.read(), "StopNCII JSON")
        if not isinstance(doc, dict) or not isinstance(doc.get("hashRecords"), list):
            raise BankFormatError(
                "not a StopNCII file: expected an object with a 'hashRecords' list "
                "(the response of the FetchHashes API)"
            )
        collector = Collector(self.name, sink=sink)
        lines = RecordLines(text)
        for i, record in enumerate(doc["hashRecords"]):
            try:
                entry = self._entry(record)
            except (SignalFormatError, ValueError) as exc:
                collector.problem(lines.line(["hashRecords", i]), f"hashRecords[{i}]: {exc}")
                continue
            if signal_type is None or entry.signal_type == signal_type:
                collector.add(entry)
        return collector.result

    @staticmethod
    def _entry(record: Any) -> BankEntry:
        if not isinstance(record, dict):
            raise ValueError(f"expected an object, got {type(record).__name__}")
        kind, value = record.get("signalType"), record.get("hashValue")
        if not isinstance(kind, str) or not isinstance(value, str):
            raise ValueError("signalType and hashValue must both be present, as strings")
        if kind not in SIGNAL_TYPES:
            known = ", ".join(SIGNAL_TYPES)
            raise ValueError(f"signalType {shorten(kind)} is not one needle matches ({known})")
        for field, expected in _FIELDS.items():
            if field in record and (
                not isinstance(record[field], expected) or isinstance(record[field], bool)
            ):
                raise ValueError(
                    f"{field} has the wrong JSON type: {shorten(json.dumps(record[field]))}"
                )
        status = record.get("hashStatus")
        if status in _DELETED:
            raise ValueError(f"hashStatus is {status}: StopNCII asks that this hash be deleted")
        meta = {
            key: json_scalar(item)
            for key, item in record.items()
            if key not in ("signalType", "hashValue")
        }
        try:
            return make_entry(SIGNAL_TYPES[kind], value, (), meta)
        except SignalFormatError as exc:
            raise SignalFormatError(f"{exc} (value {shorten(value)})") from None

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None:
        records: list[dict[str, Any]] = []
        for entry in entries:
            kind = _TO_STOPNCII.get(entry.signal_type)
            if kind is None or (signal_type is not None and entry.signal_type != signal_type):
                raise BankError(
                    f"StopNCII records hold pdq and md5 hashes, not {entry.signal_type}; use "
                    "write_bank_file, which skips and counts such entries"
                )
            record: dict[str, Any] = {"signalType": kind, "hashValue": entry.value}
            for field, expected in _FIELDS.items():
                if field in entry.meta:
                    raw = entry.meta[field]
                    record[field] = raw if expected is str else _decoded(raw)
            records.append(record)
        doc = {"count": len(records), "hasMoreRecords": False, "hashRecords": records}
        stream.write(json.dumps(doc, indent=1, ensure_ascii=False).encode())
        stream.write(b"\n")

    def kept(self, entry: BankEntry) -> BankEntry:
        """What of ``entry`` this format stores: the record fields, no labels."""
        meta = {k: v for k, v in entry.meta.items() if k in _FIELDS}
        return BankEntry(entry.signal_type, entry.value, (), meta)


def _decoded(raw: str) -> Any:
    """A meta string holding compact JSON back to its value; text that is not JSON as is."""
    try:
        return json.loads(raw)
    except ValueError:  # not JSON, or an integer too long to convert: kept as text
        return raw
