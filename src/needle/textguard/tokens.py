"""Tokens: the words, unspaced runs, emoji and leet symbols of a normalised text.

In: the normalised text (and the lexicon, to know its number words). Out: :class:`Tokens`,
parallel lists with each token's kind, text, span, clause, comma group and word position;
clause ends (``.``, ``!``, ``?``, ``;``, line breaks) and commas are counted, not kept.

Kinds: ``w`` a word of a spaced script, ``u`` a run of an unspaced script (Chinese, Japanese,
Thai; its word position advances by half its length), ``s`` an emoji, ``l`` a leet symbol
(``@``, ``$``, ``|``, …) that may be glued into a word. The general regex handles every text;
three fast paths give the same tokens for the common ASCII cases
(``tests/textguard/test_fastpaths.py`` checks them against the general regex).
"""

from __future__ import annotations

import operator
import re
from itertools import accumulate, repeat

from needle.textguard.scripts import UNSPACED_CLASS
from needle.textguard.terms import SPACED_WORD, Lexicon

__all__ = ["DIGIT", "HAS_LETTER", "TOKEN", "Tokens", "has_number_word", "tokenize"]

_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf"
#: the general tokenizer: one named group per kind (``b`` clause end, ``c`` comma)
TOKEN = re.compile(
    # leading blanks are eaten inside the match: no failed attempt at every space
    rf"[^\S\n]*(?:(?P<w>{SPACED_WORD})"
    rf"|(?P<u>[{UNSPACED_CLASS}]+)"
    rf"|(?P<s>[{_EMOJI}])"
    r"|(?P<b>[.!?;](?=\s|$)|[\n。！？；])"
    r"|(?P<c>[,，、،:])"
    r"|(?P<l>[@$€|!+¡£]))"
)
#: the same tokens for pure-ASCII text without ``!`` (which is a clause end or a leet symbol
#: depending on what follows): there a word character is ``[0-9A-Za-z_]``, no unspaced-script
#: or emoji character can occur, and each kind of token is known from its text alone, so
#: ``findall`` returns plain strings (no groups, several times faster than ``TOKEN``)
_TOKEN_ASCII = re.compile(r"[0-9A-Za-z_]++(?:['’][0-9A-Za-z_]++)*|[.?;](?=\s|$)|\n|[,:]|[@$|+]")
_ASCII_BREAKS = frozenset(".?;\n")
_ASCII_COMMAS = frozenset(",:")
_ASCII_LEET = frozenset("@$|+")
#: a digit, and a letter, anywhere in a token
DIGIT = re.compile(r"\d")
HAS_LETTER = re.compile(r"[^\W\d]")
#: texts this long or longer are tokenized part by part (below it, the set-up costs more)
_SPLIT_MIN = 96

#: one token as the tokenizers collect it: kind, text, start, end, clause, group, position
_Row = tuple[str, str, int, int, int, int, float]


class Tokens:
    """Parallel lists describing the words of one text (kept flat for speed)."""

    __slots__ = ("clause", "end", "evasion", "group", "kind", "pos", "start", "text")

    def __init__(self) -> None:
        self.kind: list[str] = []
        self.text: list[str] = []
        self.start: list[int] = []
        self.end: list[int] = []
        self.clause: list[int] = []
        self.group: list[int] = []
        self.pos: list[float] = []
        self.evasion: list[str] = []

    def add(
        self,
        kind: str,
        text: str,
        start: int,
        end: int,
        clause: int,
        group: int,
        pos: float,
        evasion: str = "",
    ) -> None:
        self.kind.append(kind)
        self.text.append(text)
        self.start.append(start)
        self.end.append(end)
        self.clause.append(clause)
        self.group.append(group)
        self.pos.append(pos)
        self.evasion.append(evasion)

    def copy_from(self, other: Tokens, i: int) -> None:
        self.add(
            other.kind[i],
            other.text[i],
            other.start[i],
            other.end[i],
            other.clause[i],
            other.group[i],
            other.pos[i],
            other.evasion[i],
        )

    def pop(self) -> tuple[str, str, int, int, int, int, float, str]:
        """Remove the last token and return it as :meth:`add` takes it."""
        return (
            self.kind.pop(),
            self.text.pop(),
            self.start.pop(),
            self.end.pop(),
            self.clause.pop(),
            self.group.pop(),
            self.pos.pop(),
            self.evasion.pop(),
        )

    def __len__(self) -> int:
        return len(self.kind)


def tokenize(text: str, lex: Lexicon) -> tuple[Tokens, bool]:
    """The tokens of ``text``, and whether one of its words is a number word ("twelve").

    ``findall`` (no match objects) and ``str.find`` for the offsets: about twice as fast as
    ``finditer`` on long prompts. ``find`` cannot land early: the text skipped between two
    tokens holds no word, unspaced or symbol character.
    """
    parts = (
        text.split()
        if len(text) >= _SPLIT_MIN and text.isascii() and "!" not in text and "\n" not in text
        else None
    )
    if parts is not None:
        lengths = list(map(len, parts))
        if parts and sum(lengths) + len(parts) - 1 == len(text):
            toks = _single_spaced(parts, lengths)
        else:
            toks = _rows_to_tokens(_ascii_parts(text, parts))
    elif text.isascii() and "!" not in text:
        toks = _rows_to_tokens(_ascii(text))
    else:
        toks = _rows_to_tokens(_general(text))
    return toks, has_number_word(toks, lex)


def _single_spaced(parts: list[str], lengths: list[int]) -> Tokens:
    """ASCII text with one white-space character between parts, none around: a part starts
    where the lengths say. Most parts are a word, or a word and a comma; the others are
    tokenized alone (no token crosses white space, and what follows a part is white space or
    the end, as ``(?=\\s|$)`` needs). Positions are then 0, 1, 2, ..."""
    clause = group = 0
    breaks, commas, leets = _ASCII_BREAKS, _ASCII_COMMAS, _ASCII_LEET
    findall = _TOKEN_ASCII.findall
    rows6: list[tuple[str, str, int, int, int, int]] = []
    add6 = rows6.append
    offsets = accumulate(map(operator.add, lengths, repeat(1)), initial=0)
    for part, a in zip(parts, offsets, strict=False):  # offsets has one more
        if part.isalnum():
            add6(("w", part, a, a + len(part), clause, group))
        elif part[-1] == "," and part[:-1].isalnum():
            add6(("w", part[:-1], a, a + len(part) - 1, clause, group))
            group += 1
        else:
            local = 0
            for tok in findall(part):
                if tok in breaks:
                    clause += 1
                    group += 1
                elif tok in commas:
                    group += 1
                else:
                    b = part.find(tok, local)
                    local = b + len(tok)
                    kind = "l" if tok in leets else "w"
                    add6((kind, tok, a + b, a + local, clause, group))
    toks = Tokens()
    if rows6:
        columns = list(map(list, zip(*rows6, strict=True)))
        toks.kind, toks.text, toks.start, toks.end, toks.clause, toks.group = columns
        toks.pos = list(map(float, range(len(rows6))))
    toks.evasion = [""] * len(rows6)
    return toks


def _ascii_parts(text: str, parts: list[str]) -> list[_Row]:
    """As :func:`_single_spaced` where the white space varies: each part is found."""
    clause = group = 0
    pos = 0.0
    cursor = 0
    find = text.find
    rows: list[_Row] = []
    add = rows.append
    breaks, commas, leets = _ASCII_BREAKS, _ASCII_COMMAS, _ASCII_LEET
    findall = _TOKEN_ASCII.findall
    for part in parts:
        if part.isalnum():
            a = find(part, cursor)
            cursor = a + len(part)
            add(("w", part, a, cursor, clause, group, pos))
            pos += 1
            continue
        if part[-1] == "," and part[:-1].isalnum():
            word = part[:-1]
            a = find(word, cursor)
            cursor = a + len(word)
            add(("w", word, a, cursor, clause, group, pos))
            pos += 1
            group += 1
            continue
        for tok in findall(part):
            if tok in breaks:
                clause += 1
                group += 1
            elif tok in commas:
                group += 1
            else:
                a = find(tok, cursor)
                cursor = a + len(tok)
                add(("l" if tok in leets else "w", tok, a, cursor, clause, group, pos))
                pos += 1
    return rows


def _ascii(text: str) -> list[_Row]:
    """ASCII text without ``!``: words, clause ends, commas and leet symbols, told apart by
    their text."""
    clause = group = 0
    pos = 0.0
    cursor = 0
    find = text.find
    rows: list[_Row] = []
    add = rows.append
    breaks, commas, leets = _ASCII_BREAKS, _ASCII_COMMAS, _ASCII_LEET
    for tok in _TOKEN_ASCII.findall(text):
        if tok in breaks:
            clause += 1
            group += 1
        elif tok in commas:
            group += 1
        else:
            a = find(tok, cursor)
            cursor = a + len(tok)
            add(("l" if tok in leets else "w", tok, a, cursor, clause, group, pos))
            pos += 1
    return rows


def _general(text: str) -> list[_Row]:
    """Any text: the regex with one group per kind of token."""
    clause = group = 0
    pos = 0.0
    cursor = 0
    find = text.find
    rows: list[_Row] = []
    add = rows.append
    for w, u, sym, brk, comma, leet in TOKEN.findall(text):
        if w:
            kind, tok = "w", w
        elif brk:
            clause += 1
            group += 1
            continue
        elif comma:
            group += 1
            continue
        elif u:
            kind, tok = "u", u
        elif sym:
            kind, tok = "s", sym
        else:
            kind, tok = "l", leet
        a = find(tok, cursor)
        cursor = a + len(tok)
        add((kind, tok, a, cursor, clause, group, pos))
        pos += len(tok) / 2 + 1 if kind == "u" else 1
    return rows


def _rows_to_tokens(rows: list[_Row]) -> Tokens:
    toks = Tokens()
    if rows:
        columns = list(map(list, zip(*rows, strict=True)))
        toks.kind, toks.text, toks.start, toks.end = columns[:4]
        toks.clause, toks.group, toks.pos = columns[4:]
    toks.evasion = [""] * len(rows)
    return toks


def has_number_word(toks: Tokens, lex: Lexicon) -> bool:
    """Is a word token a number word ("twelve")?"""
    numbers = lex.numbers
    return not numbers.keys().isdisjoint(toks.text) and any(
        k == "w" and t in numbers for t, k in zip(toks.text, toks.kind, strict=True)
    )
