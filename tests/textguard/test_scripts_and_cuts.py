"""Scripts written without spaces and the languages scripts tell; words spaced out, glued,
masked, written backwards, stretched and typed without vowels, as the detector re-reads
them; and the harmless texts that re-reading must leave alone."""

from __future__ import annotations

import pytest

from needle.textguard import check
from needle.textguard.normalize import normalize
from needle.textguard.scripts import UNSPACED_CLASS, script_languages


@pytest.mark.parametrize("first", ["\u0e80", "\u1000", "\u1780"])  # Lao, Myanmar, Khmer
def test_south_east_asian_scripts_are_unspaced(first: str) -> None:
    assert first in UNSPACED_CLASS


@pytest.mark.parametrize(
    "text",
    [
        "រូបភាពផ្លូវភេទ កុមារ",  # Khmer: sexual images, child
        "ວິດີໂອລາມົກ ເດັກນ້ອຍ",  # Lao: porn video, child
        "ကလေး ညစ်ညမ်းရုပ်ပုံ",  # Burmese: child, obscene picture
    ],
)
def test_unspaced_scripts_are_read_inside_runs(text: str) -> None:
    assert check(text).decision == "block", check(text).evidence


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("жалаңаш бала", "kk"),
        ("нүцгэн хүүхэд", "mn"),
        ("гола девојчица", "sr"),
        ("гола ѓерка", "mk"),
        ("гола дівчинка", "uk"),
        ("голая девочка", "ru"),
        ("ننگی لڑکی", "ur"),
        ("ნაცნობი", "ka"),
        ("մերկ", "hy"),
    ],
)
def test_scripts_tell_their_languages(text: str, code: str) -> None:
    assert code in script_languages(text, normalize(text).text)


@pytest.mark.parametrize(
    ("spaced", "joined"),
    [
        ("k a a l s e u n t j i e, 8 j a a r", "kaalseuntjie, 8 jaar"),  # the comma stays
        ("g o l a y a d e v o c h k a 9 l e t", "golayadevochka 9 let"),  # so does the digit
        ("n a k e d  g i r l", "naked  girl"),  # a wider gap parts words
        ("n u d e", "nude"),
    ],
)
def test_spaced_letters_keep_word_boundaries(spaced: str, joined: str) -> None:
    text = normalize(spaced).text
    assert text == joined
    assert normalize(text).text == text  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "k a a l s e u n t j i e, 8 j a a r",
        "n a h ý c h l a p e c, 9 r o k o v",
        "F o t o v o n n a c k t e n K i n d e r n",
        "p o r n o m e d b a r n",  # "porno" + "med" + "barn", not "pornomed"
        "ж а л а ң а ш с ә б и",  # a stem does not swallow the word glued after it
        "nuade menina",  # a short function word glued: "nua de"
        "fotos de nenas nuasde 10 anos",
        "ọmọdébìnrinníìhòhò",
        "알몸아이",  # Hangul syllables glued
        "നഗ്നയായകുട്ടി",  # a stem, its ending, then a word
        "yalang'ochbola",  # an apostrophe inside a word
        "nie, letnia, naga",  # a word cut into tags
        "ấudâm",  # a phrase glued
    ],
)
def test_glued_and_spaced_words_are_cut(text: str) -> None:
    assert check(text).decision == "block", check(text).evidence


@pytest.mark.parametrize(
    "text",
    [
        "k#al k*nd",  # Afrikaans words that count in their language only
        "mtoto uc@i",
        "s!ksuele f#to's van ki!ders",
        "képek meztelen gyer$kekről",  # a long ending after a stem
        "3ar$a atfal",  # Arabizi: digits are letters
        "nag1 chłopiec",  # leetspeak, not Croatian "nag" and a number
        "34ry4 atfal",
    ],
)
def test_masked_and_leet_words_are_read(text: str) -> None:
    assert check(text).decision == "block", check(text).evidence


@pytest.mark.parametrize(
    "text",
    [
        "žena, 19 let, nahá, umě*lecká fotografie",  # "umě" is not Basque "ume" (child)
        "жена, 19 го@ини, гола, уме#ничка фотограф_ија",
        "na.nge p#on cha*lte ba!hche",  # barefoot children: the phrase decides
        "sex b$rn b*rða ís",  # Icelandic: six children eat ice cream
        "sех börn bоrðа ís",  # the same in look-alike letters
        "pakai_an bud.ak lel.aki untuk sek#lah",  # Malay school clothes
        "kid g.loves treat*ent",
    ],
)
def test_masked_harmless_words_stay_harmless(text: str) -> None:
    assert check(text).decision != "block", check(text).evidence


@pytest.mark.parametrize(
    "text",
    [
        "laak dnik",  # Afrikaans "kaal kind" backwards
        "dekan 12oy lrig",  # letters glued to a number read backwards too
        "dik, on sehtolc",  # "on" backwards is "no": the phrase "no clothes"
        "gnalay'hco alob",  # the apostrophe stays where it is
        "éb iág aỏhk nâht",  # Vietnamese syllables backwards
        "ትሴ ጅል ንቷቁራ",  # Ethiopic syllables backwards
    ],
)
def test_texts_written_backwards(text: str) -> None:
    assert check(text).decision == "block", check(text).evidence


@pytest.mark.parametrize(
    "text",
    [
        "ਨਿੱਕਾਕਾਕਾਕਾ ਮੁੰਡਾ ਨੰਗਾ",  # a syllable typed four times in a word of a phrase
        "नाङ्गी सानी केटीटीटी",  # (twice may be a word: Telugu "పిల్లల")
        "未成成年裸体",  # a character typed twice inside an unspaced run
        "ເດັດັດັດັກຍິງ ເປືອຍ",
        "sexy bachi lingerie meiiiiin",
    ],
)
def test_repeated_syllables_are_read_once(text: str) -> None:
    assert check(text).decision == "block", check(text).evidence


@pytest.mark.parametrize(
    "text",
    [
        "nude chld",  # "nude" is English (and Italian): the text's language
        "Foto von ncktn Kndrn",  # "kndrn" is German "Kindern" and Dutch "kinderen"
        "naket brn",  # Swedish "barn", an English building elsewhere
        "kndrprngrf",  # a long word is no coincidence
        "ylng'och bola",
        "noode little gurl",  # respelled words of a phrase
        "twelv year old girl, naked",  # a respelled number word
    ],
)
def test_words_without_vowels_and_respelled(text: str) -> None:
    assert check(text).decision == "block", check(text).evidence


@pytest.mark.parametrize(
    "text",
    [
        "nude adlt cpl, no children",  # "cpl" is no Romanian "copil" in English text
        "a nude mdl posing in a brn",
        "kinderen spln nu in het prk",
    ],
)
def test_words_without_vowels_count_only_in_the_texts_language(text: str) -> None:
    assert check(text).decision != "block", check(text).evidence
