"""Match a file's signals against banks of known hashes.

In: banks (``needle.banks.model.Bank``) when the ``Matcher`` is built; then, per file, its
signals (``{"md5": Signal, "pdq": Signal, ...}`` or a list). Out: one ``Match`` per bank
entry hit, with the bank, the distance, the bank's threshold and, for PDQ, the dihedral
transform of the file that matched.

Exact signal types (md5, sha1, sha256, and any type other than PDQ) are looked up in an
``ExactIndex`` per type. PDQ entries go into one ``PDQIndex`` per distinct bank threshold, so a
bank held to 20 bits is not searched at another bank's 63 (and a 63-bit bank does not slow the
others down). A PDQ signal whose quality is under the floor is not matched: PDQ's authors
consider such hashes too unreliable, and the caller still stores them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from needle.banks.model import Bank, BankEntry
from needle.errors import ConfigError, SignalFormatError
from needle.match.exact import ExactIndex
from needle.match.model import Match
from needle.match.pdq import PDQIndex, pdq_array
from needle.signals.base import Signal
from needle.signals.pdq import PDQ, PDQ_QUALITY_FLOOR

__all__ = ["Matcher", "SignalSet"]

#: one file's signals, keyed by type name, or just listed
SignalSet = Mapping[str, Signal] | Sequence[Signal]

PDQ_NAME = PDQ.name


@dataclass(frozen=True, eq=False)
class _Rows:
    """Which (bank, entry) each row of an index stands for."""

    bank: np.ndarray  # position of the bank in Matcher.banks
    entry: np.ndarray  # position of the entry in that bank's entries


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

        exact_rows: dict[str, tuple[list[int], list[int], list[str]]] = {}
        pdq_rows: dict[int, tuple[list[int], list[int], list[str]]] = {}
        for b, bank in enumerate(self._banks):
            threshold = _bank_threshold(bank)
            for e, entry in enumerate(bank.entries):
                if entry.signal_type == PDQ_NAME:
                    group = pdq_rows.setdefault(threshold, ([], [], []))
                else:
                    group = exact_rows.setdefault(entry.signal_type, ([], [], []))
                group[0].append(b)
                group[1].append(e)
                group[2].append(entry.value)

        self._exact: dict[str, tuple[ExactIndex, _Rows]] = {
            kind: (ExactIndex(values), _rows(banks_, entries))
            for kind, (banks_, entries, values) in exact_rows.items()
        }
        self._pdq: list[tuple[PDQIndex, _Rows]] = []
        for threshold, (banks_, entries, values) in sorted(pdq_rows.items()):
            try:
                hashes = pdq_array(values)
            except SignalFormatError:
                bad = next(k for k, v in enumerate(values) if not _is_pdq_hex(v))
                raise SignalFormatError(
                    f"bank {self._banks[banks_[bad]].name!r} entry #{entries[bad]} is not a "
                    f"PDQ hash (64 hex digits): {values[bad]!r}; fix or re-import the bank"
                ) from None
            self._pdq.append((PDQIndex(hashes, threshold), _rows(banks_, entries)))

    @property
    def banks(self) -> list[Bank]:
        return list(self._banks)

    @property
    def quality_floor(self) -> int:
        """PDQ signals with a quality under this are not matched."""
        return self._quality_floor

    def __len__(self) -> int:
        """Number of bank entries indexed."""
        return sum(len(rows.bank) for _, rows in self._exact.values()) + sum(
            len(rows.bank) for _, rows in self._pdq
        )

    def match(self, signals: SignalSet) -> list[Match]:
        """Every bank entry one file's signals hit."""
        return self.match_many([signals])[0]

    def match_many(self, batch: Sequence[SignalSet]) -> list[list[Match]]:
        """``match`` for each file of a batch; PDQ is searched once for the whole batch."""
        found: list[list[tuple[int, int, int, str | None, str]]] = [[] for _ in batch]
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
                index = self._exact.get(signal.type)
                if index is None:
                    continue
                exact, rows = index
                for row in exact.query(signal.value):
                    found[i].append(
                        (int(rows.bank[row]), int(rows.entry[row]), 0, None, signal.type)
                    )
        if pdq_groups:
            for index_, rows in self._pdq:
                for owner, hits in zip(pdq_owner, index_.query_variants(pdq_groups), strict=True):
                    for hit in hits:
                        found[owner].append(
                            (
                                int(rows.bank[hit.row]),
                                int(rows.entry[hit.row]),
                                hit.distance,
                                hit.transform,
                                PDQ_NAME,
                            )
                        )
        return [self._matches(item) for item in found]

    def _matches(self, found: list[tuple[int, int, int, str | None, str]]) -> list[Match]:
        # One Match per (bank, entry): a file may carry two PDQ signals hitting one entry.
        best: dict[tuple[int, int], tuple[int, int, int, str | None, str]] = {}
        for hit in found:
            key = (hit[0], hit[1])
            if key not in best or hit[2] < best[key][2]:
                best[key] = hit
        out = []
        for b, e, distance, transform, kind in sorted(
            best.values(), key=lambda h: (h[0], h[2], h[4], h[1])
        ):
            bank = self._banks[b]
            entry: BankEntry = bank.entries[e]
            out.append(
                Match(
                    bank=bank.name,
                    signal_type=kind,
                    value=entry.value,
                    distance=distance,
                    threshold=bank.threshold_for(kind),
                    transform=transform,
                    labels=tuple(entry.labels),
                    entry_id=e,
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


def _rows(banks: list[int], entries: list[int]) -> _Rows:
    return _Rows(np.asarray(banks, dtype=np.int32), np.asarray(entries, dtype=np.int64))


def _is_pdq_hex(value: str) -> bool:
    try:
        return len(value) == 64 and len(bytes.fromhex(value)) == 32
    except (TypeError, ValueError):
        return False
