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
that is a sensitive lexicon word (sexual, minor, or both; a stem counts with up to three
more letters) wins, else one that is any word the lexicon knows (``el😮mentary``,
``c.hild``); a sensitive word that could be several is read as the heaviest. Benign
senses still apply after: ``n*de lipstick`` is the phrase ``nude lipstick``. A word that
fits only harmless words is left open as its pattern (``m?le``): the phrase around it, if
any, decides what it is (:mod:`~needle.textguard.phrases`). A mask may
also end a word in place of its last letter (``nag🔥``), after three letters or more.
"""

from __future__ import annotations

import bisect
import itertools
import re

from needle.textguard.normalize import Normalized, fold_leet
from needle.textguard.respell import fits
from needle.textguard.terms import Lexicon, Sense, sensitive
from needle.textguard.tokens import DIGIT, Tokens

__all__ = ["MAX_MASKS", "unmask"]

#: symbols that stand for one letter each when typed inside a word
_WILDCARDS = frozenset("*#%?~^•·")
#: symbols that stand for nothing inside a word (``nu.de``, ``nu_de``)
_JOINERS = frozenset("._")
_LEET = frozenset("@$!|+€£¡")
#: letters a masked word may have after a stem it fits (``p#rnos``)
_STEM_REST = 3
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
        found = _resolve(lex, pieces)
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
    if kinds[i] != "w" or DIGIT.search(strs[i]) is not None:
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
            pieces.append((True, strs[k] if kinds[k] == "l" else "?"))
            masks += 1
            j = k
            continue
        if kinds[k] != "w" or DIGIT.search(strs[k]) is not None:
            break
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


def _resolve(lex: Lexicon, pieces: list[tuple[bool, str]]) -> str | None:
    """The sensitive lexicon word the pieces of one masked word spell, if any."""
    letters = sum(len(t) for is_mask, t in pieces if not is_mask)
    if letters < 2:
        return None
    plain = "".join(fold_leet(t) if is_mask else t for is_mask, t in pieces)
    leet = any(is_mask and _LEET.issuperset(t) for is_mask, t in pieces)
    if leet and lex.lookup(plain) is not None:
        return None  # leetspeak: the detector reads it as such
    if pieces[-1][0] and not all(c in _WILDCARDS or c == "?" for c in pieces[-1][1]):
        return None  # only a wildcard can stand for a last letter
    phrases = lex.phrases.get(pieces[0][1]) if len(pieces) == 3 else None
    if phrases is not None and any(seq[1:2] == (pieces[2][1],) for seq, _ in phrases):
        return None  # "sex_ed" is the phrase "sex ed"
    options = [_readings(t) if is_mask else (t,) for is_mask, t in pieces]
    for choice in itertools.product(*options):
        pattern = "".join(choice)
        if pattern in _SWEARING or pattern[:4] in _SWEARING:
            return None
        wildcards = pattern.count("?")
        if wildcards > max(1, letters // 2):
            continue
        found = _match(lex, pattern) if wildcards else _exact(lex, pattern)
        if found is not None:
            return found
    for choice in itertools.product(*options):  # any word the lexicon knows
        pattern = "".join(choice)
        wildcards = pattern.count("?")
        if wildcards > max(1, letters // 2):
            continue
        if wildcards == 0 and pattern in lex.vocab:
            return pattern
        if wildcards and lex.fitting(pattern):
            return pattern  # left open: the phrase it is in decides ("naked m?le rat")
    return None


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


def _exact(lex: Lexicon, word: str) -> str | None:
    senses = lex.lookup(word)
    return word if senses is not None and sensitive(senses) else None


def _match(lex: Lexicon, pattern: str) -> str | None:
    """The sensitive entry (or stem with up to three more letters) that ``pattern`` fits,
    ``?`` standing for any one letter; the heaviest when several do."""
    n = len(pattern)
    first = pattern[0]
    if first == "?":
        words = [w for (length, _), ws in lex.by_shape.items() if length == n for w in ws]
    else:
        words = lex.by_shape.get((n, first), [])
    best: tuple[float, str] | None = None
    for w in words:
        if fits(pattern, w):
            weight = _weight(lex.exact.get(w))
            if best is None or (-weight, w) < (-best[0], best[1]):
                best = (weight, w)
    if best is not None:
        return best[1]
    if first == "?":
        return None
    for stem in lex.stems_by_first.get(first, ()):
        if len(stem) <= n <= len(stem) + _STEM_REST and fits(pattern[: len(stem)], stem):
            return "".join(
                stem[k] if k < len(stem) and c == "?" else c for k, c in enumerate(pattern)
            )
    return None


def _weight(senses: list[Sense] | None) -> float:
    return max((s.weight for s in sensitive(senses or [])), default=0.0)
