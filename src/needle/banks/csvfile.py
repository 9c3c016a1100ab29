"""CSV hash lists: ``signal_type,signal[,label...]``.

In: comma-separated rows. The first column names the signal type (needle's names, or
python-threatexchange's ``HASH_MD5``/``video_md5`` spellings); when it is empty the
``signal_type`` argument is used, else the type is inferred from the hex length. The second
column is the hash; every further non-empty column is a label. A first row whose first cell
is ``signal_type`` (or ``type``) is a header and skipped; blank rows and rows starting with
``#`` are ignored. Quoted fields may hold commas and line breaks (RFC 4180).

A ``vpdq`` row (``VPDQ``, ``video_vpdq``) holds a whole video in its quoted signal cell: HMA's
compact JSON list, the older threatexchange JSON object, or ``frame,quality,pdq_hex,timestamp``
lines separated by line breaks or ``;`` (``needle.signals.vpdq_exchange``); it is stored, and
exported, as the compact list.

Out: entries with labels; the format holds no meta. Export writes a header row, then one
row per entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import IO, ClassVar

from needle.banks._common import Collector, csv_rows, is_known_type, make_entry, shorten
from needle.banks.model import BankEntry, EntrySink, ImportResult
from needle.errors import SignalFormatError

__all__ = ["HEADER", "CsvFormat"]

#: what export writes as its first row; import recognises these first cells as a header
HEADER = ("signal_type", "signal", "label")
_HEADER_FIRST_CELLS = frozenset({"signal_type", "type", "signal type", "hash_type"})


class CsvFormat:
    """``signal_type,signal[,label...]`` rows; see the module docstring."""

    name: ClassVar[str] = "csv"
    description: ClassVar[str] = "needle's CSV: signal_type,signal[,label...] rows"
    suffixes: ClassVar[tuple[str, ...]] = (".csv",)
    signal_types: ClassVar[frozenset[str] | None] = None

    def sniff(self, head: bytes, filename: str) -> bool:
        for line in head.lstrip(b"\xef\xbb\xbf").splitlines()[:20]:
            text = line.decode("utf-8", "replace").strip()
            if not text or text.startswith("#"):
                continue
            first = text.split(",", 1)[0].strip().strip('"').lower()
            known = first in _HEADER_FIRST_CELLS or is_known_type(first)
            return "," in text and known
        return False

    def read(
        self,
        stream: IO[bytes],
        *,
        signal_type: str | None = None,
        filename: str = "",
        sink: EntrySink | None = None,
    ) -> ImportResult:
        collector = Collector(self.name, sink=sink)
        first_row = True
        for start, row in csv_rows(stream, collector):
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if first_row:
                first_row = False
                if cells[0].lower() in _HEADER_FIRST_CELLS:
                    continue
            if len(cells) < 2 or not cells[1]:
                collector.problem(start, "missing the signal column (expected signal_type,signal)")
                continue
            try:
                entry = make_entry(cells[0] or signal_type, cells[1], cells[2:])
            except SignalFormatError as exc:
                collector.problem(start, f"{exc} (value {shorten(cells[1])})")
                continue
            collector.add(entry)
        return collector.result

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None:
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
        try:
            writer = csv.writer(text)  # "\r\n" lines: a "\r" in a label gets quoted too
            writer.writerow(HEADER)
            for entry in entries:
                writer.writerow((entry.signal_type, entry.value, *entry.labels))
        finally:
            text.detach()  # leave the caller's stream open

    def kept(self, entry: BankEntry) -> BankEntry:
        """What of ``entry`` this format stores: type, value and labels."""
        return BankEntry(entry.signal_type, entry.value, entry.labels)
