"""Scope: what a word found in the text actually says, once the whole text is known.

In: hits and candidate senses of the words of one text, the negators seen, the support each
language has. Out: the answers to the questions the score depends on:

- :func:`excluded`: regions that ask for nothing: the ``Negative prompt:`` section of
  diffusion metadata and Midjourney's ``--no`` list;
- :func:`choose`: which sense of a word counts (word sense: *contextual* words, harmless in
  another language, count only where their language is present);
- :func:`negated`: is a word negated (``no nudity``; ``sin ropa`` is a phrase of its own)?
- :func:`cancel_by_adults`: adult ages and adult words cancel ambiguous minor words
  (``19 year old girl``, ``adult girl``);
- :func:`attached_to_adult`: is a sexual word about an adult subject rather than the child
  (``nude woman and a child``)? Then it scores as a scene, not as the same subject.
"""

from __future__ import annotations

import bisect
import re

from needle.textguard.hits import NO_SPANS, Hit, Negator, Spans
from needle.textguard.terms import Sense

__all__ = [
    "ADULT_ADJACENT",
    "NEGATION_WINDOW",
    "NegationIndex",
    "attached_to_adult",
    "cancel_by_adults",
    "choose",
    "excluded",
    "index_negators",
    "negated",
]

#: a negator ("no", "without", "sin") reaches this many words ahead, within its comma group
NEGATION_WINDOW = 3
#: an adult word cancels an ambiguous minor word this many words away ("adult girl")
ADULT_ADJACENT = 1
#: minor tiers an adult age in the same clause cancels ("19 year old girl", "teen, 19")
_CANCEL_BY_AGE = frozenset({"youth", "ambiguous", "weak"})
#: minor tiers an adjacent adult word cancels ("adult girl")
_CANCEL_BY_NOUN = frozenset({"ambiguous", "weak"})
_NEGATIVE_SECTION = re.compile(r"negative prompt\s*:")
_SECTION_END = re.compile(r"\n\s*(?:steps|sampler|cfg scale|seed|size|model|model hash)\s*:")
_MJ_NO = re.compile(r"(?<!\S)--no\b")
_MJ_NEXT = re.compile(r"\s--\w")

#: negators by comma group: their positions (sorted) and the negators in that order
NegationIndex = dict[int, tuple[list[float], list[Negator]]]


def excluded(text: str) -> Spans:
    if "negative prompt" not in text and "--no" not in text:
        return NO_SPANS
    spans = []
    if "negative prompt" in text:
        for m in _NEGATIVE_SECTION.finditer(text):
            end = _SECTION_END.search(text, m.end())
            spans.append((m.start(), end.start() if end else len(text)))
    if "--no" in text:
        for m in _MJ_NO.finditer(text):
            end = _MJ_NEXT.search(text, m.end())
            spans.append((m.start(), end.start() if end else len(text)))
    return Spans(spans)


def choose(senses: list[Sense], support: dict[str, float]) -> Sense | None:
    """The sense to use: contextual ones only where their language is present.

    ``support`` counts unambiguous words per language; contextual words also count there
    under ``"~" + language``, so two different contextual words of one language license
    each other (``nangi ladki``).
    """
    if len(senses) == 1:  # the common case, decided as below without the lists
        s = senses[0]
        if s.contextual and not (
            support.get(s.language, 0) > 0 or support.get("~" + s.language, 0) >= 2
        ):
            return None
        return s
    usable = [
        s
        for s in senses
        if not s.contextual
        or support.get(s.language, 0) > 0
        or support.get("~" + s.language, 0) >= 2
    ]
    if not usable:
        return None
    supported = [s for s in usable if support.get(s.language, 0) > 0]
    pool = supported or usable
    return max(pool, key=lambda s: s.weight)


def index_negators(negators: list[Negator]) -> NegationIndex:
    by_group: dict[int, list[Negator]] = {}
    for neg in negators:
        by_group.setdefault(neg[1], []).append(neg)
    out = {}
    for group, items in by_group.items():
        items.sort(key=lambda x: x[0])
        out[group] = ([x[0] for x in items], items)
    return out


def negated(pos: float, group: int, language: str, index: NegationIndex) -> bool:
    """Is the word at ``pos`` negated? Only by a negator of its own language ("no" is not a
    negation in romanised Japanese) or of any language for coded terms and emoji."""
    entry = index.get(group)
    if entry is None:
        return False
    positions, items = entry
    lo = bisect.bisect_left(positions, pos - NEGATION_WINDOW)
    hi = bisect.bisect_right(positions, pos + 2)
    for p, _, after, languages in items[lo:hi]:
        if not (language in languages or language in ("coded", "emoji", "und")):
            continue
        if after:
            if 0 < p - pos <= 2:
                return True
        elif 0 < pos - p <= NEGATION_WINDOW:
            return True
    return False


def cancel_by_adults(hits: list[Hit]) -> list[Hit]:
    """``hits`` (sorted by start) without the ambiguous minor words that adult evidence
    cancels: an adult age in the clause cancels youth, ambiguous and weak minor words; an
    adult word next to one cancels ambiguous and weak ones."""
    age_clauses: set[int] = set()
    noun_pos: dict[int, list[float]] = {}
    for h in hits:
        if h.category == "adult":
            if h.tier == "age":
                age_clauses.add(h.clause)
            elif h.tier == "adult":
                noun_pos.setdefault(h.clause, []).append(h.pos)
    if not age_clauses and not noun_pos:
        return hits  # nothing to cancel
    kept: list[Hit] = []
    for h in hits:
        if h.category == "minor":
            if h.tier in _CANCEL_BY_AGE and h.clause in age_clauses:
                continue
            if h.tier in _CANCEL_BY_NOUN and any(
                abs(p - h.pos) <= ADULT_ADJACENT for p in noun_pos.get(h.clause, ())
            ):
                continue
        kept.append(h)
    return kept


def attached_to_adult(s: Hit, minors: list[Hit], adults: list[Hit]) -> bool:
    """Is the sexual word ``s`` nearer an adult subject than any minor, in its clause?"""
    if not adults:
        return False
    best_adult = min((abs(a.pos - s.pos) for a in adults if a.clause == s.clause), default=None)
    if best_adult is None:
        return False
    best_minor = min((abs(m.pos - s.pos) for m in minors if m.clause == s.clause), default=None)
    return best_minor is None or best_adult < best_minor
