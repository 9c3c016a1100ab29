"""The text guard's fast paths give what the general code gives.

The detector and normaliser take shortcuts on common input (pure-ASCII text, single spaces
between words, no unit after a number). Each shortcut is checked here against the general
code it replaces, on generated text with the characters that make the shortcuts fragile.
"""

from __future__ import annotations

import importlib
import random
import re

import pytest

from needle.textguard import normalize
from needle.textguard.terms import load_lexicon

ages_mod = importlib.import_module("needle.textguard.ages")
normalize_mod = importlib.import_module("needle.textguard.normalize")
tokens_mod = importlib.import_module("needle.textguard.tokens")

#: pieces that exercise the tokenizer's cases: words, clause ends, commas, leet symbols,
#: apostrophes, brackets, numbers, decimals, double spaces, tabs
PIECES = [
    "nude", "child", "a", "of", "12yo", "1.5", "8k", "girl's", "l'enfant", ",", ".", ";",
    "?", ":", "$ex", "r@y", "|", "+", "(face)", "[bg]", "<lora:x v2>", "sci-fi", "n-a-k-e-d",
    "n u d e", "  ", "\t", "...", "'", "18+", "age 12", "10 years old", "grade 5", "x",
    "99", "1-2-3-4", "a.b.c", "s3x", "4 2",
]  # fmt: skip


def _texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 60)
        sep = rng.choice([" ", ", ", "  ", " , "])
        out.append(sep.join(rng.choice(PIECES) for _ in range(k)))
    return out


def _reference_tokens(text: str) -> list[tuple[str, str, int, int, int, int, float]]:
    """The general tokenizer (the regex with named groups, every token found by ``find``)."""
    rows = []
    clause = group = 0
    pos = 0.0
    cursor = 0
    for w, u, sym, b, c, leet in tokens_mod.TOKEN.findall(text):
        if w:
            kind, tok = "w", w
        elif b:
            clause += 1
            group += 1
            continue
        elif c:
            group += 1
            continue
        elif u:
            kind, tok = "u", u
        elif sym:
            kind, tok = "s", sym
        else:
            kind, tok = "l", leet
        a = text.find(tok, cursor)
        cursor = a + len(tok)
        rows.append((kind, tok, a, cursor, clause, group, pos))
        pos += len(tok) / 2 + 1 if kind == "u" else 1
    return rows


@pytest.mark.parametrize("seed", range(4))
def test_tokenizer_fast_paths_match_the_general_regex(seed: int) -> None:
    lex = load_lexicon()
    for raw in _texts(seed, 150):
        text = normalize(raw).text
        toks, _ = tokens_mod.tokenize(text, lex)
        columns = (toks.kind, toks.text, toks.start, toks.end, toks.clause, toks.group, toks.pos)
        got = list(zip(*columns, strict=True))
        assert got == _reference_tokens(text), text
        assert toks.evasion == [""] * len(got)


@pytest.mark.parametrize("seed", range(4))
def test_number_spans_match_the_regex(seed: int) -> None:
    for raw in [*_texts(seed, 150), "", "12", "a1b22c333", "٣ years", "x 7"]:
        expected = [m.span() for m in re.finditer(r"\d+", raw)]
        assert ages_mod._number_spans(raw) == expected, raw


def _reference_maybe_spaced(text: str) -> bool:
    short = 0
    for part in text.split():
        if len(part) <= 2:
            short += 1
            if short >= 3:
                return True
        else:
            short = 0
            if len(part) >= 5 and not part.isalnum():
                letters = sum(map(str.isalnum, part))
                if letters >= 3 and letters * 2 <= len(part) + 1:
                    return True
    return False


@pytest.mark.parametrize("seed", range(4))
def test_spaced_letters_precheck_matches_the_word_loop(seed: int) -> None:
    texts = _texts(seed, 150)
    texts += [t * 10 for t in texts[:40]]  # long ASCII texts take the shape path
    seen = set()
    for text in texts:
        got = normalize_mod._maybe_spaced(text)
        assert got == _reference_maybe_spaced(text), text
        seen.add(got)
    assert seen == {True, False}  # both answers were exercised


def test_age_prefilters_pass_every_age_the_unit_regexes_find() -> None:
    lex = load_lexicon()
    after, before, _ = ages_mod._age_regexes(lex)
    after_pre, before_pre = ages_mod._age_prefilters(lex)
    assert after_pre is not None and before_pre is not None
    samples = ["12 years old", "12yo", "5th grade", "age 12", "aged: 9", "12 años", "12歳"]
    samples += _texts(9, 200)
    found = 0
    for text in samples:
        for m in re.finditer(r"\d+", text):
            a = m.start()
            if after.match(text, a) is not None:
                found += 1
                assert after_pre.match(text, a) is not None, text
            lo = max(0, a - 24)
            if before.search(text, lo, a) is not None:
                found += 1
                assert before_pre.search(text, lo, a) is not None, text
    assert found > 10
