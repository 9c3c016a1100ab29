"""Writing systems: the one table of Unicode script ranges the text guard treats specially.

In: nothing (constants), or a text. Out: regex character classes built from the table, and
:func:`script_languages`, the languages a text's scripts point to.

Two properties of a script matter, and a script can have both (Thai):

- **unspaced**: written without spaces between words (Chinese, Japanese, Thai, Lao, Burmese,
  Khmer); the detector
  matches lexicon entries inside runs of these characters instead of splitting on spaces;
- **marks are letters**: its vowel signs and other combining marks (category Mc/Mn) are not
  ``\\w`` in Python's ``re``, but belong to words (``साल`` would be cut into ``स`` + ``ल``).

Who needs which class: :mod:`~needle.textguard.normalize` joins spaced-out letters and folds
homoglyphs inside words of *every* script whose marks are letters (:data:`MARK_CLASS`, Thai
included); the lexicon's word pattern, which the tokenizer and the age regexes build on,
adds only those of *spaced* scripts (:data:`SPACED_MARK_CLASS`), since a Thai character is
part of an unspaced run, never of a spaced word. The union used in both places changes
results (Thai text would become spaced words), so each takes its subset of this table.
"""

from __future__ import annotations

import re

__all__ = [
    "MARK_CLASS",
    "SCRIPTS",
    "SPACED_MARK_CLASS",
    "UNSPACED_CLASS",
    "Script",
    "script_languages",
]

#: one row of :data:`SCRIPTS`: name, first and last code point (as characters), whether it is
#: written without spaces, whether its combining marks are letters
Script = tuple[str, str, str, bool, bool]

#: the scripts the guard treats specially, in code point order
SCRIPTS: tuple[Script, ...] = (
    ("Indic (Devanagari to Sinhala)", "\u0900", "\u0dff", False, True),
    ("Thai", "\u0e00", "\u0e7f", True, True),
    ("Lao", "\u0e80", "\u0eff", True, True),
    ("Tibetan", "\u0f00", "\u0fff", False, True),
    ("Myanmar", "\u1000", "\u109f", True, True),
    ("Khmer", "\u1780", "\u17ff", True, True),
    ("Hiragana, Katakana", "\u3040", "\u30ff", True, False),
    ("CJK extension A", "\u3400", "\u4dbf", True, False),
    ("CJK unified ideographs", "\u4e00", "\u9fff", True, False),
    ("CJK compatibility ideographs", "\uf900", "\ufaff", True, False),
    ("CJK extensions B-F", "\U00020000", "\U0002ffff", True, False),
)


def _char_class(rows: list[Script]) -> str:
    """The ranges of ``rows`` as the inside of a regex character class (``a-z...``)."""
    return "".join(f"{first}-{last}" for _, first, last, _, _ in rows)


#: scripts written without spaces between words (the inside of a character class)
UNSPACED_CLASS = _char_class([s for s in SCRIPTS if s[3]])
#: scripts whose combining marks are letters (normalisation: every one of them)
MARK_CLASS = _char_class([s for s in SCRIPTS if s[4]])
#: the same, for spaced scripts only (a word of a spaced script: Thai is left out)
SPACED_MARK_CLASS = _char_class([s for s in SCRIPTS if s[4] and not s[3]])

# --- languages told by script ------------------------------------------------------------------

#: a script that belongs to one language among those the lexicon has
_SCRIPT_LANGUAGE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile("[\u0e00-\u0e7f]"), "th"),
    (re.compile("[\u0e80-\u0eff]"), "lo"),
    (re.compile("[\u1000-\u109f]"), "my"),
    (re.compile("[\u1780-\u17ff]"), "km"),
    (re.compile("[\u3040-\u30ff]"), "ja"),
    (re.compile("[\uac00-\ud7af]"), "ko"),
    (re.compile("[\u0900-\u097f]"), "hi"),
    (re.compile("[\u0980-\u09ff]"), "bn"),
    (re.compile("[\u0a00-\u0a7f]"), "pa"),
    (re.compile("[\u0a80-\u0aff]"), "gu"),
    (re.compile("[\u0b80-\u0bff]"), "ta"),
    (re.compile("[\u0c00-\u0c7f]"), "te"),
    (re.compile("[\u0c80-\u0cff]"), "kn"),
    (re.compile("[\u0d00-\u0d7f]"), "ml"),
    (re.compile("[\u0d80-\u0dff]"), "si"),
    (re.compile("[\u0590-\u05ff]"), "he"),
    (re.compile("[\u0370-\u03ff]"), "el"),
    (re.compile("[\u0530-\u058f]"), "hy"),
    (re.compile("[\u10a0-\u10ff]"), "ka"),
    (re.compile("[\u1200-\u137f]"), "am"),
)
_HAN = re.compile("[\u4e00-\u9fff\u3400-\u4dbf]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
#: Cyrillic letters of one language among those the lexicon has, in the order tried (a
#: Kazakh text has "і" too); Bulgarian has none of its own: Cyrillic text without any of
#: these counts as Russian, and Bulgarian function words tell it apart
_CYRILLIC_LETTERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile("[ўҳ]"), "uz"),
    (re.compile("[әғқңұһ]"), "kk"),
    (re.compile("[өү]"), "mn"),
    (re.compile("[ђћ]"), "sr"),
    (re.compile("[ѓќѕ]"), "mk"),
    (re.compile("[іїєґ]"), "uk"),
)
_SERBIAN_OR_MACEDONIAN = re.compile("[јљњџ]")
_ARABIC = re.compile("[\u0600-\u06ff]")
_PERSIAN = re.compile("[پچژگکی]")
_URDU = re.compile("[ٹڈڑںےھ]")


def script_languages(original: str, text: str) -> dict[str, float]:
    """Languages whose script occurs in the normalised ``text`` (``original`` keeps the
    letters that normalisation folds: Persian and Urdu ones into Arabic ones, Macedonian
    "ѓ" into "г"), each with support 1."""
    found: dict[str, float] = {}
    if text.isascii():
        return found
    for regex, code in _SCRIPT_LANGUAGE:
        if regex.search(text):
            found[code] = 1
    if _HAN.search(text) and "ja" not in found:
        found["zh"] = 1
    if _CYRILLIC.search(text):
        # on the original: normalisation folds "ѓ" into "г", "ќ" into "к"
        lower = original.casefold()
        told = next((c for regex, c in _CYRILLIC_LETTERS if regex.search(lower)), None)
        if told is None and _SERBIAN_OR_MACEDONIAN.search(lower):
            found["sr"] = found["mk"] = 1
        else:
            found[told or "ru"] = 1
    if _ARABIC.search(text):
        found["ur" if _URDU.search(original) else "fa" if _PERSIAN.search(original) else "ar"] = 1
    return found
