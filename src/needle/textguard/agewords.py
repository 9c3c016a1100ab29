"""Ages and grades written with number words: ``twelve year old``, ``zwölfjährige``,
``on iki yaşında``, ``בת שתים עשרה``, ``sixth grader``, ``สิบสองขวบ``.

In: the normalised text (or one run of an unspaced script) and the lexicon's number words
(the ``[age] numbers`` table of every language: cardinals, the forms used in "N years old",
ordinals for grades) and units. Out: (value, start, end, is a grade) for each age or grade
found, which :mod:`~needle.textguard.ages` turns into hits exactly as it does digits, so a
decision does not depend on how the age is written.

Three regexes, built once per lexicon:

- a number word, then an age or grade unit (``twelve years old``, ``tolv år``,
  ``sixth-grade``), or glued to it (``zwölfjährige``, ``dwunastoletnia``,
  ``kaksitoistavuotias``, ``열두살``; glued to a unit of an alphabet only when both have
  three letters or more, so ``sexy`` is not "sex" (Swedish six) and "y");
- a unit before the number (``aged twelve``, ``grade six``, ``בת שתים עשרה``);
- inside runs of an unspaced script, the same without word boundaries (``สิบสองขวบ``).

The spaced regexes are tried only where a word could start an age in words (the detector
passes those offsets), so a text without number words costs nothing here.

Number words of several words (``on iki``, ``dua belas``) match with any white space or
hyphen between their words; every number word and unit is one trie regex, so the cost does
not grow with the number of languages.
"""

from __future__ import annotations

import re

from needle.textguard.scripts import UNSPACED_CLASS
from needle.textguard.terms import SPACED_CHAR, Lexicon, trie_regex

__all__ = [
    "GLUED_MIN",
    "AgeWord",
    "number_word_regex",
    "unspaced_word_ages",
    "word_ages",
]

#: a number word and its unit, found: value, start, end, whether it is a school grade
AgeWord = tuple[int, int, int, bool]
#: letters a number word and its unit each need to be read glued together (``tolvårig``)
GLUED_MIN = 3
_SEP = r"(?P<sep>\s*[-‐–]?\s*)"
_JOIN = re.compile(r"[\s\-‐–]+")
_UNSPACED = re.compile(f"[{UNSPACED_CLASS}]")


class _Patterns:
    """The regexes and the number table of one lexicon."""

    __slots__ = (
        "after",
        "before",
        "lexicon",
        "numbers",
        "unit_languages",
        "unspaced_after",
        "unspaced_before",
    )

    def __init__(self, lex: Lexicon) -> None:
        self.lexicon = lex
        #: number word (words joined by one space) -> its languages and value in each
        self.numbers: dict[str, dict[str, int]] = {}
        for k, by_language in lex.number_languages.items():
            self.numbers.setdefault(_JOIN.sub(" ", k), {}).update(by_language)
        #: unit (words joined by one space) -> its languages, units before and after alike
        self.unit_languages: dict[str, set[str]] = {}
        for table in (lex.age_after, lex.grade_after, lex.age_before, lex.grade_before):
            for unit, codes in table.items():
                self.unit_languages.setdefault(_JOIN.sub(" ", unit), set()).update(codes)
        spaced = [k for k in self.numbers if not _UNSPACED.search(k)]
        unspaced = [k for k in self.numbers if _UNSPACED.search(k)]
        w = SPACED_CHAR
        self.after: re.Pattern[str] | None = None
        self.before: re.Pattern[str] | None = None
        if spaced:
            num = _trie(spaced)
            units = [
                _alternative(name, [u for u in table if not _UNSPACED.search(u)], bounded)
                for name, table in (("a", lex.age_after), ("g", lex.grade_after))
                for bounded in (True, False)
            ]
            units = [u for u in units if u]
            if units:
                self.after = re.compile(rf"(?<!{w})(?P<n>{num}){_SEP}(?:{'|'.join(units)})")
            befores = [
                rf"(?P<{name}>{_trie(found)})"
                for name, table in (("A", lex.age_before), ("G", lex.grade_before))
                if (found := [u for u in table if not _UNSPACED.search(u)])
            ]
            if befores:
                self.before = re.compile(
                    rf"(?<!{w})(?:{'|'.join(befores)})\s*[:=]?\s*[-‐–]?\s*(?P<n>{num})(?!{w})"
                )
        self.unspaced_after: re.Pattern[str] | None = None
        self.unspaced_before: re.Pattern[str] | None = None
        if unspaced:
            num = _trie(unspaced)
            units = [
                rf"(?P<{name}>{_trie(found)})"
                for name, table in (("a", lex.age_after), ("g", lex.grade_after))
                if (found := [u for u in table if _UNSPACED.search(u)])
            ]
            if units:
                self.unspaced_after = re.compile(rf"(?P<n>{num})\s*(?:{'|'.join(units)})")
            befores = [
                rf"(?P<{name}>{_trie(found)})"
                for name, table in (("A", lex.age_before), ("G", lex.grade_before))
                if (found := [u for u in table if _UNSPACED.search(u)])
            ]
            if befores:
                self.unspaced_before = re.compile(rf"(?:{'|'.join(befores)})\s*(?P<n>{num})")

    def value(self, number: str, unit: str) -> int | None:
        """The value of the number word ``number`` read with ``unit``, in a language they
        share (``None`` when they share none: Danish "to" is not two before an English
        unit)."""
        by_language = self.numbers.get(_JOIN.sub(" ", number))
        if by_language is None:
            return None
        codes = self.unit_languages.get(_JOIN.sub(" ", unit))
        if codes is None:
            return next(iter(by_language.values()))
        for code, value in by_language.items():
            if code in codes:
                return value
        return None


def _trie(keys: list[str]) -> str:
    """A trie regex of ``keys`` in which the space between the words of a key matches any
    white space or hyphen."""
    pattern = trie_regex(sorted({_JOIN.sub(" ", k) for k in keys}))
    return pattern.replace("\\ ", "[\\s\\-‐–]+")


def _alternative(name: str, units: list[str], bounded: bool) -> str:
    """Units that end a word (``years old``: no letter may follow) or that may be followed
    by more letters (an ending: ``jährige``, ``살이``), as one named group."""
    picked = [u for u in units if _ends_word(u) == bounded]
    if not picked:
        return ""
    group = f"(?P<{name}{'b' if bounded else 'f'}>{_trie(picked)})"
    return group + (f"(?!{SPACED_CHAR})" if bounded else "")


def _ends_word(unit: str) -> bool:
    last = unit[-1]
    return last.isascii() or "\u0370" <= last <= "\u04ff"


_PATTERNS: dict[int, _Patterns] = {}


def _patterns(lex: Lexicon) -> _Patterns:
    found = _PATTERNS.get(id(lex))
    if found is None or found.lexicon is not lex:
        if len(_PATTERNS) > 16:
            _PATTERNS.clear()
        found = _PATTERNS[id(lex)] = _Patterns(lex)
    return found


def number_word_regex(lex: Lexicon) -> re.Pattern[str] | None:
    """The regex of a number word and a unit after it (``None`` without number words)."""
    return _patterns(lex).after


def word_ages(text: str, lex: Lexicon, starts: list[int]) -> list[AgeWord]:
    """Ages and grades written with number words in a spaced text, tried at ``starts``
    only: the offsets of the words where one may begin (a number word, a word that begins
    with one and a unit, the first word of a unit before a number), which the detector
    knows from its analysis of each word."""
    pats = _patterns(lex)
    found: list[AgeWord] = []
    after, before = pats.after, pats.before
    for at in starts:
        m = after.match(text, at) if after is not None else None
        if m is not None:
            unit = next(g for g in ("ab", "af", "gb", "gf") if m.group(g) is not None)
            # glued to a unit of an alphabet ("tolvårig"): both long enough, so that "sexy"
            # is not "sex" (Swedish six) and "y"; syllabic scripts glue freely ("열두살")
            short = len(m.group("n")) < GLUED_MIN or len(m.group(unit)) < GLUED_MIN
            if m.group("sep") or unit[1] == "f" or not short:
                value = pats.value(m.group("n"), m.group(unit))
                if value is not None:
                    found.append((value, m.start(), m.end(), unit[0] == "g"))
                    continue
        m = before.match(text, at) if before is not None else None
        if m is not None:
            grade = m.group("G") is not None
            value = pats.value(m.group("n"), m.group("G" if grade else "A"))
            if value is not None:
                found.append((value, m.start(), m.end(), grade))
    return found


def unspaced_word_ages(run: str, base: int, lex: Lexicon) -> list[AgeWord]:
    """Ages and grades written with number words inside a run of an unspaced script that
    starts at ``base`` of the text (``สิบสองขวบ``, ``อายุสิบสอง``)."""
    pats = _patterns(lex)
    found: list[AgeWord] = []
    covered: set[int] = set()
    for regex in (pats.unspaced_after, pats.unspaced_before):
        if regex is None:
            continue
        for m in regex.finditer(run):
            if m.start("n") in covered:
                continue
            groups = m.groupdict()
            unit = next((u for k, u in groups.items() if k != "n" and u is not None), "")
            value = pats.value(m.group("n"), unit)
            if value is not None:
                covered.add(m.start("n"))
                grade = groups.get("g") is not None or groups.get("G") is not None
                found.append((value, base + m.start(), base + m.end(), grade))
    return found
