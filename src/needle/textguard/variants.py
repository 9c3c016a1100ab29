"""Variants: finding a word that is not in the lexicon as written.

In: one word token (normalised) and the lexicon. Out: the lexicon senses found through a
variant of it, each with its span inside the word and the evasion seen through, tried in
this order (the first that finds something wins):

1. clitics and elision: ``l'enfant``, ``girl's``; Arabic ``al-``/``wa-``, Hebrew
   ``ha-``/``ve-``;
2. numbers glued to words: a count or an age (``1girl``, ``12yonude``), a word and a number
   (``nude12``);
3. leetspeak (``s3x``, ``$ex``; ``1`` read as ``i``, then as ``l``), then compounds of the
   folded word;
4. squeezed doubles (``nuude``), including words that have doubles of their own;
5. other scripts: the Latin look-alike skeleton (``ѕех`` in Cyrillic), then transliteration
   (``порно``), then a syllable typed twice made single (``नंगीगी``);
6. respellings (:func:`respelled`, :mod:`~needle.textguard.respell`): a common English
   respelling (``kidz``, ``chyld``, ``nekkid``), a word typed without its vowels (``chld``,
   ``prn``), a word written backwards (``dlihc``). These are the only variants a plain
   ASCII word gets (one dictionary access each), and only a word the lexicon does not know.

Compounds written without separators (``nudechild``) are split by :func:`split_compound`.
"""

from __future__ import annotations

import re

from needle.textguard.ages import age_hit, age_sense
from needle.textguard.normalize import (
    LEET,
    LEET_SYMBOLS,
    fold_leet,
    skeleton,
    squeeze,
    transliterate,
    unrepeated,
)
from needle.textguard.respell import consonants, latin_letters, vowelless
from needle.textguard.terms import Lexicon, Sense, sensitive
from needle.textguard.tokens import DIGIT, HAS_LETTER

__all__ = [
    "DOUBLE",
    "GLUED_UNITS",
    "MAX_VARIANT_LEN",
    "Found",
    "lookup_or_split",
    "respelled",
    "split_compound",
    "undoubled",
    "unrepeated",
    "variants",
]

#: longest word the variant steps (compounds, leet) look at; longer words are lookup-only
MAX_VARIANT_LEN = 40
#: age units that are glued to digits and then to another word in file names (12yonude)
GLUED_UNITS = ("yo", "yrs", "yr", "y")
#: a letter written twice
DOUBLE = re.compile(r"([^\W\d])\1")
_NUM_SUFFIX = re.compile(r"(\d{1,3})(\D+)")
_WORD_NUM = re.compile(r"(\D{3,}?)\d+")
_APOSTROPHE = re.compile("['’]")
LEET_DIGITS = frozenset(k for k in LEET if k.isdigit())

#: senses found in a word: start and end inside it, the senses, the evasion seen through
Found = list[tuple[int, int, list[Sense], str]]


def split_compound(
    lex: Lexicon, word: str, start: int = 0, depth: int = 0
) -> list[tuple[int, int, list[Sense]]] | None:
    """Split ``word[start:]`` into lexicon words only (``nudechild``), longest pieces first."""
    n = len(word)
    if start == n:
        return []
    if depth > 4 or n - start < 3:
        return None
    lengths = lex.piece_lengths.get(word[start : start + 2])
    if lengths is None:
        return None
    for length in lengths:
        end = start + length
        if end > n or (n - end) in (1, 2):
            continue
        piece = word[start:end]
        senses = lex.exact.get(piece) or lex.stems.get(piece)
        if senses is None:
            continue
        rest = split_compound(lex, word, end, depth + 1)
        if rest is not None:
            return [(start, end, senses), *rest]
    return None


def variants(lex: Lexicon, word: str) -> Found:
    """Find ``word`` (not in the lexicon as written) through its variants, in the order of
    the module docstring. Returns ``(start, end, senses, evasion)`` spans relative to the
    word; empty when none."""
    if len(word) > MAX_VARIANT_LEN:
        return []
    found = _clitics(lex, word)
    if found:
        return found
    has_digit = DIGIT.search(word) is not None
    glued: Found = []
    if has_digit:
        glued = _glued_numbers(lex, word)
        # a word and a number ("naked12"), unless the word is one only in some language
        # and leetspeak reads the whole ("nag1" is Polish "nagi", not Croatian "nag" and 1)
        if glued and not all(x.contextual for _, _, sn, _ in glued for x in sn):
            return glued
    if (has_digit or not LEET_SYMBOLS.isdisjoint(word)) and HAS_LETTER.search(word):
        for one in ("i", "l"):
            leet = fold_leet(word, one=one)
            found = lookup_or_split(lex, leet)
            if found:
                return [(s, e, sn, "leet") for s, e, sn, _ in found]
        if has_digit:
            senses = _some_digits_letters(lex, word)
            if senses is not None:
                return [(0, len(word), senses, "leet")]
    if glued:
        return glued
    squeezed = squeeze(word) if DOUBLE.search(word) else word
    if squeezed != word:
        senses = (
            undoubled(lex, word)
            or lex.exact.get(squeezed)
            or lex.squeezed.get(squeezed)
            or lex.stem(squeezed)
        )
        if senses is not None:
            return [(0, len(word), senses, "repeat")]
    if not word.isascii():
        found = _other_script(lex, word) or _unrepeated(lex, word)
        if found:
            return found
    return respelled(lex, word)


#: digits in a word up to which every choice of leet or literal digit is tried
_MIXED_DIGITS = 4


def _some_digits_letters(lex: Lexicon, word: str) -> list[Sense] | None:
    """A word whose digits are in part letters of its own spelling and in part leetspeak:
    Arabizi writes letters with digits (``3arya``, "3" for ع), and leetspeak hides others
    (``34ry4``). Each choice of digits kept or folded is looked up."""
    spots = [k for k, c in enumerate(word) if c in LEET_DIGITS]
    if not 2 <= len(spots) <= _MIXED_DIGITS:
        return None
    for mask in range(1, (1 << len(spots)) - 1):  # not all kept, not all folded
        chars = list(word)
        for b, k in enumerate(spots):
            if mask >> b & 1:
                chars[k] = LEET[word[k]]
        senses = lex.lookup("".join(chars))
        if senses is not None:
            return senses
    return None


def _unrepeated(lex: Lexicon, word: str) -> Found:
    """A word of a script whose letters carry marks, with a syllable typed twice or more
    (``नंगीगी``, ``শিশুশুশু``): each run of one syllable made single."""
    single = unrepeated(word)
    if single == word:
        return []
    found = lookup_or_split(lex, single)
    return [(0, len(word), sn, "repeat") for _, _, sn, _ in found[:1]] if found else []


def respelled(lex: Lexicon, word: str) -> Found:
    """A word of letters the lexicon does not know, found as a common respelling
    (``phonetic``), without its vowels (``vowels``) or backwards (``reversed``)."""
    n = len(word)
    if n < 2 or not (word.isalpha() or latin_letters(word)):
        return []
    if vowelless(word) and word not in lex.function_words and word not in lex.numbers:
        typed = _without_vowels(lex, word)
        if typed:
            return [(0, n, typed, "vowels")]
    if word in lex.vocab:
        return []
    senses = lex.respelled.get(word)
    if senses is not None:
        return [(0, n, senses, "phonetic")]
    if n >= 3:
        back = word[::-1]
        if back != word:
            found = lex.lookup(back)
            chosen = sensitive(found) if found is not None else []
            if chosen:
                return [(0, n, chosen, "reversed")]
    return []


def _without_vowels(lex: Lexicon, word: str) -> list[Sense]:
    """The senses of every entry ``word`` may be typed without its vowels: whole entries,
    then stems with up to two more consonants (the text's language picks among them
    later: ``kndrn`` is Dutch "kinderen" and German "Kindern")."""
    found: list[Sense] = []
    keys = dict.fromkeys(consonants(word))
    for key in keys:
        found.extend(lex.consonant_keys.get(key, ()))
    for key in keys:  # a stem and up to two more consonants
        for k in range(len(key), max(3, len(key) - 2) - 1, -1):
            senses = lex.consonant_stems.get(key[:k])
            if senses is not None:
                found.extend(senses)
                break
    return list(dict.fromkeys(found))


def _clitics(lex: Lexicon, word: str) -> Found:
    """Parts around apostrophes (``l'enfant``, ``girl's``), else the word after a clitic."""
    n = len(word)
    if "'" in word or "’" in word:
        out: Found = []
        offset = 0
        for part in _APOSTROPHE.split(word):
            senses = lex.lookup(part) if len(part) >= 2 else None
            if senses is not None:
                out.append((offset, offset + len(part), senses, ""))
            offset += len(part) + 1
        if out:
            return out
    clitics = lex.clitics.get(word[0])
    if clitics:
        for clitic in clitics:
            if word.startswith(clitic) and n - len(clitic) >= 3:
                senses = lex.lookup(word[len(clitic) :])
                if senses is not None:
                    return [(len(clitic), n, senses, "")]
    return []


def _glued_numbers(lex: Lexicon, word: str) -> Found:
    """1girl, 2girls, 12yonude: a count or an age glued to a word; nude12: a word and a
    number."""
    n = len(word)
    m = _NUM_SUFFIX.fullmatch(word)
    if m is not None:
        digits, suffix = m.group(1), m.group(2)
        base = len(digits)
        senses = lex.lookup(suffix)
        if senses is not None:
            return [(base, n, senses, "")]
        for unit in GLUED_UNITS:
            if suffix.startswith(unit) and len(suffix) > len(unit) + 2:
                rest = suffix[len(unit) :]
                found = lookup_or_split(lex, rest)
                if found:
                    age = age_hit(int(digits), 0, base + len(unit))
                    out = [
                        (s + base + len(unit), e + base + len(unit), sn, ev)
                        for s, e, sn, ev in found
                    ]
                    if age is not None:
                        out.insert(0, (0, base + len(unit), [age_sense(age)], "compound"))
                    return out
    m = _WORD_NUM.fullmatch(word)
    if m is not None:
        senses = lex.lookup(m.group(1))
        if senses is not None:
            return [(0, len(m.group(1)), senses, "")]
    return []


def _other_script(lex: Lexicon, word: str) -> Found:
    """A non-ASCII word: its Latin look-alike skeleton, then its transliteration."""
    n = len(word)
    skel = skeleton(word)
    if skel is not None and skel != word:
        found = lookup_or_split(lex, skel) or lookup_or_split(lex, fold_leet(skel))
        if found:
            return [(0, n, sn, "homoglyph") for _, _, sn, _ in found[:1]]
    latin = transliterate(word)
    if latin is not None and latin != word:
        senses = lex.lookup(latin)
        if senses is not None:
            return [(0, n, senses, "transliteration")]
    return []


def lookup_or_split(lex: Lexicon, word: str) -> Found:
    """The word's own senses, else those of a compound of 6+ letters split into pieces."""
    senses = lex.lookup(word)
    if senses is not None:
        return [(0, len(word), senses, "")]
    if len(word) >= 6:
        pieces = split_compound(lex, word)
        if pieces and len(pieces) > 1:
            return [(s, e, sn, "compound") for s, e, sn in pieces]
    return []


def undoubled(lex: Lexicon, word: str) -> list[Sense] | None:
    """Look ``word`` up with some of its doubled letters made single ("piikkutytto" ->
    "pikkutytto"): normalisation leaves two of a stretched letter, the word may have its own."""
    if DOUBLE.search(word) is None:
        return None
    runs = [k for k in range(1, len(word)) if word[k] == word[k - 1] and word[k].isalpha()]
    if not runs or len(runs) > 4:
        return None
    for mask in range(1, 1 << len(runs)):
        drop = {runs[b] for b in range(len(runs)) if mask >> b & 1}
        candidate = "".join(c for k, c in enumerate(word) if k not in drop)
        senses = lex.lookup(candidate)
        if senses is not None:
            return senses
    return None
