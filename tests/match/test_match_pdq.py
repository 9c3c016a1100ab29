"""PDQIndex: every hit within the threshold, checked against an independent brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from match.match_helpers import flip_bits, hit_set, near, random_hashes, reference_hits
from needle.errors import ConfigError, SignalFormatError
from needle.match import pdq
from needle.match.pdq import PDQIndex, VariantHit, hamming_distances, pdq_array, plan_index
from needle.signals.pdq import PDQ

STRATEGIES = ["auto", "multi-index", "brute-force"]


def _queries_near(rng: np.random.Generator, hashes: list[str], n: int, most: int) -> list[str]:
    picks = rng.integers(0, len(hashes), size=n)
    flips = rng.integers(0, most + 1, size=n)
    return [near(rng, hashes[int(i)], int(k)) for i, k in zip(picks, flips, strict=True)]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_random_hashes_recall_equals_brute_force(strategy: str) -> None:
    rng = np.random.default_rng(1)
    hashes = random_hashes(rng, 2000)
    queries = _queries_near(rng, hashes, 150, 40) + random_hashes(rng, 50)
    expected = reference_hits(hashes, queries, 31)
    assert len(expected) > 100  # most near queries are within 31 bits: the test can fail
    index = PDQIndex(hashes, 31, strategy=strategy)
    assert hit_set(index.query(queries)) == expected


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_clustered_near_duplicates(strategy: str) -> None:
    """Clusters whose members are 0..31 bits from a centre: big shared buckets."""
    rng = np.random.default_rng(2)
    centres = random_hashes(rng, 15)
    members = [near(rng, c, k) for c in centres for k in range(32) for _ in range(3)]
    hashes = members + random_hashes(rng, 500)
    queries = centres + [near(rng, c, k) for c in centres for k in (5, 31, 32, 40)]
    expected = reference_hits(hashes, queries, 31)
    index = PDQIndex(hashes, 31, strategy=strategy)
    assert hit_set(index.query(queries)) == expected
    # a centre is within 31 of every member of its cluster (0..31 flips)
    assert {r for q, r, _ in expected if q == 0} >= set(range(96))


@pytest.mark.parametrize("threshold", [0, 1, 15, 16, 31, 32, 47, 63, 64, 100])
@pytest.mark.parametrize("strategy", ["auto", "multi-index"])
def test_exactly_threshold_matches_and_one_more_does_not(threshold: int, strategy: str) -> None:
    rng = np.random.default_rng(threshold)
    hashes = random_hashes(rng, 400)
    at = [near(rng, h, threshold) for h in hashes[:80]]
    past = [near(rng, h, threshold + 1) for h in hashes[:80]]
    index = PDQIndex(hashes, threshold, strategy=strategy)
    hits_at, hits_past = index.query(at), index.query(past)
    for q in range(80):
        assert (q, threshold) in hits_at.for_query(q)
        assert q not in [row for row, _ in hits_past.for_query(q)]
    assert hit_set(hits_at) == reference_hits(hashes, at, threshold)
    assert hit_set(hits_past) == reference_hits(hashes, past, threshold)


def test_reference_haystack(testdata: Path) -> None:
    """Real PDQ hashes from ThreatExchange's matcher tests (a haystack of near neighbours)."""
    folder = testdata / "pdq" / "reg-test-input"
    haystack = (folder / "haystack.txt").read_text().split()
    needles = (folder / "needles.txt").read_text().split()
    for threshold in (10, 31, 63):
        expected = reference_hits(haystack, needles, threshold)
        assert expected
        for strategy in ("multi-index", "brute-force"):
            hits = PDQIndex(haystack, threshold, strategy=strategy).query(needles)
            assert hit_set(hits) == expected, (threshold, strategy)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    threshold=st.integers(0, 256),
    strategy=st.sampled_from(["auto", "multi-index"]),
)
def test_recall_at_any_threshold(seed: int, n: int, threshold: int, strategy: str) -> None:
    rng = np.random.default_rng(seed)
    hashes = random_hashes(rng, n)
    queries = _queries_near(rng, hashes, 20, min(256, threshold + 2)) + random_hashes(rng, 5)
    index = PDQIndex(hashes, threshold, strategy=strategy)
    assert hit_set(index.query(queries)) == reference_hits(hashes, queries, threshold)


hex_hash = st.binary(min_size=32, max_size=32).map(bytes.hex)


@settings(max_examples=100, deadline=None)
@given(a=hex_hash, b=hex_hash)
def test_distance_symmetric_bounded_and_equal_to_signal_type(a: str, b: str) -> None:
    ab = int(hamming_distances([a], [b])[0, 0])
    assert ab == int(hamming_distances([b], [a])[0, 0])
    assert 0 <= ab <= 256
    assert ab == PDQ.distance(a, b)
    assert int(hamming_distances([a], [a])[0, 0]) == 0
    assert int(hamming_distances([a], [flip_bits(a, range(256))])[0, 0]) == 256


def test_query_below_build_threshold() -> None:
    rng = np.random.default_rng(3)
    hashes = random_hashes(rng, 1500)
    queries = _queries_near(rng, hashes, 100, 63)
    index = PDQIndex(hashes, 63, strategy="multi-index")
    for threshold in (0, 10, 31, 63):
        expected = reference_hits(hashes, queries, threshold)
        assert hit_set(index.query(queries, threshold)) == expected
    with pytest.raises(ConfigError, match="above the 63"):
        index.query(queries, 64)


def test_duplicates_and_buckets_larger_than_the_batch_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Identical hashes all land in one bucket; tiny budgets force it to be cut in pieces."""
    monkeypatch.setattr(pdq, "CANDIDATE_BUDGET", 7)
    monkeypatch.setattr(pdq, "PROBE_BUDGET", 50)
    monkeypatch.setattr(pdq, "BRUTE_BUDGET", 64)
    rng = np.random.default_rng(4)
    same = "ab" * 32
    hashes = [same] * 60 + random_hashes(rng, 100) + [near(rng, same, 3) for _ in range(20)]
    queries = [same, near(rng, same, 30), *random_hashes(rng, 3)]
    expected = reference_hits(hashes, queries, 31)
    assert len([h for h in expected if h[0] == 0]) == 80
    for strategy in STRATEGIES:
        assert hit_set(PDQIndex(hashes, 31, strategy=strategy).query(queries)) == expected


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_empty_index_and_empty_batch(strategy: str) -> None:
    empty = PDQIndex([], 31, strategy=strategy)
    assert len(empty) == 0
    hits = empty.query(["0" * 64])
    assert len(hits) == 0 and hits.n_queries == 1
    assert hits.for_query(0) == [] and hits.per_query() == [[]]
    index = PDQIndex(["0" * 64], 31, strategy=strategy)
    assert index.query([]).per_query() == []


def test_hits_sorted_by_query_distance_row() -> None:
    base = "0" * 64
    hashes = [flip_bits(base, range(k)) for k in (5, 0, 3, 3, 40)]
    index = PDQIndex(hashes, 31)
    hits = index.query([base, flip_bits(base, range(5))])
    assert hits.for_query(0) == [(1, 0), (2, 3), (3, 3), (0, 5)]
    assert hits.for_query(1) == [(0, 0), (2, 2), (3, 2), (1, 5)]
    assert hits.per_query() == [hits.for_query(0), hits.for_query(1)]
    assert hits.query.tolist() == sorted(hits.query.tolist())


def test_array_input_equals_hex_input_and_is_copied() -> None:
    rng = np.random.default_rng(5)
    hashes = random_hashes(rng, 300)
    array = pdq_array(hashes)
    assert array.shape == (300, 32) and array.dtype == np.uint8
    assert bytes(array[7]).hex() == hashes[7]
    queries = _queries_near(rng, hashes, 30, 20)
    index = PDQIndex(array, 31)
    expected = hit_set(PDQIndex(hashes, 31).query(queries))
    array[:] = 0  # changing the caller's array afterwards must not change the index
    assert hit_set(index.query(pdq_array(queries))) == expected
    assert hit_set(index.query([q.upper() for q in queries])) == expected


@pytest.mark.parametrize(
    "bad",
    ["0" * 63, "0" * 65, "g" * 64, "", "0x" + "0" * 62, "00 00 " + "0" * 58],
    ids=["short", "long", "not-hex", "empty", "0x", "spaces"],
)
def test_invalid_hashes_are_refused(bad: str) -> None:
    with pytest.raises(SignalFormatError, match="#1"):
        PDQIndex(["0" * 64, bad])
    with pytest.raises(SignalFormatError):
        PDQIndex(["0" * 64]).query([bad])


def test_invalid_arrays_thresholds_and_strategies_are_refused() -> None:
    with pytest.raises(SignalFormatError, match="not a single string"):
        PDQIndex("0" * 64)
    with pytest.raises(SignalFormatError, match=r"\(n, 32\) uint8"):
        PDQIndex(np.zeros((3, 16), dtype=np.uint8))
    for threshold in (-1, 257, 3.5, True):
        with pytest.raises(ConfigError):
            PDQIndex(["0" * 64], threshold)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="strategy"):
        PDQIndex(["0" * 64], strategy="faiss")


@pytest.mark.parametrize("n", [1, 1000, 100_000, 10_000_000])
@pytest.mark.parametrize("threshold", [0, 10, 31, 47, 63, 128, 256])
def test_plans_satisfy_the_pigeonhole_bound(n: int, threshold: int) -> None:
    plan = plan_index(n, threshold, "multi-index")
    assert sum(plan.widths) == 256
    assert max(plan.widths) <= pdq.MAX_CHUNK_BITS
    assert sum(r + 1 for r in plan.radii) >= threshold + 1
    assert all(r >= -1 for r in plan.radii)


def test_auto_plan_uses_buckets_at_scale_and_brute_force_when_cheaper() -> None:
    assert plan_index(10_000_000, 31).strategy == "multi-index"
    assert plan_index(1_000_000, 31).strategy == "multi-index"
    assert plan_index(100, 31).strategy == "brute-force"
    assert plan_index(10_000_000, 100).strategy == "brute-force"
    assert plan_index(0, 31).strategy == "brute-force"


def test_variants_report_nearest_transform_once_per_row() -> None:
    rng = np.random.default_rng(6)
    target = random_hashes(rng, 1)[0]
    other = random_hashes(rng, 1)[0]
    hashes = [target, other, target]  # row 2 duplicates row 0
    variants = [
        ("original", flip_bits(target, range(20))),
        ("rotate90", flip_bits(target, range(3))),
        ("flipx", flip_bits(target, range(5))),
        ("flipy", flip_bits(target, range(3))),  # ties with rotate90: listed later, loses
        ("rotate180", flip_bits(target, range(3))),  # same hash as rotate90: deduplicated
    ]
    index = PDQIndex(hashes, 31)
    result = index.query_variants([variants, [("original", other)], []])
    assert result[0] == [VariantHit(0, 3, "rotate90"), VariantHit(2, 3, "rotate90")]
    assert result[1] == [VariantHit(1, 0, "original")]
    assert result[2] == []
    assert index.query_variants([variants], threshold=2) == [[]]


def test_batches_answer_each_query_as_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queries split over several sub-batches get the same hits as one at a time."""
    monkeypatch.setattr(pdq, "PROBE_BUDGET", 3000)  # a few queries per sub-batch
    rng = np.random.default_rng(9)
    hashes = random_hashes(rng, 3000)
    queries = _queries_near(rng, hashes, 40, 31) + random_hashes(rng, 5)
    index = PDQIndex(hashes, 31, strategy="multi-index")
    together = index.query(queries).per_query()
    assert together == [index.query([q]).for_query(0) for q in queries]
    assert sum(map(len, together)) >= 40
