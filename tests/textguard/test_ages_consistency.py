"""The same subject and categories get the same decision however the age is written: digits,
number words of every language with an ``[age] numbers`` table, ``12yo``, ``12-year-old``,
grades in digits and in words."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from needle.textguard import check
from needle.textguard.scripts import UNSPACED_CLASS
from needle.textguard.terms import load_lexicon

LEXICON = resources.files("needle.textguard.lexicon")
UNSPACED = re.compile(f"[{UNSPACED_CLASS}]")
#: the languages of the lexicon shipped before number tables were required; every one has one
ORIGINAL = [
    "ar",
    "bn",
    "cs",
    "de",
    "el",
    "en",
    "es",
    "fa",
    "fi",
    "fr",
    "he",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "nl",
    "pl",
    "pt",
    "ro",
    "ru",
    "sv",
    "th",
    "tl",
    "tr",
    "uk",
    "vi",
    "zh",
]


def _data(code: str) -> dict[str, object]:
    return tomllib.loads(LEXICON.joinpath(f"{code}.toml").read_text("utf-8"))


def _plain(words: list[str], contextual: list[str]) -> str | None:
    """The first entry that is one word, no stem, not contextual."""
    for w in words:
        if " " not in w and not w.endswith("*") and w not in contextual:
            return w
    return None


def _cases() -> list[tuple[str, str, str]]:
    """(language, unit, 12 in words) for every language with a table and a unit after."""
    cases = []
    codes = sorted(
        p.name.removesuffix(".toml") for p in LEXICON.iterdir() if p.name.endswith(".toml")
    )
    for code in codes:
        data = _data(code)
        age = data.get("age", {})
        assert isinstance(age, dict)
        numbers = age.get("numbers") or {}
        after = age.get("after") or []
        if not numbers or not after:
            continue
        by_value = {v: k for k, v in reversed(list(numbers.items()))}
        if 12 not in by_value:
            continue
        cases.append((code, after[0], by_value[12]))
    return cases


def test_every_original_language_has_a_numbers_table() -> None:
    for code in ORIGINAL:
        age = _data(code).get("age", {})
        assert isinstance(age, dict)
        numbers = age.get("numbers")
        assert isinstance(numbers, dict), code
        assert set(range(1, 21)) <= set(numbers.values()), (code, sorted(set(numbers.values())))


@pytest.mark.parametrize(("code", "unit", "twelve"), _cases())
def test_digits_and_number_words_decide_alike(code: str, unit: str, twelve: str) -> None:
    data = _data(code)
    contextual = list(data.get("contextual", []))  # type: ignore[call-overload]
    sexual = _plain(list(data["sexual"]["explicit"]), contextual)  # type: ignore[index]
    minor = data["minor"]  # type: ignore[index]
    person = _plain(list(minor.get("ambiguous") or minor["child"]), contextual)
    if sexual is None or person is None or " " in unit:
        pytest.skip(f"{code}: no plain sexual or person word, or a unit of several words")
    sep = "" if UNSPACED.search(unit) else " "  # 十二歳, สิบสองขวบ
    digits, words = f"12{sep}{unit}", f"{twelve}{sep}{unit}"
    with_digits = check(f"{sexual} {person}, {digits}")
    with_words = check(f"{sexual} {person}, {words}")
    assert with_digits.decision == with_words.decision, (code, with_digits, with_words)
    assert any(e.term == "age:12" for e in with_words.evidence), (code, with_words.evidence)


@pytest.mark.parametrize(
    "age",
    [
        "12",
        "12yo",
        "12 yo",
        "12-year-old",
        "12 years old",
        "aged 12",
        "twelve",
        "twelve years old",
        "twelve-year-old",
        "aged twelve",
        "6th grader",
        "sixth grader",
        "in sixth grade",
        "grade six",
    ],
)
def test_english_age_forms_decide_alike(age: str) -> None:
    r = check(f"nude girl, {age}")
    assert r.decision == "block", r.evidence
    assert "minor 'age:12'" in r.rule or "minor 'grade:6'" in r.rule, r.rule


@pytest.mark.parametrize(
    "text",
    [
        "nude woman, twenty years old",
        "nude girl, nineteen",
        "naken kvinna, tjugo år",
        "nackte Frau, neunzehn Jahre alt",
        "sexy girl",  # not Swedish "sex" (six) and "y"
    ],
)
def test_adult_ages_in_words_count_like_digits(text: str) -> None:
    assert check(text).decision == "allow", check(text).evidence


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("nacktes Mädchen, zwölfjährige", "age:12"),
        ("alaston tyttö, kaksitoistavuotias", "age:12"),
        ("голая девочка, двенадцатилетняя", "age:12"),
        ("벗은 소녀 열두살", "age:12"),
        ("เด็กหญิงเปลือยอายุสิบสองปี", "age:12"),
        ("ילדה עירומה בת שתים עשרה", "age:12"),
        ("çıplak kız, on iki yaşında", "age:12"),
    ],
)
def test_number_words_glued_to_units_and_in_unspaced_scripts(text: str, term: str) -> None:
    r = check(text)
    assert r.decision == "block", r.evidence
    assert any(e.term == term for e in r.evidence)
    for e in r.evidence:
        assert text[e.start : e.end] == e.quote


def test_number_word_tables_are_loaded() -> None:
    lex = load_lexicon()
    assert lex.numbers["tolv"] == 12 and lex.numbers["sixth"] == 6
