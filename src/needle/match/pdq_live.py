"""A saved PDQ index kept current while its bank changes: base + delta − deleted.

In: an index saved on disk (the base, memory-mapped), then hashes added and rows deleted
since it was saved. Out: ``PDQHits`` over the live rows, the same hits an index rebuilt from
them gives, with 100 % recall; and, once the changes have grown past a fraction of the base,
a merged index written to a new directory.

Row ids are stable: the base's rows keep theirs, added rows are numbered after them in the
order added, and a deleted row's id is never reused. How:

- added rows go to the delta, a small in-memory ``PDQIndex`` rebuilt the first time a query
  finds it changed (add in batches: a rebuild sorts the whole delta, about a second a
  million rows);
- deleted rows are bits in a bitmap (one bit a row: 12.5 MB at 100M), and a hit on one is
  dropped;
- ``merge`` streams the base's hashes, then the delta's, into a new saved index
  (``needle.match.pdq_build``), the bitmap with it (``deleted.npy``), so every row keeps
  its id; ``needs_merge`` says when the delta or the deletions pass ``merge_fraction`` of the
  base. Rebuilding from the source instead (the bank) drops deleted rows for good;
- ``catch_up`` adds the entries a bank gained since its index was built (banks only grow:
  entries are added, never removed one by one; a deleted bank means a new index).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from needle.errors import ConfigError
from needle.match.pdq import PDQHits, PDQIndex, _as_words, merge_hits
from needle.match.pdq_build import StoreHashes, build_from_blocks
from needle.match.pdq_disk import (
    BLOCK_ROWS,
    DELETED,
    IndexSource,
    map_file,
    open_index,
    read_manifest,
)
from needle.match.pdq_tables import PDQ_BYTES

if TYPE_CHECKING:
    from needle.store import Store

__all__ = ["MERGE_FRACTION", "LivePDQIndex"]

#: merge when the delta (or the deleted rows) reaches this share of the base: the delta is
#: rebuilt whole after each change, and its probes cost as much as the base's per query
MERGE_FRACTION = 0.05


class LivePDQIndex:
    """A base index plus rows added and deleted since it was saved; see the module.

    ``LivePDQIndex.open(directory)`` for a saved base; ``LivePDQIndex(index)`` wraps one in
    memory. ``query`` answers as ``PDQIndex.query`` over the live rows.
    """

    def __init__(
        self,
        base: PDQIndex,
        *,
        source: IndexSource | None = None,
        deleted: np.ndarray | None = None,
        merge_fraction: float = MERGE_FRACTION,
    ) -> None:
        if not 0 < merge_fraction <= 1:
            raise ConfigError(f"merge_fraction must be in (0, 1], got {merge_fraction}")
        self._base = base
        self._source = source or IndexSource()
        self._merge_fraction = merge_fraction
        self._added: list[np.ndarray] = []  # (k, 32) uint8 blocks, in the order added
        self._n_added = 0
        self._delta: PDQIndex | None = None  # built from _added when a query needs it
        self._deleted = np.zeros(_bitmap_bytes(len(base)), dtype=np.uint8)
        if deleted is not None:
            if deleted.dtype != np.uint8 or len(deleted) > len(self._deleted):
                raise ConfigError("the deleted-row bitmap does not fit this index")
            self._deleted[: len(deleted)] = deleted
        self._n_deleted = int(np.bitwise_count(self._deleted).sum())

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        verify: bool = False,
        merge_fraction: float = MERGE_FRACTION,
    ) -> LivePDQIndex:
        """The index saved in ``directory`` as a base, with the rows deleted so far."""
        where = Path(directory)
        manifest = read_manifest(where)
        base = open_index(where, verify=verify)
        deleted = None
        if DELETED in manifest.files:
            deleted = np.array(map_file(where, DELETED, manifest.files[DELETED]))
        return cls(base, source=manifest.source, deleted=deleted, merge_fraction=merge_fraction)

    def __len__(self) -> int:
        """Row ids given so far (deleted rows included): the next added row gets this id."""
        return len(self._base) + self._n_added

    @property
    def live_rows(self) -> int:
        return len(self) - self._n_deleted

    @property
    def threshold(self) -> int:
        return self._base.threshold

    @property
    def source(self) -> IndexSource:
        """Where the rows came from; for a bank, ``last_entry_id`` follows ``catch_up``."""
        return self._source

    @property
    def base(self) -> PDQIndex:
        return self._base

    @property
    def added(self) -> int:
        """Rows in the delta: added since the base was saved."""
        return self._n_added

    @property
    def deleted(self) -> int:
        return self._n_deleted

    @property
    def needs_merge(self) -> bool:
        """Whether the delta or the deletions have reached ``merge_fraction`` of the base."""
        limit = self._merge_fraction * max(len(self._base), 1)
        return self._n_added >= limit or self._n_deleted >= limit

    def add(self, hashes: np.ndarray | Sequence[str]) -> np.ndarray:
        """Add hashes (hex strings or an ``(k, 32)`` uint8 array); their new row ids."""
        block = np.array(_as_words(hashes).view(np.uint8).reshape(-1, PDQ_BYTES))
        first = len(self)
        if len(block):
            self._added.append(block)
            self._n_added += len(block)
            self._delta = None
            grown = _bitmap_bytes(len(self))
            if grown > len(self._deleted):
                self._deleted = np.concatenate(
                    (self._deleted, np.zeros(grown - len(self._deleted), dtype=np.uint8))
                )
        return np.arange(first, len(self), dtype=np.int64)

    def delete(self, rows: Sequence[int] | np.ndarray) -> int:
        """Mark rows deleted (again is harmless); how many were newly deleted."""
        ids = np.unique(np.asarray(rows, dtype=np.int64))
        if len(ids) and (ids[0] < 0 or ids[-1] >= len(self)):
            raise ConfigError(f"row ids must be in 0..{len(self) - 1}, got {ids[0]}..{ids[-1]}")
        fresh = ids[~self.is_deleted(ids)]
        np.bitwise_or.at(self._deleted, fresh >> 3, (1 << (fresh & 7)).astype(np.uint8))
        self._n_deleted += len(fresh)
        return len(fresh)

    def is_deleted(self, rows: np.ndarray) -> np.ndarray:
        """For each row id, whether it is deleted."""
        ids = np.asarray(rows, dtype=np.int64)
        return ((self._deleted[ids >> 3] >> (ids & 7).astype(np.uint8)) & 1).astype(bool)

    def _delta_index(self) -> PDQIndex:
        if self._delta is None:
            hashes = np.concatenate(self._added) if self._added else np.empty((0, PDQ_BYTES))
            self._added = [hashes] if len(hashes) else []
            self._delta = PDQIndex(hashes.astype(np.uint8), self.threshold, copy=False)
        return self._delta

    def query(self, queries: np.ndarray | Sequence[str], threshold: int | None = None) -> PDQHits:
        """Every live row within ``threshold`` (default: the base's) of each query."""
        parts = [self._base.query(queries, threshold)]
        if self._n_added:
            hits = self._delta_index().query(queries, threshold)
            parts.append(
                PDQHits(
                    hits.query,
                    hits.row + len(self._base),
                    hits.distance,
                    hits.threshold,
                    hits.n_queries,
                )
            )
        if self._n_deleted:
            parts = [_without(p, ~self.is_deleted(p.row)) for p in parts]
        return parts[0] if len(parts) == 1 else merge_hits(parts)

    def hash_blocks(self) -> Iterator[np.ndarray]:
        """Every row's hash, base then delta, in row order, as ``(k, 32)`` uint8 blocks."""
        base = self._base.hashes
        for start in range(0, len(base), BLOCK_ROWS):
            yield np.asarray(base[start : start + BLOCK_ROWS])
        if self._n_added:
            yield self._delta_index().hashes

    def merge(self, directory: str | os.PathLike[str], *, replace: bool = False) -> LivePDQIndex:
        """Write base + delta as one saved index at ``directory`` (the deleted rows kept as a
        bitmap, so every row id stays), and open it: a new base with an empty delta."""
        if self._source.kind == "store":
            source = self._source
        else:
            source = IndexSource("merge", self._source.name, self._source.last_entry_id)
        build_from_blocks(
            self.hash_blocks(),
            directory,
            threshold=self.threshold,
            replace=replace,
            source=source,
            extra={DELETED: self._deleted} if self._n_deleted else None,
        )
        return LivePDQIndex.open(directory, merge_fraction=self._merge_fraction)

    def catch_up(self, store: Store) -> int:
        """Add the PDQ entries the bank gained since this index last read it; how many.

        Only for an index of a bank (``pdq_build.build_from_store``): its manifest records
        the last entry read, and a bank's entries are only ever added after it.
        """
        if self._source.kind != "store" or self._source.last_entry_id is None:
            raise ConfigError(
                "catch_up needs an index built from a bank (needle.match.pdq_build."
                f"build_from_store); this one came from {self._source.kind!r}"
            )
        hashes = StoreHashes(store, self._source.name, after_id=self._source.last_entry_id)
        added = 0
        for block in hashes:
            added += len(self.add(block))
        self._source = IndexSource("store", self._source.name, hashes.last_entry_id)
        return added


def _bitmap_bytes(rows: int) -> int:
    return (rows + 7) // 8


def _without(hits: PDQHits, keep: np.ndarray) -> PDQHits:
    return PDQHits(
        hits.query[keep], hits.row[keep], hits.distance[keep], hits.threshold, hits.n_queries
    )
