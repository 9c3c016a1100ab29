"""Respelled words: dropped vowels, phonetic respellings and reversed words, as lookup keys.

In: the lexicon's entries (when it is compiled) or one word (when the detector looks it up).
Out: the keys under which a respelled word is found:

- :func:`consonants`: a word without its vowels (``nude`` -> ``nd``, ``child`` -> ``chld``,
  ``toddler`` -> ``tddlr`` and, squeezed, ``tdlr``). A word typed without vowels is looked
  up by it; only words with no vowel at all are (``need`` must not become ``nude``);
- :func:`respellings`: the common respellings of an English entry, generated from its
  standard spelling by :data:`RESPELLING_RULES` applied up to three times (``kids`` ->
  ``kidz``, ``child`` -> ``chyld``, ``naked`` -> ``nekkid``, ``girl`` -> ``gurl``,
  ``young`` -> ``yung``). Generated from the entries, not guessed from the input: a lookup
  is one dictionary access, and an ordinary word is never bent into a sensitive one (checked
  against a 100,000-word English word list when the rules were written: no collision);
- reversal is a plain lookup of ``word[::-1]`` by the detector; a reversed word counts only
  when the text has another one (:data:`REVERSED_MIN`), so that one word that happens to
  read as another backwards (Turkish ``dekan``, "dean") is not enough; a long one
  (:data:`REVERSED_ALONE` letters) counts alone.

The keys that an ordinary word also produces are left out: every word the lexicon knows,
and :data:`CONSONANT_STOP`, the vowel-less words and abbreviations of an English word list
whose consonants are those of an entry (``by`` is not ``baby``).
"""

from __future__ import annotations

import re

__all__ = [
    "CONSONANT_STOP",
    "RESPELLING_RULES",
    "REVERSED_ALONE",
    "REVERSED_MIN",
    "SHORT_CONSONANTS",
    "consonants",
    "fits",
    "latin_letters",
    "respellings",
    "vowelless",
]

#: the letters dropped by people typing without vowels (``y`` is kept: ``bby``, ``yng``);
#: as normalised: ``å``, ``ä``, ``ö`` are ``a``, ``o`` by then, ``ø``, ``æ``, ``œ`` are not
VOWELS = frozenset("aeiouøæœ")
#: a vowel-less word this short or shorter (``nd``, ``tn``) counts only next to another word
#: found without its vowels (``nd chld``): two consonants alone are too often something else
SHORT_CONSONANTS = 2
#: reversed words a text needs before any of them counts
REVERSED_MIN = 2
#: a sensitive word this long read backwards counts alone (``eifargonropredniK``)
REVERSED_ALONE = 8
#: vowel-less words of an English word list (abbreviations included) whose consonants are
#: those of a sensitive entry; never read as that entry
CONSONANT_STOP = frozenset(
    {
        "bb", "bbb", "bbs", "blt", "bs", "by", "ch", "dds", "ddt", "fcc", "ft", "ls", "lt",
        "mc", "md", "ml", "mn", "nc", "nh", "nm", "nt", "nz", "pd", "pt", "sw", "zn", "rr",
        "ss", "hd", "tv", "pc", "cd", "dvd", "bts", "cgi", "rgb", "dslr", "nsfw",
    }
)  # fmt: skip

_C = "bcdfghjklmnpqrstvwxz"
#: from a standard English spelling to a common respelling, each applied at any place it
#: matches: plural ``s`` as ``z``, ``i`` as ``y``, ``u`` as ``oo``, a silent final ``e``
#: dropped, doubled consonants made single and single ones doubled, the unstressed ``e`` of
#: a last syllable as ``i``, a first ``a`` as ``e``, ``ou`` as ``u``, ``ir`` as ``ur``,
#: ``ph`` as ``f``, a hard ``c`` as ``k``, ``ck`` as ``k``, ``x`` as ``ks``, ``ee`` as ``ea``
RESPELLING_RULES: tuple[tuple[str, str], ...] = (
    (r"(?<=[a-z])s$", "z"),
    (rf"(?<=[{_C}])i(?=[{_C}])", "y"),
    (r"u", "oo"),
    (rf"(?<=[{_C}])e$", ""),
    (rf"(?<=[{_C}])es$", "s"),
    (rf"([{_C}])\1", r"\1"),
    (r"(?<=[aeiou])([bdgkmnprtz])(?=[aeiou])", r"\1\1"),
    (rf"e(?=[{_C}]+$)", "i"),
    (rf"^([{_C}]*)a", r"\1e"),
    (r"ou", "u"),
    (r"ir", "ur"),
    (r"ph", "f"),
    (rf"c(?=[aou{_C}]|$)", "k"),
    (r"ck", "k"),
    (r"x", "ks"),
    (r"ee", "ea"),
)
_RULES = [(re.compile(pattern), replacement) for pattern, replacement in RESPELLING_RULES]
#: rule applications chained to make one respelling (``naked`` -> ``neked`` -> ``nekid`` ->
#: ``nekkid``)
RESPELLING_DEPTH = 3


def _squeeze(word: str) -> str:
    out: list[str] = []
    prev = ""
    for c in word:
        if c != prev:
            out.append(c)
        prev = c
    return "".join(out)


def consonants(word: str) -> tuple[str, ...]:
    """The word without its vowels, as written and with doubled letters made single; for a
    word that begins with a vowel, also with that vowel kept (``infant`` -> ``nfnt`` and
    ``infnt``), as people typing without vowels keep the first letter."""
    kept = "".join(c for c in word if c not in VOWELS)
    if "'" in word[1:-1]:  # each part keeps its first letter: "yalang'och" -> "ylng'och"
        parts = "'".join(
            p[:1] + "".join(c for c in p[1:] if c not in VOWELS) for p in word.split("'")
        )
        return kept, _squeeze(kept), parts, _squeeze(parts)
    if word and word[0] in VOWELS and len(kept) >= 2:
        first = word[0] + kept
        return kept, _squeeze(kept), first, _squeeze(first)
    return kept, _squeeze(kept)


def vowelless(word: str) -> bool:
    """A word of two or more Latin letters with no vowel (``chld``, ``prn``, ``chłpc``), or
    of three or more with no vowel but its first letter (``infnt``, ``ihh``)."""
    if len(word) < 2 or not latin_letters(word):
        return False
    if "'" in word:  # "ylng'och": no vowel but the first letter of each part
        return len(word) >= 4 and all(VOWELS.isdisjoint(p[1:]) for p in word.split("'"))
    if word[0] in VOWELS:
        return len(word) >= 3 and VOWELS.isdisjoint(word[1:])
    return VOWELS.isdisjoint(word)


def latin_letters(word: str) -> bool:
    """Is ``word`` letters of the Latin script only (``ł``, ``ñ``, ``ø`` included; an
    apostrophe inside: Uzbek "yalang'och")?"""
    letters = word.replace("'", "") if "'" in word[1:-1] else word
    if letters.isascii():
        return letters.isalpha()
    return letters.isalpha() and all(c < "\u0250" for c in letters)


def respellings(word: str) -> set[str]:
    """The respellings of ``word`` that :data:`RESPELLING_RULES` make in up to
    :data:`RESPELLING_DEPTH` steps (``word`` itself left out)."""
    seen = {word}
    frontier = [word]
    for _ in range(RESPELLING_DEPTH):
        found: list[str] = []
        for w in frontier:
            for regex, replacement in _RULES:
                for m in regex.finditer(w):
                    candidate = w[: m.start()] + m.expand(replacement) + w[m.end() :]
                    if candidate not in seen and len(candidate) >= 3:
                        seen.add(candidate)
                        found.append(candidate)
        frontier = found
    seen.discard(word)
    return seen


def fits(pattern: str, word: str) -> bool:
    """Does ``word`` fit ``pattern``, ``?`` standing for any one letter (a masked word)?"""
    return len(pattern) == len(word) and all(
        p in ("?", c) for p, c in zip(pattern, word, strict=True)
    )
