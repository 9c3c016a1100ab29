"""Phrases: multi-word lexicon entries matched at a word token.

In: the tokens, the index of a word that starts phrases, and those phrases (the lexicon keys
them by first word, longest first). Out: the first phrase whose every word matches the tokens
that follow in the same clause, as written, with leetspeak folded, doubled letters squeezed
or typed without vowels (``n4k3d mole rat``, ``naked moole rat``, ``nkd ml rat``). Phrases are tried before single words,
so that ``naked mole rat`` and ``nude lipstick`` take their harmless sense before ``naked``
is seen.
"""

from __future__ import annotations

from needle.textguard.normalize import fold_leet, squeeze
from needle.textguard.respell import consonants, fits, vowelless
from needle.textguard.terms import Sense
from needle.textguard.tokens import Tokens
from needle.textguard.variants import DOUBLE

__all__ = ["Phrase", "phrase_at", "phrase_evasion"]

#: a phrase: its words and its senses
Phrase = tuple[tuple[str, ...], list[Sense]]
_Phrases = list[Phrase]
#: entries past this clear a memo (each memoises a pure function of its arguments)
_MEMO_SIZE = 50_000


def phrase_at(toks: Tokens, i: int, phrases: _Phrases) -> Phrase | None:
    """The first of ``phrases`` (which start with the word at token ``i``) whose next words
    are the next word tokens of ``i``'s clause."""
    strs, kinds, clauses = toks.text, toks.kind, toks.clause
    n = len(strs)
    cl = clauses[i]
    for phrase in _phrases_after(phrases, strs[i + 1] if i + 1 < n else None):
        seq = phrase[0]
        length = len(seq)
        if i + length > n:
            continue
        ok = True
        for k in range(1, length):
            nxt = strs[i + k]
            if kinds[i + k] != "w" or clauses[i + k] != cl or not _same_word(nxt, seq[k]):
                ok = False
                break
        if ok and not _only_short_consonants(strs, i, seq):
            return phrase
    return None


def _only_short_consonants(strs: list[str], i: int, seq: tuple[str, ...]) -> bool:
    """Was every word of the phrase matched through two consonants alone (``nd tn`` is not
    "nude tone": it is ambiguous at best)?"""
    return all(
        strs[i + k] != w and len(strs[i + k]) <= 2 and vowelless(strs[i + k])
        for k, w in enumerate(seq)
    )


def phrase_evasion(strs: list[str], i: int, seq: tuple[str, ...]) -> str:
    """What a phrase matched at token ``i`` saw through, ``+``-joined (empty when written as
    in the lexicon)."""
    kinds: set[str] = set()
    for k, entry in enumerate(seq):
        token = strs[i + k]
        if token == entry:
            continue
        if "?" in token:
            kinds.add("masking")
        elif not token.isalpha():
            kinds.add("leet")
        elif vowelless(token):
            kinds.add("vowels")
        else:
            kinds.add("repeat")
    return "+".join(sorted(kinds))


class _PhraseIndex:
    """The phrases starting with one word, indexed by their second word, so that only
    those whose second word matches the next token (as :func:`_same_word` decides) are
    tried, in their lexicon order; memoised per next token."""

    __slots__ = ("by_consonants", "by_second", "by_squeezed", "memo", "phrases", "short")

    def __init__(self, phrases: _Phrases) -> None:
        self.phrases = phrases  # kept: the index is found by id(phrases)
        self.by_second: dict[str, list[int]] = {}
        self.by_squeezed: dict[str, list[int]] = {}
        self.by_consonants: dict[str, list[int]] = {}
        self.short: list[int] = []  # one-word sequences: nothing to compare
        for j, (seq, _) in enumerate(phrases):
            if len(seq) < 2:
                self.short.append(j)
                continue
            self.by_second.setdefault(seq[1], []).append(j)
            self.by_squeezed.setdefault(squeeze(seq[1]), []).append(j)
            for key in set(consonants(seq[1])):
                self.by_consonants.setdefault(key, []).append(j)
        self.memo: dict[str | None, _Phrases] = {}

    def after(self, nxt: str | None) -> _Phrases:
        found = self.memo.get(nxt)
        if found is not None:
            return found
        picked = set(self.short)
        if nxt is not None and "?" in nxt:  # a masked word: any may fit
            picked.update(range(len(self.phrases)))
        elif nxt is not None:
            picked.update(self.by_second.get(nxt, ()))
            if not nxt.isalpha():
                picked.update(self.by_second.get(fold_leet(nxt), ()))
            elif DOUBLE.search(nxt) is not None:
                picked.update(self.by_squeezed.get(squeeze(nxt), ()))
            if vowelless(nxt):
                picked.update(self.by_consonants.get(nxt, ()))
        found = [self.phrases[j] for j in sorted(picked)]
        if len(self.memo) >= 1024:
            self.memo.clear()
        self.memo[nxt] = found
        return found


#: phrase indexes by id of the lexicon's phrase list (the index holds the list: checked)
_PHRASE_INDEX: dict[int, _PhraseIndex] = {}


def _phrases_after(phrases: _Phrases, nxt: str | None) -> _Phrases:
    """The phrases of ``phrases`` whose second word can match the next token ``nxt``
    (``None`` at the end of the text), in order; the caller still checks each fully."""
    index = _PHRASE_INDEX.get(id(phrases))
    if index is None or index.phrases is not phrases:
        if len(_PHRASE_INDEX) >= _MEMO_SIZE:
            _PHRASE_INDEX.clear()
        index = _PHRASE_INDEX[id(phrases)] = _PhraseIndex(phrases)
    return index.after(nxt)


#: ``_same_word`` answers, by (token, phrase word)
_SAME_WORD: dict[tuple[str, str], bool] = {}


def _same_word(token: str, entry: str) -> bool:
    """Is ``token`` the phrase word ``entry``, as written, in leetspeak, stretched or
    without its vowels?"""
    if token == entry:
        return True
    key = (token, entry)
    same = _SAME_WORD.get(key)
    if same is None:
        if "?" in token:
            same = fits(token, entry)
        elif not token.isalpha():
            same = fold_leet(token) == entry
        else:
            same = DOUBLE.search(token) is not None and squeeze(token) == squeeze(entry)
            if not same and vowelless(token):
                same = token in consonants(entry)
        if len(_SAME_WORD) >= _MEMO_SIZE:
            _SAME_WORD.clear()
        _SAME_WORD[key] = same
    return same
