"""Scoring: the chosen senses of a text combined into the scores a policy decides on.

In: every word and phrase found with its possible senses (:class:`~needle.textguard.hits.Raw`),
the ages, the negators, each language's support, and the tokens (for word positions). Out: a
:class:`~needle.textguard.hits.Detection` with the hits kept and three scores, each 0..1:

- ``sexual`` and ``minor``: each category's distinct terms combined by noisy-OR;
- ``score`` (sexual content involving a minor): for each minor term, its weight times the
  noisy-OR of the sexual terms, each weighted by how surely it is about the same subject
  (1 in the same clause, :data:`CROSS_CLAUSE_FACTOR` in a neighbouring one,
  :data:`SCENE_FACTOR` when the sexual word is about an adult, :data:`FAR_FACTOR` when far
  away or in a far clause); the minor terms' products combined by noisy-OR; documented
  coded terms (``sexual_minors``) score on their own.

The steps: language support from unambiguous words, a sense chosen for each word (a word
typed without vowels only in the text's own languages) and negated words dropped
(:mod:`~needle.textguard.scope`), ages placed among the words, adult evidence
cancelling ambiguous minor words, then the scores.
"""

from __future__ import annotations

import operator

from needle.textguard.hits import Detection, Hit, Negator, Raw
from needle.textguard.scope import (
    attached_to_adult,
    cancel_by_adults,
    choose,
    index_negators,
    negated,
)
from needle.textguard.terms import Lexicon, sense_votes
from needle.textguard.tokens import Tokens

__all__ = [
    "CROSS_CLAUSE_FACTOR",
    "FAR_FACTOR",
    "FAR_TOKENS",
    "MAX_HITS",
    "MAX_PER_TERM",
    "SCENE_FACTOR",
    "by_term",
    "languages",
    "noisy_or",
    "score",
]

#: a sexual word and a minor word in different sentences of one prompt: still one image, but
#: less surely one subject (keeps two strong words at block, 1.0 x 1.0 x 0.75 >= 0.6)
CROSS_CLAUSE_FACTOR = 0.75
#: a sexual word attached to an adult subject with a child elsewhere in the scene
#: ("nude woman and a child"): review, not block (1.0 x 1.0 x 0.5 < 0.6)
SCENE_FACTOR = 0.5
#: words further apart than this many tokens are unlikely to describe one subject
FAR_TOKENS = 40
FAR_FACTOR = 0.5
#: evidence kept per text, and per term: bounds scoring time on megabyte inputs (the score
#: depends on distinct terms, so repeats add nothing)
MAX_HITS = 512
MAX_PER_TERM = 16

_START = operator.attrgetter("start")


def score(
    lex: Lexicon,
    raws: list[Raw],
    age_hits: list[Hit],
    negators: list[Negator],
    support: dict[str, float],
    toks: Tokens,
) -> Detection:
    """Score what was found in one text (see the module docstring). ``support`` (language
    -> support from script and hint words) is completed here."""
    if not raws and not age_hits:
        return Detection([], 0.0, 0.0, 0.0, languages(support))
    _add_votes(lex, raws, support)  # before choosing senses
    hits = _chosen(raws, support, negators)
    hits += _placed(age_hits[:MAX_HITS], toks)
    hits.sort(key=_START)
    kept = cancel_by_adults(hits)
    sexual: list[Hit] = []
    minors: list[Hit] = []
    adults: list[Hit] = []
    coded: list[Hit] = []
    by_category = {"sexual": sexual, "minor": minors, "adult": adults, "sexual_minors": coded}
    for h in kept:
        bucket = by_category.get(h.category)
        if bucket is not None:
            bucket.append(h)
    sexual_score = noisy_or(list(by_term(sexual).values()))
    minor_score = noisy_or(list(by_term(minors).values()))
    why: dict[str, str] = {}
    pairs = _pair_scores(sexual, minors, adults, why)
    both = noisy_or(list(pairs.values()))
    rule = ""
    if pairs:
        best = max(sorted(pairs), key=lambda term: pairs[term])
        rule = why[best] + (" (and other pairs)" if len(pairs) > 1 else "")
    if coded:
        top = max(coded, key=lambda h: h.weight)
        if top.weight >= both:
            rule = f"coded term '{top.term}' means both"
        both = max(both, top.weight)
        sexual_score = max(sexual_score, both)
        minor_score = max(minor_score, both)
    for h in kept:
        if h.language not in ("coded", "emoji", "und") and h.language not in support:
            support[h.language] = 1
    return Detection(
        kept,
        round(both, 4),
        round(sexual_score, 4),
        round(minor_score, 4),
        languages(support),
        rule,
    )


def _add_votes(lex: Lexicon, raws: list[Raw], support: dict[str, float]) -> None:
    """Language support from unambiguous words; contextual words counted under ``~code``
    (distinct words: one word that may be several words of a language, as a word typed
    without vowels may, counts once)."""
    contextual_terms: dict[str, set[str]] = {}
    votes_of = lex.votes
    for raw in raws:
        votes = votes_of.get(id(raw.senses)) or sense_votes(raw.senses)
        for code, weight in votes[0]:
            support[code] = support.get(code, 0) + weight
        if votes[1]:
            # the word's first contextual term of each language stands for it
            seen: set[str] = set()
            for code, term in votes[1]:
                if code not in seen:
                    seen.add(code)
                    contextual_terms.setdefault(code, set()).add(term)
    for code, terms in contextual_terms.items():
        support["~" + code] = len(terms)


def _chosen(raws: list[Raw], support: dict[str, float], negators: list[Negator]) -> list[Hit]:
    """A hit for each word whose chosen sense is not benign and that is not negated; a term
    counts at most :data:`MAX_PER_TERM` times, hits overall at most :data:`MAX_HITS`."""
    hits: list[Hit] = []
    negation = index_negators(negators)
    per_term: dict[str, int] = {}
    main: set[str] | None = None  # the text's languages, for words typed without vowels
    for raw in raws:
        senses = raw.senses
        if "vowels" in raw.evasion:
            if main is None:
                main = _main_languages(support, raws)
            # read only in the text's languages, where it needs nothing more
            known = [x for x in senses if x.language in main]
            sense = max(known, key=_WEIGHT) if known else None
        else:
            sense = choose(senses, support) if senses else None
        if sense is None or sense.category == "benign":
            continue
        if negation and negated(raw.pos, raw.group, sense.language, negation):
            continue
        # bound the work on huge inputs: a term counts a few times, hits overall are capped
        seen = per_term.get(sense.term, 0)
        if seen >= MAX_PER_TERM or len(hits) >= MAX_HITS:
            continue
        per_term[sense.term] = seen + 1
        hits.append(
            Hit(
                sense.category,
                sense.tier,
                sense.weight,
                sense.term,
                sense.language,
                raw.start,
                raw.end,
                raw.pos,
                raw.clause,
                raw.evasion,
            )
        )
    return hits


def _main_languages(support: dict[str, float], raws: list[Raw]) -> set[str]:
    """The language a text is most in (those tied for the most support), and those with two
    words or more that need their language to count (``nd chld``, ``ng dzwczynk``), and the
    languages of the words found as written, even those shared by several languages
    (``nude chld``: "nude" is English and Italian). A word typed without vowels is read
    only in these: "prr" is Swedish "porr" only in Swedish text."""
    found = {k[1:] for k, v in support.items() if k.startswith("~") and v >= 2}
    counted = {k: v for k, v in support.items() if not k.startswith("~") and v > 0}
    if counted:
        top = max(counted.values())
        found.update(k for k, v in counted.items() if v == top)
    found.update(
        x.language
        for raw in raws
        if "vowels" not in raw.evasion
        for x in raw.senses
        if not x.contextual and x.category in _EVIDENCE
    )
    if not found:
        # nothing else tells the language: a long word is no coincidence ("kndrprngrf")
        found.update(
            x.language
            for raw in raws
            if raw.end - raw.start >= _LONE_CONSONANTS
            for x in raw.senses
        )
    return found


_WEIGHT = operator.attrgetter("weight")
#: a word typed without vowels this long counts in its own languages when nothing else in
#: the text tells a language
_LONE_CONSONANTS = 6
_EVIDENCE = frozenset({"sexual", "minor", "sexual_minors", "adult"})


def _placed(ages: list[Hit], toks: Tokens) -> list[Hit]:
    """The ages, each given the word position and clause of the token where it starts."""
    positions, starts, clauses = toks.pos, toks.start, toks.clause
    placed: list[Hit] = []
    for age in ages:
        k = _index_at(starts, age.start)
        p = positions[k] if k < len(positions) else (positions[-1] + 1 if positions else 0.0)
        cl = clauses[k] if k < len(clauses) else (clauses[-1] if clauses else 0)
        placed.append(
            Hit(
                age.category,
                age.tier,
                age.weight,
                age.term,
                age.language,
                age.start,
                age.end,
                p,
                cl,
            )
        )
    return placed


#: how surely a sexual word describes the minor's subject, in words, by scope factor
_SCOPE_WORDS = {
    1.0: "in the same clause",
    CROSS_CLAUSE_FACTOR: "in neighbouring clauses",
    SCENE_FACTOR: "in one scene, the sexual word about an adult or far away",
}


def _pair_scores(
    sexual: list[Hit], minors: list[Hit], adults: list[Hit], why: dict[str, str]
) -> dict[str, float]:
    """For each minor term, the best of its weight times the noisy-OR of the sexual terms,
    each weighted by how surely it describes the same subject; ``why`` gets, for each minor
    term, its strongest sexual term and that factor in words."""
    pair_by_term: dict[str, float] = {}
    if not (sexual and minors):
        return pair_by_term
    # ages are attributes ("18yo loli"), not subjects: only adult words attract
    nouns = [a for a in adults if a.tier == "adult"]
    attached_adult = {id(s): attached_to_adult(s, minors, nouns) for s in sexual}
    by_clause: dict[int, list[Hit]] = {}
    for s in sexual:
        by_clause.setdefault(s.clause, []).append(s)
    # sexual words in far-away clauses: the same (weak) factor for all
    far = {term: w * FAR_FACTOR for term, w in by_term(sexual).items()}
    for m in minors:
        best_by_s: dict[str, float] = dict(far)
        near = [s for c in (m.clause - 1, m.clause, m.clause + 1) for s in by_clause.get(c, ())]
        for s in near:
            f = 1.0
            if s.clause != m.clause:
                f = CROSS_CLAUSE_FACTOR
            if attached_adult[id(s)]:
                f = min(f, SCENE_FACTOR)
            if abs(s.pos - m.pos) > FAR_TOKENS:
                f = min(f, FAR_FACTOR)
            v = s.weight * f
            if v > best_by_s.get(s.term, 0.0):
                best_by_s[s.term] = v
        pair = m.weight * noisy_or(list(best_by_s.values()))
        if pair > pair_by_term.get(m.term, 0.0):
            pair_by_term[m.term] = pair
            top = max(sorted(best_by_s), key=lambda term: best_by_s[term])
            factor = best_by_s[top] / max((s.weight for s in sexual if s.term == top), default=1.0)
            scope = _SCOPE_WORDS.get(round(factor, 2), f"scope factor {factor:.2f}")
            why[m.term] = f"minor '{m.term}' ({m.tier}) and sexual '{top}' {scope}"
    return pair_by_term


def noisy_or(weights: list[float]) -> float:
    """The chance that at least one of independent signals of these weights is right."""
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    return 1.0 - miss


def by_term(hits: list[Hit]) -> dict[str, float]:
    out: dict[str, float] = {}
    for h in hits:
        if h.weight > out.get(h.term, 0.0):
            out[h.term] = h.weight
    return out


def languages(support: dict[str, float]) -> tuple[str, ...]:
    """Languages with at least half the support of the best one, best first."""
    if not support:
        return ()
    if len(support) == 1:
        ((code, count),) = support.items()
        if code.startswith("~"):
            return ()
        return (code,) if count * 2 >= count else ()
    counted = [(k, v) for k, v in support.items() if not k.startswith("~")]
    if not counted:
        return ()
    top = max([v for _, v in counted])
    # most support first, then by code: the order of sorting (-count, code)
    return tuple(code for _, code in sorted([(-v, k) for k, v in counted if v * 2 >= top]))


def _index_at(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] < offset:
            lo = mid + 1
        else:
            hi = mid
    return lo
