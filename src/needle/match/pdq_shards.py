"""A PDQ index split into shards by hash prefix, each shard a saved index of its own.

In: hashes, from the same sources as ``needle.match.pdq_build`` (blocks of a file, a bank),
and a number of shards (a power of two up to 256). Out: a directory with one saved index per
shard and a manifest listing them; ``ShardedIndex`` opens it and answers each batch with the
hits of every shard merged: the same hits, row ids included, as one index over all rows.

For when one machine's memory does not hold the index: each shard is a directory that can be
copied to, and opened on, the machine that serves it. ``IndexShard(path).query(queries)`` is
the whole per-shard call (its ``PDQHits`` carry global row ids and pickle), and
``merge_hits`` combines the shards' answers, so a shard can sit behind a remote call
(a Ray actor) without changing either. Rows go to the shard their first bits name: no
coordination is needed to route one, and random hashes spread evenly. A query still asks
every shard (a hash within the threshold may differ in any bit, its prefix included), so
sharding divides memory, not the work of a query.

A directory::

    manifest.json   format, version, rows, prefix bits, threshold, the shards and their rows
    shard-000/      a saved index (``needle.match.pdq_disk``) of the rows whose prefix is 0,
      global_rows.npy   ... and, listed in its manifest, each of its rows' global row id
    shard-001/ ...
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from needle.errors import ConfigError
from needle.match.pdq import PDQHits, _check_threshold, merge_hits
from needle.match.pdq_build import StoreHashes, build_tables, read_hash_blocks
from needle.match.pdq_disk import (
    HASHES,
    FileEntry,
    IndexFormatError,
    IndexManifest,
    IndexSource,
    NpyWriter,
    map_file,
    now_iso,
    open_index,
    read_manifest,
    staging,
    write_manifest,
)
from needle.match.pdq_tables import PDQ_BYTES, plan_index
from needle.signals.pdq import PDQ_MATCH_DISTANCE

if TYPE_CHECKING:
    from needle.store import Store

__all__ = [
    "SHARDS_FORMAT",
    "IndexShard",
    "ShardedIndex",
    "build_sharded",
    "build_sharded_from_file",
    "build_sharded_from_store",
    "merge_hits",
]

SHARDS_FORMAT = "needle-pdq-shards"
SHARDS_VERSION = 1
MANIFEST = "manifest.json"
GLOBAL_ROWS = "global_rows.npy"
MAX_SHARDS = 256


def shard_name(prefix: int) -> str:
    return f"shard-{prefix:03d}"


class IndexShard:
    """One shard: a saved index and its rows' global ids. ``query`` is the per-shard call."""

    def __init__(self, directory: str | os.PathLike[str], *, verify: bool = False) -> None:
        self.directory = Path(directory)
        manifest = read_manifest(self.directory)
        if GLOBAL_ROWS not in manifest.files:
            raise IndexFormatError(f"{self.directory} is an index, not a shard of one")
        self.index = open_index(self.directory, verify=verify)
        self.global_rows = map_file(
            self.directory, GLOBAL_ROWS, manifest.files[GLOBAL_ROWS], verify=verify
        )

    def __len__(self) -> int:
        return len(self.index)

    def query(self, queries: np.ndarray | Sequence[str], threshold: int | None = None) -> PDQHits:
        """This shard's hits, rows numbered as in the whole index."""
        hits = self.index.query(queries, threshold)
        rows = np.take(self.global_rows, hits.row) if len(hits) else hits.row
        return PDQHits(hits.query, rows, hits.distance, hits.threshold, hits.n_queries)


@dataclass(frozen=True)
class ShardsManifest:
    rows: int
    prefix_bits: int
    threshold: int
    shards: tuple[int, ...]  # rows per shard, shard i holding the rows of prefix i
    source: IndexSource
    created: str

    def to_json(self) -> str:
        body = {
            "format": SHARDS_FORMAT,
            "version": SHARDS_VERSION,
            "rows": self.rows,
            "prefix_bits": self.prefix_bits,
            "threshold": self.threshold,
            "shards": [
                {"path": shard_name(i), "prefix": i, "rows": n} for i, n in enumerate(self.shards)
            ],
            "source": {
                "kind": self.source.kind,
                "name": self.source.name,
                "last_entry_id": self.source.last_entry_id,
            },
            "created": self.created,
        }
        return json.dumps(body, indent=2) + "\n"


def read_shards_manifest(directory: Path) -> ShardsManifest:
    try:
        body = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        if body.get("format") != SHARDS_FORMAT:
            raise IndexFormatError(f"{directory} is not a sharded PDQ index")
        if body.get("version") != SHARDS_VERSION:
            raise IndexFormatError(
                f"{directory} is a sharded PDQ index of version {body.get('version')!r}; "
                f"this needle reads version {SHARDS_VERSION}: rebuild it"
            )
        shards = tuple(int(s["rows"]) for s in body["shards"])
        source = body.get("source") or {}
        last = source.get("last_entry_id")
        manifest = ShardsManifest(
            int(body["rows"]),
            int(body["prefix_bits"]),
            int(body["threshold"]),
            shards,
            IndexSource(
                str(source.get("kind", "array")),
                str(source.get("name", "")),
                None if last is None else int(last),
            ),
            str(body.get("created", "")),
        )
    except FileNotFoundError:
        raise IndexFormatError(
            f"no sharded PDQ index at {directory}: {MANIFEST} is missing"
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexFormatError(f"{directory}/{MANIFEST} is damaged ({exc}); rebuild") from None
    if len(manifest.shards) != 1 << manifest.prefix_bits or sum(manifest.shards) != manifest.rows:
        raise IndexFormatError(f"{directory}/{MANIFEST} does not add up; rebuild the index")
    return manifest


class ShardedIndex:
    """Every shard of a sharded index, asked in turn; ``query`` merges their hits."""

    def __init__(self, shards: Sequence[IndexShard], manifest: ShardsManifest) -> None:
        self.shards = list(shards)
        self.manifest = manifest

    @classmethod
    def open(cls, directory: str | os.PathLike[str], *, verify: bool = False) -> ShardedIndex:
        where = Path(directory)
        manifest = read_shards_manifest(where)
        shards = [
            IndexShard(where / shard_name(i), verify=verify) for i in range(len(manifest.shards))
        ]
        for i, (shard, rows) in enumerate(zip(shards, manifest.shards, strict=True)):
            if len(shard) != rows:
                raise IndexFormatError(
                    f"{where / shard_name(i)} holds {len(shard)} rows, not {rows}"
                )
        return cls(shards, manifest)

    def __len__(self) -> int:
        return self.manifest.rows

    @property
    def threshold(self) -> int:
        return self.manifest.threshold

    def query(self, queries: np.ndarray | Sequence[str], threshold: int | None = None) -> PDQHits:
        """Every row of every shard within ``threshold`` of each query, rows numbered as in
        the whole index: what one ``PDQIndex`` over all rows answers."""
        return merge_hits([shard.query(queries, threshold) for shard in self.shards])


def build_sharded(
    blocks: Iterable[np.ndarray],
    directory: str | os.PathLike[str],
    *,
    shards: int,
    threshold: int = PDQ_MATCH_DISTANCE,
    strategy: str = "auto",
    replace: bool = False,
    source: IndexSource | Callable[[], IndexSource] | None = None,
) -> Path:
    """Split the hashes of ``blocks`` by their first bits into ``shards`` saved indexes.

    Steps: each block's rows routed to their shard's hash file (with their global row ids),
    then each shard's tables built in turn (``pdq_build.build_tables``: memory for one shard
    at a time), then the manifests; the whole directory appears at once when done.
    """
    if shards < 1 or shards > MAX_SHARDS or shards & (shards - 1):
        raise ConfigError(f"shards must be a power of two from 1 to {MAX_SHARDS}, got {shards}")
    _check_threshold(threshold)  # a bad threshold or strategy fails before any work
    plan_index(0, threshold, strategy)
    bits = shards.bit_length() - 1
    with staging(directory, replace=replace) as folder:
        paths = [folder / shard_name(i) for i in range(shards)]
        for path in paths:
            path.mkdir()
        hashes = [NpyWriter(p / HASHES, np.uint8, (PDQ_BYTES,)) for p in paths]
        ids = [NpyWriter(p / GLOBAL_ROWS, np.int64) for p in paths]
        try:
            total = _route(blocks, bits, hashes, ids)
            files = [(h.close(), g.close()) for h, g in zip(hashes, ids, strict=True)]
        except BaseException:
            for writer in (*hashes, *ids):
                writer.abort()
            raise
        where = (source() if callable(source) else source) or IndexSource()
        for path, (hash_entry, id_entry) in zip(paths, files, strict=True):
            n = hash_entry.shape[0]
            built = build_tables(path, n, strategy, threshold)
            entries: dict[str, FileEntry] = {HASHES: hash_entry, GLOBAL_ROWS: id_entry}
            entries.update(built.files)
            write_manifest(path, IndexManifest(n, built.plan, entries, where, now_iso()))
        manifest = ShardsManifest(
            total, bits, threshold, tuple(f[0].shape[0] for f in files), where, now_iso()
        )
        (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return Path(directory)


def _route(
    blocks: Iterable[np.ndarray], bits: int, hashes: list[NpyWriter], ids: list[NpyWriter]
) -> int:
    """Write each row to the shard of its first ``bits`` bits; the number of rows."""
    total = 0
    for block in blocks:
        if block.ndim != 2 or block.shape[1] != PDQ_BYTES or block.dtype != np.uint8:
            raise ConfigError(f"PDQ hash blocks must be (k, 32) uint8, got {block.shape}")
        prefix = block[:, 0] >> (8 - bits) if bits else np.zeros(len(block), dtype=np.uint8)
        order = np.argsort(prefix, kind="stable")  # rows stay in order within a shard
        bounds = np.searchsorted(prefix[order], np.arange(len(hashes) + 1))
        for i, (lo, hi) in enumerate(pairwise(bounds.tolist())):
            if hi > lo:
                rows = order[lo:hi]
                hashes[i].write(np.take(block, rows, axis=0))
                ids[i].write(rows + total)
        total += len(block)
    return total


def build_sharded_from_file(
    path: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    shards: int,
    kind: str | None = None,
    threshold: int = PDQ_MATCH_DISTANCE,
    replace: bool = False,
) -> Path:
    """``build_sharded`` of a text or raw hash file."""
    return build_sharded(
        read_hash_blocks(path, kind),
        directory,
        shards=shards,
        threshold=threshold,
        replace=replace,
        source=IndexSource("file", str(Path(path))),
    )


def build_sharded_from_store(
    store: Store,
    bank: str,
    directory: str | os.PathLike[str],
    *,
    shards: int,
    threshold: int,
    replace: bool = False,
) -> Path:
    """``build_sharded`` of a bank's PDQ entries (rows in entry order, as ``build_from_store``)."""
    hashes = StoreHashes(store, bank)
    return build_sharded(
        hashes,
        directory,
        shards=shards,
        threshold=threshold,
        replace=replace,
        source=lambda: IndexSource("store", bank, hashes.last_entry_id),
    )
