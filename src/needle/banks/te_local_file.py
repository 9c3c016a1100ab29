"""What python-threatexchange's ``local_file`` collaboration reads: ``TYPE SIGNAL`` lines.

What the file is (read from facebook/ThreatExchange ``python-threatexchange``,
``threatexchange/exchanges/impl/file_api.py``, ``LocalFileSignalExchangeAPI``): the
``threatexchange`` CLI fetches such a file with
``threatexchange config collab edit local_file NAME --filename PATH`` and ``fetch``, then
matches against it (``match photo``, ``match video``). Each line is stripped; without a
``signal_type`` in the collaboration's config it is split at its first space into the
signal type, by threatexchange's name (``pdq``, ``video_md5``, ``video_sha256``), and the
signal. With one, the whole line is a signal of that type. Lines of unknown types are
ignored, and a signal its type rejects is logged as an invalid fingerprint and left out.
``report_opinion`` appends ``TYPE SIGNAL`` lines to the same file.

In: such lines. ``TYPE SIGNAL`` takes the type from the line (threatexchange's names or
needle's); a bare signal takes the ``signal_type`` argument, else its hex length. Blank lines
and lines starting with ``#`` are skipped (threatexchange skips them too: ``#`` is no type).

A ``vpdq`` line (threatexchange's ``vpdq`` extension, ``VPDQSignal``; HMA's ``vpdq``) holds
one video: its signal is the rest of the line after the first space, HMA's compact JSON list
(``["<pdq_hex>,<quality>,<timestamp>", ...]``, which has spaces in it) or any other form
``needle.signals.vpdq_exchange`` reads; it is stored as the compact list.

Out: ``TYPE SIGNAL`` lines with threatexchange's type names, so a collaboration configured
without ``signal_type`` reads every line. threatexchange has no sha1 type: sha1 entries are
skipped and counted. Its md5 and sha256 types are video types: the threatexchange CLI
matches them with ``match video`` only, PDQ with ``match photo``. ``vpdq`` lines are read by
the CLI only with its extension enabled (``threatexchange config extensions add
threatexchange.extensions.vpdq``). Labels and meta have no place in the format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import IO, ClassVar

from needle.banks._common import Collector, decoded_lines, make_entry, resolve_type, shorten
from needle.banks.model import BankEntry, EntrySink, ImportResult
from needle.errors import BankError, SignalFormatError
from needle.signals.vpdq_exchange import VPDQ_SIGNAL

__all__ = ["TE_TYPE_NAMES", "LocalFileFormat"]

#: needle's signal types by python-threatexchange's names (its CLI's default signal types)
TE_TYPE_NAMES: Mapping[str, str] = {
    "pdq": "pdq",
    "md5": "video_md5",
    "sha256": "video_sha256",
    VPDQ_SIGNAL: "vpdq",  # the vpdq extension's VPDQSignal
}

#: a typed line: a hex signal, or a vPDQ JSON list (cut short where the sniffed head ends)
_TYPED_LINE = re.compile(rb"([A-Za-z][A-Za-z0-9_]*) +(?:[0-9a-fA-F]{16,}\s*|\[.*)")


class LocalFileFormat:
    """python-threatexchange ``local_file`` signal files; see the module docstring."""

    name: ClassVar[str] = "te-local-file"
    description: ClassVar[str] = (
        "what python-threatexchange's local_file collaboration reads: TYPE SIGNAL lines "
        "(pdq, video_md5, video_sha256, vpdq)"
    )
    suffixes: ClassVar[tuple[str, ...]] = ()
    signal_types: ClassVar[frozenset[str] | None] = frozenset(TE_TYPE_NAMES)

    def sniff(self, head: bytes, filename: str) -> bool:
        for line in head.lstrip(b"\xef\xbb\xbf").splitlines()[:20]:
            line = line.strip()
            if not line or line.startswith(b"#"):
                continue
            typed = _TYPED_LINE.fullmatch(line)
            if typed is None:
                return False
            try:
                resolve_type(typed.group(1).decode())
            except SignalFormatError:
                return False
            return True
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
        given = resolve_type(signal_type) if signal_type else None
        for number, line in decoded_lines(stream, collector):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            kind, _, value = text.partition(" ")  # as threatexchange splits a line
            if not value or text.startswith(("[", "{")):  # a bare hash, or a bare vPDQ list
                kind, value = "", text
            try:
                collector.add(make_entry(kind or given, value.strip()))
            except SignalFormatError as exc:
                collector.problem(number, f"{exc} (value {shorten(value)})")
        return collector.result

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None:
        for entry in entries:
            te_name = TE_TYPE_NAMES.get(entry.signal_type)
            if te_name is None:
                raise BankError(
                    f"python-threatexchange has no {entry.signal_type} signal type; "
                    "use write_bank_file, which skips and counts such entries"
                )
            stream.write(f"{te_name} {entry.value}\n".encode())

    def kept(self, entry: BankEntry) -> BankEntry:
        """What of ``entry`` this format stores: the type and value."""
        return BankEntry(entry.signal_type, entry.value)
