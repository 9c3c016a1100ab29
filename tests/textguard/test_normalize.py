"""Normalisation: each step by example, and the two properties that hold for any text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needle.textguard.normalize import (
    fold_char,
    fold_leet,
    normalize,
    skeleton,
    squeeze,
    transliterate,
)


def norm(text: str) -> str:
    return normalize(text).text


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("NUDE Child", "nude child"),  # case
        ("ＮＵＤＥ", "nude"),  # full-width
        ("𝐧𝐮𝐝𝐞 𝓬𝓱𝓲𝓵𝓭", "nude child"),  # mathematical styles
        ("ⓝⓤⓓⓔ", "nude"),  # circled letters
        ("ﬁne", "fine"),  # ligature
        ("nüde", "nude"),  # precomposed diacritic
        ("nu\u0308de", "nude"),  # combining diacritic
        ("z̷̢a̴l̵g̸o̶", "zalgo"),  # Zalgo stack
        ("Straße", "strasse"),  # case folding expands
        ("ÇIPLAK çıplak", "ciplak ciplak"),  # Turkish dotless i meets dotted I
        ("niña", "niña"),  # ñ is a letter of its own
        ("أطفال", "اطفال"),  # hamza folds
        ("عــاريــة", "عاريه"),  # tatweel stretch, teh marbuta
        ("ילדה", "ילדה"),
        ("ΓΥΜΝΉ", "γυμνη"),  # Greek tonos, case
        ("голая", "голая"),  # Cyrillic words stay Cyrillic
        ("ｶﾞｷ", "ガキ"),  # half-width kana with voicing mark recomposed
    ],
)
def test_character_folding(text: str, folded: str) -> None:
    assert norm(text) == folded


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("nu\u200bde", "nude"),  # zero-width space
        ("nu\u200d\u200cde", "nude"),  # joiners
        ("nu\u00adde", "nude"),  # soft hyphen
        ("nu\u202ede", "nude"),  # bidi override
        ("nu\x00\x1fde", "nude"),  # control characters
        ("nu\ufe0fde", "nude"),  # variation selector
        ("nu\ue000de", "nude"),  # private use
        ("nu\ud800de", "nude"),  # lone surrogate
        ("nude\tchild\r\n", "nude child \n"),  # white space kept as separators
    ],
)
def test_invisible_and_control_characters_removed(text: str, folded: str) -> None:
    assert norm(text) == folded


def test_camel_case_split_for_file_names() -> None:
    assert norm("NudeChild_01.jpg") == "nude child 01.jpg"
    assert norm("Topless14YearOld.png") == "topless14 year old.png"
    assert norm("iPhone McDonald") == "iphone mcdonald"  # not split: too short / upper pairs


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("(nude:1.3), [child]", "(nude), [child]"),
        ("<lora:thing_v2:0.8>", "<lora:thing v2>"),
        ("(a:1:2)", "(a)"),
        ("time: 10:30", "time: 10:30"),  # not a weight: no closing bracket
    ],
)
def test_prompt_weights_removed(text: str, folded: str) -> None:
    assert norm(text) == folded


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("n u d e", "nude"),
        ("n-a-k-e-d", "naked"),
        ("n.u.d.e child", "nude child"),
        ("n_u_d_e", "nude"),
        ("n * u * d * e", "nude"),
        ("n     u     d     e", "n     u     d     e"),  # more than 3 apart: words
        ("1 2 3", "1 2 3"),  # digits alone are not joined
        ("a b", "a b"),  # two single letters are ordinary text
        ("裸 体 儿 童", "裸体儿童"),
    ],
)
def test_spaced_letters_joined(text: str, folded: str) -> None:
    assert norm(text) == folded


def test_homoglyphs_folded_in_mixed_script_words_only() -> None:
    assert norm("nаkеd") == "naked"  # Cyrillic а, е inside a Latin word
    assert norm("NАКЕD") == "naked"  # upper-case Cyrillic А, К, Е between Latin N and D
    assert norm("ребенок") == "ребенок"  # a Russian word is left alone


def test_repeated_letters_shrink_to_two() -> None:
    assert norm("nuuuuude") == "nuude"
    assert norm("teen") == "teen"
    assert norm("1111") == "1111"  # digits are not letters


def test_fold_char_is_a_fixed_point_for_every_bmp_character() -> None:
    for cp in range(0, 0x10000, 7):  # a stride keeps this fast and still covers every block
        c = chr(cp)
        folded = fold_char(c)
        assert "".join(fold_char(x) for x in folded) == folded, hex(cp)


def test_leet_squeeze_skeleton_transliterate() -> None:
    assert fold_leet("s3x") == "sex"
    assert fold_leet("$ex") == "sex"
    assert fold_leet("ch1ld") == "child"
    assert fold_leet("1oli", one="l") == "loli"
    assert fold_leet(fold_leet("n00d")) == fold_leet("n00d")  # idempotent
    assert squeeze("nuude") == "nude"
    assert squeeze(squeeze("teeen")) == squeeze("teeen")
    assert skeleton("ѕех") == "sex"
    assert skeleton("ребенок") is None  # б has no Latin look-alike: a real Russian word
    assert transliterate("порно") == "porno"
    assert transliterate("πορνο") == "porno"
    assert transliterate("nude") == "nude"
    assert transliterate("裸") is None


# --- properties -------------------------------------------------------------------------------

#: text drawn from every kind of character, weighted towards the ones evasions use
_SPECIAL = st.sampled_from(
    list(
        "nudechildNUDE _-.:()[]<>01234,\n\t\u200b\u200d\u00ad\x00\x1f\ufe0fаеоіΗηｎ𝐧ñßﬁ\u0301\u0308ｶﾞ裸体เด็กअ्ािی"
    )
)
_TEXT = st.lists(st.one_of(_SPECIAL, st.characters()), max_size=60).map("".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_normalising_twice_equals_normalising_once(text: str) -> None:
    once = normalize(text).text
    assert normalize(once).text == once


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT, st.data())
def test_every_span_maps_back_into_the_original(text: str, data: st.DataObject) -> None:
    n = normalize(text)
    if n.starts is None:
        assert len(n.text) == len(text)
    else:
        assert len(n.starts) == len(n.text)
        assert n.starts == sorted(n.starts)
    if not n.text:
        return
    i = data.draw(st.integers(0, len(n.text) - 1))
    j = data.draw(st.integers(i + 1, len(n.text)))
    start, end = n.span(i, j)
    assert 0 <= start < end <= len(text)
    assert text[start:end] == n.quote(i, j)


_ASCII_TEXT = st.lists(
    st.one_of(
        st.sampled_from(list("nudeNUDEchild _-.:()[]<>0123,\n\t\x00\x1f")),
        st.characters(max_codepoint=127),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=400)
@given(_ASCII_TEXT, st.data())
def test_quoted_span_folds_back_to_the_folded_span(text: str, data: st.DataObject) -> None:
    """Quoting is faithful: fold the quoted original again and the folded span comes back
    (separators and doubled letters aside: joins, camelCase breaks and repeats depend on
    context at the edges of a span)."""
    n = normalize(text)
    if not n.text.strip():
        return
    i = data.draw(st.integers(0, len(n.text) - 1))
    j = data.draw(st.integers(i + 1, len(n.text)))
    quote = n.quote(i, j)
    want = squeeze("".join(c for c in n.text[i:j] if c.isalnum()))
    got = squeeze("".join(c for c in normalize(quote).text if c.isalnum()))
    assert want in got


def test_span_of_a_word_quotes_the_original_spelling() -> None:
    text = "a ｎ\u200bｕｄｅ photo"
    n = normalize(text)
    i = n.text.index("nude")
    start, end = n.span(i, i + 4)
    assert text[start:end] == "ｎ\u200bｕｄｅ"


@given(st.text(max_size=40))
def test_folded_text_is_nfkc_stable_and_lowercase(text: str) -> None:
    folded = normalize(text).text
    assert folded == folded.casefold() or any(unicodedata.category(c) == "Cn" for c in folded)


def test_works_without_the_confusables_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """The textguard extra is optional: a built-in table of look-alikes is used without it."""
    import importlib
    import sys

    nm = importlib.import_module("needle.textguard.normalize")

    monkeypatch.setitem(sys.modules, "confusable_homoglyphs", None)
    monkeypatch.setitem(sys.modules, "confusable_homoglyphs.confusables", None)
    nm._confusables.cache_clear()
    try:
        assert nm._confusables() == nm._BUILTIN_CONFUSABLES
        assert nm.normalize("nаkеd").text == "naked"
        assert nm.skeleton("ѕех") == "sex"
    finally:
        nm._confusables.cache_clear()
