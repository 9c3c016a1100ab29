"""Helpers every bank format shares: signal-type names, value validation, de-duplication,
line-numbered reading of text and CSV.

In: raw type names and hash strings as a file spells them, one record at a time.
Out: ``BankEntry`` values normalised by their signal type, collected once each into an
``ImportResult`` (or handed to a sink a chunk at a time), and an ``ImportProblem`` for every
record that could not be used.

Besides the signal registry's types a bank holds ``vpdq`` (``BANK_ONLY_TYPES``): a video's
vPDQ as one string (``needle.signals.vpdq_exchange``), which no file gives by itself and
which is compared frame by frame, not as one hash. Its values are normalised to the
canonical compact JSON list (``vpdq_value``), whichever form a file spells them in. One such
value runs to megabytes for a long video, more than the csv module's default field limit
(128 KiB): importing this module raises that limit, process-wide, to ``CSV_FIELD_LIMIT``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO

from needle.banks.model import (
    MAX_KEPT_PROBLEMS,
    BankEntry,
    EntrySink,
    ImportProblem,
    ImportResult,
)
from needle.errors import SignalFormatError
from needle.signals import infer_type, registry
from needle.signals.vpdq_exchange import VPDQ_MAX_CHARS, VPDQ_SIGNAL, parse_vpdq_value, vpdq_value

__all__ = [
    "BANK_ONLY_TYPES",
    "CSV_FIELD_LIMIT",
    "STREAM_CHUNK",
    "STREAM_CHUNK_CHARS",
    "TYPE_ALIASES",
    "Collector",
    "csv_rows",
    "decoded_lines",
    "is_known_type",
    "make_entry",
    "normalise_value",
    "resolve_type",
    "shorten",
]

#: spellings of signal types in files written by other tools, to needle's names
#: (python-threatexchange indicator types ``HASH_*`` and signal names ``video_md5``).
TYPE_ALIASES: Mapping[str, str] = {
    "hash_md5": "md5",
    "video_md5": "md5",
    "hash_sha1": "sha1",
    "hash_sha256": "sha256",
    "video_sha256": "sha256",
    "hash_pdq": "pdq",
    "pdq_hash": "pdq",
    "video_vpdq": VPDQ_SIGNAL,
}


def _vpdq(value: str) -> str:
    return vpdq_value(parse_vpdq_value(value))


#: signal types a bank holds that are not in the signal registry, and how each normalises a
#: value (raising ``SignalFormatError``)
BANK_ONLY_TYPES: Mapping[str, Callable[[str], str]] = {VPDQ_SIGNAL: _vpdq}

#: the csv module's field limit while needle reads: one cell holds a whole vPDQ value
CSV_FIELD_LIMIT = VPDQ_MAX_CHARS + 1024
if csv.field_size_limit() < CSV_FIELD_LIMIT:
    csv.field_size_limit(CSV_FIELD_LIMIT)

#: entries a streaming read hands its sink at once: one INSERT's worth, a few MB of objects
STREAM_CHUNK = 20_000
#: ... or fewer, once their values add up to this many characters (a vPDQ value is a whole
#: video's frame hashes: 300 KB for an hour hashed one frame a second)
STREAM_CHUNK_CHARS = 64 << 20


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for an error message, with repr quoting."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def is_known_type(name: str) -> bool:
    """True when ``name`` (a file's spelling, aliases too) is a signal type a bank holds."""
    key = name.strip().lower()
    key = TYPE_ALIASES.get(key, key)
    return key in BANK_ONLY_TYPES or key in registry


def resolve_type(name: str) -> str:
    """Needle's name for a signal type spelled ``name`` in a file, or ``SignalFormatError``."""
    key = name.strip().lower()
    key = TYPE_ALIASES.get(key, key)
    if key not in BANK_ONLY_TYPES and key not in registry:
        known = ", ".join(sorted({*registry.names(), *BANK_ONLY_TYPES}))
        raise SignalFormatError(f"unknown signal type {shorten(name)} (known: {known})")
    return key


def normalise_value(signal_type: str, value: str) -> str:
    """``value`` normalised by its type (needle's name): lower-case hex, or for ``vpdq`` the
    canonical JSON list. Raises ``SignalFormatError``."""
    bank_only = BANK_ONLY_TYPES.get(signal_type)
    return bank_only(value) if bank_only else registry.get(signal_type).validate(value)


def make_entry(
    signal_type: str | None,
    value: str,
    labels: Iterable[str] = (),
    meta: Mapping[str, str] | None = None,
) -> BankEntry:
    """A validated entry. ``signal_type`` None infers it from the hex length.

    Raises ``SignalFormatError`` with a message fit for an ``ImportProblem``.
    """
    signal_type = infer_type(value) if signal_type is None else resolve_type(signal_type)
    normalised = normalise_value(signal_type, value)
    clean_labels: list[str] = []
    for label in labels:
        label = label.strip()
        if label and label not in clean_labels:
            clean_labels.append(label)
    return BankEntry(signal_type, normalised, tuple(clean_labels), dict(meta or {}))


class Collector:
    """Builds an ``ImportResult``: each (type, value) kept once, problems in file order.

    A value seen again is merged into the first entry: its new labels are added, and so are
    meta keys the first entry lacks; where both have a key, the first value is kept.

    With a ``sink``, every ``chunk`` entries (fewer when their values reach ``chunk_chars``
    characters) are handed to it and forgotten, so memory stays flat however long the file; repeats are then merged within a chunk only (the store keeps
    the first of any across chunks). The caller hands over what is left at the end
    (``read_bank_file`` does). Problems past ``MAX_KEPT_PROBLEMS`` are only counted.
    """

    def __init__(
        self,
        format_name: str,
        *,
        sink: EntrySink | None = None,
        chunk: int = STREAM_CHUNK,
        chunk_chars: int = STREAM_CHUNK_CHARS,
    ) -> None:
        self.result = ImportResult(format_name)
        self._index: dict[tuple[str, str], int] = {}
        self._sink = sink
        self._chunk = chunk
        self._chunk_chars = chunk_chars
        self._chars = 0  # characters of the values held

    def add(self, entry: BankEntry) -> None:
        key = (entry.signal_type, entry.value)
        at = self._index.get(key)
        if at is None:
            self._index[key] = len(self.result.entries)
            self.result.entries.append(entry)
            self._chars += len(entry.value)
            full = len(self.result.entries) >= self._chunk or self._chars >= self._chunk_chars
            if self._sink is not None and full:
                self._flush(self._sink)
            return
        old = self.result.entries[at]
        labels = old.labels + tuple(label for label in entry.labels if label not in old.labels)
        meta = {**entry.meta, **old.meta}
        if labels != old.labels or meta != dict(old.meta):
            self.result.entries[at] = BankEntry(old.signal_type, old.value, labels, meta)

    def _flush(self, sink: EntrySink) -> None:
        sink(self.result.entries)
        self.result.streamed += len(self.result.entries)
        self.result.entries = []
        self._index.clear()
        self._chars = 0

    def problem(self, line: int, message: str) -> None:
        if len(self.result.problems) < MAX_KEPT_PROBLEMS:
            self.result.problems.append(ImportProblem(line, message))
        else:
            self.result.more_problems += 1


def decoded_lines(
    stream: IO[bytes], collector: Collector, *, keep_ends: bool = False
) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) for every line of ``stream``.

    The line ending is removed unless ``keep_ends`` (the csv module needs it to keep a line
    break inside a quoted field intact). A line that is not UTF-8 is reported to
    ``collector`` and yielded as an empty line, so that line numbers after it stay right.
    A UTF-8 byte-order mark is dropped.
    """
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            collector.problem(number, f"not UTF-8 text (bad byte at column {exc.start + 1})")
            text = "\n" if raw.endswith(b"\n") else ""
        yield number, text if keep_ends else text.rstrip("\r\n")


def csv_rows(stream: IO[bytes], collector: Collector) -> Iterator[tuple[int, list[str]]]:
    """(line number the row starts on, cells) for every CSV row of ``stream``.

    Quoted fields may hold commas and line breaks (RFC 4180), so a row can span lines; its
    number is the line it starts on. A malformed row and a line that is not UTF-8 are
    reported to ``collector`` with their line numbers and skipped; reading goes on.
    """
    read = [0]  # lines read so far: a count, not a list (banks run to millions of lines)

    def lines() -> Iterator[str]:
        for number, text in decoded_lines(stream, collector, keep_ends=True):
            read[0] = number
            yield text

    reader = csv.reader(lines(), strict=True)
    while True:
        start = read[0] + 1  # the row begins on the line after the last one read
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            collector.problem(start, f"malformed CSV row: {exc}")
            continue
        yield start, row
