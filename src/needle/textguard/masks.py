"""Masked words: symbols typed inside a word to hide it (``n*de``, ``p#rn``, ``nu.de``,
``nu_de``, ``p@rn``, ``n😮de``), read back as the lexicon word they hide.

In: the tokens of a normalised text, the :class:`~needle.textguard.normalize.Normalized`
text (a ``_`` is a space once folded; the original says where one was) and the lexicon.
Out: the tokens with each masked word made one word token, its span covering the whole
masked word of the original (so evidence quotes ``n*de``), its evasion ``masking``; the
same tokens when nothing is masked (the common case: one regex search decides).

A masked word is a run of letter pieces joined, with no white space, by mask pieces: one to
three of ``*#%?~^•·.`` or a ``_``, a leet symbol (``@$!|+``) or an emoji. Each mask piece is
read as each of what it may stand for, in this order: a letter it looks like (leetspeak:
the detector's own path reads those, so such a word is left to it), one letter per symbol
(a wildcard: ``n*de``, ``sch##lgirl``), nothing (``nu.de``, ``nu_de``). The first reading
that is a sensitive lexicon word (sexual, minor, or both) wins: a whole entry, then an
entry that counts in its own language only (``k#al``, Afrikaans "kaal"), then a stem with
two more letters (six after a stem of five: ``gyer$kekről``); else one that is a number
word or a unit (``ye#r``), or any word the lexicon knows (``el😮mentary``,
``c.hild``); a sensitive word that could be several is read as the heaviest. Benign
senses still apply after: ``n*de lipstick`` is the phrase ``nude lipstick``. A word that
fits only harmless words is left open as its pattern (``m?le``): the phrase around it, if
any, decides what it is (:mod:`~needle.textguard.phrases`), as it does when the word before
or after makes a phrase with a reading (``sex b$rn``, Icelandic "six children"). A mask may
also end a word in place of its last letter (``nag🔥``), after three letters or more. A
word a symbol hides a letter of, that reads as nothing, is kept whole as its pattern
(``ume?lecka``), so that its pieces are not read as words (``ume`` is Basque "child").
"""

from __future__ import annotations

import bisect
import itertools
import re

from needle.textguard.normalize import Normalized, fold_leet
from needle.textguard.respell import fits
from needle.textguard.terms import Lexicon, Sense
from needle.textguard.tokens import Tokens
from needle.textguard.variants import lookup_or_split

__all__ = ["MAX_MASKS", "unmask"]

_SENSITIVE_CATEGORIES = frozenset({"sexual", "minor", "sexual_minors"})
#: symbols that stand for one letter each when typed inside a word
_WILDCARDS = frozenset("*#%?~^•·")
#: symbols that stand for nothing inside a word (``nu.de``, ``nu_de``)
_JOINERS = frozenset("._")
_LEET = frozenset("@$!|+€£¡")
#: letters a masked word may have after a short stem it fits (``p#rnos``; ``sek#lah`` is
#: Malay "school", not "seks" and three letters)
_STEM_REST = 2
#: ... and after a stem this long or longer, this many (agglutinative endings: ``gyerekekről``)
_LONG_STEM = 5
_LONG_STEM_REST = 6
#: symbols typed in place of a letter, never between words (``umě*lecká``)
_HIDING = frozenset("*#%~^@$!€£¡?")
#: mask pieces a word may have; more is not a masked word but something else
MAX_MASKS = 3
#: masked swearing, read as what it is, whatever a lexicon of another language would match
_SWEARING = frozenset({"f?ck", "f??k", "sh?t", "b?tch", "d?mn", "cr?p", "p?ss", "h?ll", "f?cking"})
#: a character that may be a mask (one after a letter is; ``_`` is checked in the original)
_MASK_CHAR = re.compile(r"[*#%?~^•·.@$!|+€£¡\U0001f300-\U0001faff\u2600-\u27bf]")


def unmask(toks: Tokens, norm: Normalized, lex: Lexicon) -> Tokens:
    """``toks`` with masked words made single tokens (see the module docstring). Only the
    tokens that end where a mask begins are looked at (one regex search finds them)."""
    ends = _mask_starts(norm)
    if not ends:
        return toks
    n = len(toks)
    out: Tokens | None = None
    done = 0  # tokens before this one are copied to ``out`` already
    token_ends = toks.end
    for at in sorted(ends):
        i = bisect.bisect_left(token_ends, at)  # the token that ends where the mask begins
        if i >= n or token_ends[i] != at:
            continue
        if i < done:
            continue  # inside a masked word read already
        j, pieces = _run(toks, i, norm)
        if j <= i:
            continue
        before = _word_before(toks, i, out, done)
        after = toks.text[j + 1] if j + 1 < n and toks.clause[j + 1] == toks.clause[j] else None
        found = _resolve(lex, pieces, before, after)
        if found is None:
            found = _opaque(lex, pieces)
            if found is None:
                continue
        if out is None:
            out = Tokens()
        for k in range(done, i):
            out.copy_from(toks, k)
        out.add(
            "w",
            found,
            toks.start[i],
            toks.end[j],
            toks.clause[i],
            toks.group[i],
            toks.pos[i],
            "masking",
        )
        done = j + 1
    if out is None:
        return toks
    for k in range(done, n):
        out.copy_from(toks, k)
    return out


def _word_before(toks: Tokens, i: int, out: Tokens | None, done: int) -> str | None:
    """The word before token ``i`` in its clause, as read so far (a masked word before it
    was read already: ``na.nge p#on``)."""
    if out is not None and done == i and len(out):
        return out.text[-1] if out.clause[-1] == toks.clause[i] else None
    return toks.text[i - 1] if i > 0 and toks.clause[i - 1] == toks.clause[i] else None


def _mask_starts(norm: Normalized) -> set[int]:
    """Offsets of the folded text where a mask follows a letter (a ``_`` between letters of
    the original, folded to a space, too)."""
    text = norm.text
    found: set[int] = set()
    for m in _MASK_CHAR.finditer(text):
        k = m.start()
        if k == 0 or not text[k - 1].isalpha():
            continue
        if m.group() == "." and not (k + 1 < len(text) and text[k + 1].isalpha()):
            continue  # a full stop, not a dot inside a word
        found.add(k)
    original = norm.original
    starts = norm.starts
    k = original.find("_")
    last = len(original) - 1
    while k >= 0:
        if 0 < k < last and original[k - 1].isalpha() and original[k + 1].isalpha():
            found.add(k if starts is None else bisect.bisect_left(starts, k))
        k = original.find("_", k + 1)
    return found


def _run(toks: Tokens, i: int, norm: Normalized) -> tuple[int, list[tuple[bool, str]]]:
    """The last token of the masked word starting at token ``i`` (``i`` when none), and its
    pieces: (is a mask, text)."""
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    n = len(kinds)
    if kinds[i] != "w" or strs[i].isdigit():
        return i, []
    pieces: list[tuple[bool, str]] = [(False, strs[i])]
    masks = 0
    j = i
    last_letter = i
    while j + 1 < n and masks <= MAX_MASKS:
        k = j + 1
        gap = _gap(norm, ends[j], starts[k])
        if gap is None:
            break
        if kinds[k] in ("l", "s"):
            if gap or pieces[-1][0]:
                break
            pieces.append((True, strs[k] if kinds[k] == "l" else "•"))  # an emoji
            masks += 1
            j = k
            continue
        if kinds[k] != "w" or strs[k].isdigit():
            break  # a number: "12.5" (letters with digits may be a word: Arabizi "3ar$a")
        if gap in _JOINERS and (strs[k][-1].isdigit() or strs[j][-1].isdigit()):
            break  # "_v2", "14.5": a version or a number, not a word hidden by a dot
        if gap:
            pieces.append((True, gap))
            masks += 1
        elif not pieces[-1][0]:
            break  # two words touching: not a mask between them
        pieces.append((False, strs[k]))
        j = last_letter = k
    if masks == 0 or masks > MAX_MASKS:
        return i, []
    if pieces[-1][0]:
        # a mask in place of the last letter ("nag🔥"): kept after three letters, when no
        # letter touches it
        trailing = pieces[-1][1]
        touching = j + 1 < n and starts[j + 1] == ends[j]
        if len(pieces) == 2 and len(pieces[0][1]) >= 3 and not touching and trailing != ".":
            return j, pieces
        while pieces and pieces[-1][0]:
            pieces.pop()
    if last_letter == i:
        return i, []
    return last_letter, pieces


def _gap(norm: Normalized, a: int, b: int) -> str | None:
    """What lies between two tokens, if it can be a mask: empty (touching), one to three
    mask symbols, or a ``_`` of the original; ``None`` otherwise."""
    if b == a:
        return ""
    if b - a > 3:
        return None
    gap = norm.text[a:b]
    if all(c in _WILDCARDS or c == "." for c in gap):
        return gap
    if gap == " " and norm.quote(a, b) == "_":
        return "_"
    return None


def _opaque(lex: Lexicon, pieces: list[tuple[bool, str]]) -> str | None:
    """A masked word read as nothing: one that a symbol typed in place of a letter hides
    (``umě*lecká``, ``vro*w``) and whose letters are not words of their own, so that its
    pieces are not read as words (``ume`` is Basque "child"). Its pattern (``ume?lecka``),
    or ``None`` where the symbols may separate words (``.``, ``_``, ``|``, ``+``, emoji:
    ``r@ygold_set``)."""
    masks = [t for is_mask, t in pieces if is_mask]
    if not any(_HIDING.issuperset(t) for t in masks) or any(t in _JOINERS for t in masks):
        return None
    plain = "".join(fold_leet(t) if is_mask else t for is_mask, t in pieces)
    if lex.lookup(plain) is not None or lookup_or_split(lex, plain):
        return None  # leetspeak ("n@ked", "lap$iporno"): the detector reads it as such
    if all(t in lex.vocab for is_mask, t in pieces if not is_mask):
        return None  # "nude*child": words of their own, each read
    return "".join("?" * len(t) if is_mask else t for is_mask, t in pieces)


def _resolve(
    lex: Lexicon,
    pieces: list[tuple[bool, str]],
    before: str | None = None,
    after: str | None = None,
) -> str | None:
    """The sensitive lexicon word the pieces of one masked word spell, if any. ``before``
    and ``after``: the words around it, which may make a phrase with it (``sex b$rn`` is
    the Icelandic "sex börn", six children; ``d.ali gol`` the Slovenian "dali gol", scored
    a goal): then the phrase decides."""
    letters = sum(len(t) for is_mask, t in pieces if not is_mask)
    if letters < 2:
        return None
    plain = "".join(fold_leet(t) if is_mask else t for is_mask, t in pieces)
    leet = any(is_mask and _LEET.issuperset(t) for is_mask, t in pieces)
    plain_senses = lex.lookup(plain) if leet else None
    if plain_senses is not None and _weight(plain_senses, False) > 0:
        return None  # leetspeak: the detector reads it as such
    if pieces[-1][0] and not all(c in _WILDCARDS or c == "?" for c in pieces[-1][1]):
        return None  # only a wildcard can stand for a last letter
    phrases = lex.phrases.get(pieces[0][1]) if len(pieces) == 3 else None
    if phrases is not None and any(seq[1:2] == (pieces[2][1],) for seq, _ in phrases):
        return None  # "sex_ed" is the phrase "sex ed"
    options = [_readings(t) if is_mask else (t,) for is_mask, t in pieces]
    patterns: list[str] = []
    for choice in itertools.product(*options):
        pattern = "".join(choice)
        if pattern in _SWEARING or pattern[:4] in _SWEARING:
            return None
        if pattern.count("?") <= max(1, letters // 2):
            patterns.append(pattern)
    if before is not None:
        for seq, _ in lex.phrases.get(before, ()):
            if len(seq) == 2 and any(fits(p, seq[1]) for p in patterns if "?" in p):
                return next(p for p in patterns if "?" in p)
    if after is not None:
        for pattern in patterns:
            if "?" not in pattern and any(
                seq[1:2] == (after,) for seq, _ in lex.phrases.get(pattern, ())
            ):
                return pattern
    # words of their own joined by a dot or "_" are read joined only when that is a whole
    # entry ("nu_de"), not a stem and more ("meztelen_gyerek")
    words = all(t in lex.vocab or lex.lookup(t) for is_mask, t in pieces if not is_mask)
    # a word that is evidence in any language, one that is evidence in its own language
    # ("k#al": Afrikaans "kaal"), a sensitive stem and its ending ("p#rnos")
    for step in (_WHOLE, _CONTEXTUAL, _STEM):
        for pattern in patterns:
            found = _sensitive_reading(lex, pattern, step, words)
            if found is not None:
                return found
    if plain_senses is not None:
        return None  # leetspeak for a harmless word: the detector reads it as such
    for pattern in patterns:  # any word the lexicon knows
        if "?" not in pattern:
            if pattern in lex.vocab:
                return pattern
            continue
        fitting = lex.fitting(pattern)
        ages = [w for w in fitting if w in lex.age_vocab]
        if ages:
            return ages[0]  # a number word or a unit: read as it ("ye#r", "kl$ses")
        if fitting:
            return pattern  # left open: the phrase it is in decides ("naked m?le rat")
    return None


#: the steps of :func:`_resolve`: whole entries evidence anywhere, whole entries evidence in
#: their language only, stems
_WHOLE, _CONTEXTUAL, _STEM = 0, 1, 2


def _sensitive_reading(lex: Lexicon, pattern: str, step: int, words: bool) -> str | None:
    """The sensitive word ``pattern`` reads as at one step of :func:`_resolve` (``words``:
    its letters are words of their own)."""
    if "?" not in pattern:
        if step == _STEM:
            return None
        if words and pattern not in lex.exact:
            return None
        return _exact(lex, pattern, step == _CONTEXTUAL)
    if step == _STEM:
        return _stem_match(lex, pattern)
    return _match(lex, pattern, step == _CONTEXTUAL)


def _readings(mask: str) -> tuple[str, ...]:
    """What one mask piece may stand for, most likely first."""
    wild = "?" * len(mask)
    if mask in ("_", "."):
        return ("", wild) if mask == "." else ("",)
    if _LEET.issuperset(mask):
        return (wild, "")
    if all(c in _JOINERS for c in mask):
        return ("",)
    return (wild, "")


def _exact(lex: Lexicon, word: str, contextual: bool) -> str | None:
    """``word`` if it is a sensitive entry, or a sensitive stem with a short ending (not
    "adolescent" and the rest of ``adolescentă_goală_de``)."""
    senses = lex.exact.get(word)
    if senses is None:
        senses = lex.stem(word)
        if senses is None or len(word) - _stem_length(lex, word) > _rest(_stem_length(lex, word)):
            return None
    return word if _weight(senses, contextual) > 0 else None


def _rest(stem: int) -> int:
    """Letters a masked word may have after a sensitive stem of ``stem`` letters."""
    return _STEM_REST if stem < _LONG_STEM else _LONG_STEM_REST


def _stem_length(lex: Lexicon, word: str) -> int:
    for length in lex.stem_lengths.get(word[:2], ()):
        if length <= len(word) and word[:length] in lex.stems:
            return length
    return len(word)


def _match(lex: Lexicon, pattern: str, contextual: bool) -> str | None:
    """The sensitive entry that ``pattern`` fits, ``?`` standing for any one letter; the
    heaviest when several do. ``contextual``: entries that are evidence only where their
    language is (``k#al``: Afrikaans "kaal")."""
    n = len(pattern)
    first = pattern[0]
    if first == "?":
        words = [w for (length, _), ws in lex.by_shape.items() if length == n for w in ws]
    else:
        words = lex.by_shape.get((n, first), [])
    best: tuple[float, str] | None = None
    for w in words:
        if fits(pattern, w):
            weight = _weight(lex.exact.get(w), contextual)
            if weight > 0 and (best is None or (-weight, w) < (-best[0], best[1])):
                best = (weight, w)
    return best[1] if best is not None else None


def _stem_match(lex: Lexicon, pattern: str) -> str | None:
    """A sensitive stem that the start of ``pattern`` fits, with a short ending (longer
    after a longer stem: Hungarian ``gyer$kekről``)."""
    n = len(pattern)
    first = pattern[0]
    if first == "?":
        return None
    for stem in lex.stems_by_first.get(first, ()):
        if len(stem) <= n <= len(stem) + _rest(len(stem)) and fits(pattern[: len(stem)], stem):
            return "".join(
                stem[k] if k < len(stem) and c == "?" else c for k, c in enumerate(pattern)
            )
    return None


def _weight(senses: list[Sense] | None, contextual: bool) -> float:
    """The heaviest sensitive sense: of any language, or (``contextual``) only of its own."""
    return max(
        (
            s.weight
            for s in senses or ()
            if s.category in _SENSITIVE_CATEGORIES and s.contextual == contextual
        ),
        default=0.0,
    )
