"""Evasion transforms for the text guard's adversarial harness (:mod:`needle.eval.perturb`).

In: one labelled line (its text and language) and a seeded ``random.Random``. Out: the line
rewritten the way people rewrite prompts to slip past a filter, or ``None`` when the
transform does not apply to it (no word of a script it can rewrite: masking the letters of
Thai, reversing Chinese, respelling a language other than English); the harness counts those.

Each transform is written here independently of the guard's own normalisation (it never
calls it): what the guard must undo is produced from the outside. One :class:`Transform`
per evasion kind of docs/textguard.md, in :data:`TRANSFORMS`:

``masking`` symbols inside words (``n*de``, ``nu.de``, ``ch!ld``, ``nu_de``);
``spelled`` some words spelled letter by letter with a separator (``n a k e d``,
``k-i-d``); ``vowels`` vowels dropped (``nd chld``); ``phonetic`` English respellings
(``kidz``, ``chyld``, ``nood``); ``repeat`` letters stretched or doubled; ``mixed_script``
look-alike letters of another script inside a word; ``emoji`` letter emoji, emoji inside
words, skin tones between letters, child emoji for child words; ``reversed`` words written
backwards; ``zero_width`` invisible characters between letters; ``combining`` combining
marks over letters; ``glued`` neighbouring words written as one; ``tag_split`` the line as a
tag list with a word cut into two tags (``nu, de``); ``prompt_syntax`` the syntax of
diffusion front ends (A1111/ComfyUI weights, NovelAI braces, Midjourney ``::`` weights,
``BREAK``, LoRA tags, booru underscores); ``leet`` digits and symbols for letters.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TRANSFORMS", "Transform", "script_of", "transform_names"]

#: a transform: (text, language, rng) -> the rewritten text, or None when it does not apply
Rewrite = Callable[[str, str, random.Random], "str | None"]


@dataclass(frozen=True, slots=True)
class Transform:
    """One evasion kind: its name and the function that applies it."""

    name: str
    rewrite: Rewrite

    def apply(self, text: str, lang: str, rng: random.Random) -> str | None:
        out = self.rewrite(text, lang, rng)
        return None if out is None or out == text else out


# --- words and scripts ------------------------------------------------------------------------

_WORD = re.compile(
    r"[^\W\d_](?:[^\W\d_]|[\u0300-\u036f\u0900-\u0dff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff])*"
)
#: scripts written without spaces between words ("thai" stands for the South-East Asian
#: scripts: Thai, Lao, Myanmar, Khmer)
UNSPACED = frozenset({"cjk", "thai"})
#: scripts whose letters are single characters with no combining vowel signs
ALPHABETS = frozenset({"latin", "cyrillic", "greek", "arabic", "hebrew", "armenian", "georgian"})


def script_of(word: str) -> str:
    """The script of a word, by its first letter."""
    c = word[0]
    cp = ord(c)
    if c.isascii() or 0xC0 <= cp <= 0x24F or 0x1E00 <= cp <= 0x1EFF:
        return "latin"
    for first, last, name in _SCRIPT_RANGES:
        if first <= cp <= last:
            return name
    return "other"


_SCRIPT_RANGES = (
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0530, 0x058F, "armenian"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0900, 0x0DFF, "indic"),
    (0x0E00, 0x0EFF, "thai"),  # Thai and Lao
    (0x1000, 0x109F, "thai"),  # Myanmar: written without spaces, like Thai, Lao and Khmer
    (0x10A0, 0x10FF, "georgian"),
    (0x1100, 0x11FF, "hangul"),
    (0x1780, 0x17FF, "thai"),  # Khmer
    (0x3040, 0x30FF, "cjk"),
    (0x3400, 0x9FFF, "cjk"),
    (0xAC00, 0xD7AF, "hangul"),
)


def _words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD.finditer(text)]


def _rewrite_words(
    text: str,
    pick: Callable[[str], bool],
    change: Callable[[str], str],
    rng: random.Random,
    share: float = 1.0,
) -> str | None:
    """``text`` with ``change`` applied to the words ``pick`` accepts (each with probability
    ``share``, at least one); ``None`` when no word is accepted."""
    spans = [(a, b) for a, b in _words(text) if pick(text[a:b])]
    if not spans:
        return None
    chosen = [s for s in spans if rng.random() < share] or [rng.choice(spans)]
    out = text
    for a, b in reversed(chosen):
        out = out[:a] + change(out[a:b]) + out[b:]
    return out


def _clusters(word: str) -> list[str]:
    """A word cut into letters with their combining marks (``เด็``, ``कि``)."""
    out: list[str] = []
    for c in word:
        if out and unicodedata.category(c)[0] == "M":
            out[-1] += c
        else:
            out.append(c)
    return out


def _alphabetic(word: str) -> bool:
    return script_of(word) in ALPHABETS


# --- the transforms ----------------------------------------------------------------------------


def _masking(text: str, lang: str, rng: random.Random) -> str | None:
    def change(word: str) -> str:
        k = rng.randrange(1, len(word) - 1)
        kind = rng.random()
        if kind < 0.6:
            return word[:k] + rng.choice("*#*#@$!") + word[k + 1 :]
        return word[:k] + rng.choice("._*") + word[k:]

    return _rewrite_words(text, lambda w: len(w) >= 4 and _alphabetic(w), change, rng, 0.6)


_SEPARATORS = (" ", " ", "-", ".", "_", "/", "·", " . ", "~", "*", "  ")


def _spelled(text: str, lang: str, rng: random.Random) -> str | None:
    sep = rng.choice(_SEPARATORS)
    return _rewrite_words(
        text, lambda w: len(_clusters(w)) >= 3, lambda w: sep.join(_clusters(w)), rng, 0.5
    )


_VOWELS = re.compile(r"(?<=.)[aeiouáéíóúàèìòùâêîôûäëïöüåæøœ]", re.IGNORECASE)


def _vowels(text: str, lang: str, rng: random.Random) -> str | None:
    """Vowels dropped from words that keep three letters or more without them (``chld``,
    ``nckts``): a reader can still tell the word; ``nd`` for ``nuda`` no one could."""

    def pick(word: str) -> bool:
        return len(word) >= 4 and script_of(word) == "latin" and len(_VOWELS.sub("", word)) >= 3

    return _rewrite_words(text, pick, lambda w: _VOWELS.sub("", w), rng, 0.7)


#: English respellings, written for the harness (standard spelling -> respelled)
_RESPELL = (
    (re.compile(r"s$"), "z"),
    (re.compile(r"(?<=[^aeiou])i(?=[^aeiou])"), "y"),
    (re.compile(r"(?<=[^aeiou])u(?=[^aeiou])"), "oo"),
    (re.compile(r"(?<=[^aeiou])e$"), ""),
    (re.compile(r"ph"), "f"),
    (re.compile(r"ck"), "k"),
    (re.compile(r"c(?=[aou])"), "k"),
    (re.compile(r"([bdgkmnprt])\1"), r"\1"),
    (re.compile(r"(?<=[aeiou])([dgkpt])(?=[aeiou])"), r"\1\1"),
    (re.compile(r"ou"), "u"),
    (re.compile(r"ir"), "ur"),
    (re.compile(r"x"), "ks"),
)


def _phonetic(text: str, lang: str, rng: random.Random) -> str | None:
    if lang != "en":
        return None  # the respellings are English ones

    def change(word: str) -> str:
        lower = word.lower()
        rules = [(rx, rep) for rx, rep in _RESPELL if rx.search(lower)]
        if not rules:
            return word
        rx, rep = rng.choice(rules)
        return rx.sub(rep, lower, count=1)

    return _rewrite_words(text, lambda w: len(w) >= 4 and w.isascii(), change, rng, 0.6)


def _repeat(text: str, lang: str, rng: random.Random) -> str | None:
    def change(word: str) -> str:
        parts = _clusters(word)
        k = rng.randrange(len(parts))
        times = rng.choice((2, 3, 4, 5))
        return "".join(parts[:k]) + parts[k] * times + "".join(parts[k + 1 :])

    return _rewrite_words(text, lambda w: len(w) >= 3, change, rng, 0.6)


_TO_CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}
_TO_GREEK = {"o": "ο", "i": "ι", "k": "κ", "v": "ν", "u": "υ", "n": "η"}
_CYRILLIC_TO_LATIN = {
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "х": "x",
    "у": "y",
    "і": "i",
}
_GREEK_TO_LATIN = {"ο": "o", "ι": "i", "κ": "k", "ν": "v", "υ": "u", "α": "a", "τ": "t", "ρ": "p"}


def _mixed_script(text: str, lang: str, rng: random.Random) -> str | None:
    def table(word: str) -> dict[str, str]:
        script = script_of(word)
        if script == "latin":
            return _TO_CYRILLIC if rng.random() < 0.7 else _TO_GREEK
        return _CYRILLIC_TO_LATIN if script == "cyrillic" else _GREEK_TO_LATIN

    def change(word: str) -> str:
        swap = table(word)
        spots = [k for k, c in enumerate(word) if c in swap]
        if not spots:
            return word
        chosen = set(rng.sample(spots, min(len(spots), rng.choice((1, 2)))))
        return "".join(swap[c] if k in chosen else c for k, c in enumerate(word))

    def pick(word: str) -> bool:
        return len(word) >= 3 and script_of(word) in ("latin", "cyrillic", "greek")

    return _rewrite_words(text, pick, change, rng, 0.6)


_SKIN = "\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"
_FACES = "😮😳🙈💋🔥✨"
#: child words and their emoji (English only: the harness knows no other language's words)
_CHILD_EMOJI = {
    "child": "🧒",
    "kid": "🧒",
    "kids": "🧒🧒",
    "baby": "👶",
    "toddler": "👶",
    "girl": "👧",
    "boy": "👦",
}
_CHILD_WORD = re.compile(r"\b(" + "|".join(_CHILD_EMOJI) + r")\b", re.IGNORECASE)


def _emoji_letters(word: str, rng: random.Random) -> str:
    """A Latin word in negative squared letters (🅽🆄🅳🅴), or one ``o`` as 🅾️."""
    if "o" in word and rng.random() < 0.4:
        return word.replace("o", "🅾️", 1)
    return "".join(chr(0x1F170 + ord(c) - ord("a")) if "a" <= c <= "z" else c for c in word.lower())


def _emoji(text: str, lang: str, rng: random.Random) -> str | None:
    kind = rng.random()
    if kind < 0.3 and _CHILD_WORD.search(text):
        return _CHILD_WORD.sub(lambda m: _CHILD_EMOJI[m.group(1).lower()] + rng.choice(_SKIN), text)
    if kind < 0.6:
        return _rewrite_words(
            text,
            lambda w: len(w) >= 3 and w.isascii(),
            lambda w: _emoji_letters(w, rng),
            rng,
            0.4,
        )

    def inside(word: str) -> str:
        parts = _clusters(word)
        k = rng.randrange(1, len(parts))
        glyph = rng.choice(_SKIN) if rng.random() < 0.5 else rng.choice(_FACES)
        if glyph in _FACES and _alphabetic(word) and len(parts) >= 4:
            return "".join(parts[:k]) + glyph + "".join(parts[k + 1 :])  # in place of a letter
        return "".join(parts[:k]) + glyph + "".join(parts[k:])

    return _rewrite_words(text, lambda w: len(_clusters(w)) >= 3, inside, rng, 0.5)


def _reversed(text: str, lang: str, rng: random.Random) -> str | None:
    def pick(word: str) -> bool:
        return len(word) >= 2 and script_of(word) not in UNSPACED | {"indic", "hangul"}

    return _rewrite_words(text, pick, lambda w: w[::-1], rng, 1.0)


_INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e")


def _zero_width(text: str, lang: str, rng: random.Random) -> str | None:
    def change(word: str) -> str:
        mark = rng.choice(_INVISIBLE)
        parts = _clusters(word)
        if rng.random() < 0.5:
            return mark.join(parts)
        k = rng.randrange(1, len(parts))
        return "".join(parts[:k]) + mark + "".join(parts[k:])

    return _rewrite_words(text, lambda w: len(_clusters(w)) >= 2, change, rng, 0.6)


_MARKS = ("\u0336", "\u0335", "\u0332", "\u034f", "\u0301", "\u0308", "\u0489", "\u20e3")


def _combining(text: str, lang: str, rng: random.Random) -> str | None:
    def change(word: str) -> str:
        mark = rng.choice(_MARKS)
        return "".join(c + mark for c in word)

    return _rewrite_words(text, lambda w: len(w) >= 3 and _alphabetic(w), change, rng, 0.6)


_SPACE_BETWEEN = re.compile(r"(?<=[^\W\d_]) (?=[^\W\d_])")


def _glued(text: str, lang: str, rng: random.Random) -> str | None:
    spaces = [m.start() for m in _SPACE_BETWEEN.finditer(text)]
    if not spaces:
        return None
    chosen = {k for k in spaces if rng.random() < 0.6} or {rng.choice(spaces)}
    return "".join(c for k, c in enumerate(text) if k not in chosen)


def _tag_split(text: str, lang: str, rng: random.Random) -> str | None:
    """The line as a tag list (its comma groups), one word cut into two tags of its own
    and the words around it made tags too: ``nude child`` -> ``nu, de, child``."""
    tags = [t.strip() for t in text.split(",") if t.strip()]
    spots = [
        (k, a, b)
        for k, tag in enumerate(tags)
        for a, b in _words(tag)
        if len(_clusters(tag[a:b])) >= 4 and script_of(tag[a:b]) not in UNSPACED
    ]
    if not spots:
        return None
    k, a, b = rng.choice(spots)
    tag = tags[k]
    parts = _clusters(tag[a:b])
    cut = rng.randrange(2, len(parts) - 1)
    pieces = [tag[:a].strip(), "".join(parts[:cut]), "".join(parts[cut:]), tag[b:].strip()]
    return ", ".join([*tags[:k], *(p for p in pieces if p), *tags[k + 1 :]])


def _prompt_syntax(text: str, lang: str, rng: random.Random) -> str | None:
    tags = [t.strip() for t in re.split(r"[,;]", text) if t.strip()]
    if not tags:
        return None
    styles = (
        lambda t: f"({t}:{rng.choice(('1.1', '1.2', '1.3', '1.4', '0.9'))})",
        lambda t: f"(({t}))",
        lambda t: f"[{t}]",
        lambda t: f"{{{t}}}",
        lambda t: f"{{{{{t}}}}}",
        lambda t: f"{t}::{rng.choice(('2', '1.5', '0.8'))}",
        lambda t: t.replace(" ", "_"),
        lambda t: f"<lora:{t.replace(' ', '_')}_v2:0.{rng.randrange(5, 10)}>",
        lambda t: f"{t} BREAK",
    )
    out = [rng.choice(styles)(t) for t in tags]
    head = rng.choice(("masterpiece, best quality", "score_9, score_8_up", "8k, detailed", ""))
    return ", ".join(x for x in (head, *out) if x)


_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def _leet(text: str, lang: str, rng: random.Random) -> str | None:
    def change(word: str) -> str:
        return "".join(_LEET[c] if c in _LEET and rng.random() < 0.7 else c for c in word)

    return _rewrite_words(text, lambda w: len(w) >= 3 and script_of(w) == "latin", change, rng, 0.6)


#: every transform, in the order reports list them
TRANSFORMS: tuple[Transform, ...] = (
    Transform("masking", _masking),
    Transform("spelled", _spelled),
    Transform("vowels", _vowels),
    Transform("phonetic", _phonetic),
    Transform("repeat", _repeat),
    Transform("mixed_script", _mixed_script),
    Transform("emoji", _emoji),
    Transform("reversed", _reversed),
    Transform("zero_width", _zero_width),
    Transform("combining", _combining),
    Transform("glued", _glued),
    Transform("tag_split", _tag_split),
    Transform("prompt_syntax", _prompt_syntax),
    Transform("leet", _leet),
)


def transform_names() -> list[str]:
    return [t.name for t in TRANSFORMS]
