"""Words: what one word token is, computed once per distinct word and memoised.

In: a word (normalised) and the lexicon. Out: a :class:`Word`: its lexicon senses, whether
it hints at a language or negates, the phrases that start with it, whether it is a known word
or may be a fragment of a split one, its variants (:mod:`~needle.textguard.variants`), and
the cuts of a word glued from several (``nudelittlegirl``, ``naked12yo``). None of this
depends on the word's neighbours, so :func:`word` keeps it in the lexicon's word cache; the
detector's loop skips a word whose analysis says it adds nothing (``inert``).

:func:`segment` cuts a run of letters into words the lexicon knows, in as few pieces as
possible; it serves long glued words here and fragments joined by
:mod:`~needle.textguard.recut`.
"""

from __future__ import annotations

import re

from needle.textguard.normalize import canonical, fold_leet, squeeze
from needle.textguard.terms import Lexicon, Sense
from needle.textguard.tokens import DIGIT, HAS_LETTER
from needle.textguard.variants import (
    DOUBLE,
    GLUED_UNITS,
    MAX_VARIANT_LEN,
    Found,
    lookup_or_split,
    undoubled,
    variants,
)

__all__ = ["WORD_CACHE_SIZE", "Word", "segment", "starts_word", "word"]

#: words whose analysis is memoised; the cache is dropped when it grows past this
WORD_CACHE_SIZE = 50_000
#: letters glued to a number (and more letters): naked12yo, 12yonude, nude1girl
_GLUED_NUMBER = re.compile(r"(?P<a>[^\W\d]{3,})?(?P<n>\d{1,3})(?P<b>[^\W\d]{1,})?")


class Word:
    """Everything about one word that does not depend on its neighbours, computed once."""

    __slots__ = (
        "can_start",
        "compound",
        "glued",
        "hint",
        "inert",
        "known",
        "neg_after",
        "neg_before",
        "person",
        "phrases",
        "senses",
        "unknown",
        "variants",
    )

    def __init__(self, lex: Lexicon, w: str) -> None:
        self.senses = lex.lookup(w)
        self.hint = lex.hints.get(w)
        self.neg_before = lex.negate_before.get(w)
        self.neg_after = lex.negate_after.get(w)
        self.phrases = _phrases_of(lex, w)
        alpha = w.isalpha()
        self.known = alpha and _known(lex, w)
        # could this word be the first half of a word split in two ("nu" of "nude")?
        self.can_start = alpha and (w in lex.vocab_prefixes or w in lex.vocab)
        # unknown: may be a fragment of a split word; short weak words of some language too
        self.unknown = alpha and not self.known
        senses = self.senses
        if alpha and self.known and len(w) <= 3 and self.hint is None and senses:
            self.unknown = all(x.weight < 0.5 and x.category == "minor" for x in senses)
        self.person = senses is not None and any(x.category in ("minor", "adult") for x in senses)
        self.variants: Found = []
        # a plain ASCII word of letters without doubles has no variant to try
        plain = w.isascii() and alpha and DOUBLE.search(w) is None and len(w) <= MAX_VARIANT_LEN
        if self.senses is None and self.hint is None and not w.isdigit() and not plain:
            self.variants = variants(lex, w)
        self.compound: list[tuple[int, int]] | None = None
        if alpha and len(w) <= MAX_VARIANT_LEN and ((len(w) >= 5 and self.unknown) or len(w) >= 9):
            self.compound = _compound_cuts(lex, w)
        self.glued: list[tuple[int, int]] | None = None
        if (
            not alpha
            and len(w) <= MAX_VARIANT_LEN
            and DIGIT.search(w)
            and HAS_LETTER.search(w)
            and self.senses is None
        ):
            self.glued = _glued_cuts(lex, w)
        #: nothing to do for this word in the detector's loop (unless a leet symbol is glued)
        self.inert = (
            self.senses is None
            and self.hint is None
            and self.neg_before is None
            and self.neg_after is None
            and self.phrases is None
            and not self.variants
        )


def word(lex: Lexicon, w: str) -> Word:
    """The analysis of ``w``, from the lexicon's word cache or made now."""
    cache = lex.word_cache
    info = cache.get(w)
    if info is None:
        info = Word(lex, w)
        if len(cache) >= WORD_CACHE_SIZE:
            cache.clear()
        cache[w] = info
    return info  # type: ignore[return-value]


def _phrases_of(lex: Lexicon, w: str) -> list[tuple[tuple[str, ...], list[Sense]]] | None:
    """The phrases that start with ``w``, also written in leetspeak or with doubled letters."""
    phrases = lex.phrases.get(w)
    if phrases is None and not w.isalpha():
        phrases = lex.phrases.get(canonical(w))
    if phrases is None and DOUBLE.search(w):
        phrases = lex.phrases_squeezed.get(squeeze(w))
    return phrases


def _compound_cuts(lex: Lexicon, w: str) -> list[tuple[int, int]] | None:
    """Cut a long word of letters that the lexicon does not know as a whole (or whose stem
    leaves a long rest) into known words, if the cut is believable."""
    stem_rest = False
    senses = lex.exact.get(w)
    if senses is None:
        senses = lex.stem(w)
        stem_rest = senses is not None and _stem_length(lex, w) <= len(w) - 4
    if (senses is None and undoubled(lex, w) is None) or stem_rest:
        pieces = segment(lex, w)
        if pieces is not None and len(pieces) > 1 and _meaningful(lex, w, pieces):
            return pieces
    return None


def _glued_cuts(lex: Lexicon, w: str) -> list[tuple[int, int]] | None:
    """Cut letters glued to a number, unless leetspeak explains the digits."""
    for one in ("i", "l"):
        leet = fold_leet(w, one=one)
        if leet in lex.vocab or lookup_or_split(lex, leet):
            return None
    m = _GLUED_NUMBER.fullmatch(w)
    if m is None or not (m.group("a") or m.group("b")):
        return None
    cuts = [(m.start(g), m.end(g)) for g in ("a", "n") if m.group(g)]
    b = m.group("b")
    if b:
        base = m.start("b")
        unit = next(
            (
                u
                for u in GLUED_UNITS
                if b.startswith(u)
                and lex.lookup(b) is None
                and len(b) > len(u) + 2
                and lookup_or_split(lex, b[len(u) :])
            ),
            None,
        )
        if unit is not None:
            cuts += [(base, base + len(unit)), (base + len(unit), len(w))]
        else:
            cuts.append((base, len(w)))
    # worth cutting only if a piece means something: "naked12yo" yes, "8k" and "v2" no
    useful = any(
        lex.lookup(w[a:z]) is not None or w[a:z] in lex.unit_first for a, z in cuts if z - a >= 2
    )
    return cuts if useful else None


def segment(
    lex: Lexicon, word: str, keep: frozenset[int] = frozenset()
) -> list[tuple[int, int]] | None:
    """Cut ``word`` into words the lexicon knows, in as few pieces as possible.

    ``keep`` are offsets where an original token starts: the original tokens are pieces too,
    and among cuts with equally few pieces the one that keeps most original boundaries wins
    ("and a naked" stays as it is rather than becoming "and anak ed"). A single ``a`` or
    ``i`` is a piece ("ofaminor"), and a final piece may be a stem with a short ending
    (``pornosu``, ``девочка``). ``None`` when no cut covers the whole word.
    """
    n = len(word)
    vocab = lex.vocab
    lengths = lex.vocab_lengths
    nxt: dict[int, int] = {}
    if keep:
        bounds = sorted(keep | {n})
        nxt = {b: bounds[k + 1] for k, b in enumerate(bounds[:-1])}
    edges = keep | {n}
    memo: dict[int, tuple[int, int, int] | None] = {n: (0, 0, n)}

    def best(p: int) -> tuple[int, int, int] | None:
        if p in memo:
            return memo[p]
        memo[p] = None  # guards against re-entry; every piece moves forward anyway
        choice: tuple[int, int, int] | None = None
        candidates = [
            p + length
            for length in lengths.get(word[p : p + 2], ())
            if p + length <= n and word[p : p + length] in vocab
        ]
        if p in nxt:
            candidates.append(nxt[p])
        if word[p] in "ai" and p + 1 < n:
            candidates.append(p + 1)
        for q in candidates:
            rest = best(q)
            if rest is None:
                continue
            cost = (rest[0] + 1, rest[1] + (0 if (p in keep and q in edges) else 1), q)
            if choice is None or cost[:2] < choice[:2]:
                choice = cost
        if choice is None:
            for length in lex.stem_lengths.get(word[p : p + 2], ()):
                if p + length <= n and n - p - length <= 4 and word[p : p + length] in lex.stems:
                    choice = (1, 0 if p in keep else 1, n)
                    break
        memo[p] = choice
        return choice

    if best(0) is None:
        return None
    pieces = []
    p = 0
    while p < n:
        step = memo[p]
        assert step is not None
        pieces.append((p, step[2]))
        p = step[2]
    return pieces


def _known(lex: Lexicon, word: str) -> bool:
    """A word that is certainly a word: a hint, a word of an entry or unit, or an entry that
    is not only contextual."""
    if word in lex.hints or (word in lex.vocab and word not in lex.exact):
        return True
    senses = lex.lookup(word) or undoubled(lex, word)
    return senses is not None and any(not s.contextual for s in senses)


def _meaningful(lex: Lexicon, word: str, pieces: list[tuple[int, int]]) -> bool:
    """Is a cut of one long word believable? Every piece has 3+ letters (or is a short
    function word, or a lone "a"/"i"), and a piece is a real lexicon word of some weight, or
    the pieces are all longer words the lexicon uses ("traitrantruong"). Function words of
    many languages can cut almost anything ("trending" -> tre, nd, i, ng)."""
    for a, b in pieces:
        piece = word[a:b]
        if b - a < 3 and piece not in lex.hints and piece not in ("a", "i"):
            return False
    for a, b in pieces:
        if b - a < 3:
            continue
        senses = lex.lookup(word[a:b])
        if senses and any(not x.contextual and x.category != "benign" for x in senses):
            return True
    return (
        all(b - a >= 3 for a, b in pieces)
        and sum(word[a:b] not in lex.hints for a, b in pieces) >= 2
    )


def _stem_length(lex: Lexicon, word: str) -> int:
    for length in lex.stem_lengths.get(word[:2], ()):
        if length <= len(word) and word[:length] in lex.stems:
            return length
    return len(word)


def starts_word(lex: Lexicon, a: str, b: str) -> bool:
    """Do two neighbouring fragments join into (the start of) a word the lexicon knows?"""
    joined = a + b
    return joined in lex.vocab or joined in lex.vocab_prefixes
