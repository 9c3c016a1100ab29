"""Plain text hash lists: one hash per line.

In: lines of hex hashes. Blank lines and lines starting with ``#`` are ignored, as is a
``# comment`` after a hash. The signal type is, in order of precedence: the ``signal_type``
argument, the last ``# signal_type: NAME`` line above (needle writes one before each run of
a type, so mixed lists survive a round trip), or the hex length (32 md5, 40 sha1; a 64-digit
value is sha256 or pdq and needs one of the first two).

Out: entries with no labels or meta (the format holds none). Export groups entries by type,
each group under its ``# signal_type:`` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import IO, ClassVar

from needle.banks._common import Collector, decoded_lines, make_entry, resolve_type, shorten
from needle.banks.model import BankEntry, EntrySink, ImportResult
from needle.errors import BankError, SignalFormatError

__all__ = ["TextFormat"]

_DIRECTIVE = re.compile(r"#\s*signal[_ ]type\s*[:=]\s*(\S+)\s*$", re.IGNORECASE)
_HEX_LINE = re.compile(rb"[0-9a-fA-F]{16,}\s*(#.*)?")


class TextFormat:
    """One hash per line, ``#`` comments; see the module docstring."""

    name: ClassVar[str] = "text"
    description: ClassVar[str] = (
        "one hash per line, '# signal_type: NAME' above each type; python-threatexchange's "
        "local_file reads it when the collaboration is given one signal type"
    )
    suffixes: ClassVar[tuple[str, ...]] = (".txt", ".text")
    #: None: any registered signal type
    signal_types: ClassVar[frozenset[str] | None] = None

    def sniff(self, head: bytes, filename: str) -> bool:
        for line in head.lstrip(b"\xef\xbb\xbf").splitlines()[:20]:
            line = line.strip()
            if not line or line.startswith(b"#"):
                continue
            return _HEX_LINE.fullmatch(line) is not None
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
        section: str | None = None
        for number, line in decoded_lines(stream, collector):
            text = line.strip()
            if text.startswith("#"):
                directive = _DIRECTIVE.match(text)
                if directive:
                    try:
                        section = resolve_type(directive.group(1))
                    except SignalFormatError as exc:
                        collector.problem(number, f"{exc}; hashes below use the line's length")
                        section = None
                continue
            value = text.split("#", 1)[0].strip()
            if not value:
                continue
            try:
                collector.add(make_entry(given or section, value))
            except SignalFormatError as exc:
                collector.problem(number, f"{exc} (value {shorten(value)})")
        return collector.result

    def write(
        self, entries: Iterable[BankEntry], stream: IO[bytes], *, signal_type: str | None = None
    ) -> None:
        by_type: dict[str, list[str]] = {}
        for entry in entries:
            if signal_type is not None and entry.signal_type != signal_type:
                raise BankError(
                    f"a {signal_type} text list cannot hold a {entry.signal_type} entry; "
                    "use write_bank_file, which skips and counts such entries"
                )
            by_type.setdefault(entry.signal_type, []).append(entry.value)
        for type_name, values in by_type.items():
            stream.write(f"# signal_type: {type_name}\n".encode())
            stream.write("".join(f"{v}\n" for v in values).encode())

    def kept(self, entry: BankEntry) -> BankEntry:
        """What of ``entry`` this format stores: the value only."""
        return BankEntry(entry.signal_type, entry.value)
