"""Ages and school grades: ``12yo``, ``12 años``, ``12歳``, ``בת 12``, ``5th grade``.

In: the normalised text, its tokens and the lexicon's units (``age`` and ``grade`` tables of
every language: units after a number, units before it, number words). Out: hits (:class:`Hit`):
ages under :data:`MINOR_AGE` and school grades are ``minor`` evidence, older ages ``adult``
counter-evidence.

Three passes, each for what the others cannot see:

1. :func:`find_ages` on the text: at each number, one regex built from every language's
   units after it and, on the text just before it, one of the units before it; number words
   with a unit, before or after it or glued to it (:mod:`~needle.textguard.agewords`:
   "twelve year old", "zwölfjährige", "aged twelve", "sixth grader"); ``18+``;
2. :func:`cjk_ages` inside unspaced runs (``十二歳``, ``สิบสองขวบ``);
3. :func:`token_ages` on the tokens, after words were re-cut: units split, stretched or
   reversed to evade ("10 ye ar old", "10 yeeear oold", "10 raey dlo"), and a bare number
   or number word after a person word ("girl, 12", "girl, twelve").
"""

from __future__ import annotations

import re

from needle.textguard.agewords import number_word_regex, unspaced_word_ages, word_ages
from needle.textguard.hits import Hit, Spans, inside
from needle.textguard.normalize import canonical, squeeze
from needle.textguard.terms import SPACED_CHAR, Lexicon, Sense, trie_regex
from needle.textguard.tokens import DIGIT, Tokens

__all__ = [
    "MAX_AGE",
    "MINOR_AGE",
    "age_hit",
    "age_sense",
    "cjk_ages",
    "find_ages",
    "token_ages",
]

#: age of majority: under it, a person is a child (UN Convention on the Rights of the Child,
#: art. 1; the age used by NCMEC and the IWF for CSAM)
MINOR_AGE = 18
#: ages above this are not read as ages ("200 years old tree")
MAX_AGE = 99
_ADULT_PLUS = re.compile(r"(?<![\d.])(1[89]|[2-9]\d)\s*\+")
_AGE_GAP = re.compile(r"[\s,(\[:]*")
_CJK_NUM = "一二三四五六七八九十两兩"
_CJK_AGE = re.compile(rf"([{_CJK_NUM}]{{1,3}})\s*(?:歳|才|岁|歲)")


def _unit_pattern(units: list[str]) -> str:
    """Unit words as one trie regex (the longest first; its cost does not grow with the
    number of languages); spaces and hyphens between their words are optional."""
    keys = {" ".join(p for p in re.split(r"[\s\-]+", unit) if p) for unit in units}
    return trie_regex(sorted(k for k in keys if k)).replace("\\ ", "[\\s\\-]*")


def _needs_boundary(unit: str) -> bool:
    last = unit[-1]
    return last.isascii() or "\u0370" <= last <= "\u04ff"


_AGE_CACHE: dict[int, tuple[Lexicon, re.Pattern[str], re.Pattern[str], re.Pattern[str] | None]] = {}


def _age_regexes(lex: Lexicon) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str] | None]:
    """Three regexes built once from every language's units: units after a number (matched
    at each number), units before a number (matched on the text just before it), and number
    words with a unit after them (:mod:`~needle.textguard.agewords`)."""
    cached = _AGE_CACHE.get(id(lex))
    if cached is not None and cached[0] is lex:
        return cached[1], cached[2], cached[3]
    w = SPACED_CHAR
    sep = r"\s*[-‐–]?\s*"
    after = []
    for group, units in (("a", lex.age_after), ("g", lex.grade_after)):
        bounded = [u for u in units if _needs_boundary(u)]
        free = [u for u in units if not _needs_boundary(u)]
        ordinal = r"(?:st|nd|rd|th|e|ème|eme|\.|º|o)?" if group == "g" else ""
        if bounded:
            after.append(
                rf"(?P<{group}b>\d{{1,3}}){ordinal}{sep}(?:{_unit_pattern(bounded)})(?!{w})"
            )
        if free:
            after.append(rf"(?P<{group}f>\d{{1,3}}){ordinal}{sep}(?:{_unit_pattern(free)})")
    before = []
    for group, units in (("A", lex.age_before), ("G", lex.grade_before)):
        if units:
            before.append(rf"(?<!{w})(?P<{group}>{_unit_pattern(list(units))})\s*[:=]?{sep}\Z")
    after_regex = re.compile("|".join(after))
    before_regex = re.compile("|".join(before))
    words = number_word_regex(lex)
    if len(_AGE_CACHE) > 16:
        _AGE_CACHE.clear()
    _AGE_CACHE[id(lex)] = (lex, after_regex, before_regex, words)
    return after_regex, before_regex, words


def _cjk_number(s: str) -> int:
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")}
    digits["两"] = digits["兩"] = 2
    if "十" not in s:
        return digits.get(s[-1], 0)
    tens, _, ones = s.partition("十")
    return (digits.get(tens, 1) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)


def age_hit(value: int, start: int, end: int, *, grade: bool = False) -> Hit | None:
    if grade:
        if not 0 <= value <= 12:
            return None
        tier = "child" if value <= 8 else "youth"
        weight = 1.0 if tier == "child" else 0.9
        return Hit("minor", tier, weight, f"grade:{value}", "und", start, end, 0.0, 0)
    if not 0 <= value <= MAX_AGE:
        return None
    if value < MINOR_AGE:
        return Hit("minor", "child", 1.0, f"age:{value}", "und", start, end, 0.0, 0)
    return Hit("adult", "age", 0.0, f"age:{value}", "und", start, end, 0.0, 0)


_PREFILTER_CACHE: dict[int, tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = {}


def _age_prefilters(lex: Lexicon) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """Cheap necessary conditions for the two unit regexes (``None``: no shortcut).

    The unit alternations are long and Python's regex engine tries them one by one at every
    number; most numbers in prompts (``8k``, ``v2``) are followed or preceded by no unit at
    all. Each prefilter is the same pattern cut after the unit's first (after) or last
    (before) character, so it matches wherever the full regex does.
    """
    cached = _PREFILTER_CACHE.get(id(lex))
    if cached is not None:
        return cached
    sep = r"\s*[-‐–]?\s*"
    ordinal = r"(?:st|nd|rd|th|e|ème|eme|\.|º|o)?"
    after_units = [*lex.age_after, *lex.grade_after]
    before_units = [*lex.age_before, *lex.grade_before]
    firsts = {pieces[0][:2] for u in after_units if (pieces := _pieces(u))}
    lasts = {pieces[-1][-1] for u in before_units if (pieces := _pieces(u))}
    after = (
        re.compile(rf"\d{{1,3}}{ordinal}{sep}(?:{'|'.join(map(re.escape, sorted(firsts)))})")
        if firsts
        else None
    )
    before = (
        re.compile(rf"[{''.join(map(re.escape, sorted(lasts)))}]\s*[:=]?{sep}\Z") if lasts else None
    )
    if any(not _pieces(u) for u in after_units):
        after = None
    if any(not _pieces(u) for u in before_units):
        before = None
    _PREFILTER_CACHE[id(lex)] = (after, before)
    return after, before


def _pieces(unit: str) -> list[str]:
    return [p for p in re.split(r"[\s\-]+", unit) if p]


_NUMBER = re.compile(r"\d+")
#: how far back a unit before a number is looked for ("age of 12", "בת 12")
_BEFORE_WINDOW = 24


#: ASCII digits kept, every other ASCII character made a space (``str.translate`` table)
_DIGITS_ONLY = str.maketrans({chr(i): chr(i) if chr(i).isdigit() else " " for i in range(128)})


def _number_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the runs of digits (``\\d+``). For ASCII text, found by ``str.translate``
    and ``split`` (C loops) instead of a regex scan, which costs several times more."""
    if not text.isascii():
        return [m.span() for m in _NUMBER.finditer(text)]
    digits = text.translate(_DIGITS_ONLY)
    find = digits.find
    spans = []
    cursor = 0
    for num in digits.split():
        a = find(num, cursor)
        cursor = a + len(num)
        spans.append((a, cursor))
    return spans


def find_ages(text: str, lex: Lexicon, word_starts: list[int]) -> list[Hit]:
    """Ages and grades in ``text``: digits with units (step 1 of the module docstring), and
    number words at ``word_starts`` (:func:`~needle.textguard.agewords.word_starts`)."""
    hits: list[Hit] = []
    after_regex, before_regex, _ = _age_regexes(lex)
    after_pre, before_pre = _age_prefilters(lex)
    if DIGIT.search(text):
        n = len(text)
        for a, z in _number_spans(text):
            if z - a > 3 or (a > 0 and text[a - 1] in ".,"):
                continue
            if z + 1 < n and text[z] in ".," and text[z + 1].isdigit():
                continue
            if after_pre is not None and after_pre.match(text, a) is None:
                m = None
            else:
                m = after_regex.match(text, a)
            if m is not None:
                group = m.lastgroup or ""
                hit = age_hit(int(text[a:z]), a, m.end(), grade=group[0] == "g")
            else:
                lo = max(0, a - _BEFORE_WINDOW)
                if before_pre is not None and before_pre.search(text, lo, a) is None:
                    continue
                b = before_regex.search(text, lo, a)
                if b is None:
                    continue
                group = b.lastgroup or ""
                hit = age_hit(int(text[a:z]), b.start(), z, grade=group == "G")
            if hit is not None:
                hits.append(hit)
        if "+" in text:
            for m in _ADULT_PLUS.finditer(text):
                hit = age_hit(int(m.group(1)), m.start(), m.end())
                if hit is not None:
                    hits.append(hit)
    if word_starts:
        for value, start, end, grade in word_ages(text, lex, word_starts):
            hit = age_hit(value, start, end, grade=grade)
            if hit is not None:
                hits.append(hit)
    return hits


def age_sense(hit: Hit) -> Sense:
    """An age as a lexicon sense, for steps that handle senses (a number glued to a word)."""
    return Sense(hit.language, hit.category, hit.tier, hit.weight, hit.term)


def cjk_ages(run: str, base: int, lex: Lexicon) -> list[tuple[int, Hit]]:
    """Ages written with number words in an unspaced run that starts at ``base``: Chinese
    numerals (``十二歳``, any number up to 99), then the number words of the lexicon's
    unspaced languages (``สิบสองขวบ``); each with its offset in the run."""
    found: list[tuple[int, Hit]] = []
    starts: set[int] = set()
    if "歳" in run or "才" in run or "岁" in run or "歲" in run:
        for m in _CJK_AGE.finditer(run):
            hit = age_hit(_cjk_number(m.group(1)), base + m.start(), base + m.end())
            if hit is not None:
                found.append((m.start(), hit))
                starts.add(base + m.start())
    for value, start, end, grade in unspaced_word_ages(run, base, lex):
        hit = age_hit(value, start, end, grade=grade)
        if hit is not None and start not in starts:
            found.append((start - base, hit))
    return found


def token_ages(
    toks: Tokens, lex: Lexicon, persons: list[int], consumed: Spans, text: str
) -> list[Hit]:
    """Ages the text regex cannot see: units in re-cut words ("10 ye ar old"), squeezed
    units ("10 yeeear oold"), and bare numbers after a person word (``persons``: token
    indexes of minor or adult words, "girl, 12")."""
    if not any(map(str.isdigit, toks.text)) and (
        not persons or lex.numbers.keys().isdisjoint(toks.text)
    ):
        return []  # both steps below start from a number or number word
    hits, seen = _unit_ages(toks, lex, consumed, text)
    hits += _person_ages(toks, persons, seen, consumed, text, lex.numbers)
    return hits


def _unit_ages(
    toks: Tokens, lex: Lexicon, consumed: Spans, text: str
) -> tuple[list[Hit], set[int]]:
    """A number token followed by the words of a unit; also the indexes of those numbers."""
    hits: list[Hit] = []
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    n = len(kinds)
    units = lex.unit_words
    seen: set[int] = set()
    for j in range(n):
        w = strs[j]
        if kinds[j] != "w" or not w.isdigit() or len(w) > 2 or inside(consumed, starts[j], ends[j]):
            continue
        if starts[j] > 0 and text[starts[j] - 1] in ".,":
            continue  # a decimal: 1.5
        for length in (3, 2, 1):
            if j + length >= n:
                continue
            seq = tuple(strs[j + k] for k in range(1, length + 1))
            kind = (
                units.get(seq)
                or units.get(tuple(canonical(x) for x in seq))
                or units.get(tuple(squeeze(x) for x in seq))
                or units.get(tuple(x[::-1] for x in seq))
            )
            if kind is None:
                continue
            if any(
                kinds[j + k] != "w" or starts[j + k] - ends[j + k - 1] > 3
                for k in range(1, length + 1)
            ):
                continue
            hit = age_hit(int(w), starts[j], ends[j + length], grade=kind == "grade")
            if hit is not None:
                hits.append(hit)
                seen.add(j)
            break
    return hits, seen


def _person_ages(
    toks: Tokens,
    persons: list[int],
    seen: set[int],
    consumed: Spans,
    text: str,
    numbers: dict[str, int],
) -> list[Hit]:
    """A bare number or number word right after a person word ("girl, 12", "girl,
    twelve"), not already read as an age."""
    hits: list[Hit] = []
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    n = len(kinds)
    for i in persons:
        j = i + 1
        if j in seen or j >= n or kinds[j] != "w":
            continue
        w = strs[j]
        if w.isdigit() and len(w) <= 2:
            if ends[j] + 1 < len(text) and text[ends[j]] == "." and text[ends[j] + 1].isdigit():
                continue  # a decimal: 1.5
            value = int(w)
        elif w in numbers:
            value = numbers[w]
        else:
            continue
        gap = text[ends[i] : starts[j]]
        if len(gap) <= 3 and _AGE_GAP.fullmatch(gap) and not inside(consumed, starts[j], ends[j]):
            hit = age_hit(value, starts[j], ends[j])
            if hit is not None:
                hits.append(hit)
    return hits
