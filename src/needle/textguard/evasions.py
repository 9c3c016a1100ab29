"""Evasion labels: what a piece of evidence had to be seen through, in words a reviewer reads.

In: the evasions the detector undid for a hit (``leet``, ``compound``, ``spacing``, …) and
the quote of the original text behind it. Out: the ``+``-joined, sorted label of
:attr:`~needle.textguard.result.Evidence.evasion`: those kinds and the ones visible in the
quote itself (``invisible``, ``fullwidth``, ``diacritics``, ``styled``, ``homoglyph``,
``spacing``, ``repeat``, ``case``), which normalisation folded away before detection.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["evasion_label", "quote_evasions"]

#: labels memoised; the memo is dropped when it grows past this (a pure function)
_MEMO_SIZE = 50_000
_REPEAT3 = re.compile(r"([^\W\d_])\1\1", re.IGNORECASE)
_PLAIN = re.compile(r"[a-z0-9]+|[A-Z][a-z0-9]+|[A-Z0-9]+")
#: letters that show nothing (Hangul fillers, the braille blank, Khmer inherent vowels)
_BLANK = frozenset("\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")


#: ``evasion_label`` answers, by (detector evasions, quote, term)
_EVASION_LABELS: dict[tuple[str, str, str], str] = {}


def evasion_label(evasion: str, quote: str, term: str) -> str:
    """The ``+``-joined, sorted evasions of one piece of evidence: those the detector undid
    (``evasion``, ``+``-joined) and those visible in its ``quote`` (memoised)."""
    key = (evasion, quote, term)
    label = _EVASION_LABELS.get(key)
    if label is None:
        kinds = {k for k in evasion.split("+") if k} | quote_evasions(quote, term)
        label = "+".join(sorted(kinds))
        if len(_EVASION_LABELS) >= _MEMO_SIZE:
            _EVASION_LABELS.clear()
        _EVASION_LABELS[key] = label
    return label


def quote_evasions(quote: str, term: str = "") -> set[str]:
    """Evasions visible in the original text of one piece of evidence for ``term``."""
    found: set[str] = set()
    if _PLAIN.fullmatch(quote):  # a plain ASCII word: only a stretched letter can hide
        if _REPEAT3.search(quote):
            found.add("repeat")
        return found
    letters = [c for c in quote if c.isalpha()]
    for c in quote:
        cp = ord(c)
        cat = unicodedata.category(c)
        if (
            cat in ("Cf", "Cs", "Co")
            or (cat == "Cc" and c not in "\t\n\r ")
            or 0xFE00 <= cp <= 0xFE0F
            or c in _BLANK
            or 0x1F3FB <= cp <= 0x1F3FF
        ):
            found.add("invisible")
        elif 0xFF01 <= cp <= 0xFF5E:
            found.add("fullwidth")
        elif (cat[0] == "M" and 0x0300 <= cp <= 0x036F) or (
            cat in ("Mn", "Me") and 0x1AB0 <= cp <= 0x20FF
        ):
            found.add("diacritics")
        elif cat == "Mn" and 0x1800 <= cp <= 0x18AF:
            found.add("invisible")
        elif 0x1F150 <= cp <= 0x1F189 or 0x1F1E6 <= cp <= 0x1F1FF:
            found.add("emoji")
        elif cp > 0x7F and c.isalnum() and (unicodedata.decomposition(c) or "").startswith("<"):
            found.add("styled")
    if any(c.isascii() and c.isalpha() for c in letters) and any(
        ("\u0370" <= c <= "\u04ff") or ("\u0530" <= c <= "\u058f") for c in letters
    ):
        found.add("homoglyph")
    inner = quote.strip()
    if (
        " " not in term
        and ":" not in term
        and len(inner) > 2
        and any(c.isspace() or c in ".-_*|/~·•," for c in inner)
    ):
        found.add("spacing")
    if _REPEAT3.search(quote):
        found.add("repeat")
    ascii_letters = [c for c in letters if c.isascii()]
    if len(ascii_letters) >= 3:
        word = "".join(ascii_letters)
        if not (word.islower() or word.isupper() or word.istitle()):
            found.add("case")
    return found
