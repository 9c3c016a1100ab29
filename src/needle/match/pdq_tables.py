"""The multi-index plan of a PDQ index and its bucket tables.

In: the number of rows and the threshold (for a plan), then the rows' hashes as ``(k, 4)``
uint64 blocks (for a table). Out: a ``PDQPlan`` (chunk widths and radii, or brute force),
where each chunk's table lies (``table_layout``), and one chunk's table (``sort_by_chunk``).
``needle.match.pdq`` builds and queries the tables in memory; ``needle.match.pdq_build``
builds them a chunk at a time into files, which ``needle.match.pdq_disk`` maps back.

The plan is chosen by a cost model from the index size and threshold: brute force for small
indexes and for thresholds so large (from about 63 at 1M rows, 66 at 10M) that probing would
touch more rows than a full scan. Every plan gives the same answer: only the speed differs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from needle.errors import ConfigError

__all__ = [
    "PDQ_BITS",
    "PDQ_BYTES",
    "STRATEGIES",
    "PDQPlan",
    "chunk_keys",
    "index_dtype",
    "plan_index",
    "sort_by_chunk",
    "table_layout",
]

PDQ_BITS = 256
PDQ_BYTES = PDQ_BITS // 8

#: widest chunk: its bucket-offset table has 2**24 + 1 int32 entries (64 MiB)
MAX_CHUNK_BITS = 24
#: narrowest chunk worth a table; below this a chunk's buckets hold most of the index
MIN_CHUNK_BITS = 8
#: most probe keys one chunk may enumerate per query (V(24, 4) = 12,951 stays in; radius 5
#: on 23 bits, 44,552, is dearer than a full scan at every size where it would be chosen)
MAX_PROBES_PER_CHUNK = 20_000

# Cost model, in nanoseconds per query, measured with numpy 2.4 on a 2-core x86-64 (1M and
# 10M random hashes): a probe is two gathers of bucket offsets (random reads), a candidate the
# expansion of its bucket, a gather of its row id and of its 32-byte hash, and verification;
# a brute-force row is a streaming XOR and popcount of 32 bytes. Only their ratios matter:
# they choose the plan, never the answer.
COST_PROBE_NS = 30.0
COST_CANDIDATE_NS = 50.0
COST_BRUTE_ROW_NS = 6.0

STRATEGIES = ("auto", "multi-index", "brute-force")


@dataclass(frozen=True)
class PDQPlan:
    """How an index answers: ``multi-index`` over ``widths`` chunks, or ``brute-force``.

    ``radii`` are the per-chunk search radii for ``threshold`` (-1: the chunk is not probed).
    ``cost_ns`` is the cost model's estimate per query, used only to choose between plans.
    """

    strategy: str
    threshold: int
    widths: tuple[int, ...] = ()
    radii: tuple[int, ...] = ()
    cost_ns: float = 0.0


@cache
def _volume(bits: int, radius: int) -> int:
    """Number of keys within ``radius`` bits of a ``bits``-bit key (Hamming ball volume)."""
    return sum(math.comb(bits, k) for k in range(radius + 1))


@cache
def _flip_masks(bits: int, radius: int) -> np.ndarray:
    """All ``bits``-bit masks with at most ``radius`` bits set, fewest bits first."""
    masks = [0]
    for k in range(1, radius + 1):
        for combo in itertools.combinations(range(bits), k):
            masks.append(sum(1 << i for i in combo))
    out = np.array(masks, dtype=np.int64)
    out.flags.writeable = False
    return out


def _split_widths(m: int) -> tuple[int, ...]:
    """256 bits cut into ``m`` near-equal chunks, wider ones first."""
    q, r = divmod(PDQ_BITS, m)
    return tuple([q + 1] * r + [q] * (m - r))


def _chunk_cost(n: int, bits: int, radius: int) -> float:
    if radius < 0:
        return 0.0
    v = _volume(bits, radius)
    return v * (COST_PROBE_NS + COST_CANDIDATE_NS * n / (1 << bits))


def _radii(widths: Sequence[int], threshold: int, n: int) -> tuple[int, ...] | None:
    """Per-chunk radii with ``sum(r + 1) == threshold + 1`` (the generalised pigeonhole),
    spread as evenly as possible, the larger radii on whichever chunks make it cheaper.
    None when some chunk would enumerate more than ``MAX_PROBES_PER_CHUNK`` keys.
    """
    m = len(widths)
    base, extra = divmod(threshold + 1, m)
    order_wide = sorted(range(m), key=lambda j: -widths[j])
    best: tuple[float, tuple[int, ...]] | None = None
    for order in (order_wide, order_wide[::-1]):
        radii = [base - 1] * m
        for j in order[:extra]:
            radii[j] += 1
        if any(
            r >= 0 and _volume(w, r) > MAX_PROBES_PER_CHUNK
            for w, r in zip(widths, radii, strict=True)
        ):
            continue
        cost = sum(_chunk_cost(n, w, r) for w, r in zip(widths, radii, strict=True))
        if best is None or cost < best[0]:
            best = (cost, tuple(radii))
    return None if best is None else best[1]


def plan_index(n: int, threshold: int, strategy: str = "auto") -> PDQPlan:
    """The cheapest plan for ``n`` rows at ``threshold`` by the cost model above.

    ``strategy`` may force ``brute-force`` or ``multi-index`` (for tests and benchmarks);
    ``auto`` takes whichever the cost model finds cheaper.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"unknown PDQ index strategy {strategy!r}; use one of {', '.join(STRATEGIES)}"
        )
    brute = PDQPlan("brute-force", threshold, cost_ns=COST_BRUTE_ROW_NS * n)
    if strategy == "brute-force" or (n == 0 and strategy == "auto"):
        return brute
    # Wider chunks than about 4n buckets only waste memory: buckets are already nearly empty.
    widest = max(MIN_CHUNK_BITS, min(MAX_CHUNK_BITS, math.ceil(math.log2(max(n, 2))) + 2))
    best = brute if strategy == "auto" else PDQPlan("multi-index", threshold, cost_ns=math.inf)
    for m in range(math.ceil(PDQ_BITS / widest), PDQ_BITS // MIN_CHUNK_BITS + 1):
        widths = _split_widths(m)
        radii = _radii(widths, threshold, n)
        if radii is None:
            continue
        cost = sum(_chunk_cost(n, w, r) for w, r in zip(widths, radii, strict=True))
        if cost < best.cost_ns:
            best = PDQPlan("multi-index", threshold, widths, radii, cost)
    return best


def chunk_keys(words: np.ndarray, starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Bits ``starts[c] .. starts[c] + widths[c]`` of each row (bit 0 = top bit of word 0),
    as an ``(n, len(starts))`` int64 array of keys. Chunks may straddle two 64-bit words."""
    w, o = np.divmod(starts.astype(np.int64), 64)
    o = o.astype(np.uint64)
    # The 64-bit window starting at the chunk, (hi << o) | (lo >> (64 - o)), of which the key
    # is the top ``width`` bits. ``lo`` is written as two shifts so that o == 0 (a shift by 64,
    # undefined in C) adds nothing. Only a chunk that straddles words reads real ``lo`` bits,
    # and such a chunk never starts in the last word, so clipping w + 1 to 3 is harmless.
    window = words[:, w] << o
    window |= (words[:, np.minimum(w + 1, 3)] >> np.uint64(1)) >> (np.uint64(63) - o)
    window >>= np.uint64(64) - widths.astype(np.uint64)
    return window.astype(np.int64)


def index_dtype(n: int) -> type[np.signedinteger]:
    """The integer type of row ids and bucket offsets for ``n`` rows: int32 while it fits
    (half the memory of int64 for every table)."""
    return np.int32 if n < 2**31 else np.int64


def table_layout(plan: PDQPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each probed chunk's table lies: ``(starts, widths, table)``.

    Only chunks with a radius of at least 0 get a table (the others are never probed).
    Chunk ``c`` (of those) covers bits ``starts[c] .. starts[c] + widths[c]``; its bucket
    offsets are ``offsets[table[c] .. table[c + 1]]`` (``2**widths[c] + 1`` of them, counted
    from the start of its rows) and its row ids, sorted by its key, ``rows[c * n .. (c + 1) * n]``.
    """
    bounds = np.cumsum((0, *plan.widths))
    built = [j for j, r in enumerate(plan.radii) if r >= 0]
    starts = bounds[built].astype(np.int64)
    widths = np.array([plan.widths[j] for j in built], dtype=np.int64)
    table = np.concatenate(([0], np.cumsum((1 << widths) + 1))).astype(np.int64)
    return starts, widths, table


def sort_by_chunk(
    blocks: Iterable[np.ndarray], n: int, start: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """One chunk's bucket table over ``n`` rows: ``(offsets, rows)``, a counting sort by key.

    ``blocks`` gives the rows' ``(k, 4)`` uint64 words in order, a block at a time, so that a
    hash array on disk is read once and never held. Each row becomes one int64,
    ``key << row_bits | row``; one ``np.sort`` of those (vectorised sorting networks in numpy
    2, several times faster than ``argsort`` of the keys) puts the rows in key order,
    ascending within a bucket. ``offsets[key] .. offsets[key + 1]`` are then the positions of
    the bucket's rows, from bincounts of the sorted keys. Memory: 12 bytes a row at the peak
    (the int64s, then the row ids) plus the ``2**width + 1`` offsets.
    """
    bits = max(1, (n - 1).bit_length())
    dtype = index_dtype(n)
    composite = np.empty(n, dtype=np.int64)
    at = 0
    first, wide = np.array([start], dtype=np.int64), np.array([width], dtype=np.int64)
    for block in blocks:
        keys = chunk_keys(block, first, wide)[:, 0]
        keys <<= bits
        keys |= np.arange(at, at + len(block), dtype=np.int64)
        composite[at : at + len(block)] = keys
        at += len(block)
    if at != n:
        raise ValueError(f"{at} rows read for a table of {n}")
    composite.sort()
    counts = np.zeros(1 << width, dtype=np.int64)
    rows = np.empty(n, dtype=dtype)
    mask = np.int64((1 << bits) - 1)
    step = 1 << 24
    for s in range(0, n, step):
        part = composite[s : s + step]
        counts += np.bincount(part >> bits, minlength=1 << width)
        rows[s : s + step] = part & mask
    del composite
    offsets = np.zeros((1 << width) + 1, dtype=dtype)
    np.cumsum(counts, out=offsets[1:])
    return offsets, rows
