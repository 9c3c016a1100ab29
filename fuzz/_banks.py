"""The bank-format harnesses' shared body: read, check, write back, read again.

In: the bytes of a bank file and the name of a format in ``needle.banks.registry``. The
format's ``read`` may raise ``BankFormatError`` (the whole file is unreadable) and nothing
else: a bad line or record is an ``ImportProblem``. What was read must then survive the
format's own round trip: written with ``write`` and read back, the entries are what the
format's ``kept`` says it stores (export may add meta, never lose it), so an export's loss
counts (``ExportResult``) are true.
The file name handed to ``read`` and the ``signal_type`` argument are chosen from a checksum
of the bytes, so every input replays the same way.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable

from _harness import instrumented

with instrumented("csv", "json", "defusedxml", "xml.etree", "xml.dom"):
    import csv  # noqa: F401
    import json  # noqa: F401

    from needle.banks import BankEntry, BankFormat, registry
    from needle.errors import BankFormatError
    from needle.signals import registry as signal_types

    registry.names()  # imports every built-in format now, inside the instrumented block

__all__ = ["harness"]

#: ``signal_type`` arguments tried: mostly "as the file says", sometimes one forced
_SIGNAL_TYPES: tuple[str | None, ...] = (None, None, None, "pdq", "md5", "sha1", "sha256")


def _same(stored: list[BankEntry], again: list[BankEntry]) -> None:
    """``again`` holds each stored entry with its labels and meta; export may add meta (VICS
    numbers media without a ``MediaID``), never lose or change it."""
    found = {(e.signal_type, e.value): e for e in again}
    assert len(found) == len(again) == len(stored), (stored, again)
    for entry in stored:
        back = found.get((entry.signal_type, entry.value))
        assert back is not None, (entry, again)
        assert back.labels == entry.labels, (entry, back)
        assert entry.meta.items() <= back.meta.items(), (entry, back)


def _stored(fmt: BankFormat, entries: Iterable[BankEntry]) -> list[BankEntry]:
    kept = getattr(fmt, "kept", None)
    return [kept(e) if kept is not None else e for e in entries]


def harness(format_name: str, filenames: tuple[str, ...]) -> Callable[[bytes], None]:
    """``TestOneInput`` for the format ``format_name``, read under one of ``filenames``."""
    fmt = registry.get(format_name)
    holds = getattr(fmt, "signal_types", None)

    def TestOneInput(data: bytes) -> None:
        pick = zlib.crc32(data)
        filename = filenames[pick % len(filenames)]
        signal_type = _SIGNAL_TYPES[(pick >> 8) % len(_SIGNAL_TYPES)]
        try:
            result = fmt.read(io.BytesIO(data), signal_type=signal_type, filename=filename)
        except BankFormatError:
            return
        for entry in result.entries:
            assert entry.value == signal_types.get(entry.signal_type).validate(entry.value)
            if signal_type is not None and format_name in ("text", "te-simple-csv"):
                assert entry.signal_type == signal_type, (entry, signal_type)
        for problem in result.problems:
            assert problem.line >= 0 and str(problem), problem
        # write back what the format can hold, then read it again
        written = [e for e in result.entries if holds is None or e.signal_type in holds]
        by_type = {e.signal_type for e in written}
        # a format whose file holds one type (ThreatExchange) is written one type at a time
        groups = [[e for e in written if e.signal_type == t] for t in sorted(by_type)]
        if format_name != "te-simple-csv":
            groups = [written] if written else []
        for group in groups:
            out = io.BytesIO()
            own_type = group[0].signal_type if format_name == "te-simple-csv" else None
            fmt.write(group, out, signal_type=own_type)
            again = fmt.read(io.BytesIO(out.getvalue()), signal_type=own_type, filename=filename)
            assert not again.problems, (again.problems, out.getvalue()[:2000])
            _same(_stored(fmt, group), again.entries)

    return TestOneInput
