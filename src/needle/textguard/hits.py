"""What the detector's steps hand each other, and what the detector returns.

In: nothing (types). Out: :class:`Raw` (a word with its possible lexicon senses, before one
is chosen), :data:`Negator`, :class:`Hit` (a sense or an age kept at a span of the normalised
text), :class:`Spans` (regions set aside: a negative prompt, ages already read) and
:class:`Detection`, the detector's answer, which the policy turns into a decision.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from needle.textguard.terms import Sense

__all__ = ["NO_SPANS", "Detection", "Hit", "Negator", "Raw", "Spans", "inside"]


@dataclass(slots=True)
class Hit:
    """A lexicon sense found at ``[start, end)`` of the normalised text (internal: mutable
    for speed, never changed after it is made)."""

    category: str  # sexual | minor | sexual_minors | adult
    tier: str
    weight: float
    term: str
    language: str
    start: int
    end: int
    pos: float  # word position, for distances
    clause: int
    evasion: str = ""  # what the detector had to undo (leet, compound, ...)


@dataclass(slots=True)
class Detection:
    """What :func:`~needle.textguard.detect.detect` found, before a policy turns it into a
    decision."""

    hits: list[Hit] = field(default_factory=list)
    score: float = 0.0  # sexual content involving a minor, 0..1
    sexual: float = 0.0  # sexual content at all
    minor: float = 0.0  # a minor at all (after adult evidence)
    languages: tuple[str, ...] = ()
    #: what produced ``score``, in words: the minor and sexual terms of the best pair and how
    #: surely they are about one subject, or the coded term (empty when the score is 0)
    rule: str = ""


#: a negator: position, comma group, whether it follows the word it negates, its languages
Negator = tuple[float, int, bool, set[str]]


@dataclass(slots=True)
class Raw:
    """A word or phrase found in the lexicon, with every sense it may have: which one counts
    is decided when the whole text has been read (word sense needs the languages)."""

    senses: list[Sense]
    start: int
    end: int
    pos: float
    clause: int
    group: int
    evasion: str = ""


class Spans:
    """Sorted, merged spans of the normalised text; membership by bisection."""

    __slots__ = ("ends", "starts")

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.starts = [a for a, _ in merged]
        self.ends = [b for _, b in merged]

    def __bool__(self) -> bool:
        return bool(self.starts)

    def covers(self, start: int, end: int) -> bool:
        k = bisect.bisect_right(self.starts, start) - 1
        return k >= 0 and end <= self.ends[k]


NO_SPANS = Spans([])


def inside(spans: Spans, start: int, end: int) -> bool:
    return bool(spans) and spans.covers(start, end)
