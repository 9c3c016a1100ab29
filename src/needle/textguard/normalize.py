"""Normalising text against evasion, keeping a map back to the original string.

In: any ``str`` (prompt, filename, metadata field), including lone surrogates, control and
zero-width characters. Out: a :class:`Normalized` whose ``text`` is the folded form that the
lexicon is matched against, and whose :meth:`Normalized.span` maps a span of ``text`` back to
the span of the original string it came from, so evidence can quote the original.

The steps, in the order they run (each is idempotent and so is the whole, which the property
tests check):

1. **character folding** (one table, built lazily per character): Unicode NFKD, case folding,
   diacritics stripped for Latin, Greek, Cyrillic, Arabic and Hebrew (Indic and Thai vowel
   signs are kept: they are letters there), then NFKC. This covers full-width forms,
   mathematical and circled letters, ligatures, Zalgo marks, Arabic hamza/harakat/tatweel and
   Hebrew points; every other combining mark too (``n\u0336u\u0336d\u0336e``, the
   grapheme joiner), except where marks are letters (Indic, Thai, South-East Asian scripts).
   Zero-width, bidi, other format and control characters, private-use characters, variation
   selectors, lone surrogates, blank letters (Hangul fillers, the braille blank) and emoji
   skin tones are removed; other white space becomes one space (line breaks stay, they end
   clauses). Letter emoji are letters (``🅽🆄🅳🅴``, ``🅾️``). ``ñ`` is kept (``niña`` is not
   ``nina``).
2. **kana voicing** recomposed (half-width ``ｶﾞ`` folds to ``ガ``).
3. **camelCase** split on the original (``NudeChild.jpg`` -> ``nude child.jpg``).
4. **prompt syntax**: attention weights ``(word:1.3)``, ``<lora:name:0.8>`` and Midjourney's
   ``word::1.5`` lose their numbers; brackets, ``BREAK``, ``::`` and tag separators are plain
   separators for the tokenizer already.
5. **regional indicator letters** that spell a word (``🇳🇺🇩🇪``) become letters; a pair
   alone stays a flag.
6. **spaced letters** joined: ``n u d e``, ``n-a-k-e-d``, ``n.u.d.e``, ``n/u/d/e`` ->
   ``nude`` (three or more single characters, at least two of them letters, one to three
   separators apart), wherever they are in the text; a separator unlike the run's usual
   one, or between a letter and a digit, stays: it parts two words
   (``n a k e d  g i r l`` -> ``naked  girl``, ``d e v o c h k a 9 l e t`` ->
   ``devochka 9 let``).
7. **homoglyphs** folded inside mixed-script words, into the word's main script
   (:mod:`~needle.textguard.homoglyphs`): ``nаkеd`` with Cyrillic ``а``/``е`` -> ``naked``,
   ``гoлая`` with a Latin ``o`` -> ``голая``. Words wholly in one script are left alone
   (Russian stays Russian); the detector tries their Latin skeleton separately.
8. **repeated letters**: runs of three or more of one letter shrink to two (``nuuuude`` ->
   ``nuude``; the detector also looks words up with doubles squeezed).

Leetspeak and transliteration are *not* applied to the whole text (``12yo`` must keep its
digits, Russian must stay Cyrillic); :func:`fold_leet`, :func:`skeleton` and
:func:`transliterate` are applied per word by the detector, as variants.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
import unicodedata
from collections.abc import Iterable

from needle.textguard.homoglyphs import _BUILTIN_CONFUSABLES as _BUILTIN_CONFUSABLES
from needle.textguard.homoglyphs import _confusables as _confusables
from needle.textguard.homoglyphs import fold_mixed_words, skeleton, transliterate
from needle.textguard.scripts import MARK_CLASS, SCRIPTS, UNSPACED_CLASS

__all__ = [
    "WORD_CHAR",
    "Normalized",
    "canonical",
    "fold_char",
    "fold_leet",
    "normalize",
    "skeleton",
    "squeeze",
    "transliterate",
    "unrepeated",
]

# --- 1. character folding -------------------------------------------------------------------

#: combining marks removed after NFKD: Latin/Greek/Cyrillic diacritics (incl. Zalgo stacks),
#: Cyrillic titlo, Hebrew points and cantillation, Arabic harakat, Quranic marks, symbol marks
#: (enclosing circles) and half marks. Indic, Thai, Hangul and kana marks are letters: kept.
_STRIP_RANGES: tuple[tuple[int, int], ...] = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0591, 0x05BD),
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),
    (0x0610, 0x061A),
    (0x0640, 0x0640),  # Arabic tatweel (kashida), used to stretch words apart
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFE20, 0xFE2F),
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_STRIP_STARTS = [a for a, _ in _STRIP_RANGES]

#: single characters folded by hand before the Unicode steps: dotless i (Turkish upper/lower
#: case must meet), Arabic/Persian letter variants that search engines fold (teh marbuta,
#: alef maksura, Farsi yeh and keheh), and ñ, which is a letter of its own in Spanish.
_SPECIAL: dict[str, str] = {
    "ı": "i",
    "ة": "ه",
    "ى": "ي",
    "ی": "ي",
    "ې": "ي",
    "ک": "ك",
    "ñ": "ñ",
    "Ñ": "ñ",
    "\u2028": "\n",
    "\u2029": "\n",
    "\x85": "\n",
    "_": " ",  # snake_case file names and booru tags: a separator
}
#: control characters that stand for white space; every other control character is dropped
#: (the information separators \x1c-\x1f too: in a prompt they only hide letters)
_SPACE_CONTROLS = frozenset("\t\r\x0b\x0c")
#: characters kept through folding even though NFKC would leave them decomposed
_KEEP_MARKS = frozenset("\u3099\u309a")
#: characters that show nothing, or only change how the emoji before them looks, and so can
#: be typed inside a word to split it: Hangul fillers, the braille blank, Khmer inherent
#: vowels, emoji skin tones and hair components
_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFFA0, 0xFFA0),
    (0x1F3FB, 0x1F3FF),
    (0x1F9B0, 0x1F9B3),
)
#: a combining mark that is a letter in its script (Indic, Thai, Lao, Tibetan, Myanmar,
#: Khmer); every other combining mark is stripped, wherever it is typed
_LETTER_MARK = re.compile(f"[{MARK_CLASS}]")
#: emoji that are letters: negative circled and negative squared capitals (🅐, 🅽, 🅾️)
_EMOJI_LETTER_BLOCKS = (0x1F150, 0x1F170)


def _strippable(ch: str) -> bool:
    cp = ord(ch)
    i = bisect.bisect_right(_STRIP_STARTS, cp) - 1
    return i >= 0 and cp <= _STRIP_RANGES[i][1]


def _fold_once(c: str) -> str:
    special = _SPECIAL.get(c)
    if special is not None:
        return special
    if c == "\n":
        return c
    cp = ord(c)
    for first in _EMOJI_LETTER_BLOCKS:
        if first <= cp < first + 26:
            return chr(ord("a") + cp - first)
    for a, b in _INVISIBLE_RANGES:
        if a <= cp <= b:
            return ""
    cat = unicodedata.category(c)
    if cat == "Cc":
        return " " if c in _SPACE_CONTROLS else ""
    if cat in ("Zs", "Zl", "Zp"):
        return " "
    if cat in ("Cf", "Cs", "Co"):
        return ""
    if _strippable(c):
        return ""
    if cat in ("Mn", "Me") and c not in _KEEP_MARKS and _LETTER_MARK.match(c) is None:
        return ""
    s = unicodedata.normalize("NFKD", c)
    s = "".join(ch for ch in s if not _strippable(ch)).casefold()
    s = unicodedata.normalize("NFKD", s)
    s = "".join(_SPECIAL.get(ch, ch) for ch in s if not _strippable(ch))
    s = unicodedata.normalize("NFKC", s)
    return s


def fold_char(c: str) -> str:
    """The folded form of one character (possibly empty or several characters).

    The result is a fixed point: folding each of its characters again gives it back.
    """
    s = _fold_once(c)
    for _ in range(4):
        again = "".join(_fold_once(ch) for ch in s)
        if again == s:
            return s
        s = again
    return s


#: ord -> folded string, for ``str.translate``; grows with the characters seen, capped.
_TABLE: dict[int, str] = {}
#: characters whose folded form is not exactly one character (offsets then need a map)
_NONUNIT: set[str] = set()
_TABLE_CAP = 200_000  # distinct characters cached; beyond this, fold without caching


def _table_for(distinct: Iterable[str]) -> dict[int, str]:
    table = _TABLE
    missing = [c for c in distinct if ord(c) not in table]
    if not missing:
        return table
    if len(table) + len(missing) > _TABLE_CAP:
        local = dict(table)
        for c in missing:
            local[ord(c)] = fold_char(c)
        return local
    for c in missing:
        f = fold_char(c)
        table[ord(c)] = f
        if len(f) != 1:
            _NONUNIT.add(c)
    return table


# ASCII fast path: lower case, tabs to spaces, other controls dropped.
_ASCII_TABLE: dict[int, str | None] = {i: chr(i).lower() for i in range(128)}
for _i in range(32):
    _ASCII_TABLE[_i] = " " if chr(_i) in _SPACE_CONTROLS else None
_ASCII_TABLE[10] = "\n"
_ASCII_TABLE[ord("_")] = " "
_ASCII_TABLE[127] = None
_ASCII_KEEP: dict[int, str] = {i: v if v is not None else chr(i) for i, v in _ASCII_TABLE.items()}
_ASCII_DROPPED = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _ranges_class(points: Iterable[int]) -> str:
    """A regex character class of code points, consecutive ones as ranges."""
    parts: list[str] = []
    start = prev = -2
    for cp in sorted(points):
        if cp != prev + 1:
            if start >= 0:
                parts.append(_range(start, prev))
            start = cp
        prev = cp
    if start >= 0:
        parts.append(_range(start, prev))
    return "[" + "".join(parts) + "]"


def _range(first: int, last: int) -> str:
    return re.escape(chr(first)) + ("" if first == last else "-" + re.escape(chr(last)))


def _mark_ranges() -> list[tuple[int, int]]:
    """The code point ranges of the scripts whose marks are letters."""
    return [(ord(first), ord(last)) for _, first, last, _, marks in SCRIPTS if marks]


# --- 3.-7. context steps ---------------------------------------------------------------------

_LOWER = "a-zß-öø-ÿа-яёα-ω"
_UPPER = "A-ZÀ-ÖØ-ÞА-ЯЁΑ-Ω"
#: an upper-case letter starting a lower-case word; the two characters before it are checked
#: in Python (lookbehinds at every position cost ten times more)
_CAMEL = re.compile(rf"[{_UPPER}][{_LOWER}]")
_CAMEL_BEFORE = re.compile(rf"[{_LOWER}][{_LOWER}]|.[0-9]")
_KANA_VOICED = re.compile("[\u3099\u309a]")
#: attention weights in diffusion prompts: ``(word:1.2)``, ``[word:0.5]``, ``<lora:x:0.8>``
#: (starts at the colon, a literal the regex engine can skip to; the word before is checked
#: in Python, with the white space between)
_WEIGHT = re.compile(r":\s*[-+]?\d+(?:\.\d+)?(?:\s*:\s*[-+]?\d+(?:\.\d+)?)*(?=\s*[)\]>])")
#: Midjourney's multi-prompt weights: ``nude::2 child::1.5`` (the number right after ``::``;
#: the ``::`` stays, a separator)
_MJ_WEIGHT = re.compile(r"(?<=::)[-+]?\d*\.?\d+(?![\w.])")
#: regional indicator letters (🇳🇺🇩🇪): two side by side are a flag, a longer run or letters
#: with separators between them spell a word
_REGIONAL = re.compile("[\U0001f1e6-\U0001f1ff](?:[ ._\\-]{0,3}[\U0001f1e6-\U0001f1ff])+")
_TRIPLE = re.compile(r"(.)\1\1")
_UNSPACED_CHAR = re.compile(f"[{UNSPACED_CLASS}]")
#: a word character. Python's ``\w`` leaves out the vowel signs of Indic and South-East
#: Asian scripts (category Mc/Mn), which would cut "साल" into "स" + "ल"; add those blocks
#: (all of them, Thai included: see :mod:`~needle.textguard.scripts`).
#: ``_`` never reaches here (folded to a space).
WORD_CHAR = rf"[\w{MARK_CLASS}]"
_W = WORD_CHAR
_SEP = r"[^\w\n" + MARK_CLASS + "]"
#: three or more single characters, one to three separators apart
#: the combining marks of the scripts whose marks are letters (a Thai vowel sign, a
#: Devanagari virama): a spaced-out letter of those scripts is a base with its marks
_MK = _ranges_class(
    cp
    for first, last in _mark_ranges()
    for cp in range(first, last + 1)
    if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me")
)
_UNIT = rf"(?:(?!{_MK}){_W}{_MK}*)"
_SPACED = re.compile(rf"(?<!{_W}){_UNIT}(?!{_W})(?:{_SEP}{{1,3}}{_UNIT}(?!{_W})){{2,}}")
#: the same for ASCII text, where no letter has marks (a plain character class is faster)
_SPACED_ASCII = re.compile(rf"(?<!{_W}){_W}(?!{_W})(?:{_SEP}{{1,3}}{_W}(?!{_W})){{2,}}")
_MARK_CHAR = re.compile(_MK)
#: an emoji typed between two letters of a script without single-letter masks (Thai,
#: Chinese, Japanese, Korean, Indic): it only splits the word
_SPLITTING_EMOJI = re.compile(
    rf"(?<=[{UNSPACED_CLASS}{MARK_CLASS}\uac00-\ud7af])[\U0001f300-\U0001faff\u2600-\u27bf]+"
    rf"(?=[{UNSPACED_CLASS}{MARK_CLASS}\uac00-\ud7af])"
)
_SPACED_SEP = re.compile(rf"{_SEP}+")
_REPEAT = re.compile(r"([^\W\d_])\1\1+")
_WORD = re.compile(rf"{WORD_CHAR}+")
_ASCII_LETTER = re.compile(r"[a-z]")

# --- the result -------------------------------------------------------------------------------


class Normalized:
    """Folded text plus the map back to the original.

    ``starts[k]`` is the index in ``original`` of the character that produced ``text[k]``;
    ``None`` means the identity map (the common case: nothing was removed or expanded).
    """

    __slots__ = ("original", "starts", "text")

    def __init__(self, original: str, text: str, starts: list[int] | None) -> None:
        self.original = original
        self.text = text
        self.starts = starts

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The span of ``original`` that produced ``text[i:j]`` (``j > i``)."""
        starts = self.starts
        if starts is None:
            return i, j
        s = starts[i]
        e = starts[j - 1] + 1
        original = self.original
        n = len(original)
        limit = e + 32
        while e < n and e < limit and unicodedata.category(original[e])[0] == "M":
            e += 1
        return s, e

    def quote(self, i: int, j: int) -> str:
        s, e = self.span(i, j)
        return self.original[s:e]

    def __repr__(self) -> str:
        return f"Normalized({self.text!r})"


def _identity(n: int) -> list[int]:
    return list(range(n))


def _delete(
    text: str, starts: list[int] | None, spans: list[tuple[int, int]]
) -> tuple[str, list[int]]:
    """Remove ``spans`` (sorted, disjoint) from ``text`` and its offset map."""
    if starts is None:  # the identity map: the kept offsets are ranges
        pieces: list[str] = []
        kept: list[int] = []
        at = 0
        for a, b in spans:
            pieces.append(text[at:a])
            kept.extend(range(at, a))
            at = b
        pieces.append(text[at:])
        kept.extend(range(at, len(text)))
        return "".join(pieces), kept
    parts: list[str] = []
    new_starts: list[int] = []
    prev = 0
    for a, b in spans:
        parts.append(text[prev:a])
        new_starts.extend(starts[prev:a])
        prev = b
    parts.append(text[prev:])
    new_starts.extend(starts[prev:])
    return "".join(parts), new_starts


def _fold_text(text: str) -> tuple[str, list[int] | None]:
    if text.isascii():
        folded = text.translate(_ASCII_TABLE)
        if len(folded) == len(text):
            return folded, None
        dropped = [(m.start(), m.end()) for m in _ASCII_DROPPED.finditer(text)]
        lowered = text.translate(_ASCII_KEEP)
        return _delete(lowered, None, dropped)
    distinct = set(text)
    table = _table_for(distinct)
    if not (distinct & _NONUNIT):
        return text.translate(table), None
    pieces = [table[ord(c)] for c in text]
    starts = [i for i, piece in enumerate(pieces) for _ in piece]
    return "".join(pieces), starts


def _insert_spaces(text: str, starts: list[int] | None, at: list[int]) -> tuple[str, list[int]]:
    """Insert a space before the folded character produced by each original index in ``at``."""
    if starts is None:
        starts = _identity(len(text))
    parts: list[str] = []
    new_starts: list[int] = []
    prev = 0
    for orig in at:
        k = bisect.bisect_left(starts, orig)
        if k >= len(starts) or k <= prev:
            continue
        parts.append(text[prev:k])
        new_starts.extend(starts[prev:k])
        parts.append(" ")
        new_starts.append(orig)
        prev = k
    parts.append(text[prev:])
    new_starts.extend(starts[prev:])
    return "".join(parts), new_starts


def _compose_kana(text: str, starts: list[int] | None) -> tuple[str, list[int] | None]:
    spans: list[tuple[int, int]] = []
    chars = list(text)
    for m in _KANA_VOICED.finditer(text):
        k = m.start()
        if k == 0:
            continue
        composed = unicodedata.normalize("NFC", text[k - 1] + text[k])
        if len(composed) == 1:
            chars[k - 1] = composed
            spans.append((k, k + 1))
    if not spans:
        return text, starts
    return _delete("".join(chars), starts, spans)


_SINGLE = re.compile(rf"(?<!{_W}){_UNIT}(?!{_W})")
_SINGLE_ASCII = re.compile(rf"(?<!{_W}){_W}(?!{_W})")


#: ASCII letters and digits -> "a", white space -> " ", anything else -> "-"
_SHAPE = str.maketrans(
    {chr(i): "a" if chr(i).isalnum() else " " if chr(i).isspace() else "-" for i in range(128)}
)


def _maybe_spaced(text: str) -> bool:
    """Cheap test before the regexes: three single characters in a row need either three
    one- or two-character words in a row, or a word like "n-a-k-e-d" (5+ characters, 3+ of
    them letters or digits, about half of them not)."""
    if len(text) >= 256 and text.isascii():
        # the same test on the text's shape (letters and digits "a", others "-"): few
        # distinct words, and C loops only
        parts = text.translate(_SHAPE).split()
        lengths = list(map(len, parts))
        # a byte 1 where a word is short
        if b"\x01\x01\x01" in bytes(map(operator.le, lengths, itertools.repeat(2))):
            return True
        for shape in set(parts):
            n = len(shape)
            letters = shape.count("a")
            if n >= 5 and letters >= 3 and letters * 2 <= n + 1:
                return True
        return False
    short = 0
    for part in text.split():
        if len(part) <= 2:
            short += 1
            if short >= 3:
                return True
        else:
            short = 0
            if len(part) >= 5 and not part.isalnum():
                letters = sum(map(str.isalnum, part))
                if letters >= 3 and letters * 2 <= len(part) + 1:
                    return True
    return False


def _join_spaced(text: str, starts: list[int] | None) -> tuple[str, list[int] | None]:
    if not _maybe_spaced(text):
        return text, starts
    plain = text.isascii()
    single = (_SINGLE_ASCII if plain else _SINGLE).search(text)
    if single is None:
        return text, starts
    spans: list[tuple[int, int]] = []
    for m in (_SPACED_ASCII if plain else _SPACED).finditer(text, single.start()):
        run = m.group()
        seps = list(_SPACED_SEP.finditer(run))
        units = [
            run[a:b]
            for a, b in zip(
                [0] + [x.end() for x in seps], [x.start() for x in seps] + [len(run)], strict=True
            )
        ]
        letters = sum(1 for u in units if u[0].isalpha())
        if letters < 2 or len(units) < 3:
            continue
        base = m.start()
        spans.extend(
            (base + x.start(), base + x.end())
            for x, kept in zip(seps, _word_boundaries(units, seps), strict=True)
            if not kept
        )
    if not spans:
        return text, starts
    return _delete(text, starts, spans)


def _word_boundaries(units: list[str], seps: list[re.Match[str]]) -> list[bool]:
    """Which separators of a run of spaced-out letters part two words, and stay: one unlike
    the run's usual separator (``n u d e  c h i l d``, ``... e, 8 j a a r``), or between a
    letter and a digit (``d e v o c h k a 9 l e t``). A letter is never left alone by
    them (it joins the word before it), and when that leaves three single characters in a
    row the whole run is joined, so that joining again changes nothing."""
    counts: dict[str, int] = {}
    for x in seps:
        counts[x.group()] = counts.get(x.group(), 0) + 1
    usual = min(counts, key=lambda sep: (-counts[sep], len(sep), sep))
    kept = [
        x.group() != usual or units[k][0].isdigit() != units[k + 1][0].isdigit()
        for k, x in enumerate(seps)
    ]
    if not any(kept):
        return kept
    # a part of one letter joins its neighbour (the word before it, else the one after)
    k = 0
    while k < len(units):
        end = k
        while end < len(seps) and not kept[end]:
            end += 1
        if end == k and not units[k][0].isdigit():
            if k > 0 and kept[k - 1]:
                kept[k - 1] = False
            elif k < len(seps):
                kept[k] = False
        k = end + 1
    singles = 0
    for k in range(len(units)):
        alone = (k == 0 or kept[k - 1]) and (k == len(seps) or kept[k])
        singles = singles + 1 if alone else 0
        if singles >= 3:
            return [False] * len(seps)
    return kept


def _regional_letters(text: str) -> str:
    """Regional indicator symbols that spell a word (three or more, or with separators
    between them) become the letters they stand for; a pair alone stays a flag."""
    if max(text) < "\U0001f1e6":
        return text
    chars: list[str] | None = None
    for m in _REGIONAL.finditer(text):
        run = m.group()
        letters = [k for k, c in enumerate(run) if "\U0001f1e6" <= c <= "\U0001f1ff"]
        if len(letters) < 3 and len(run) == 2:
            continue
        if chars is None:
            chars = list(text)
        for k in letters:
            chars[m.start() + k] = chr(ord("a") + ord(run[k]) - 0x1F1E6)
    return text if chars is None else "".join(chars)


def _collapse_repeats(text: str, starts: list[int] | None) -> tuple[str, list[int] | None]:
    """Runs of three or more of one letter shrink to two, or to one in scripts written
    without spaces (``เปลืออออย``, ``ヌーーード``: there a double is never a stretch that
    a lookup could squeeze, it sits inside a run)."""
    if _TRIPLE.search(text) is None:
        return text, starts
    spans = [
        (m.start() + (1 if _UNSPACED_CHAR.match(m.group()) else 2), m.end())
        for m in _REPEAT.finditer(text)
    ]
    if not spans:
        return text, starts
    return _delete(text, starts, spans)


def normalize(text: str) -> Normalized:
    """Fold ``text`` for matching; see the module docstring for the steps.

    Runs in time linear in ``len(text)``; callers cap the length (the guard's policy does).
    """
    folded, starts = _fold_text(text)
    if not text.isascii() and ("\u3099" in folded or "\u309a" in folded):
        folded, starts = _compose_kana(folded, starts)
    if not text.islower():  # camelCase needs an upper-case letter
        camel = [
            a
            for a in (m.start() for m in _CAMEL.finditer(text))
            if a >= 2 and _CAMEL_BEFORE.fullmatch(text, a - 2, a)
        ]
        if camel:
            folded, starts = _insert_spaces(folded, starts, camel)
    if ":" in folded:
        spans: list[tuple[int, int]] = []
        for m in _WEIGHT.finditer(folded):
            a = m.start()
            while a > 0 and folded[a - 1].isspace():
                a -= 1
            if a > 0 and folded[a - 1].isalnum() and (not spans or spans[-1][1] <= a):
                spans.append((a, m.end()))
        if "::" in folded:
            spans += [m.span() for m in _MJ_WEIGHT.finditer(folded)]
            spans.sort()
        if spans:
            folded, starts = _delete(folded, starts, spans)
    if not folded.isascii():
        folded = _regional_letters(folded)
        if _SPLITTING_EMOJI.search(folded) is not None:
            spans = [m.span() for m in _SPLITTING_EMOJI.finditer(folded)]
            folded, starts = _delete(folded, starts, spans)
    folded, starts = _join_spaced(folded, starts)
    if not folded.isascii():
        folded = fold_mixed_words(folded, text, starts)
    folded, starts = _collapse_repeats(folded, starts)
    return Normalized(text, folded, starts)


# --- per-word variants used by the detector ---------------------------------------------------

#: leetspeak: digits and symbols standing for letters. ``1`` is tried as ``i`` and as ``l``.
LEET: dict[str, str] = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "l", "€": "e", "+": "t", "¡": "i", "£": "l",
}  # fmt: skip
LEET_SYMBOLS = frozenset("@$!|€+¡£")
_LEET_I = str.maketrans(LEET)
_LEET_L = str.maketrans({**LEET, "1": "l", "!": "i"})


def fold_leet(word: str, *, one: str = "i") -> str:
    """Replace leetspeak digits and symbols by letters (``s3x`` -> ``sex``, ``$ex`` -> ``sex``).

    ``one`` is what ``1`` stands for: ``"i"`` (``ch1ld``) or ``"l"`` (``1oli``). Applied by the
    detector only to words that mix letters with digits or symbols, never to ``12yo``.
    """
    return word.translate(_LEET_L if one == "l" else _LEET_I)


def canonical(word: str) -> str:
    """A word as phrase and unit entries are matched: leetspeak folded unless it is letters
    only (``n4k3d`` -> ``naked``, ``naked`` stays)."""
    if word.isalpha():
        return word
    return fold_leet(word)


def squeeze(word: str) -> str:
    """Collapse every run of one repeated letter to a single letter (``nuude`` -> ``nude``)."""
    out: list[str] = []
    prev = ""
    for c in word:
        if c != prev or not c.isalpha():
            out.append(c)
        prev = c
    return "".join(out)


def unrepeated(word: str) -> str:
    """``word`` with each run of one syllable (a letter and its marks) made single
    (``नंगीगी`` -> ``नंगी``); ``word`` itself when no syllable repeats."""
    syllables: list[str] = []
    for c in word:
        if syllables and unicodedata.category(c)[0] == "M":
            syllables[-1] += c
        else:
            syllables.append(c)
    single = [x for k, x in enumerate(syllables) if k == 0 or x != syllables[k - 1]]
    return word if len(single) == len(syllables) else "".join(single)
