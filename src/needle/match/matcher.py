"""Match a file's signals against banks of known hashes.

In: banks (``needle.banks.model.Bank``) when the ``Matcher`` is built; then, per file, its
signals (``{"md5": Signal, "pdq": Signal, ...}`` or a list). Out: one ``Match`` per bank
entry hit, with the bank, the distance, the bank's threshold and, for PDQ, the dihedral
transform of the file that matched.

Banked videos (``vpdq`` entries) are searched with the file's ``vpdq`` signal through one
``VideoIndex`` per bank (``needle.match.video_banks``): a hit is a ``Match`` with ``video``
set, one per banked video whose shares meet the bank's thresholds.

Banks built from media (``needle bank add NAME FILE``) also hold PDQ hashes of parts of each
picture (``BankEntry.region``): a hit on one is a ``crop`` of the picture (``Match.region``
names the part). One picture gives at most one such match per bank, the nearest, and none
when the file matched one of the picture's whole-picture entries too.

The indexes are built from each bank's values as arrays (``needle.banks.columns``): a bank
loaded with ``Store.load_bank_columns`` is already in that form, a bank with a list of
entries is turned into it. Exact signal types (md5, sha1, sha256, and any type other than
PDQ) are looked up in an ``ExactIndex`` per type. PDQ entries go into one ``PDQIndex`` per
distinct bank threshold, so a bank held to 20 bits is not searched at another bank's 63 (and
a 63-bit bank does not slow the others down). Labels are read only for the entries a batch
matched, once per batch. A PDQ signal whose quality is under the floor is not matched: PDQ's
authors consider such hashes too unreliable, and the caller still stores them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from needle.banks.columns import BankColumns, TypeColumn
from needle.banks.model import Bank, BankEntry
from needle.errors import ConfigError, SignalFormatError
from needle.match.exact import ExactIndex
from needle.match.model import Match, crop_transform
from needle.match.pdq import PDQ_BYTES, PDQIndex, pdq_array
from needle.match.video import VideoMatch
from needle.signals.base import Signal
from needle.signals.pdq import PDQ, PDQ_QUALITY_FLOOR
from needle.signals.vpdq_exchange import VPDQ_SIGNAL, vpdq_digest

if TYPE_CHECKING:
    from needle.match.video_banks import VideoBanks

__all__ = ["Matcher", "SignalSet"]

#: one file's signals, keyed by type name, or just listed
SignalSet = Mapping[str, Signal] | Sequence[Signal]

PDQ_NAME = PDQ.name
VPDQ_NAME = VPDQ_SIGNAL

#: (bank, entry position, distance, transform, signal type) of one hit
_Hit = tuple[int, int, int, str | None, str]


@dataclass(frozen=True, eq=False)
class _Rows:
    """Which (bank, entry) each row of an index stands for.

    The rows of one bank's column are contiguous: part ``k`` starts at row ``starts[k]`` and
    belongs to bank ``bank[k]``; ``entry[row]`` is the entry's position in its bank.
    """

    starts: np.ndarray
    bank: tuple[int, ...]
    entry: np.ndarray

    def __len__(self) -> int:
        return len(self.entry)

    def at(self, row: int) -> tuple[int, int]:
        part = int(np.searchsorted(self.starts, row, side="right")) - 1
        return self.bank[part], int(self.entry[row])


class Matcher:
    """All banks, indexed for matching. Build once, then call ``match`` or ``match_many``.

    Each bank keeps its own PDQ threshold; a hash present in several banks gives one
    ``Match`` per bank. Matches come out in the order of the banks given, then by distance,
    signal type and entry position. ``Match.value`` is the bank entry's value and
    ``Match.entry_id`` the entry's position in its bank's ``entries``.

    >>> from needle.banks.model import Bank, BankEntry
    >>> from needle.signals.base import Signal
    >>> bank = Bank("demo", [BankEntry("md5", "0" * 32, ("test",))])
    >>> [m.bank for m in Matcher([bank]).match([Signal("md5", "0" * 32)])]
    ['demo']
    """

    def __init__(self, banks: Iterable[Bank], *, quality_floor: int = PDQ_QUALITY_FLOOR) -> None:
        self._banks = list(banks)
        self._quality_floor = quality_floor
        names = [b.name for b in self._banks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"bank names must be unique; given twice: {', '.join(duplicates)}")

        exact_parts: dict[str, list[tuple[int, TypeColumn]]] = {}
        pdq_parts: dict[int, list[tuple[int, TypeColumn]]] = {}
        video_parts: list[tuple[int, TypeColumn]] = []
        for b, bank in enumerate(self._banks):
            threshold = _bank_threshold(bank)
            entries = bank.entries
            columns = (
                entries if isinstance(entries, BankColumns) else BankColumns.from_entries(entries)
            )
            for kind, column in columns.columns.items():
                if kind == PDQ_NAME:
                    pdq_parts.setdefault(threshold, []).append((b, column))
                elif kind == VPDQ_NAME:
                    video_parts.append((b, column))
                else:
                    exact_parts.setdefault(kind, []).append((b, column))

        self._exact: dict[str, tuple[ExactIndex, _Rows]] = {
            kind: (ExactIndex(_exact_values(parts)), _rows(parts))
            for kind, parts in exact_parts.items()
        }
        self._pdq: list[tuple[PDQIndex, _Rows]] = [
            (PDQIndex(self._pdq_values(parts), threshold, copy=False), _rows(parts))
            for threshold, parts in sorted(pdq_parts.items())
        ]
        self._videos: VideoBanks | None = None
        if video_parts:
            from needle.match.video_banks import VideoBanks

            self._videos = VideoBanks(self._banks, video_parts)

    def _pdq_values(self, parts: list[tuple[int, TypeColumn]]) -> np.ndarray:
        """The PDQ hashes of several banks' columns as one ``(n, 32)`` uint8 array."""
        arrays = []
        for b, column in parts:
            if column.is_hex and column.values.shape[1] == PDQ_BYTES:
                arrays.append(column.values)
                continue
            values = column.strings(range(len(column)))
            try:
                arrays.append(pdq_array(values))  # upper-case hex is still a hash
            except SignalFormatError:
                bad = next(k for k, v in enumerate(values) if not _is_pdq_hex(v))
                raise SignalFormatError(
                    f"bank {self._banks[b].name!r} entry #{int(column.positions[bad])} is not "
                    f"a PDQ hash (64 hex digits): {values[bad]!r}; fix or re-import the bank"
                ) from None
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    @property
    def banks(self) -> list[Bank]:
        return list(self._banks)

    @property
    def quality_floor(self) -> int:
        """PDQ signals with a quality under this are not matched."""
        return self._quality_floor

    def __len__(self) -> int:
        """Number of bank entries indexed."""
        videos = len(self._videos) if self._videos is not None else 0
        return (
            sum(len(rows) for _, rows in self._exact.values())
            + sum(len(rows) for _, rows in self._pdq)
            + videos
        )

    def match(self, signals: SignalSet) -> list[Match]:
        """Every bank entry one file's signals hit."""
        return self.match_many([signals])[0]

    def match_many(self, batch: Sequence[SignalSet]) -> list[list[Match]]:
        """``match`` for each file of a batch; PDQ is searched once for the whole batch."""
        found: list[list[_Hit]] = [[] for _ in batch]
        videos: list[dict[tuple[int, int], VideoMatch]] = [{} for _ in batch]
        pdq_groups: list[list[tuple[str, str]]] = []
        pdq_owner: list[int] = []
        for i, item in enumerate(batch):
            for signal in _signals(item):
                if signal.type == PDQ_NAME:
                    if signal.quality is not None and signal.quality < self._quality_floor:
                        continue
                    pdq_groups.append(_variants(signal))
                    pdq_owner.append(i)
                    continue
                if signal.type == VPDQ_NAME and self._videos is not None:
                    for b, e, video in self._videos.search(signal):
                        found[i].append((b, e, video.best_distance, None, VPDQ_NAME))
                        videos[i][b, e] = video
                    continue
                index = self._exact.get(signal.type)
                if index is None:
                    continue
                exact, rows = index
                for row in exact.query(signal.value):
                    found[i].append((*rows.at(row), 0, None, signal.type))
        if pdq_groups:
            for index_, rows in self._pdq:
                for owner, hits in zip(pdq_owner, index_.query_variants(pdq_groups), strict=True):
                    for hit in hits:
                        found[owner].append(
                            (*rows.at(hit.row), hit.distance, hit.transform, PDQ_NAME)
                        )
        entries = self._entries({(b, e) for item in found for b, e, *_ in item})
        return [
            self._matches(item, entries, video) for item, video in zip(found, videos, strict=True)
        ]

    def _entries(self, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], BankEntry]:
        """The whole entries (labels too) of the hits of a batch, one lookup per bank."""
        by_bank: dict[int, list[int]] = {}
        for b, e in wanted:
            by_bank.setdefault(b, []).append(e)
        out: dict[tuple[int, int], BankEntry] = {}
        for b, positions in by_bank.items():
            entries = self._banks[b].entries
            if isinstance(entries, BankColumns):
                out.update(((b, e), entry) for e, entry in entries.entries_at(positions).items())
            else:
                out.update(((b, e), entries[e]) for e in positions)
        return out

    def _matches(
        self,
        found: list[_Hit],
        entries: Mapping[tuple[int, int], BankEntry],
        videos: Mapping[tuple[int, int], VideoMatch],
    ) -> list[Match]:
        # One Match per (bank, entry): a file may carry two PDQ signals hitting one entry.
        best: dict[tuple[int, int], _Hit] = {}
        for hit in found:
            key = (hit[0], hit[1])
            if key not in best or hit[2] < best[key][2]:
                best[key] = hit
        hits = sorted(best.values(), key=lambda h: (h[0], h[2], h[4], h[1]))
        # a picture's parts stand for the picture: one crop match per picture and bank, the
        # nearest, and none where one of its whole-picture entries matched
        shown = {
            (b, entries[b, e].source)
            for b, e, *_ in hits
            if entries[b, e].source is not None and entries[b, e].region is None
        }
        out = []
        for b, e, distance, transform, kind in hits:
            bank = self._banks[b]
            entry = entries[b, e]
            region = entry.region if kind == PDQ_NAME else None
            if region is not None:
                if entry.source is not None:
                    if (b, entry.source) in shown:
                        continue
                    shown.add((b, entry.source))
                transform = crop_transform(transform)
            video = videos.get((b, e))
            out.append(
                Match(
                    bank=bank.name,
                    signal_type=kind,
                    value=entry.value if video is None else vpdq_digest(entry.value),
                    distance=distance,
                    threshold=bank.threshold_for(kind),
                    transform=transform,
                    labels=tuple(entry.labels),
                    entry_id=e,
                    region=region,
                    video=video,
                )
            )
        return out


def _signals(item: SignalSet) -> Iterable[Signal]:
    return item.values() if isinstance(item, Mapping) else item


def _variants(signal: Signal) -> list[tuple[str, str]]:
    """The hashes to search for one PDQ signal: its value first, then its variants."""
    variants = list(signal.variants)
    if not any(value.lower() == signal.value.lower() for _, value in variants):
        variants.insert(0, ("original", signal.value))
    return variants


def _bank_threshold(bank: Bank) -> int:
    threshold = bank.pdq_threshold
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 256:
        raise ConfigError(
            f"bank {bank.name!r} has PDQ threshold {threshold!r}; "
            "it must be a whole number of bits from 0 to 256 (31 is the usual)"
        )
    return threshold


def _rows(parts: list[tuple[int, TypeColumn]]) -> _Rows:
    sizes = [len(column) for _, column in parts]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    positions = [column.positions for _, column in parts]
    entry = positions[0] if len(positions) == 1 else np.concatenate(positions)
    return _Rows(starts, tuple(b for b, _ in parts), entry)


def _exact_values(parts: list[tuple[int, TypeColumn]]) -> np.ndarray | list[str]:
    """The values of several banks' columns of one type: one byte array when all are hex of
    one width (a single bank's array as it is), else their strings."""
    columns = [column for _, column in parts]
    widths = {c.values.shape[1] if c.is_hex else -1 for c in columns}
    if len(widths) == 1 and -1 not in widths:
        return (
            columns[0].values if len(columns) == 1 else np.concatenate([c.values for c in columns])
        )
    return [v for c in columns for v in c.strings(range(len(c)))]


def _is_pdq_hex(value: str) -> bool:
    try:
        return len(value) == 64 and len(bytes.fromhex(value)) == 32
    except (TypeError, ValueError):
        return False
