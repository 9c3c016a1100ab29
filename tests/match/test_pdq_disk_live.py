"""A saved PDQ index kept current (base + delta − deleted) answers as a rebuild of its live
rows, and a sharded index answers as the unsharded one, row ids included."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from match.test_pdq_disk import THRESHOLD, brute, dataset, queries_for, same, triples
from needle.banks.model import BankEntry
from needle.errors import ConfigError
from needle.match.pdq import PDQHits, PDQIndex
from needle.match.pdq_build import build_from_blocks, build_from_store
from needle.match.pdq_disk import IndexFormatError, read_manifest
from needle.match.pdq_live import LivePDQIndex
from needle.match.pdq_shards import (
    IndexShard,
    ShardedIndex,
    build_sharded,
    build_sharded_from_file,
    build_sharded_from_store,
)
from needle.store import Store


def rebuilt(hashes: np.ndarray, deleted: np.ndarray, queries: np.ndarray) -> PDQHits:
    """What a fresh index over every row, minus the deleted ones, answers."""
    hits = PDQIndex(hashes, THRESHOLD).query(queries)
    keep = ~np.isin(hits.row, deleted)
    return PDQHits(hits.query[keep], hits.row[keep], hits.distance[keep], THRESHOLD, hits.n_queries)


def test_delta_and_deleted_rows_answer_as_a_rebuild(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    base = dataset(rng, 20_000)
    build_from_blocks([base], tmp_path / "base")
    live = LivePDQIndex.open(tmp_path / "base")
    added = np.concatenate([dataset(rng, 500), queries_for(rng, base, 50)])  # near the base too
    assert live.add(added[:300]).tolist() == list(range(20_000, 20_300))
    assert live.add([bytes(h).hex() for h in added[300:]])[0] == 20_300
    everything = np.concatenate([base, added])
    queries = queries_for(rng, everything, 120)
    assert same(live.query(queries), rebuilt(everything, np.array([], int), queries))
    hits = live.query(queries)
    deleted = np.unique(np.concatenate([hits.row[::3], rng.integers(0, len(everything), 400)]))
    assert live.delete(deleted) == len(deleted)
    assert live.delete(deleted[:5]) == 0  # again: harmless
    expected = rebuilt(everything, deleted, queries)
    assert same(live.query(queries), expected)
    assert set(triples(expected)) == {
        t for t in brute(everything, queries) if t[1] not in set(deleted.tolist())
    }
    assert same(live.query(queries, 12), PDQHits(*_below(expected, 12)))
    assert live.live_rows == len(everything) - len(deleted)
    with pytest.raises(ConfigError, match=r"row ids must be in"):
        live.delete([len(everything)])


def _below(hits: PDQHits, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    keep = hits.distance <= t
    return hits.query[keep], hits.row[keep], hits.distance[keep], t, hits.n_queries


def test_merge_keeps_row_ids_and_deletions(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    base = dataset(rng, 4_000)
    build_from_blocks([base], tmp_path / "base")
    live = LivePDQIndex.open(tmp_path / "base", merge_fraction=0.1)
    added = dataset(rng, 300)
    live.add(added)
    assert not live.needs_merge
    live.add(dataset(rng, 150))
    assert live.needs_merge  # 450 added >= 10 % of 4,000
    live.delete([3, 4_100, 4_449])
    everything = np.concatenate(list(live.hash_blocks()))
    assert np.array_equal(everything[:4_300], np.concatenate([base, added]))
    queries = queries_for(rng, everything, 80)
    before = live.query(queries)
    merged = live.merge(tmp_path / "merged")
    assert (len(merged), merged.added, merged.deleted) == (4_450, 0, 3)
    assert same(merged.query(queries), before)
    assert same(merged.query(queries), rebuilt(everything, np.array([3, 4_100, 4_449]), queries))
    again = LivePDQIndex.open(tmp_path / "merged")  # the deletions were saved with it
    assert again.is_deleted(np.array([3, 4, 4_449])).tolist() == [True, False, True]
    assert read_manifest(tmp_path / "merged").source.kind == "merge"
    with pytest.raises(ConfigError, match=r"built from a bank"):
        again.catch_up(Store(f"sqlite:///{tmp_path / 'x.db'}"))


def test_catch_up_adds_what_the_bank_gained(db_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    hashes = dataset(rng, 2_000)
    hashes = hashes[np.sort(np.unique(hashes, axis=0, return_index=True)[1])]
    values = [bytes(h).hex() for h in hashes]
    store = Store(db_url)
    store.create_bank("grow", pdq_threshold=THRESHOLD)
    store.add_entries("grow", [BankEntry("pdq", v) for v in values[:1500]])
    build_from_store(store, "grow", tmp_path / "base")
    live = LivePDQIndex.open(tmp_path / "base")
    assert live.catch_up(store) == 0
    store.add_entries("grow", [BankEntry("md5", "0" * 32)])
    store.add_entries("grow", [BankEntry("pdq", v) for v in values[1500:]])
    assert live.catch_up(store) == len(values) - 1500
    assert live.catch_up(store) == 0
    queries = queries_for(rng, hashes, 60)
    build_from_store(store, "grow", tmp_path / "fresh")
    assert same(live.query(queries), PDQIndex.open(tmp_path / "fresh").query(queries))
    merged = live.merge(tmp_path / "merged")
    assert merged.source == read_manifest(tmp_path / "fresh").source
    assert same(merged.query(queries), live.query(queries))
    store.close()


@pytest.mark.parametrize("shards", [1, 4, 16])
def test_sharded_answers_as_unsharded(tmp_path: Path, shards: int) -> None:
    rng = np.random.default_rng(14)
    hashes = dataset(rng, 30_000)
    hashes[100:130] = hashes[7]  # duplicates: one bucket, one shard
    queries = queries_for(rng, hashes, 120)
    expected = PDQIndex(hashes, THRESHOLD).query(queries)
    blocks = [hashes[i : i + 7_000] for i in range(0, len(hashes), 7_000)]
    build_sharded(blocks, tmp_path / "sharded", shards=shards)
    sharded = ShardedIndex.open(tmp_path / "sharded", verify=True)
    assert len(sharded) == len(hashes) and len(sharded.shards) == shards
    assert same(sharded.query(queries), expected)
    assert same(sharded.query(queries, 20), PDQIndex(hashes, THRESHOLD).query(queries, 20))
    assert set(triples(expected)) == brute(hashes, queries)
    shard = IndexShard(tmp_path / "sharded" / "shard-000")  # what a remote worker runs
    part = pickle.loads(pickle.dumps(shard.query(queries)))
    assert set(triples(part)) <= set(triples(expected))
    bits = shards.bit_length() - 1
    assert not bits or (hashes[shard.global_rows][:, 0] >> (8 - bits) == 0).all()


def test_sharded_from_a_file_and_a_bank(db_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(15)
    hashes = dataset(rng, 3_000)
    hashes = hashes[np.sort(np.unique(hashes, axis=0, return_index=True)[1])]
    hashes.tofile(tmp_path / "hashes.bin")
    queries = queries_for(rng, hashes, 60)
    expected = PDQIndex(hashes, THRESHOLD).query(queries)
    build_sharded_from_file(tmp_path / "hashes.bin", tmp_path / "from-file", shards=8)
    assert same(ShardedIndex.open(tmp_path / "from-file").query(queries), expected)
    store = Store(db_url)
    store.create_bank("b", pdq_threshold=THRESHOLD)
    store.add_entries("b", [BankEntry("pdq", bytes(h).hex()) for h in hashes])
    build_sharded_from_store(store, "b", tmp_path / "from-bank", shards=2, threshold=THRESHOLD)
    sharded = ShardedIndex.open(tmp_path / "from-bank")
    assert same(sharded.query(queries), expected)
    assert sharded.manifest.source.last_entry_id is not None
    store.close()


def test_bad_shard_counts_and_damaged_shards_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(16)
    hashes = dataset(rng, 2_000)
    for bad in (0, 3, 512):
        with pytest.raises(ConfigError, match=r"power of two"):
            build_sharded([hashes], tmp_path / "s", shards=bad)
    build_sharded([hashes], tmp_path / "s", shards=4)
    build_from_blocks([hashes], tmp_path / "plain")
    with pytest.raises(IndexFormatError, match=r"an index, not a shard"):
        IndexShard(tmp_path / "plain")
    manifest = tmp_path / "s" / "manifest.json"
    body = json.loads(manifest.read_text())
    body["shards"][0]["rows"] += 1
    manifest.write_text(json.dumps(body))
    with pytest.raises(IndexFormatError, match=r"does not add up"):
        ShardedIndex.open(tmp_path / "s")
    body["version"] = 9
    manifest.write_text(json.dumps(body))
    with pytest.raises(IndexFormatError, match=r"version 9"):
        ShardedIndex.open(tmp_path / "s")
    (tmp_path / "s" / "shard-002" / "hashes.npy").unlink()
    body["version"] = 1
    body["shards"][0]["rows"] -= 1
    manifest.write_text(json.dumps(body))
    with pytest.raises(IndexFormatError, match=r"hashes.npy is missing"):
        ShardedIndex.open(tmp_path / "s")
