"""Exact-signal index (md5, sha1, sha256, and any type compared by equality).

In: the values of bank entries, row ``i`` being ``values[i]``: hex strings, or an
``(n, width)`` uint8 array of their bytes (``BankColumns`` holds them so). Out: for each
queried value, the rows holding exactly that value. Values are compared after ``strip()`` and
``lower()``, as every signal type normalises its hex that way.

Hex values of one length are kept as bytes in one array, ordered by their first 8 bytes: a
lookup is a binary search, and an md5 costs 16 bytes plus 12 of index (as a Python str in a
dict it cost about 100; at 10M values that is 0.3 GB against 1 GB, and the index builds
from the store's arrays without a string per value). Values that are not hex of one length
(a plugin's signal type) go into a dictionary.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from needle.banks.columns import hex_bytes

__all__ = ["ExactIndex"]

#: bytes of a value that its sort key holds
PREFIX_BYTES = 8


def _normalise(value: str) -> str:
    return value.strip().lower()


def _prefixes(values: np.ndarray) -> np.ndarray:
    """The first ``PREFIX_BYTES`` of each row as one uint64 (zero-padded when shorter)."""
    width = min(PREFIX_BYTES, values.shape[1])
    head = np.zeros((len(values), PREFIX_BYTES), dtype=np.uint8)
    head[:, :width] = values[:, :width]
    return head.view(np.uint64).ravel()


class ExactIndex:
    """Value -> rows. Duplicate values keep every row.

    >>> index = ExactIndex(["AB12", "cd34", "ab12"])
    >>> index.query_many(["ab12", "ffff"])
    [(0, 2), ()]
    """

    def __init__(self, values: Iterable[str] | np.ndarray) -> None:
        self._raw: np.ndarray | None = None
        self._by_text: dict[str, list[int]] = {}
        if isinstance(values, np.ndarray):
            if values.dtype != np.uint8 or values.ndim != 2:
                raise ValueError(f"an (n, width) uint8 array, not {values.shape} {values.dtype}")
            raw: np.ndarray | None = values
            self._size = len(values)
        else:
            text = [_normalise(v) for v in values]
            self._size = len(text)
            raw = hex_bytes(text)
            if raw is None:
                for row, value in enumerate(text):
                    self._by_text.setdefault(value, []).append(row)
        if raw is not None:
            self._raw = raw
            keys = _prefixes(raw)
            order = np.argsort(keys)
            self._keys = keys[order]
            self._order = order.astype(np.int32 if len(order) < 2**31 else np.int64)

    def __len__(self) -> int:
        return self._size

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and bool(self.query(value))

    @property
    def nbytes(self) -> int:
        """Memory of the sort keys and order (the values' array is the caller's)."""
        return int(self._keys.nbytes + self._order.nbytes) if self._raw is not None else 0

    def query(self, value: str) -> tuple[int, ...]:
        """Rows whose value equals ``value``, in row order; ``()`` when none."""
        key = _normalise(value)
        if self._raw is None:
            return tuple(self._by_text.get(key, ()))
        try:
            wanted = bytes.fromhex(key)
        except ValueError:
            return ()
        if len(wanted) != self._raw.shape[1] or len(key) != 2 * len(wanted):
            return ()
        probe = np.frombuffer(wanted, dtype=np.uint8)[None, :]
        prefix = _prefixes(probe)[0]
        lo = int(np.searchsorted(self._keys, prefix, side="left"))
        hi = int(np.searchsorted(self._keys, prefix, side="right"))
        if lo == hi:
            return ()
        rows = self._order[lo:hi]
        same = (self._raw[rows] == probe).all(axis=1)
        return tuple(sorted(int(r) for r in rows[same]))

    def query_many(self, values: Iterable[str]) -> list[tuple[int, ...]]:
        """``query`` for each value of a batch."""
        return [self.query(v) for v in values]
