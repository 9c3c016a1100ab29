"""The lexicon files: they load, cover the languages and scripts promised, and stay consistent."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needle.errors import ConfigError
from needle.textguard.normalize import normalize
from needle.textguard.terms import (
    TIER_WEIGHTS,
    Lexicon,
    _compile_file,
    _finish,
    load_lexicon,
    trie_regex,
)

LANGUAGE_FILES = sorted(
    p.name
    for p in resources.files("needle.textguard.lexicon").iterdir()
    if p.name.endswith(".toml") and p.name not in ("coded.toml", "emoji.toml")
)


def test_at_least_25_languages_in_all_major_scripts() -> None:
    lex = load_lexicon()
    languages = set(lex.languages) - {"coded", "emoji"}
    assert len(languages) >= 25, sorted(languages)
    scripts = {
        "Latin": "a-z",
        "Cyrillic": "\u0400-\u04ff",
        "Greek": "\u0370-\u03ff",
        "Arabic": "\u0600-\u06ff",
        "Hebrew": "\u0590-\u05ff",
        "Devanagari": "\u0900-\u097f",
        "Thai": "\u0e00-\u0e7f",
        "CJK": "\u4e00-\u9fff",
        "Hangul": "\uac00-\ud7af",
        "Kana": "\u3040-\u30ff",
    }
    keys = list(lex.exact) + list(lex.stems) + list(lex.unspaced) + list(lex.phrases)
    for script, chars in scripts.items():
        regex = re.compile(f"[{chars}]")
        assert any(regex.search(k) for k in keys), script


@pytest.mark.parametrize("name", LANGUAGE_FILES)
def test_every_language_has_both_sides_and_benign_senses(name: str) -> None:
    data = tomllib.loads(
        resources.files("needle.textguard.lexicon").joinpath(name).read_text("utf-8")
    )
    assert data["language"] and data["name"]
    assert data["sexual"]["explicit"], "explicit sexual words"
    assert data["minor"]["child"], "child words"
    assert data.get("adult", {}).get("terms"), "adult words (counter-evidence)"
    assert data.get("age", {}).get("after") or data.get("age", {}).get("before"), "age units"
    assert data.get("benign", {}).get("phrases"), "benign senses (naked eye, sex education...)"


def test_entries_are_normalised_keys() -> None:
    lex = load_lexicon()
    for key in list(lex.exact) + list(lex.stems):
        assert normalize(key).text == key, key


def test_weights_and_tiers() -> None:
    lex = load_lexicon()
    for senses in list(lex.exact.values()) + list(lex.stems.values()) + list(lex.unspaced.values()):
        for sense in senses:
            if sense.category == "negation":
                continue
            assert TIER_WEIGHTS[(sense.category, sense.tier)] == sense.weight
            assert 0.0 <= sense.weight <= 1.0


def test_longest_stem_wins() -> None:
    lex = load_lexicon()
    assert lex.lookup("nacktschnecken")[0].category == "benign"  # slug, not "nackt*"
    assert lex.lookup("nacktfoto")[0].category == "sexual"
    assert lex.lookup("아이스크림")[0].category == "benign"  # ice cream, not 아이 "child"
    assert lex.lookup("아이가")[0].category == "minor"


def test_bad_lexicon_data_is_a_clear_error() -> None:
    lex = Lexicon()
    with pytest.raises(ConfigError, match="unknown tier"):
        _compile_file(lex, "xx", {"sexual": {"loud": ["x"]}}, "xx.toml")
    with pytest.raises(ConfigError, match="empty entry"):
        _compile_file(lex, "xx", {"sexual": {"explicit": ["  "]}}, "xx.toml")


def test_a_small_lexicon_compiles() -> None:
    lex = Lexicon()
    _compile_file(
        lex,
        "xx",
        {
            "sexual": {"explicit": ["bar"]},
            "minor": {"child": ["foo*", "small foo"]},
            "hints": {"words": ["the"]},
            "age": {"after": ["yrs"]},
        },
        "xx.toml",
    )
    _finish(lex)
    assert lex.lookup("bar")[0].category == "sexual"
    assert lex.lookup("foolish")[0].term == "foo*"
    assert lex.phrases["small"][0][0] == ("small", "foo")
    assert "the" in lex.hints and ("yrs",) in lex.unit_words


@given(st.lists(st.text(alphabet="abcé裸", min_size=1, max_size=6), min_size=1, max_size=20))
def test_trie_regex_finds_the_longest_key(keys: list[str]) -> None:
    regex = re.compile(trie_regex(keys))
    for key in keys:
        m = regex.match(key)
        assert m is not None
        # the match is the longest key that is a prefix of this key
        assert m.group() == max((k for k in keys if key.startswith(k)), key=len)
