"""Helpers for the matching tests: random and near-duplicate PDQ hashes, and a reference
search written independently of needle.match (Python integers and ``int.bit_count``)."""

from __future__ import annotations

import numpy as np

from needle.match.pdq import PDQHits


def random_hashes(rng: np.random.Generator, n: int) -> list[str]:
    return [rng.bytes(32).hex() for _ in range(n)]


def flip_bits(value: str, positions: list[int] | np.ndarray) -> str:
    """``value`` with the given bit positions (0 = most significant) inverted."""
    number = int(value, 16)
    for p in positions:
        number ^= 1 << (255 - int(p))
    return f"{number:064x}"


def near(rng: np.random.Generator, value: str, k: int) -> str:
    """A hash exactly ``k`` bits away from ``value``."""
    return flip_bits(value, rng.choice(256, size=k, replace=False))


def reference_hits(
    index_hashes: list[str], queries: list[str], threshold: int
) -> set[tuple[int, int, int]]:
    """Every (query, row, distance) within ``threshold``, by comparing every pair."""
    rows = [int(h, 16) for h in index_hashes]
    out = set()
    for q, value in enumerate(queries):
        number = int(value, 16)
        for r, row in enumerate(rows):
            d = (number ^ row).bit_count()
            if d <= threshold:
                out.add((q, r, d))
    return out


def hit_set(hits: PDQHits) -> set[tuple[int, int, int]]:
    rows = zip(hits.query.tolist(), hits.row.tolist(), hits.distance.tolist(), strict=True)
    return set(rows)
