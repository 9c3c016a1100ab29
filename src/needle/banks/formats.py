"""The bank-format registry, and reading or writing a bank file by path.

In: a path (and optionally a format name and signal type). ``read_bank_file`` picks the
format (the one named, else by file-name suffix and a look at the first bytes) and returns
its ``ImportResult``: entries, and a problem for every record it skipped. Given a ``sink``
(``Store.bank_import``'s ``add``), it streams: entries go to the sink a chunk at a time as
the file is read, and the result only counts them.
``write_bank_file`` writes entries in a named format and returns an ``ExportResult`` that
counts what the format could not hold, so nothing is lost without being reported.

Formats are plugins (``needle.plugins.Registry``, entry-point group ``needle.bank_formats``).
Besides the ``BankFormat`` protocol a format may declare ``signal_types`` (the types it can
hold; None for any), ``kept(entry)`` (the part of an entry it stores, used to count dropped
labels and meta), ``signal_type_from_filename(name)`` (for formats whose file name says
the type, like ``te-simple-csv``'s ``simple.pdq.te``) and ``description`` (what the format
is, or which tool reads it: shown in ``needle bank export --help``). Formats are named for
what reads them: ``te-local-file`` is what python-threatexchange's ``local_file``
collaboration reads, ``te-simple-csv`` its ``simple.<TYPE>.te`` CSV files.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from needle.banks._common import STREAM_CHUNK
from needle.banks.model import BankEntry, BankFormat, EntrySink, ImportResult
from needle.errors import BankError, BankFormatError
from needle.plugins import Registry

__all__ = [
    "SNIFF_BYTES",
    "ExportResult",
    "format_descriptions",
    "format_names",
    "guess_format",
    "read_bank_file",
    "registry",
    "write_bank_file",
]

#: how much of a file ``sniff`` sees; enough for any header the built-in formats look for
SNIFF_BYTES = 8192


def _builtins() -> Iterable[BankFormat]:
    from needle.banks.csvfile import CsvFormat
    from needle.banks.ncmec import NcmecFormat
    from needle.banks.stopncii import StopNCIIFormat
    from needle.banks.te_local_file import LocalFileFormat
    from needle.banks.text import TextFormat
    from needle.banks.threatexchange import ThreatExchangeFormat
    from needle.banks.vics import VicsFormat

    # sniffing tries formats in this order: the most specific signatures first
    return [
        NcmecFormat(),
        VicsFormat(),
        StopNCIIFormat(),
        ThreatExchangeFormat(),
        LocalFileFormat(),
        CsvFormat(),
        TextFormat(),
    ]


# BankFormat declares ``name`` as a ClassVar, plugins.Named as an instance attribute; both
# are a str read from the plugin, which is all Registry does with it.
registry: Registry[BankFormat] = Registry("bank format", "needle.bank_formats", _builtins)

#: format names that were given up, and why: the message says what to use instead
RENAMED = {
    "threatexchange": (
        "the format 'threatexchange' is now two, named for what reads them: te-simple-csv "
        "(python-threatexchange's simple.TYPE.te CSV files, which the old name wrote) and "
        "te-local-file (TYPE SIGNAL lines, what the threatexchange CLI's local_file "
        "collaboration reads)"
    ),
}


@dataclass(frozen=True)
class ExportResult:
    """What ``write_bank_file`` wrote, and what the format could not hold.

    ``skipped`` counts entries left out, by signal type: types the format cannot hold, or
    not the ``signal_type`` asked for. ``dropped_labels`` and ``dropped_meta`` count written
    entries that lost some of their labels or meta on the way (the format has no place for
    them).
    """

    format: str
    path: str
    written: int
    skipped: Mapping[str, int] = field(default_factory=dict)
    dropped_labels: int = 0
    dropped_meta: int = 0

    @property
    def lossless(self) -> bool:
        """True when every entry was written with all its labels and meta."""
        return not self.skipped and not self.dropped_labels and not self.dropped_meta

    def summary(self) -> str:
        """One line for a person: what was written and what was left out."""
        parts = [f"wrote {self.written} entries to {self.path} ({self.format})"]
        if self.skipped:
            kinds = ", ".join(f"{n} {t}" for t, n in sorted(self.skipped.items()))
            parts.append(f"skipped {kinds} (the format cannot hold them or not the type asked)")
        if self.dropped_labels:
            parts.append(f"{self.dropped_labels} entries lost labels the format cannot hold")
        if self.dropped_meta:
            parts.append(f"{self.dropped_meta} entries lost meta fields the format cannot hold")
        return "; ".join(parts)


def format_names() -> list[str]:
    """Names of the registered bank formats, built-ins first (for ``--format`` help)."""
    return registry.names()


def format_descriptions() -> dict[str, str]:
    """Each format's name and what it is or which tool reads it (a plugin may say nothing)."""
    return {fmt.name: getattr(fmt, "description", "") for fmt in registry}


def _get(name: str) -> BankFormat:
    if name in RENAMED and name not in registry:
        raise BankFormatError(RENAMED[name])
    if name not in registry:
        raise BankFormatError(
            f"unknown bank format {name!r}; known formats: {', '.join(registry.names())}"
        )
    return registry.get(name)


def guess_format(path: str | os.PathLike[str], head: bytes) -> BankFormat:
    """The format of a file, from its name's suffix and its first bytes ``head``.

    Formats whose suffix matches are asked first, then every other format's ``sniff`` in
    registry order; when none recognises the bytes, a suffix that only one format claims
    decides (an empty ``.csv``). Raises ``BankFormatError`` naming the formats when none fits.
    """
    name = Path(path).name
    lowered = name.lower()
    by_suffix = [f for f in registry if any(lowered.endswith(s) for s in f.suffixes)]
    others = [f for f in registry if f not in by_suffix]
    for candidate in by_suffix + others:
        if candidate.sniff(head, name):
            return candidate
    if len(by_suffix) == 1:
        return by_suffix[0]
    suffixes = ", ".join(f"{f.name} ({' '.join(f.suffixes)})" for f in registry)
    raise BankFormatError(
        f"cannot tell the format of bank file {name!r}; give it with format=... "
        f"(known formats: {suffixes})"
    )


def read_bank_file(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    signal_type: str | None = None,
    sink: EntrySink | None = None,
) -> ImportResult:
    """Read a bank file; bad records become ``ImportProblem`` s, the rest is imported.

    ``format`` is a registry name (``text``, ``csv``, ``te-simple-csv``, ``te-local-file``,
    ``vics``, ``stopncii``, ``ncmec``, or a plugin's); None guesses it from the suffix and the first
    bytes. ``signal_type`` is the type of the values in formats that do not say it (text,
    CSV rows with an empty type, ``.te`` files whose name does not); formats that name each
    hash's type keep only entries of that type.

    ``sink`` None: the result holds every entry. Otherwise each entry is handed to ``sink``
    (in chunks of up to ``STREAM_CHUNK``) and ``result.streamed`` counts them; a format that
    cannot stream (a plugin without the ``sink`` parameter) is read whole first.

    Raises ``BankFormatError`` when the file cannot be opened, its format cannot be told,
    or the whole file is unreadable (not JSON, not XML ...).
    """
    target = Path(path)
    named = _get(format) if format else None
    try:
        with target.open("rb") as stream:
            head = stream.read(SNIFF_BYTES)
            chosen = named or guess_format(target, head)
            stream.seek(0)
            if sink is None:
                return chosen.read(stream, signal_type=signal_type, filename=target.name)
            return _read_into(chosen, stream, signal_type, target.name, sink)
    except OSError as exc:
        raise BankFormatError(f"cannot read bank file {str(target)!r}: {exc.strerror}") from None


def _read_into(
    fmt: BankFormat, stream: IO[bytes], signal_type: str | None, filename: str, sink: EntrySink
) -> ImportResult:
    """``fmt.read`` with every entry handed to ``sink``: what it streamed, then the rest."""
    if "sink" in inspect.signature(fmt.read).parameters:
        result = fmt.read(stream, signal_type=signal_type, filename=filename, sink=sink)
    else:  # a plugin written before streaming: it holds the file's entries, we chunk them
        result = fmt.read(stream, signal_type=signal_type, filename=filename)
    rest, result.entries = result.entries, []
    for start in range(0, len(rest), STREAM_CHUNK):
        sink(rest[start : start + STREAM_CHUNK])
    result.streamed += len(rest)
    return result


@dataclass
class _Tally:
    written: int = 0
    dropped_labels: int = 0
    dropped_meta: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def sort_out(
        self, entries: Iterable[BankEntry], fmt: BankFormat, signal_type: str | None
    ) -> Iterator[BankEntry]:
        """The entries ``fmt`` can hold, counting the rest and what the written ones lose."""
        holds = getattr(fmt, "signal_types", None)
        kept = getattr(fmt, "kept", None)
        for entry in entries:
            if (holds is not None and entry.signal_type not in holds) or (
                signal_type is not None and entry.signal_type != signal_type
            ):
                self.skipped[entry.signal_type] = self.skipped.get(entry.signal_type, 0) + 1
                continue
            if kept is not None:
                stored: BankEntry = kept(entry)
                self.dropped_labels += set(stored.labels) != set(entry.labels)
                self.dropped_meta += dict(stored.meta) != dict(entry.meta)
            self.written += 1
            yield entry


def write_bank_file(
    entries: Iterable[BankEntry],
    path: str | os.PathLike[str],
    *,
    format: str,
    signal_type: str | None = None,
) -> ExportResult:
    """Write ``entries`` to ``path`` in ``format``; return what was written and left out.

    Entries of a type the format cannot hold (pdq in VICS, sha256 in StopNCII ...) or other
    than ``signal_type`` are skipped and counted in ``ExportResult.skipped``. For formats
    whose file name says the type (``simple.pdq.te``) a None ``signal_type`` is taken from
    the name. The file is written next to its destination and renamed into place, so a
    failed export never leaves half a file; like any temporary file it is readable by its
    owner only, which suits a list of hashes of abuse material.
    """
    fmt = _get(format)
    target = Path(path)
    from_name = getattr(fmt, "signal_type_from_filename", None)
    if signal_type is None and from_name is not None:
        signal_type = from_name(target.name)
    tally = _Tally()
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise BankError(f"cannot write bank file {str(target)!r}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            fmt.write(tally.sort_out(entries, fmt, signal_type), stream, signal_type=signal_type)
        os.replace(temp, target)
    except OSError as exc:
        raise BankError(f"cannot write bank file {str(target)!r}: {exc.strerror}") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return ExportResult(
        format=fmt.name,
        path=str(target),
        written=tally.written,
        skipped=tally.skipped,
        dropped_labels=tally.dropped_labels,
        dropped_meta=tally.dropped_meta,
    )
