"""A bank's entries as columns: what matching needs, without one Python object per entry.

In: a bank's (signal type, value) pairs in entry order, a chunk at a time (``Store`` reads
them so), or a list of ``BankEntry``. Out: ``BankColumns``, a read-only
``Sequence[BankEntry]`` that keeps, per signal type, the positions of that type's entries in
the bank and their values in one numpy array: the bytes of hex values (16 bytes an md5,
32 a PDQ hash), or the strings themselves for a type whose values are not lower-case hex of
one length (``vpdq``: each value a whole video's frame hashes as a JSON list, as the store
gives it back). Labels and meta are not held: a lookup function fetches whole entries by value
for the few asked for (``Store.load_bank_columns`` looks them up through the bank's unique
index), so a scan pays for the labels of its matches only.

    >>> columns = BankColumns.from_entries([BankEntry("md5", "0" * 32, ("x",))])
    >>> columns.columns["md5"].values.shape, columns[0].labels
    ((1, 16), ('x',))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import overload

import numpy as np

from needle.banks.model import BankEntry

__all__ = ["BankColumns", "ColumnsBuilder", "EntryLookup", "TypeColumn", "hex_bytes"]

#: whole entries of one signal type with the given values, by value (absent ones left out)
EntryLookup = Callable[[str, Sequence[str]], Mapping[str, BankEntry]]

#: how many entries ``__iter__`` and ``entries_at`` ask the lookup for at once
LOOKUP_CHUNK = 500


def hex_bytes(values: Sequence[str]) -> np.ndarray | None:
    """``values`` as an ``(n, width)`` uint8 array of their bytes, when every one is
    lower-case hex of one even length (so ``bytes.hex`` gives each back exactly); else None."""
    if not values:
        return None
    lengths = set(map(len, values))
    digits = lengths.pop()
    if lengths or digits == 0 or digits % 2:
        return None
    try:  # a first value that is no hex (a vPDQ list) stops here, before a copy of them all
        bytes.fromhex(values[0][:2])
    except ValueError:
        return None
    joined = "".join(values)
    try:
        raw = bytes.fromhex(joined)
    except ValueError:
        return None
    if raw.hex() != joined:  # upper case, or spaces that fromhex skipped
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(values), digits // 2)


@dataclass(frozen=True, eq=False)
class TypeColumn:
    """The entries of one signal type.

    ``positions[i]`` (int64, ascending) is the i-th such entry's position in the bank and
    ``values[i]`` its value: a row of an ``(n, width)`` uint8 array (the hex value's bytes)
    or, for values that are not hex of one length, an element of an object array of str.
    """

    positions: np.ndarray
    values: np.ndarray

    @property
    def is_hex(self) -> bool:
        return self.values.dtype == np.uint8

    def __len__(self) -> int:
        return len(self.positions)

    def value(self, i: int) -> str:
        """The i-th value as the store spells it (lower-case hex for hex columns)."""
        return bytes(self.values[i]).hex() if self.is_hex else str(self.values[i])

    def strings(self, rows: Iterable[int]) -> list[str]:
        return [self.value(int(i)) for i in rows]

    @property
    def nbytes(self) -> int:
        return int(self.positions.nbytes + (self.values.nbytes if self.is_hex else 0))


class BankColumns(Sequence[BankEntry]):
    """A bank's entries as ``TypeColumn`` s, plus a lookup for their labels and meta.

    Indexing gives a whole ``BankEntry`` (one lookup); ``entries_at`` does so for many at
    once, and iterating goes through the lookup a chunk at a time: both are for the few
    entries a scan matched, or an export. Matching itself reads ``columns``.
    """

    def __init__(self, columns: Mapping[str, TypeColumn], lookup: EntryLookup | None = None):
        self._columns = dict(columns)
        self._lookup = lookup
        self._size = sum(len(c) for c in self._columns.values())

    @classmethod
    def from_entries(cls, entries: Sequence[BankEntry]) -> BankColumns:
        """Columns of a list of entries (their labels and meta looked up in the list)."""
        builder = ColumnsBuilder()
        step = 1 << 16
        for start in range(0, len(entries), step):
            part = entries[start : start + step]
            builder.add([e.signal_type for e in part], [e.value for e in part])
        by_key: dict[tuple[str, str], BankEntry] = {}

        def lookup(signal_type: str, values: Sequence[str]) -> Mapping[str, BankEntry]:
            if not by_key:
                for entry in reversed(entries):  # the first of repeated values wins
                    by_key[entry.signal_type, entry.value] = entry
            found = (by_key.get((signal_type, v)) for v in values)
            return {e.value: e for e in found if e is not None}

        return builder.build(lookup)

    @property
    def columns(self) -> Mapping[str, TypeColumn]:
        """Signal type -> its column."""
        return MappingProxyType(self._columns)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (not counting the strings of a non-hex column)."""
        return sum(c.nbytes for c in self._columns.values())

    def __len__(self) -> int:
        return self._size

    def locate(self, position: int) -> tuple[str, int]:
        """The signal type of the entry at ``position`` and its row in that type's column."""
        if not 0 <= position < self._size:
            raise IndexError(f"bank entry position {position} out of range 0..{self._size - 1}")
        for kind, column in self._columns.items():
            row = int(np.searchsorted(column.positions, position))
            if row < len(column) and column.positions[row] == position:
                return kind, row
        raise IndexError(f"no bank entry at position {position}")  # pragma: no cover

    @overload
    def __getitem__(self, index: int) -> BankEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[BankEntry]: ...

    def __getitem__(self, index: int | slice) -> BankEntry | list[BankEntry]:
        if isinstance(index, slice):
            wanted = range(*index.indices(self._size))
            found = self.entries_at(wanted)
            return [found[p] for p in wanted]
        position = index + self._size if index < 0 else index
        return self.entries_at([position])[position]

    def __iter__(self) -> Iterator[BankEntry]:
        for start in range(0, self._size, LOOKUP_CHUNK):
            wanted = range(start, min(self._size, start + LOOKUP_CHUNK))
            found = self.entries_at(wanted)
            yield from (found[p] for p in wanted)

    def entries_at(self, positions: Iterable[int]) -> dict[int, BankEntry]:
        """Whole entries at these positions, labels and meta included, in few lookups.

        An entry the lookup no longer finds (deleted from the store since) comes back with
        its type and value only.
        """
        by_type: dict[str, list[tuple[int, str]]] = {}
        for position in positions:
            kind, row = self.locate(int(position))
            by_type.setdefault(kind, []).append((int(position), self._columns[kind].value(row)))
        out: dict[int, BankEntry] = {}
        for kind, pairs in by_type.items():
            for start in range(0, len(pairs), LOOKUP_CHUNK):
                part = pairs[start : start + LOOKUP_CHUNK]
                found = self._lookup(kind, [v for _, v in part]) if self._lookup else {}
                for position, value in part:
                    out[position] = found.get(value) or BankEntry(kind, value)
        return out


class _Growing:
    """One type's column while it is read: arrays with room to grow, hex until a value isn't."""

    def __init__(self, capacity: int) -> None:
        self.size = 0
        self.capacity = capacity
        self.positions = np.empty(capacity, dtype=np.int64)
        self.values: np.ndarray | None = None  # (capacity, width) uint8, or (capacity,) object

    @property
    def _hex(self) -> bool:
        return self.values is None or self.values.dtype == np.uint8

    def _room(self, extra: int, width: int | None) -> np.ndarray:
        need = self.size + extra
        if need > self.capacity:
            self.capacity = max(need, self.capacity + self.capacity // 2)
            self.positions = _resized(self.positions, self.capacity)
            if self.values is not None:
                self.values = _resized(self.values, self.capacity)
        if self.values is None:
            shape = (self.capacity, width) if width else (self.capacity,)
            self.values = np.empty(shape, dtype=np.uint8 if width else object)
        return self.values

    def add(self, positions: np.ndarray, values: Sequence[str]) -> None:
        raw = hex_bytes(values) if self._hex else None
        if raw is not None and self.values is not None and raw.shape[1] != self.values.shape[1]:
            raw = None  # another width than the values before: keep them all as text
        if raw is None and self.values is not None and self._hex:
            self._to_text()
        store = self._room(len(values), None if raw is None else raw.shape[1])
        store[self.size : self.size + len(values)] = values if raw is None else raw
        self.positions[self.size : self.size + len(values)] = positions
        self.size += len(values)

    def _to_text(self) -> None:
        """Turn the hex values read so far back to strings: a later value is not hex."""
        assert self.values is not None
        text = np.empty(self.capacity, dtype=object)
        text[: self.size] = [bytes(row).hex() for row in self.values[: self.size]]
        self.values = text

    def column(self) -> TypeColumn:
        assert self.values is not None
        positions, values = self.positions[: self.size], self.values[: self.size]
        if self.size < self.capacity:  # do not keep the spare room alive
            positions, values = positions.copy(), values.copy()
        positions.flags.writeable = False
        values.flags.writeable = False
        return TypeColumn(positions, values)


def _resized(array: np.ndarray, capacity: int) -> np.ndarray:
    out = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out


class ColumnsBuilder:
    """Builds ``BankColumns`` from chunks of a bank's (type, value) pairs, in entry order.

    ``counts`` (entries per type, when known: the store counts them first) sizes the arrays
    once; without it, or when more arrive, they grow.
    """

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        self._counts = dict(counts or {})
        self._types: dict[str, _Growing] = {}
        self._size = 0

    def add(self, types: Sequence[str], values: Sequence[str]) -> None:
        """The next ``len(values)`` entries of the bank: their signal types and values."""
        if len(types) != len(values):
            raise ValueError("one signal type per value")
        if not values:
            return
        base = self._size
        self._size += len(values)
        if types.count(types[0]) == len(types):  # the usual chunk: one type throughout
            self._column(types[0]).add(np.arange(base, self._size), values)
            return
        groups: dict[str, list[int]] = {}
        for i, kind in enumerate(types):
            groups.setdefault(kind, []).append(i)
        for kind, rows in groups.items():
            self._column(kind).add(
                np.asarray(rows, dtype=np.int64) + base, [values[i] for i in rows]
            )

    def _column(self, kind: str) -> _Growing:
        column = self._types.get(kind)
        if column is None:
            column = self._types[kind] = _Growing(self._counts.get(kind, 0))
        return column

    def build(self, lookup: EntryLookup | None = None) -> BankColumns:
        return BankColumns({k: c.column() for k, c in self._types.items()}, lookup)
