"""Matching: which bank entries a file's signals hit.

In: banks of known hashes, then files' signals. Out: ``Match`` results carrying the bank,
distance and threshold. ``Matcher`` is the entry point; ``ExactIndex`` (md5, sha1, sha256)
and ``PDQIndex`` (Hamming range search with 100 % recall) are the indexes it is built on.

>>> from needle.banks.model import Bank, BankEntry
>>> from needle.signals.base import Signal
>>> matcher = Matcher([Bank("demo", [BankEntry("pdq", "f" * 64)], pdq_threshold=31)])
>>> [(m.bank, m.distance) for m in matcher.match({"pdq": Signal("pdq", "f" * 63 + "0", 90)})]
[('demo', 4)]
"""

from __future__ import annotations

from needle.match.exact import ExactIndex
from needle.match.matcher import Matcher, SignalSet
from needle.match.model import Match
from needle.match.pdq import PDQHits, PDQIndex, PDQPlan, VariantHit

__all__ = [
    "ExactIndex",
    "Match",
    "Matcher",
    "PDQHits",
    "PDQIndex",
    "PDQPlan",
    "SignalSet",
    "VariantHit",
]
