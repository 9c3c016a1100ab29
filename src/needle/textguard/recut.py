"""Re-cutting: words that were split or glued together to evade, cut again.

In: the tokens of a text and the lexicon. Out: the tokens to read, with the analysis of each
word (:class:`~needle.textguard.words.Word`) when nothing had to change (the common case),
or new tokens where:

- fragments that join into a lexicon word are joined with their neighbours and cut again
  ("nu de ch ild" -> nude, child; "ph oto of a yo ung boy" -> photo of a young boy), also
  across the commas of a tag list when each fragment is a tag of its own ("nu, de, child",
  "lo, li"; known words too there: a tag is not a sentence);
- a long unknown word (or one whose stem leaves a long rest) is cut
  ("nudelittlegirl", "minderjarigmeisjenaakt");
- letters glued to digits are parted when leetspeak does not explain them
  ("naked12yo" -> naked, 12, yo).

A token made by a re-cut keeps the clause, comma group and (nearly) the position of the token
it came from, and says what it saw through (``spacing`` for a word across old boundaries,
``compound`` for a piece of a glued word).
"""

from __future__ import annotations

from needle.textguard.terms import Lexicon
from needle.textguard.tokens import Tokens
from needle.textguard.words import Word, letters_only, segment, starts_word, word

__all__ = ["expand"]


def expand(toks: Tokens, lex: Lexicon, text: str) -> tuple[Tokens, list[Word | None] | None]:
    """The tokens to read, and the analysis of each of them (``None`` for tokens other than
    words); ``toks`` itself with its analysis when nothing needs re-cutting, else new tokens
    and ``None`` (the detector then analyses their words as it reads them)."""
    infos, frag, work = _analyse(toks, lex, text)
    if not work:
        return toks, infos
    return _recut(toks, infos, frag, lex, text), None


def _analyse(toks: Tokens, lex: Lexicon, text: str) -> tuple[list[Word | None], list[bool], bool]:
    """Each word's analysis, which tokens are fragments of a split word, and whether any
    token needs re-cutting."""
    n = len(toks)
    kind, words_, groups = toks.kind, toks.text, toks.group
    infos: list[Word | None] = [None] * n
    frag = [False] * n
    work = False
    cache: dict[str, Word] = lex.word_cache  # type: ignore[assignment]
    for i in range(n):
        if kind[i] != "w":
            continue
        w = words_[i]
        info = cache.get(w)
        if info is None:
            info = word(lex, w)
        infos[i] = info
        if info.compound is not None or info.glued is not None:
            work = True
        left = infos[i - 1] if i > 0 else None
        if (
            left is not None
            and left.can_start
            and groups[i] != groups[i - 1]
            and min(len(w), len(words_[i - 1])) <= _TAG_PIECE
            and starts_word(lex, words_[i - 1], w)
            and _tag_pair(toks, i - 1, i, text)
        ):
            frag[i] = frag[i - 1] = work = True
        if info.unknown:
            if left is not None and left.can_start and _joins(toks, lex, i - 1, i, text):
                frag[i] = frag[i - 1] = work = True
            if info.can_start and i + 1 < n and _joins(toks, lex, i, i + 1, text):
                frag[i] = frag[i + 1] = work = True
    return infos, frag, work


def _recut(
    toks: Tokens, infos: list[Word | None], frag: list[bool], lex: Lexicon, text: str
) -> Tokens:
    """New tokens: runs of fragments joined and segmented again where that finds a word
    across their boundaries, glued words cut, every other token copied."""
    n = len(toks)
    out = Tokens()
    produced = [0] * n  # output tokens made from each input token
    emitted = 0  # input tokens handled so far
    i = 0
    while i < n:
        info = infos[i]
        before = len(out)
        if info is None:
            out.copy_from(toks, i)
            produced[i] = 1
            i += 1
            continue
        if frag[i]:
            lo, hi = _fragment_run(toks, frag, i, emitted, text)
            if hi > lo:
                # the run may start before i: take back what those tokens produced
                undo = sum(produced[lo:i])
                saved = [out.pop() for _ in range(undo)][::-1]
                if _resegment(toks, lo, hi, lex, out):
                    for k in range(lo, hi + 1):
                        produced[k] = 0
                    produced[hi] = len(out) - before + undo
                    i = emitted = hi + 1
                    continue
                for item in saved:
                    out.add(*item)
        cuts = info.compound or info.glued
        if cuts is not None:
            _add_cuts(toks, i, cuts, "compound" if info.compound is not None else "", out)
            produced[i] = len(out) - before
        else:
            out.copy_from(toks, i)
            produced[i] = 1
        i += 1
    return out


def _fragment_run(
    toks: Tokens, frag: list[bool], i: int, emitted: int, text: str
) -> tuple[int, int]:
    """The tokens ``lo..hi`` around fragment ``i`` to join: up to 3 before it (not before
    ``emitted``), then forward while fragments keep coming (gaps of up to one non-fragment),
    plus one short word after the last."""
    n = len(toks)
    lo = i
    while lo > emitted and i - lo < 3 and _joinable(toks, lo - 1, lo, text):
        lo -= 1
    hi = last = i
    while hi + 1 < n and hi + 1 - last <= 2 and hi - lo < 12 and _joinable(toks, hi, hi + 1, text):
        hi += 1
        if frag[hi]:
            last = hi
    hi = last
    if hi + 1 < n and len(toks.text[hi + 1]) <= 4 and _joinable(toks, hi, hi + 1, text):
        hi += 1
    return lo, hi


def _add_cuts(toks: Tokens, i: int, cuts: list[tuple[int, int]], evasion: str, out: Tokens) -> None:
    """The pieces ``cuts`` of word token ``i``, as tokens of their own."""
    w = toks.text[i]
    start = toks.start[i]
    for a, b in cuts:
        out.add(
            "w",
            w[a:b],
            start + a,
            start + b,
            toks.clause[i],
            toks.group[i],
            toks.pos[i] + a / 100,
            evasion,
        )


def _joins(toks: Tokens, lex: Lexicon, a: int, b: int, text: str) -> bool:
    """Do tokens ``a`` and ``b`` look like two halves of one lexicon word?"""
    return starts_word(lex, toks.text[a], toks.text[b]) and _joinable(toks, a, b, text)


def _joinable(toks: Tokens, a: int, b: int, text: str) -> bool:
    """Two words of letters in one comma group (or two one-word tags of a tag list), 1 to 3
    characters apart on one line."""
    if toks.kind[a] != "w" or toks.kind[b] != "w":
        return False
    if toks.group[a] != toks.group[b] and not _tag_pair(toks, a, b, text):
        return False
    if not (letters_only(toks.text[a]) and letters_only(toks.text[b])):
        return False
    gap = toks.start[b] - toks.end[a]
    return 0 < gap <= 3 and "\n" not in text[toks.end[a] : toks.start[b]]


#: a word cut into two tags has a piece this short or shorter ("nu, de", "ki, ndern")
_TAG_PIECE = 4
#: what separates the tags of a tag list
_TAG_COMMAS = frozenset(",，、")


def _tag_pair(toks: Tokens, a: int, b: int, text: str) -> bool:
    """Tokens ``a`` and ``b = a + 1`` are two tags of one word each, one comma apart."""
    if b != a + 1 or toks.kind[a] != "w" or toks.kind[b] != "w":
        return False
    groups = toks.group
    if (a > 0 and groups[a - 1] == groups[a]) or (
        b + 1 < len(groups) and groups[b + 1] == groups[b]
    ):
        return False
    between = text[toks.end[a] : toks.start[b]].strip()
    return len(between) == 1 and between in _TAG_COMMAS


def _resegment(toks: Tokens, lo: int, hi: int, lex: Lexicon, out: Tokens) -> bool:
    """Join tokens ``lo..hi`` and segment them again; keep the result only if it finds a
    lexicon word that crosses the old word boundaries."""
    parts = toks.text[lo : hi + 1]
    joined = "".join(parts)
    offsets: list[int] = []  # joined index -> normalised text offset
    keep: set[int] = set()
    k = 0
    for t in range(lo, hi + 1):
        keep.add(k)
        offsets.extend(range(toks.start[t], toks.end[t]))
        k += len(toks.text[t])
    pieces = segment(lex, joined, frozenset(keep))
    if pieces is None:
        return False
    old = set()
    k = 0
    for part in parts:
        old.add((k, k + len(part)))
        k += len(part)
    new = [joined[a:b] for a, b in pieces if (a, b) not in old]
    if not any(
        (w in lex.vocab or lex.stem(w) is not None) and w not in lex.function_words for w in new
    ):
        return False
    for a, b in pieces:
        crossing = (a, b) not in old
        out.add(
            "w",
            joined[a:b],
            offsets[a],
            offsets[b - 1] + 1,
            toks.clause[lo],
            toks.group[lo],
            toks.pos[lo] + a / 100,
            "spacing" if crossing else "",
        )
    return True
