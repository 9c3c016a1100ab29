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
   Hebrew points. Zero-width, bidi, other format and control characters, private-use
   characters, variation selectors and lone surrogates are removed; other white space becomes
   one space (line breaks stay, they end clauses). ``ñ`` is kept (``niña`` is not ``nina``).
2. **kana voicing** recomposed (half-width ``ｶﾞ`` folds to ``ガ``).
3. **camelCase** split on the original (``NudeChild.jpg`` -> ``nude child.jpg``).
4. **prompt syntax**: attention weights ``(word:1.3)``, ``<lora:name:0.8>`` lose their numbers;
   brackets, ``BREAK`` and tag separators are plain separators for the tokenizer already.
5. **spaced letters** joined: ``n u d e``, ``n-a-k-e-d``, ``n.u.d.e`` -> ``nude`` (three or
   more single characters, at least two of them letters, one to three separators apart).
6. **homoglyphs** folded inside mixed-script words (``nаkеd`` with Cyrillic ``а``/``е``), from
   Unicode TR39 confusables (the ``confusable-homoglyphs`` package when installed, a built-in
   table of the common Cyrillic/Greek look-alikes otherwise). Words wholly in another script
   are left alone here (Russian stays Russian); the detector tries their skeleton separately.
7. **repeated letters**: runs of three or more of one letter shrink to two (``nuuuude`` ->
   ``nuude``; the detector also looks words up with doubles squeezed).

Leetspeak and transliteration are *not* applied to the whole text (``12yo`` must keep its
digits, Russian must stay Cyrillic); :func:`fold_leet`, :func:`skeleton` and
:func:`transliterate` are applied per word by the detector, as variants.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
import unicodedata
from collections.abc import Iterable

from needle._optional import import_optional
from needle.errors import OptionalDependencyError
from needle.textguard.scripts import MARK_CLASS

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
    cat = unicodedata.category(c)
    if cat == "Cc":
        return " " if c in _SPACE_CONTROLS else ""
    if cat in ("Zs", "Zl", "Zp"):
        return " "
    if cat in ("Cf", "Cs", "Co"):
        return ""
    if _strippable(c):
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
_TRIPLE = re.compile(r"(.)\1\1")
#: a word character. Python's ``\w`` leaves out the vowel signs of Indic and South-East
#: Asian scripts (category Mc/Mn), which would cut "साल" into "स" + "ल"; add those blocks
#: (all of them, Thai included: see :mod:`~needle.textguard.scripts`).
#: ``_`` never reaches here (folded to a space).
WORD_CHAR = rf"[\w{MARK_CLASS}]"
_W = WORD_CHAR
_SEP = r"[^\w\n" + MARK_CLASS + "]"
#: three or more single characters, one to three separators apart
_SPACED = re.compile(rf"(?<!{_W}){_W}(?!{_W})(?:{_SEP}{{1,3}}{_W}(?!{_W})){{2,}}")
_SPACED_SEP = re.compile(rf"{_SEP}+")
_REPEAT = re.compile(r"([^\W\d_])\1\1+")
_WORD = re.compile(rf"{WORD_CHAR}+")
_ASCII_LETTER = re.compile(r"[a-z]")

#: built-in confusables (TR39 subset): look-alikes of Latin letters in Cyrillic, Greek,
#: Armenian and IPA, by *original* case (upper-case Greek Eta looks like H, lower-case like n).
_BUILTIN_CONFUSABLES: dict[str, str] = {
    # Cyrillic lower / upper
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d",
    "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ү": "y", "ɡ": "g", "ɑ": "a",
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p",
    "С": "c", "Т": "t", "У": "y", "Х": "x", "Ѕ": "s", "І": "i", "Ј": "j", "Ү": "y",
    "Ԁ": "d", "Һ": "h", "Ӏ": "l", "Ԛ": "q", "Ԝ": "w",
    # Greek lower / upper
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "η": "n", "μ": "u",
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m",
    "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "զ": "q",
}  # fmt: skip


@functools.cache
def _confusables() -> dict[str, str]:
    """Non-Latin character (original case) -> the Latin letter it looks like."""
    table = dict(_BUILTIN_CONFUSABLES)
    try:
        module = import_optional("confusable_homoglyphs.confusables", "textguard")
    except OptionalDependencyError:
        return table
    data: dict[str, list[dict[str, str]]] = getattr(module, "confusables_data", {})
    keys = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    keys += [k.upper() for k in keys]
    for key in keys:
        for glyph in data.get(key, ()):
            c = glyph.get("c", "")
            if len(c) != 1 or c.isascii():
                continue
            cp = ord(c)
            # Latin letters with marks are folded by NFKD already; leave the Latin blocks be
            if cp <= 0x024F or 0x1E00 <= cp <= 0x1EFF:
                continue
            table.setdefault(c, key.lower())
    return table


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


_SINGLE = re.compile(rf"(?<!{_W}){_W}(?!{_W})")


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
    single = _SINGLE.search(text)
    if single is None:
        return text, starts
    spans: list[tuple[int, int]] = []
    for m in _SPACED.finditer(text, single.start()):
        run = m.group()
        singles = [k for k, c in enumerate(run) if not _SPACED_SEP.match(c)]
        if len(singles) >= 4 and run[singles[-1]].isdigit() and run[singles[-2]].isalpha():
            # "a l a s t o n p o i k a, 9-vuotias": the number is not part of the word
            run = run[: singles[-2] + 1]
            singles.pop()
        letters = sum(1 for k in singles if run[k].isalpha())
        if letters < 2 or len(singles) < 3:
            continue
        base = m.start()
        spans.extend((base + s.start(), base + s.end()) for s in _SPACED_SEP.finditer(run))
    if not spans:
        return text, starts
    return _delete(text, starts, spans)


def _fold_homoglyphs(text: str, original: str, starts: list[int] | None) -> str:
    table = _confusables()
    chars: list[str] | None = None
    for m in _WORD.finditer(text):
        word = m.group()
        if word.isascii() or not _ASCII_LETTER.search(word):
            continue
        for k in range(m.start(), m.end()):
            c = text[k]
            if c.isascii():
                continue
            src = original[starts[k] if starts is not None else k]
            latin = table.get(src) or table.get(c)
            if latin is None:
                continue
            if chars is None:
                chars = list(text)
            chars[k] = latin
    return text if chars is None else "".join(chars)


def _collapse_repeats(text: str, starts: list[int] | None) -> tuple[str, list[int] | None]:
    if _TRIPLE.search(text) is None:
        return text, starts
    spans = [(m.start() + 2, m.end()) for m in _REPEAT.finditer(text)]
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
        if spans:
            folded, starts = _delete(folded, starts, spans)
    folded, starts = _join_spaced(folded, starts)
    if not folded.isascii():
        folded = _fold_homoglyphs(folded, text, starts)
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


def skeleton(word: str) -> str | None:
    """The Latin look-alike of a word written wholly in confusable non-Latin letters.

    ``ѕех`` (Cyrillic) -> ``sex``; ``None`` when some letter has no Latin look-alike (then it
    is a real word of its own script and is left alone).
    """
    table = _confusables()
    out: list[str] = []
    for c in word:
        if c.isascii():
            out.append(c)
            continue
        latin = table.get(c)
        if latin is None:
            return None
        out.append(latin)
    return "".join(out)


_TRANSLIT: dict[str, str] = {
    # Cyrillic (folded: й->и, ё->е, ї->і already); х as h, as loanwords are spelt
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
    "и": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i",
    "є": "ye", "ґ": "g", "ј": "j", "ў": "u",
    # Greek (folded: no tonos, final sigma is sigma)
    "α": "a", "β": "b", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",
    "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",
    "ρ": "r", "σ": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o",
}  # fmt: skip


def transliterate(word: str) -> str | None:
    """Latin transliteration of a folded Cyrillic or Greek word (``порно`` -> ``porno``).

    ``None`` when the word has a letter outside those scripts. Catches English and
    international words written in another script; the reverse direction (``golaya``,
    ``hadaka``, ``nangi``) is covered by romanised entries in the lexicons.
    """
    out: list[str] = []
    for c in word:
        t = _TRANSLIT.get(c)
        if t is None:
            if c.isascii() and c.isalnum():
                out.append(c)
                continue
            return None
        out.append(t)
    return "".join(out)
