"""Exact-signal index (md5, sha1, sha256, and any type compared by equality).

In: the values of a bank's entries (hex strings), row ``i`` being ``values[i]``. Out: for each
queried value, the rows holding exactly that value. Values are compared after ``strip()`` and
``lower()``, as every signal type normalises its hex that way.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ExactIndex"]


def _normalise(value: str) -> str:
    return value.strip().lower()


class ExactIndex:
    """Value -> rows, by dictionary lookup. Duplicate values keep every row.

    Most values occur once, so the first row is kept as a bare int and only repeats get a
    list: at 10M md5 values that saves a list object per entry (about 0.6 GB).

    >>> index = ExactIndex(["AB12", "cd34", "ab12"])
    >>> index.query_many(["ab12", "ffff"])
    [(0, 2), ()]
    """

    def __init__(self, values: Iterable[str]) -> None:
        self._first: dict[str, int] = {}
        self._more: dict[str, list[int]] = {}
        n = 0
        for row, value in enumerate(values):
            key = _normalise(value)
            if self._first.setdefault(key, row) != row:
                self._more.setdefault(key, []).append(row)
            n = row + 1
        self._size = n

    def __len__(self) -> int:
        return self._size

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and _normalise(value) in self._first

    def query(self, value: str) -> tuple[int, ...]:
        """Rows whose value equals ``value``, in row order; ``()`` when none."""
        key = _normalise(value)
        first = self._first.get(key)
        if first is None:
            return ()
        more = self._more.get(key)
        return (first, *more) if more else (first,)

    def query_many(self, values: Iterable[str]) -> list[tuple[int, ...]]:
        """``query`` for each value of a batch."""
        return [self.query(v) for v in values]
