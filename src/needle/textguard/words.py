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
import unicodedata

from needle.textguard.normalize import canonical, fold_leet, skeleton, squeeze, unrepeated
from needle.textguard.respell import vowelless
from needle.textguard.terms import Lexicon, Sense
from needle.textguard.tokens import DIGIT, HAS_LETTER
from needle.textguard.variants import (
    DOUBLE,
    GLUED_UNITS,
    MAX_VARIANT_LEN,
    Found,
    lookup_or_split,
    respelled,
    undoubled,
    variants,
)

__all__ = [
    "LOOSE_MIN",
    "WORD_CACHE_SIZE",
    "Word",
    "is_syllabic",
    "letters_only",
    "loose_cuts",
    "segment",
    "starts_word",
    "word",
]

#: a glued word this long is also cut around words the lexicon does not know
#: (:func:`loose_cuts`: ``kidsatthebeach``)
LOOSE_MIN = 7
#: a sensitive piece this long may sit between pieces the lexicon does not know
#: (``involvingchildren``); a shorter one needs known words or the word's edges around it
#: (``nudeln``, German noodles, is not "nude" + "ln")
LOOSE_ALONE = 5
#: letters a piece the lexicon does not know needs to count as a word of its own
LOOSE_UNKNOWN = 4
#: letters of an ending a stem may have when a glued word is segmented: at its end, and
#: before another word
STEM_ENDING = 4
MID_ENDING = 3
#: what one more piece costs, in unknown letters, when a glued word is cut loosely
LOOSE_PIECE = 2
#: words whose analysis is memoised; the cache is dropped when it grows past this
WORD_CACHE_SIZE = 50_000
#: letters glued to a number (and more letters): naked12yo, 12yonude, nude1girl
_GLUED_NUMBER = re.compile(r"(?P<a>[^\W\d]{3,})?(?P<n>\d{1,3})(?P<b>[^\W\d]{1,})?")


class Word:
    """Everything about one word that does not depend on its neighbours, computed once."""

    __slots__ = (
        "age_start",
        "backwards",
        "backwards_sensitive",
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
        "reversal",
        "senses",
        "standard",
        "standard_evasion",
        "unknown",
        "variants",
    )

    def __init__(self, lex: Lexicon, w: str) -> None:
        self.senses = lex.lookup(w)
        self.hint = lex.hints.get(w)
        self.neg_before = lex.negate_before.get(w)
        self.neg_after = lex.negate_after.get(w)
        self.phrases = _phrases_of(lex, w)
        alpha = letters_only(w)
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
        if self.senses is None and self.hint is None and not w.isdigit():
            self.variants = respelled(lex, w) if plain else variants(lex, w)
        self.compound: list[tuple[int, int]] | None = None
        syllabic = is_syllabic(w[0])
        if (
            alpha
            and len(w) <= MAX_VARIANT_LEN
            and ((len(w) >= 5 and self.unknown) or len(w) >= 9 or (syllabic and len(w) >= 3))
        ):
            self.compound = _compound_cuts(lex, w)
            if (
                self.compound is None
                and not self.variants
                and len(w) >= LOOSE_MIN
                and lex.holds_sensitive(w)
            ):
                self.compound = loose_cuts(lex, w)
        self.glued: list[tuple[int, int]] | None = None
        if (
            not alpha
            and len(w) <= MAX_VARIANT_LEN
            and DIGIT.search(w)
            and HAS_LETTER.search(w)
            and self.senses is None
        ):
            self.glued = _glued_cuts(lex, w)
        #: the word read backwards, when that is a word the lexicon knows and the word has
        #: no sense of its own ("dlihc", "raey", "on"; an apostrophe stays where it is:
        #: "gnalay'hco"); ``backwards`` only for a word the lexicon does not know, which
        #: alone tells that a text is written backwards (``reversed``)
        self.reversal: str | None = None
        if alpha and not self.senses and len(w) >= 2:
            self.reversal = _reversal(lex, w, self.unknown)
        self.backwards: str | None = self.reversal if self.unknown else None
        #: ... and that word is evidence ("dlihc"; "dnik": Afrikaans "kind" in its language;
        #: "iág": a word of the Vietnamese phrase "bé gái")
        self.backwards_sensitive = self.backwards is not None and (
            self.backwards in lex.sensitive_phrase_words
            or any(x.category in _EVIDENCE for x in lex.lookup(self.backwards) or ())
        )
        #: the standard spelling of a word the lexicon knows only so, read so by the
        #: detector (then phrases and units apply): a respelled English word of a phrase
        #: ("clothez" of "no clothes", "mol" of "naked mole rat"), a word with a letter
        #: or syllable typed more than once ("meiin", "ਨਿੱਕਾਕਾਕਾ", "वर्षांषांचा")
        self.standard: str | None = None
        self.standard_evasion = ""
        if self.unknown or (self.senses is not None and w not in lex.exact and _stretched(w)):
            self.standard = lex.respelled_words.get(w)
            self.standard_evasion = "phonetic"
            if self.standard is None and all(v[3] == "repeat" for v in self.variants):
                # not a word found otherwise: "noode" is "nude", not "node"
                self.standard = _unstretched(lex, w)
                self.standard_evasion = "repeat"
            if self.standard is None and not w.isascii():
                # a word of a phrase in look-alike letters ("sех" of the Icelandic "sex
                # börn", six children): read in Latin letters, the phrase applies
                skel = skeleton(w)
                if skel is not None and skel != w and skel in lex.phrase_words:
                    self.standard = skel
                    self.standard_evasion = "homoglyph"
        #: an age in words may start here: a number word ("twelve"), a number word with a
        #: unit glued to it ("zwölfjährige"), the first word of a unit before one ("aged")
        self.age_start = w in lex.numbers or w in lex.before_firsts or _glued_number(lex, w)
        #: nothing to do for this word in the detector's loop (unless a leet symbol is glued)
        self.inert = (
            self.senses is None
            and self.hint is None
            and self.neg_before is None
            and self.neg_after is None
            and self.phrases is None
            and not self.variants
        )


_EVIDENCE = frozenset({"sexual", "minor", "sexual_minors"})


def _reversal(lex: Lexicon, w: str, unknown: bool) -> str | None:
    """``w`` read backwards, if that is a word the lexicon knows (for a word it knows
    itself, one of its vocabulary: "on" is "no")."""
    back = w[::-1]
    if back in lex.vocab or (unknown and lex.lookup(back) is not None):
        return back
    if "'" in w:
        back = "'".join(part[::-1] for part in w.split("'"))
        if back in lex.vocab or (unknown and lex.lookup(back) is not None):
            return back
    return None


def _stretched(w: str) -> bool:
    """Does a syllable of ``w`` repeat three times or more? (A word may double one:
    Telugu "పిల్లల".)"""
    return not w.isascii() and _repeats(w) >= 3


def _repeats(w: str) -> int:
    """The longest run of one syllable (a letter and its marks) in ``w``."""
    best = run = 0
    prev = ""
    syllable = ""
    for c in w + " ":
        if syllable and unicodedata.category(c)[0] == "M":
            syllable += c
            continue
        if syllable:
            run = run + 1 if syllable == prev else 1
            best = max(best, run)
            prev = syllable
        syllable = c
    return best


def _unstretched(lex: Lexicon, w: str) -> str | None:
    """``w`` with a letter or a syllable typed more than once made single, when that is a
    word the lexicon knows (``meiin`` -> ``mein``, ``ਨਿੱਕਾਕਾਕਾ`` -> ``ਨਿੱਕਾ``)."""
    found = squeeze(w) if DOUBLE.search(w) is not None else None
    if found is not None and found != w and found in lex.vocab:
        return found
    if not w.isascii():
        single = unrepeated(w)
        if single != w and (single in lex.vocab or lex.lookup(single) is not None):
            return single
    return None


def is_syllabic(c: str) -> bool:
    """Is ``c`` a syllable of its own (Hangul, Ethiopic): words there are two or three
    characters long, as long as a glued word's pieces may be."""
    return "\uac00" <= c <= "\ud7af" or "\u1200" <= c <= "\u137f"


def letters_only(w: str) -> bool:
    """Is word token ``w`` letters only? An apostrophe inside is a letter (Uzbek
    "yalang'och"); in Indic scripts vowel signs are marks, not letters (``isalpha`` is
    false), but no digit."""
    return (
        w.isalpha()
        or (not w.isascii() and DIGIT.search(w) is None)
        or ("'" in w[1:-1] and w.replace("'", "").isalpha())
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


def _glued_number(lex: Lexicon, w: str) -> bool:
    """Does ``w`` begin with a number word followed by the start of a unit?"""
    numbers, heads = lex.numbers, lex.unit_heads
    return any(
        w[:k] in numbers and (w[k : k + 2] in heads or w[k : k + 1] in heads)
        for k in range(1, len(w))
    )


def _phrases_of(lex: Lexicon, w: str) -> list[tuple[tuple[str, ...], list[Sense]]] | None:
    """The phrases that start with ``w``, also written in leetspeak, with doubled letters or
    without vowels."""
    phrases = lex.phrases.get(w)
    if phrases is None and not w.isalpha():
        phrases = lex.phrases.get(canonical(w))
    if phrases is None and DOUBLE.search(w):
        phrases = lex.phrases_squeezed.get(squeeze(w))
    if phrases is None and vowelless(w):
        phrases = lex.phrases_consonants.get(w)
    if phrases is None and "?" in w:  # a masked word left open (masks.py)
        found = [e for c in lex.fitting(w) for e in lex.phrases.get(c, ())]
        phrases = sorted(found, key=lambda e: -len(e[0])) or None
    return phrases


def _compound_cuts(lex: Lexicon, w: str) -> list[tuple[int, int]] | None:
    """Cut a long word of letters that the lexicon does not know as a whole (or whose stem
    leaves a long rest) into known words, if the cut is believable."""
    stem_rest = False
    senses = lex.exact.get(w)
    if senses is None:
        senses = lex.stem(w)
        rest = 2 if is_syllabic(w[0]) else 4  # a syllable holds more than a letter
        stem_rest = senses is not None and _stem_length(lex, w) <= len(w) - rest
    if DOUBLE.search(w) is not None and squeeze(w) in lex.vocab:
        return None  # a word stretched ("uumar"), not two
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
    # a piece glued of words itself ("nudegirl12yo"): cut too
    refined: list[tuple[int, int]] = []
    for a, z in cuts:
        inner = word(lex, w[a:z]).compound if w[a:z].isalpha() else None
        if inner:
            refined.extend((a + x, a + y) for x, y in inner)
        else:
            refined.append((a, z))
    # worth cutting only if a piece means something: "naked12yo" yes, "8k" and "v2" no
    useful = any(
        lex.lookup(w[a:z]) is not None or w[a:z] in lex.unit_first for a, z in refined if z - a >= 2
    )
    return refined if useful else None


def segment(
    lex: Lexicon, word: str, keep: frozenset[int] = frozenset()
) -> list[tuple[int, int]] | None:
    """Cut ``word`` into words the lexicon knows, in as few pieces as possible.

    ``keep`` are offsets where an original token starts: the original tokens are pieces too,
    and among cuts with equally few pieces the one that keeps most original boundaries wins
    ("and a naked" stays as it is rather than becoming "and anak ed"). A single ``a`` or
    ``i`` is a piece ("ofaminor"), as is a function word of one letter (``z`` + ``otroki``);
    a final piece may be a stem with a short ending (``pornosu``, ``девочка``), one inside
    a stem with a shorter one (``nackten`` + ``kindern``). ``None`` when no cut covers the
    whole word.
    """
    n = len(word)
    vocab = lex.vocab
    lengths = lex.vocab_lengths
    nxt: dict[int, int] = {}
    if keep:
        bounds = sorted(keep | {n})
        nxt = {b: bounds[k + 1] for k, b in enumerate(bounds[:-1])}
    edges = keep | {n}
    hints = lex.function_words
    # an ending this long is a word of its own (a Hangul syllable holds more)
    word_letters = 2 if is_syllabic(word[0]) else 3
    # (pieces, new boundaries, scraps: pieces of two letters that are no function word,
    # end of the first piece): "a" + "naked" rather than "anak" + "ed"
    memo: dict[int, tuple[int, int, int, int] | None] = {n: (0, 0, 0, n)}

    def best(p: int) -> tuple[int, int, int, int] | None:
        if p in memo:
            return memo[p]
        memo[p] = None  # guards against re-entry; every piece moves forward anyway
        choice: tuple[int, int, int, int] | None = None
        candidates = [
            p + length
            for length in lengths.get(word[p : p + 2], ())
            if p + length <= n and word[p : p + length] in vocab
        ]
        if p in nxt:
            candidates.append(nxt[p])
        if p + 1 < n and (word[p] in "ai" or word[p] in hints):
            candidates.append(p + 1)  # "a", "i", or a one-letter word ("z" + "otroki")
        for q in candidates:
            rest = best(q)
            if rest is None:
                continue
            scrap = (q - p == 2 and word[p:q] not in hints) or (q - p == 1 and word[p] not in "ai")
            cost = (
                rest[0] + 1,
                rest[1] + (0 if (p in keep and q in edges) else 1),
                rest[2] + scrap,
                q,
            )
            if choice is None or cost[:3] < choice[:3]:
                choice = cost
        for length in lex.stem_lengths.get(word[p : p + 2], ()):
            end = p + length
            if end > n or word[p:end] not in lex.stems:
                continue
            if (
                n - end <= STEM_ENDING
                and end not in keep
                and not any(word[k:] in vocab for k in range(end, n - word_letters + 1))
            ):
                # a stem and its ending, to the end of the word ("ki" + "ndern": kinder*);
                # not one that ends with a whole word ("naakt" + "kind", "알몸" + "아이",
                # "ಬೆತ್ತಲ" + "ೆ" + "ಮಗು")
                cost = (1, 0 if p in keep else 1, 0, n)
                if choice is None or cost[:3] < choice[:3]:
                    choice = cost
            # a stem and a short ending before another word, in languages that glue
            # endings to stems ("nackten" + "kindern", "നഗ്നയായ" + "കുട്ടി"): a scrap
            for q in range(end + 1, min(n, end + MID_ENDING + 1)):
                if (q - end >= 2 and word[end:q] in hints) or (
                    q - end >= word_letters and word[end:q] in vocab
                ):
                    continue  # a word of its own: "porno" + "med" + "barn"
                rest = best(q)
                if rest is None:
                    continue
                cost = (
                    rest[0] + 1,
                    rest[1] + (0 if (p in keep and q in edges) else 1),
                    rest[2] + 1,
                    q,
                )
                if choice is None or cost[:3] < choice[:3]:
                    choice = cost
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
        pieces.append((p, step[3]))
        p = step[3]
    return pieces


def loose_cuts(lex: Lexicon, word: str) -> list[tuple[int, int]] | None:
    """Cut a long glued word into the words the lexicon knows and stretches it does not
    (fewest unknown letters and pieces), if a sensitive piece stands clear: between
    known words or the word's edges, or, when it has :data:`LOOSE_ALONE` letters or more,
    next to unknown stretches that are words of their own (:data:`LOOSE_UNKNOWN` letters).
    ``kidsatthebeach`` -> kids, at, the, beach; ``nudeln`` stays whole."""
    n = len(word)
    vocab, lengths, hints = lex.vocab, lex.vocab_lengths, lex.function_words
    # best[p]: (cost, end of the first piece, whether it is known) for word[p:]; the cost is
    # the unknown letters plus LOOSE_PIECE per piece, so that an unknown stretch is not cut
    # into scraps that happen to be words somewhere ("beach" is not "be" + "ach")
    best: list[tuple[int, int, bool] | None] = [None] * (n + 1)
    best[n] = (0, n, True)
    for p in range(n - 1, -1, -1):
        choice: tuple[int, int, bool] | None = None
        ends = [
            p + length
            for length in lengths.get(word[p : p + 2], ())
            if p + length <= n
            and word[p : p + length] in vocab
            and (length >= 3 or word[p : p + length] in hints)
        ]
        for length in lex.stem_lengths.get(word[p : p + 2], ()):
            if word[p : p + length] in lex.stems:  # a stem and its ending
                ends += range(p + length, min(n, p + length + 4) + 1)
        for q in ends:
            rest = best[q]
            if rest is not None:
                # a function word of two letters costs one more: on a tie, an unknown
                # stretch keeps it ("papludimyje" is not "pa" + "pludimy" + "je")
                cand = (rest[0] + LOOSE_PIECE + (q - p <= 2), q, True)
                choice = cand if choice is None or cand < choice else choice
        for q in range(p + 1, n + 1):
            rest = best[q]
            if rest is not None and (q == n or rest[2]):  # unknown stretches do not touch
                cand = (rest[0] + q - p + LOOSE_PIECE, q, False)
                choice = cand if choice is None or cand < choice else choice
        best[p] = choice
    pieces: list[tuple[int, int, bool]] = []
    p = 0
    while p < n:
        step = best[p]
        assert step is not None
        pieces.append((p, step[1], step[2]))
        p = step[1]
    if len(pieces) < 2:
        return None
    for k, (a, b, known) in enumerate(pieces):
        senses = lex.lookup(word[a:b]) if known else None
        if not senses or not any(
            s.category in ("sexual", "minor", "sexual_minors") and not s.contextual for s in senses
        ):
            continue
        around = [pieces[j] for j in (k - 1, k + 1) if 0 <= j < len(pieces)]
        unknown = [z - y for y, z, ok in around if not ok]
        cuts = [(a, b) for a, b, _ in pieces]
        if not _glued_hints_agree(lex, word, cuts):
            return None
        if not unknown:
            return cuts
        # a long sensitive piece at one end of the word, or beside a known word, next to one
        # stretch the lexicon does not know ("involvingchildren"), not inside one
        # ("schilderij" holds "child")
        alone = LOOSE_ALONE if word[a:b].isascii() else LOOSE_ALONE - 1  # "नग्न": 4 marks
        if b - a >= alone and len(unknown) == 1 and unknown[0] >= LOOSE_UNKNOWN:
            return cuts
    return None


def _known(lex: Lexicon, word: str) -> bool:
    """A word that is certainly a word: a hint, a word of an entry or unit, or an entry that
    is not only contextual."""
    if word in lex.function_words or (word in lex.vocab and word not in lex.exact):
        return True
    senses = lex.lookup(word) or undoubled(lex, word)
    return senses is not None and any(not s.contextual for s in senses)


def _meaningful(lex: Lexicon, word: str, pieces: list[tuple[int, int]]) -> bool:
    """Is a cut of one long word believable? Every piece has 3+ letters (or is a short
    function word, a lone "a"/"i", or a word of a phrase next to the phrase's other word:
    Vietnamese "trẻ" + "em"), and a piece is a real lexicon word of some weight, a number
    word or an age unit, or two pieces are words of one phrase, or the pieces are all
    longer words the lexicon uses ("traitrantruong"). Function words of many languages can
    cut almost anything ("trending" -> tre, nd, i, ng)."""
    texts = [word[a:b] for a, b in pieces]
    paired = [
        k
        for k in range(len(texts) - 1)
        if (texts[k], texts[k + 1]) in lex.phrase_pairs  # "bila" + "nguo", "mole" + "rat"
    ]
    in_phrase = {k for k in paired} | {k + 1 for k in paired}
    for k, piece in enumerate(texts):
        shortest = 3 if piece.isascii() else 2  # two Hangul syllables are a word
        if (
            len(piece) < shortest
            and piece not in lex.function_words
            and piece not in ("a", "i")
            and k not in in_phrase
        ):
            return False
    if paired and all(k in in_phrase or len(t) >= 3 for k, t in enumerate(texts)):
        return True  # a phrase glued ("ấu" + "dâm"): its words are of its language
    if not _glued_hints_agree(lex, word, pieces):
        return False
    if paired:
        return True
    for piece in texts:
        if len(piece) < (3 if piece.isascii() else 2):
            continue
        senses = lex.lookup(piece)
        if senses and any(not x.contextual and x.category != "benign" for x in senses):
            return True
        if len(piece) >= 4 and (piece in lex.numbers or piece in lex.age_vocab):
            return True  # "dvanadeset", "tahun", "miaka"
    return (
        all(b - a >= 3 for a, b in pieces)
        and sum(word[a:b] not in lex.function_words for a, b in pieces) >= 2
    )


def _glued_hints_agree(lex: Lexicon, word: str, pieces: list[tuple[int, int]]) -> bool:
    """A short function word glued to a word is of that word's language ("nudodi" is Italian
    "nudo" + "di"); across languages it is a coincidence ("noodles" is not "nood" + French
    "les")."""
    for k, (a, b) in enumerate(pieces):
        piece = word[a:b]
        hint = lex.function_words.get(piece)
        if hint is None or b - a > 3 or piece in ("a", "i"):  # words of too many languages
            continue
        if k > 0 and lex.stem(word[pieces[k - 1][0] : b]) is not None:
            continue  # the ending of the stem before it ("nackt" + "en")
        for j in (k - 1, k + 1):
            if 0 <= j < len(pieces):
                codes = _languages(lex, word[pieces[j][0] : pieces[j][1]])
                if codes and hint.isdisjoint(codes):
                    return False
    return True


def _languages(lex: Lexicon, piece: str) -> set[str]:
    """The languages whose entries (whole words or stems) ``piece`` is."""
    codes = {s.language for s in lex.exact.get(piece, ())}
    stem = lex.stem(piece)
    if stem is not None:
        codes.update(s.language for s in stem)
    return codes


def _stem_match(lex: Lexicon, word: str) -> int:
    """The length of the longest stem ``word`` begins with, 0 when none."""
    for length in lex.stem_lengths.get(word[:2], ()):
        if length <= len(word) and word[:length] in lex.stems:
            return length
    return 0


def _stem_length(lex: Lexicon, word: str) -> int:
    for length in lex.stem_lengths.get(word[:2], ()):
        if length <= len(word) and word[:length] in lex.stems:
            return length
    return len(word)


def starts_word(lex: Lexicon, a: str, b: str) -> bool:
    """Do two neighbouring fragments join into (the start of) a word the lexicon knows, or
    a stem's word (``ki`` + ``ndern``: ``kinder*``)?"""
    joined = a + b
    if joined in lex.vocab or joined in lex.vocab_prefixes:
        return True
    # a stem across the two ("ki" + "ndern": kinder*), not one word and the next's start
    key = (a, b)
    found = _STARTS.get(key)
    if found is None:
        found = _stem_match(lex, joined) > len(a)
        if len(_STARTS) >= WORD_CACHE_SIZE:
            _STARTS.clear()
        _STARTS[key] = found
    return found


#: ``starts_word`` answers through stems, by pair of fragments (a pure function of the
#: lexicon, which is loaded once; cleared when full)
_STARTS: dict[tuple[str, str], bool] = {}
