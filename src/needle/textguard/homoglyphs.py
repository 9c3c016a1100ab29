"""Look-alike letters: words written with letters of another script, and transliteration.

In: a word (or the words of a folded text) and, for folding, the original characters. Out:
the word as its writer meant it to be read:

- :func:`fold_mixed_words`: inside a word that mixes scripts, the letters of the minority
  script become their look-alikes in the word's main script: ``nаkеd`` (Cyrillic ``а``,
  ``е`` in a Latin word) -> ``naked``; ``гoлая`` (Latin ``o`` in a Russian word) ->
  ``голая``; a word with as many letters of each leans to Latin when every other letter has a
  Latin look-alike. Look-alikes come from Unicode TR39 confusables (the
  ``confusable-homoglyphs`` package when installed, a built-in table otherwise) by the
  *original* character, whose case matters (upper-case Greek Eta looks like H, lower-case
  like n);
- :func:`skeleton`: the Latin look-alike of a word written wholly in confusable letters
  (``ѕех`` -> ``sex``), tried by the detector as a variant;
- :func:`transliterate`: Cyrillic and Greek spelled in Latin letters (``порно`` ->
  ``porno``), also a variant.

Words wholly in one script are left alone by the folding: Russian stays Russian.
"""

from __future__ import annotations

import functools
import re

from needle._optional import import_optional
from needle.errors import OptionalDependencyError
from needle.textguard.scripts import MARK_CLASS

__all__ = ["fold_mixed_words", "skeleton", "transliterate"]

_WORD = re.compile(rf"[\w{MARK_CLASS}]+")
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


#: Latin letters -> their look-alikes in Cyrillic and in Greek, by original case, for a
#: Latin letter typed inside a word of those scripts (``гoлая``, ``γυμνo``)
_TO_CYRILLIC: dict[str, str] = {
    "a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і",
    "j": "ј", "s": "ѕ", "h": "һ", "k": "к",
    "A": "а", "B": "в", "C": "с", "E": "е", "H": "н", "K": "к", "M": "м", "O": "о",
    "P": "р", "T": "т", "X": "х", "Y": "у", "I": "і", "J": "ј", "S": "ѕ",
}  # fmt: skip
_TO_GREEK: dict[str, str] = {
    "o": "ο", "a": "α", "i": "ι", "k": "κ", "v": "ν", "p": "ρ", "u": "υ", "x": "χ",
    "y": "γ", "n": "η", "w": "ω", "t": "τ",
    "A": "α", "B": "β", "E": "ε", "Z": "ζ", "H": "η", "I": "ι", "K": "κ", "M": "μ",
    "N": "ν", "O": "ο", "P": "ρ", "T": "τ", "Y": "υ", "X": "χ",
}  # fmt: skip


def _script(c: str) -> str:
    """``latin``, ``cyrillic``, ``greek`` or ``other`` for a letter."""
    if c.isascii() or "\u00c0" <= c <= "\u024f" or "\u1e00" <= c <= "\u1eff":
        return "latin"
    if "\u0400" <= c <= "\u04ff":
        return "cyrillic"
    if "\u0370" <= c <= "\u03ff":
        return "greek"
    return "other"


def fold_mixed_words(text: str, original: str, starts: list[int] | None) -> str:
    """Fold the minority letters of every mixed-script word of the folded ``text`` into the
    word's main script (see the module docstring); the length never changes."""
    table = _confusables()
    chars: list[str] | None = None
    for m in _WORD.finditer(text):
        word = m.group()
        if word.isascii() or not _ASCII_LETTER.search(word):
            continue
        target = _target(word, text, original, starts, m.start(), table)
        if target is None:
            continue
        for k in range(m.start(), m.end()):
            c = text[k]
            if not c.isalpha() or _script(c) == target:
                continue
            src = original[starts[k] if starts is not None else k]
            if target == "latin":
                new = table.get(src) or table.get(c)
            elif target == "cyrillic":
                new = _TO_CYRILLIC.get(src if src.isascii() else c) or _TO_CYRILLIC.get(c)
            else:
                new = _TO_GREEK.get(src if src.isascii() else c) or _TO_GREEK.get(c)
            if new is None:
                continue
            if chars is None:
                chars = list(text)
            chars[k] = new
    return text if chars is None else "".join(chars)


def _target(
    word: str,
    text: str,
    original: str,
    starts: list[int] | None,
    base: int,
    table: dict[str, str],
) -> str | None:
    """The script a mixed word is folded into: Latin when every other letter has a Latin
    look-alike and Latin letters are as many, or one of them has no look-alike in the other
    script ("NАКЕD", "аñоѕ"); else the main other script (Cyrillic or Greek); ``None`` when
    neither applies."""
    counts: dict[str, int] = {}
    all_confusable = True
    for k, c in enumerate(word):
        if not c.isalpha():
            continue
        script = _script(c)
        counts[script] = counts.get(script, 0) + 1
        if script != "latin":
            src = original[starts[base + k] if starts is not None else base + k]
            if table.get(src) is None and table.get(c) is None:
                all_confusable = False
    latin = counts.pop("latin", 0)
    if not counts:
        return None
    main = max(sorted(counts), key=lambda s: counts[s])
    other = sum(counts.values())
    if main not in ("cyrillic", "greek"):
        return "latin" if all_confusable else None
    reverse = _TO_CYRILLIC if main == "cyrillic" else _TO_GREEK
    # a Latin letter with no look-alike in the other script marks a Latin word
    fixed = any(_script(c) == "latin" and c.isalpha() and reverse.get(c) is None for c in word)
    if all_confusable and (latin >= other or fixed):
        return "latin"
    return main


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
