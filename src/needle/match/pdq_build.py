"""Build a saved PDQ index by streaming, for banks too large to hold twice in memory.

In: hashes from a text file (one 64-hex-digit PDQ hash a line; blank lines, ``#`` comments,
surrounding spaces and CRLF allowed), a file of raw 32-byte records, a bank's PDQ entries in
the store (read through the driver's cursor a chunk at a time, in entry order, as
``Store.load_bank_columns`` reads them), or blocks of an array. Out: an index directory
(``needle.match.pdq_disk``) that ``PDQIndex.open`` maps; row ``i`` is the ``i``-th hash of
the source (for a bank: its ``i``-th PDQ entry, the row of ``load_bank_columns``' column).

Steps, none of which loops over rows in Python or holds a hash as a Python object:

1. hashes: each block of the source decoded at once (a whole block of hex through a numpy
   lookup table) and appended to ``hashes.npy``; the count is known at the end, so that
   file's header is written last.
2. plan: from the count and the threshold (``plan_index``).
3. tables: for each probed chunk in turn, the chunk's keys read from ``hashes.npy`` a block
   at a time, the rows sorted by key (``sort_by_chunk``), written and dropped. Peak memory is
   about 12 bytes a row (1.2 GB at 100M) plus a block, whatever the number of chunks: the
   hashes themselves are read with file reads, never held or mapped.
4. the manifest, then the directory renamed into place (a killed build leaves nothing).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from needle.errors import BankError, ConfigError, SignalFormatError
from needle.match.pdq import _check_threshold
from needle.match.pdq_disk import (
    BLOCK_ROWS,
    HASHES,
    HEADER_BYTES,
    OFFSETS,
    ROWS,
    FileEntry,
    IndexManifest,
    IndexSource,
    NpyWriter,
    now_iso,
    staging,
    write_array,
    write_manifest,
)
from needle.match.pdq_tables import PDQ_BYTES, index_dtype, plan_index, sort_by_chunk, table_layout
from needle.signals.pdq import PDQ_MATCH_DISTANCE

if TYPE_CHECKING:
    from needle.store import Store

__all__ = [
    "StoreHashes",
    "build_from_blocks",
    "build_from_file",
    "build_from_store",
    "build_tables",
    "read_hash_blocks",
    "read_raw_hashes",
    "read_text_hashes",
    "write_hashes",
]

#: bytes of a text file decoded at once (about a million hashes)
TEXT_BLOCK_BYTES = 1 << 26
#: bank entries fetched from the driver's cursor at once
STORE_CHUNK = 1 << 16
HEX_DIGITS = 2 * PDQ_BYTES
TEXT_SUFFIXES = (".txt", ".hex", ".pdq", ".csv", ".tsv")
RAW_SUFFIXES = (".bin", ".raw", ".u8")

# hex digit (ASCII byte) -> its value; 255 for every byte that is not one
_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _digit, _value in zip(b"0123456789abcdef", range(16), strict=True):
    _NIBBLE[_digit] = _value
for _digit, _value in zip(b"ABCDEF", range(10, 16), strict=True):
    _NIBBLE[_digit] = _value
_NEWLINE, _CR, _HASH_SIGN = 10, 13, ord("#")


# --------------------------------------------------------------------------- sources


def read_text_hashes(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """The hashes of a text file, one per line, as ``(k, 32)`` uint8 blocks in file order.

    A line that is neither blank, a ``#`` comment nor 64 hex digits (after stripping
    spaces) is a ``SignalFormatError`` naming its line number.
    """
    source = Path(path)
    with source.open("rb") as text:
        carry = b""
        line = 1
        while data := text.read(TEXT_BLOCK_BYTES):
            data = carry + data
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                yield _decode_lines(data[:cut], line, source)
                line += data.count(b"\n", 0, cut)
        if carry.strip():
            yield _decode_lines(carry + b"\n", line, source)


def _decode_lines(block: bytes, first_line: int, source: Path) -> np.ndarray:
    """Whole lines (``block`` ends with a newline) to a ``(k, 32)`` uint8 array."""
    data = np.frombuffer(block, dtype=np.uint8)
    stride = HEX_DIGITS + 1
    if len(data) % stride == 0 and (data[HEX_DIGITS::stride] == _NEWLINE).all():
        digits = data.reshape(-1, stride)[:, :HEX_DIGITS]  # the usual file: nothing else
        line_of = np.arange(len(digits)) + first_line
    else:
        ends = np.flatnonzero(data == _NEWLINE)
        starts = np.concatenate(([0], ends[:-1] + 1))
        lengths = ends - starts
        crlf = (lengths == HEX_DIGITS + 1) & (data[np.maximum(ends - 1, 0)] == _CR)
        plain = (lengths == HEX_DIGITS) | crlf
        plain &= data[np.minimum(starts, len(data) - 1)] != _HASH_SIGN
        keep = plain.copy()
        for i in np.flatnonzero(~plain).tolist():  # the few other lines, one by one
            raw = block[starts[i] : ends[i]]
            stripped = raw.strip()
            if not stripped or stripped.startswith(b"#"):
                continue
            if len(stripped) != HEX_DIGITS:
                raise _bad_line(source, first_line + i, stripped)
            starts[i] += len(raw) - len(raw.lstrip())
            keep[i] = True
        rows = np.flatnonzero(keep)
        digits = data[starts[rows, None] + np.arange(HEX_DIGITS)]
        line_of = rows + first_line
    nibbles = _NIBBLE[digits]
    bad = nibbles == 255
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise _bad_line(source, int(line_of[row]), digits[row].tobytes())
    out = nibbles[:, 0::2] << 4
    out |= nibbles[:, 1::2]
    return out


def _bad_line(source: Path, line: int, text: bytes) -> SignalFormatError:
    shown = text[:80].decode("utf-8", "replace")
    return SignalFormatError(
        f"{source}, line {line}: {shown!r} is not a PDQ hash; each line must be 64 hex "
        "digits (blank lines and # comments are skipped)"
    )


def read_raw_hashes(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """The hashes of a file of raw 32-byte records, as ``(k, 32)`` uint8 blocks."""
    source = Path(path)
    size = source.stat().st_size
    if size % PDQ_BYTES:
        raise SignalFormatError(
            f"{source} is {size:,} bytes, not a whole number of 32-byte PDQ hashes; "
            "a raw hash file holds each hash's 32 bytes, nothing else"
        )
    with source.open("rb") as raw:
        while block := raw.read(BLOCK_ROWS * PDQ_BYTES):
            yield np.frombuffer(block, dtype=np.uint8).reshape(-1, PDQ_BYTES)


def read_hash_blocks(path: str | os.PathLike[str], kind: str | None = None) -> Iterator[np.ndarray]:
    """A file's hashes, ``kind`` ``text`` or ``raw``; by default from its suffix, or for any
    other suffix from its first bytes (hex digits or ``#``: text)."""
    source = Path(path)
    if kind is None:
        suffix = source.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            kind = "text"
        elif suffix in RAW_SUFFIXES:
            kind = "raw"
        else:
            with source.open("rb") as head:
                first = head.read(HEX_DIGITS + 2).split(b"\n")[0].strip()
            digits = np.frombuffer(first, dtype=np.uint8)
            text = first.startswith(b"#") or bool((_NIBBLE[digits] < 16).all())
            kind = "text" if text else "raw"
    if kind == "text":
        return read_text_hashes(source)
    if kind == "raw":
        return read_raw_hashes(source)
    raise ConfigError(f"unknown hash file kind {kind!r}; use text or raw")


class StoreHashes:
    """A bank's PDQ hashes from the store, as ``(k, 32)`` uint8 blocks in entry order.

    Iterate once. ``last_entry_id`` is then the id of the last entry read (``after_id``
    when there was none): an index built from these rows is refreshed later with the
    entries after it (``needle.match.pdq_live``).
    """

    def __init__(self, store: Store, bank: str, *, after_id: int = 0, chunk: int = STORE_CHUNK):
        self.store = store
        self.bank = bank
        self.after_id = after_id
        self.last_entry_id = after_id
        self._chunk = chunk

    def __iter__(self) -> Iterator[np.ndarray]:
        for rows in self.store.iter_bank_values(
            self.bank, "pdq", after_id=self.after_id, chunk=self._chunk
        ):
            values = "".join(map(itemgetter(1), rows))
            try:
                raw = bytes.fromhex(values)
            except ValueError:
                raw = b""
            if len(raw) * 2 != len(values) or len(values) != HEX_DIGITS * len(rows):
                raise SignalFormatError(self._first_bad(rows))
            self.last_entry_id = int(rows[-1][0])
            yield np.frombuffer(raw, dtype=np.uint8).reshape(-1, PDQ_BYTES)

    def _first_bad(self, rows: list[tuple[int, str]]) -> str:
        for entry_id, value in rows:
            try:
                ok = len(value) == HEX_DIGITS and len(bytes.fromhex(value)) == PDQ_BYTES
            except ValueError:
                ok = False
            if not ok:
                return f"bank {self.bank!r}, entry {entry_id}: {value[:80]!r} is not a PDQ hash"
        return f"bank {self.bank!r}: a PDQ value is not 64 hex digits"  # pragma: no cover


# --------------------------------------------------------------------------- steps


def write_hashes(blocks: Iterable[np.ndarray], folder: Path) -> FileEntry:
    """Step 1: every block, in order, into ``folder/hashes.npy``."""
    writer = NpyWriter(folder / HASHES, np.uint8, (PDQ_BYTES,))
    try:
        for block in blocks:
            if block.ndim != 2 or block.shape[1] != PDQ_BYTES or block.dtype != np.uint8:
                raise SignalFormatError(
                    f"PDQ hash blocks must be (k, 32) uint8, got {block.shape} {block.dtype}"
                )
            writer.write(block)
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def hash_file_blocks(path: Path, n: int, rows: int = BLOCK_ROWS) -> Iterator[np.ndarray]:
    """``hashes.npy``'s rows as ``(k, 4)`` uint64 blocks, read into one reused buffer (each
    block is valid until the next): read, not mapped, so none of it stays resident."""
    buffer = np.empty((min(rows, max(n, 1)), 4), dtype=np.uint64)
    with path.open("rb") as data:
        data.seek(HEADER_BYTES)
        for start in range(0, n, rows):
            block = buffer[: min(rows, n - start)]
            view = block.reshape(-1).view(np.uint8).data
            if data.readinto(view) != block.nbytes:
                raise OSError(f"{path} ended early, at row {start:,} of {n:,}")
            yield block


def build_tables(folder: Path, n: int, plan_strategy: str, threshold: int) -> IndexManifest:
    """Steps 2 and 3: the plan for ``folder/hashes.npy``'s ``n`` rows, and every probed
    chunk's table into ``offsets.npy`` and ``rows.npy``, one chunk at a time. The manifest
    of the whole (its hash file's entry left for the caller to add)."""
    plan = plan_index(n, threshold, plan_strategy)
    files: dict[str, FileEntry] = {}
    if plan.strategy == "multi-index":
        starts, widths, _ = table_layout(plan)
        dtype = index_dtype(n)
        offsets = NpyWriter(folder / OFFSETS, dtype)
        rows = NpyWriter(folder / ROWS, dtype, (n,))
        try:
            for start, width in zip(starts.tolist(), widths.tolist(), strict=True):
                table, order = sort_by_chunk(hash_file_blocks(folder / HASHES, n), n, start, width)
                offsets.write(table)
                rows.write(order)
                del table, order
            files[OFFSETS], files[ROWS] = offsets.close(), rows.close()
        except BaseException:
            offsets.abort()
            rows.abort()
            raise
    return IndexManifest(n, plan, files)


def build_from_blocks(
    blocks: Iterable[np.ndarray],
    directory: str | os.PathLike[str],
    *,
    threshold: int = PDQ_MATCH_DISTANCE,
    strategy: str = "auto",
    replace: bool = False,
    source: IndexSource | Callable[[], IndexSource] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """An index of the hashes in ``blocks`` (``(k, 32)`` uint8 arrays, in row order), saved
    to ``directory``. ``source`` (or a function giving it once the blocks are read) is
    recorded in the manifest; ``extra`` arrays are saved beside the index under their names
    (``deleted.npy``: ``needle.match.pdq_live``)."""
    _check_threshold(threshold)  # a bad threshold or strategy fails before any work
    plan_index(0, threshold, strategy)
    with staging(directory, replace=replace) as folder:
        hashes = write_hashes(blocks, folder)
        n = hashes.shape[0]
        built = build_tables(folder, n, strategy, threshold)
        files = {HASHES: hashes, **built.files}
        for name, array in (extra or {}).items():
            files[name] = write_array(folder / name, array)
        where = source() if callable(source) else source
        manifest = IndexManifest(n, built.plan, files, where or IndexSource(), now_iso())
        write_manifest(folder, manifest)
    return Path(directory)


def build_from_file(
    path: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    kind: str | None = None,
    threshold: int = PDQ_MATCH_DISTANCE,
    strategy: str = "auto",
    replace: bool = False,
) -> Path:
    """An index of the hashes in a text or raw file (``read_hash_blocks``)."""
    blocks = read_hash_blocks(path, kind)
    source = IndexSource("file", str(Path(path)))
    return build_from_blocks(
        blocks, directory, threshold=threshold, strategy=strategy, replace=replace, source=source
    )


def build_from_store(
    store: Store,
    bank: str,
    directory: str | os.PathLike[str],
    *,
    threshold: int | None = None,
    strategy: str = "auto",
    replace: bool = False,
) -> Path:
    """An index of a bank's PDQ entries, at the bank's own threshold unless one is given.
    The manifest records the last entry read, for ``LivePDQIndex.catch_up``."""
    if threshold is None:
        threshold = _bank_threshold(store, bank)
    hashes = StoreHashes(store, bank)

    def source() -> IndexSource:
        return IndexSource("store", bank, hashes.last_entry_id)

    return build_from_blocks(
        hashes, directory, threshold=threshold, strategy=strategy, replace=replace, source=source
    )


def _bank_threshold(store: Store, bank: str) -> int:
    for summary in store.list_banks():
        if summary.name == bank:
            return int(summary.pdq_threshold)
    raise BankError(f"no bank named {bank!r}; create one with: needle bank import NAME FILE")


def concat_blocks(*sources: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Blocks of several sources one after the other (a base's hashes, then a delta's)."""
    return chain.from_iterable(sources)
