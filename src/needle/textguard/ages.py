"""Ages and school grades: ``12yo``, ``12 años``, ``12歳``, ``בת 12``, ``5th grade``.

In: the normalised text, its tokens and the lexicon's units (``age`` and ``grade`` tables of
every language: units after a number, units before it, number words). Out: hits (:class:`Hit`):
ages under :data:`MINOR_AGE` and school grades are ``minor`` evidence, older ages ``adult``
counter-evidence.

Three passes, each for what the others cannot see:

1. :func:`find_ages` on the text: at each number, one regex built from every language's
   units after it and, on the text just before it, one of the units before it; number words
   with a unit, before or after it or glued to it (:mod:`~needle.textguard.agewords`:
   "twelve year old", "zwölfjährige", "aged twelve", "sixth grader"); ``18+``;
2. :func:`cjk_ages` inside unspaced runs (``十二歳``, ``สิบสองขวบ``);
3. :func:`token_ages` on the tokens, after words were re-cut: units and number words
   split, stretched, in leetspeak, reversed or without vowels, after the number or before it
   ("10 ye ar old", "10 yeeear oold", "10 raey dlo", "fj0r73n år", "d4r454 la 5", "tlv år
   gmml"), and a bare number or number word after a person word ("girl, 12", "girl,
   twelve").

A number word counts in its own language only: with a unit of that language, or after a
person word of that language or of one the text's scripts and function words point to
(Hausa "tara" is nine, and a name after "naked girl"). A number before a person word
counts them ("woman, two children"); digits inside a word with other digits are letters
("b4d11y"); a point after a letter is no decimal point (Thai ``ป.5``, grade 5).
"""

from __future__ import annotations

import re

from needle.textguard.agewords import number_word_regex, unspaced_word_ages, word_ages
from needle.textguard.hits import Hit, Spans, inside
from needle.textguard.normalize import canonical, skeleton, squeeze, unrepeated
from needle.textguard.respell import vowelless
from needle.textguard.terms import SPACED_CHAR, Lexicon, Sense, trie_regex
from needle.textguard.tokens import DIGIT, Tokens

__all__ = [
    "MAX_AGE",
    "MINOR_AGE",
    "age_hit",
    "age_sense",
    "cjk_ages",
    "find_ages",
    "token_ages",
]

#: age of majority: under it, a person is a child (UN Convention on the Rights of the Child,
#: art. 1; the age used by NCMEC and the IWF for CSAM)
MINOR_AGE = 18
#: ages above this are not read as ages ("200 years old tree")
MAX_AGE = 99
_ADULT_PLUS = re.compile(r"(?<![\d.])(1[89]|[2-9]\d)\s*\+")
_AGE_GAP = re.compile(r"[\s,(\[:]*")
_CJK_NUM = "一二三四五六七八九十两兩"
_CJK_AGE = re.compile(rf"([{_CJK_NUM}]{{1,3}})\s*(?:歳|才|岁|歲)")


def _unit_pattern(units: list[str]) -> str:
    """Unit words as one trie regex (the longest first; its cost does not grow with the
    number of languages); spaces and hyphens between their words are optional."""
    keys = {" ".join(p for p in re.split(r"[\s\-]+", unit) if p) for unit in units}
    return trie_regex(sorted(k for k in keys if k)).replace("\\ ", "[\\s\\-]*")


def _needs_boundary(unit: str) -> bool:
    last = unit[-1]
    return last.isascii() or "\u0370" <= last <= "\u04ff"


_AGE_CACHE: dict[int, tuple[Lexicon, re.Pattern[str], re.Pattern[str], re.Pattern[str] | None]] = {}


def _age_regexes(lex: Lexicon) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str] | None]:
    """Three regexes built once from every language's units: units after a number (matched
    at each number), units before a number (matched on the text just before it), and number
    words with a unit after them (:mod:`~needle.textguard.agewords`)."""
    cached = _AGE_CACHE.get(id(lex))
    if cached is not None and cached[0] is lex:
        return cached[1], cached[2], cached[3]
    w = SPACED_CHAR
    sep = r"\s*[-‐–]?\s*"
    after = []
    for group, units in (("a", lex.age_after), ("g", lex.grade_after)):
        bounded = [u for u in units if _needs_boundary(u)]
        free = [u for u in units if not _needs_boundary(u)]
        ordinal = r"(?:st|nd|rd|th|e|ème|eme|\.|º|o)?" if group == "g" else ""
        if bounded:
            after.append(
                rf"(?P<{group}b>\d{{1,3}}){ordinal}{sep}(?:{_unit_pattern(bounded)})(?!{w})"
            )
        if free:
            after.append(rf"(?P<{group}f>\d{{1,3}}){ordinal}{sep}(?:{_unit_pattern(free)})")
    before = []
    for group, units in (("A", lex.age_before), ("G", lex.grade_before)):
        if units:
            before.append(rf"(?<!{w})(?P<{group}>{_unit_pattern(list(units))})\s*[:=]?{sep}\Z")
    after_regex = re.compile("|".join(after))
    before_regex = re.compile("|".join(before))
    words = number_word_regex(lex)
    if len(_AGE_CACHE) > 16:
        _AGE_CACHE.clear()
    _AGE_CACHE[id(lex)] = (lex, after_regex, before_regex, words)
    return after_regex, before_regex, words


def _cjk_number(s: str) -> int:
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")}
    digits["两"] = digits["兩"] = 2
    if "十" not in s:
        return digits.get(s[-1], 0)
    tens, _, ones = s.partition("十")
    return (digits.get(tens, 1) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)


def age_hit(value: int, start: int, end: int, *, grade: bool = False) -> Hit | None:
    if grade:
        if not 0 <= value <= 12:
            return None
        tier = "child" if value <= 8 else "youth"
        weight = 1.0 if tier == "child" else 0.9
        return Hit("minor", tier, weight, f"grade:{value}", "und", start, end, 0.0, 0)
    if not 0 <= value <= MAX_AGE:
        return None
    if value < MINOR_AGE:
        return Hit("minor", "child", 1.0, f"age:{value}", "und", start, end, 0.0, 0)
    return Hit("adult", "age", 0.0, f"age:{value}", "und", start, end, 0.0, 0)


_PREFILTER_CACHE: dict[int, tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = {}


def _age_prefilters(lex: Lexicon) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """Cheap necessary conditions for the two unit regexes (``None``: no shortcut).

    The unit alternations are long and Python's regex engine tries them one by one at every
    number; most numbers in prompts (``8k``, ``v2``) are followed or preceded by no unit at
    all. Each prefilter is the same pattern cut after the unit's first (after) or last
    (before) character, so it matches wherever the full regex does.
    """
    cached = _PREFILTER_CACHE.get(id(lex))
    if cached is not None:
        return cached
    sep = r"\s*[-‐–]?\s*"
    ordinal = r"(?:st|nd|rd|th|e|ème|eme|\.|º|o)?"
    after_units = [*lex.age_after, *lex.grade_after]
    before_units = [*lex.age_before, *lex.grade_before]
    firsts = {pieces[0][:2] for u in after_units if (pieces := _pieces(u))}
    lasts = {pieces[-1][-1] for u in before_units if (pieces := _pieces(u))}
    after = (
        re.compile(rf"\d{{1,3}}{ordinal}{sep}(?:{'|'.join(map(re.escape, sorted(firsts)))})")
        if firsts
        else None
    )
    before = (
        re.compile(rf"[{''.join(map(re.escape, sorted(lasts)))}]\s*[:=]?{sep}\Z") if lasts else None
    )
    if any(not _pieces(u) for u in after_units):
        after = None
    if any(not _pieces(u) for u in before_units):
        before = None
    _PREFILTER_CACHE[id(lex)] = (after, before)
    return after, before


def _pieces(unit: str) -> list[str]:
    return [p for p in re.split(r"[\s\-]+", unit) if p]


_NUMBER = re.compile(r"\d+")
#: how far back a unit before a number is looked for ("age of 12", "בת 12")
_BEFORE_WINDOW = 24


#: ASCII digits kept, every other ASCII character made a space (``str.translate`` table)
_DIGITS_ONLY = str.maketrans({chr(i): chr(i) if chr(i).isdigit() else " " for i in range(128)})


def _number_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the runs of digits (``\\d+``). For ASCII text, found by ``str.translate``
    and ``split`` (C loops) instead of a regex scan, which costs several times more."""
    if not text.isascii():
        return [m.span() for m in _NUMBER.finditer(text)]
    digits = text.translate(_DIGITS_ONLY)
    find = digits.find
    spans = []
    cursor = 0
    for num in digits.split():
        a = find(num, cursor)
        cursor = a + len(num)
        spans.append((a, cursor))
    return spans


def _after_decimal_point(text: str, a: int) -> bool:
    """Is the number at ``a`` the decimals of another (``1.5``, ``1,5``)? A point after a
    letter is an abbreviation (Thai ``ป.5``, Lao ``ປ.5``: grade 5), not a decimal point."""
    return a >= 2 and text[a - 1] in ".," and text[a - 2].isdigit()


def _leet_digits(text: str, a: int) -> bool:
    """Is the number at ``a`` leetspeak inside a word: letters before it, and a digit among
    them (``b4d11y`` is "badiiy", not 11 years; ``naked12yo`` is an age)?"""
    k = a - 1
    if k < 0 or not text[k].isalpha():
        return False
    while k >= 0 and text[k].isalnum():
        if text[k].isdigit():
            return True
        k -= 1
    return False


#: symbols typed in place of a letter (:mod:`~needle.textguard.masks`)
_MASKS = frozenset("*#%?~^@$!")


def _masked_on(text: str, z: int) -> bool:
    """Does the word go on at ``z`` behind a mask and a letter (``3ar*a``)?"""
    return z + 1 < len(text) and text[z] in _MASKS and text[z + 1].isalpha()


def find_ages(text: str, lex: Lexicon, word_starts: list[int]) -> list[Hit]:
    """Ages and grades in ``text``: digits with units (step 1 of the module docstring), and
    number words at ``word_starts`` (:func:`~needle.textguard.agewords.word_starts`)."""
    hits: list[Hit] = []
    after_regex, before_regex, _ = _age_regexes(lex)
    after_pre, before_pre = _age_prefilters(lex)
    if DIGIT.search(text):
        for a, z in _number_spans(text):
            if z - a > 3 or _after_decimal_point(text, a) or _leet_digits(text, a):
                continue
            if _decimal_follows(text, z):
                continue
            if after_pre is not None and after_pre.match(text, a) is None:
                m = None
            else:
                m = after_regex.match(text, a)
            if m is not None and _masked_on(text, m.end()):
                continue  # "3ar*a" (Arabizi "3arya"), not 3 years
            if m is not None:
                group = m.lastgroup or ""
                hit = age_hit(int(text[a:z]), a, m.end(), grade=group[0] == "g")
            else:
                lo = max(0, a - _BEFORE_WINDOW)
                if before_pre is not None and before_pre.search(text, lo, a) is None:
                    continue
                b = before_regex.search(text, lo, a)
                if b is None:
                    continue
                group = b.lastgroup or ""
                hit = age_hit(int(text[a:z]), b.start(), z, grade=group == "G")
            if hit is not None:
                hits.append(hit)
        if "+" in text:
            for m in _ADULT_PLUS.finditer(text):
                hit = age_hit(int(m.group(1)), m.start(), m.end())
                if hit is not None:
                    hits.append(hit)
    if word_starts:
        found = word_ages(text, lex, word_starts)
        for value, start, end, grade in found:
            if any(a < start and end <= z for _, a, z, _ in found):
                continue  # "iki yaşında" inside "on iki yaşında"
            hit = age_hit(value, start, end, grade=grade)
            if hit is not None:
                hits.append(hit)
    return hits


def age_sense(hit: Hit) -> Sense:
    """An age as a lexicon sense, for steps that handle senses (a number glued to a word)."""
    return Sense(hit.language, hit.category, hit.tier, hit.weight, hit.term)


def cjk_ages(run: str, base: int, lex: Lexicon) -> list[tuple[int, Hit]]:
    """Ages written with number words in an unspaced run that starts at ``base``: Chinese
    numerals (``十二歳``, any number up to 99), then the number words of the lexicon's
    unspaced languages (``สิบสองขวบ``); each with its offset in the run."""
    found: list[tuple[int, Hit]] = []
    starts: set[int] = set()
    if "歳" in run or "才" in run or "岁" in run or "歲" in run:
        for m in _CJK_AGE.finditer(run):
            hit = age_hit(_cjk_number(m.group(1)), base + m.start(), base + m.end())
            if hit is not None:
                found.append((m.start(), hit))
                starts.add(base + m.start())
    for value, start, end, grade in unspaced_word_ages(run, base, lex):
        hit = age_hit(value, start, end, grade=grade)
        if hit is not None and start not in starts:
            found.append((start - base, hit))
    return found


def token_ages(
    toks: Tokens,
    lex: Lexicon,
    persons: list[tuple[int, set[str]]],
    consumed: Spans,
    text: str,
    support: dict[str, float],
) -> list[Hit]:
    """Ages the text regex cannot see: units in re-cut words ("10 ye ar old"), squeezed,
    leet or reversed units and number words ("10 yeeear oold", "fj0r73n år", "d4r454 la 5",
    "10 raey dlo"), and bare numbers after a person word (``persons``: token indexes of
    minor or adult words with their languages, "girl, 12"; ``support``: the languages the
    text's scripts and function words point to)."""
    if not persons and not any(map(str.isdigit, toks.text)):
        return []  # a unit needs a number, or a number word a person word: leet and
        # stretched number words with a unit come with a person word ("fj0r73n år")
    numbers = _numbers_of(toks, lex)
    if not numbers:
        return []  # both steps below start from a number or number word
    hits, seen = _unit_ages(toks, lex, consumed, text, numbers)
    if persons:
        hits += _person_ages(toks, persons, seen, consumed, text, lex, support, numbers)
    return hits


#: a number token's value by language ("" for digits: any language)
_NumberValues = dict[str, int]
#: number values of words, memoised (a pure function of the lexicon, loaded once)
_NUMBER_MEMO: dict[str, _NumberValues | None] = {}
_NUMBER_MEMO_SIZE = 50_000


def _number_of(lex: Lexicon, w: str) -> _NumberValues | None:
    """The values of token ``w`` as a number: digits (up to two), or a number word as
    written, in leetspeak or stretched (``fj0r73n``, ``kaaksteist``)."""
    if w.isdigit():
        return {"": int(w)} if len(w) <= 2 else None
    if w[-1].isdigit() and not w[0].isdigit():
        # a number after a proclitic: Amharic "የ12" ("of 12")
        for clitic in lex.clitics.get(w[0], ()):
            if w.startswith(clitic) and w[len(clitic) :].isdigit() and len(w) - len(clitic) <= 2:
                return {"": int(w[len(clitic) :])}
    found = _NUMBER_MEMO.get(w, _MISSING)
    if found is not _MISSING:
        return found
    table = lex.number_languages
    found = table.get(w)
    if found is None and not w.isalpha():
        found = table.get(canonical(w))
    if found is None and DOUBLE_LETTER.search(w) is not None:
        found = table.get(squeeze(w))
    if found is None and not w.isascii():  # look-alike letters: "ікі" (Cyrillic і)
        skel = skeleton(w)
        if skel is not None:
            found = table.get(skel)
    if found is None and vowelless(w):  # "tlv", "twlv"
        for spelled in lex.age_consonants.get(w, ()):
            values = table.get(spelled)
            if values is not None:
                found = {**(found or {}), **values}
    if len(_NUMBER_MEMO) >= _NUMBER_MEMO_SIZE:
        _NUMBER_MEMO.clear()
    _NUMBER_MEMO[w] = found
    return found


_MISSING: _NumberValues = {}
DOUBLE_LETTER = re.compile(r"([^\W\d])\1")


#: whether a word may be the first word of a unit after a number (True) or the last of
#: one before it (False), in any spelling :func:`_unit_at` reads: memoised
_EDGE_MEMO: dict[tuple[str, bool], bool] = {}


def _unit_edge(lex: Lexicon, w: str, after: bool) -> bool:
    """May ``w`` begin a unit after a number (``after``) or end one before it?"""
    key = (w, after)
    found = _EDGE_MEMO.get(key)
    if found is None:
        edges = lex.unit_edges[0 if after else 1]
        folded = canonical(w)
        forms = {w, folded, squeeze(folded), w[::-1]}
        if after and _free_unit(lex, w) is not None:
            forms.update(_free_unit(lex, w) or ())
        if vowelless(w):
            forms.update(lex.age_consonants.get(w, ()))
        found = not edges.isdisjoint(forms)
        if len(_EDGE_MEMO) >= _NUMBER_MEMO_SIZE:
            _EDGE_MEMO.clear()
        _EDGE_MEMO[key] = found
    return found


def _free_unit(lex: Lexicon, w: str) -> tuple[str] | None:
    """The unit that word ``w`` begins with, of those an ending may follow (``वर्ष`` of
    ``वर्षकी``), as written or with a syllable typed more than once made single."""
    for form in (w, unrepeated(w)) if not w.isascii() else ():
        for length in lex.free_unit_lengths:
            if length < len(form) and form[:length] in lex.free_units:
                return (form[:length],)
    return None


def _vowelled(lex: Lexicon, units: dict[tuple[str, ...], str], w: str) -> str:
    """A unit word typed without its vowels, spelled out ("klss" -> "klasse"); else ``w``."""
    if not vowelless(w):
        return w
    return next((u for u in lex.age_consonants.get(w, ()) if (u,) in units), w)


def _numbers_of(toks: Tokens, lex: Lexicon) -> dict[int, _NumberValues]:
    """The word tokens that are numbers, by index."""
    found: dict[int, _NumberValues] = {}
    kinds = toks.kind
    for j, w in enumerate(toks.text):
        if kinds[j] == "w":
            values = _number_of(lex, w)
            if values is not None:
                found[j] = values
    return found


def _agreeing(values: _NumberValues, codes: set[str] | None) -> int | None:
    """The value of a number in one of the languages ``codes`` (digits: in any)."""
    if "" in values:
        return values[""]
    if codes is None:
        return None
    for code, value in values.items():
        if code in codes:
            return value
    return None


def _unit_ages(
    toks: Tokens, lex: Lexicon, consumed: Spans, text: str, numbers: dict[int, _NumberValues]
) -> tuple[list[Hit], set[int]]:
    """A number token with the words of a unit after it or before it; also the indexes of
    the numbers read so."""
    hits: list[Hit] = []
    starts, ends = toks.start, toks.end
    seen: set[int] = set()
    for j, values in numbers.items():
        if inside(consumed, starts[j], ends[j]):
            continue
        if "" in values and _after_decimal_point(text, starts[j]):
            continue  # a decimal: 1.5
        found = _unit_at(toks, lex, j, values, after=True) or _unit_at(
            toks, lex, j, values, after=False
        )
        if found is None:
            continue
        value, kind, a, z = found
        hit = age_hit(value, a, z, grade=kind == "grade")
        if hit is not None:
            hits.append(hit)
            seen.add(j)
    return hits, seen


def _unit_at(
    toks: Tokens, lex: Lexicon, j: int, values: _NumberValues, *, after: bool
) -> tuple[int, str, int, int] | None:
    """The unit of one to three words right after (or before) number token ``j``, as
    written, leet folded, squeezed or reversed, in a language of the number: its value,
    kind, and the span of number and unit."""
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    n = len(kinds)
    k = j + 1 if after else j - 1
    if not (0 <= k < n and kinds[k] == "w" and _unit_edge(lex, strs[k], after)):
        return None  # no unit begins right after the number (or ends right before it)
    units = lex.unit_words if after else lex.before_unit_words
    for length in (3, 2, 1):
        first, last = (j + 1, j + length) if after else (j - length, j - 1)
        if first < 0 or last >= n:
            continue
        seq = tuple(strs[first : last + 1])
        key = seq
        kind = units.get(key)
        if kind is None:
            for key in (
                tuple(canonical(x) for x in seq),
                tuple(squeeze(canonical(x)) for x in seq),
                tuple(x[::-1] for x in seq),
                tuple(_vowelled(lex, units, x) for x in seq),
            ):
                kind = units.get(key)
                if kind is not None:
                    break
        if kind is None and after and length == 1:
            free = _free_unit(lex, seq[0])  # a unit an ending follows: "વર્ષ" of "વર્ષની"
            if free is not None:
                key = free
                kind = units.get(key)
        if kind is None:
            continue
        lo, hi = (j, last) if after else (first, j)
        if any(kinds[k] != "w" for k in range(lo, hi + 1)) or any(
            starts[k + 1] - ends[k] > 3 for k in range(lo, hi)
        ):
            continue
        value = _agreeing(values, lex.unit_languages.get(key))
        if value is None:
            return None
        if after:
            return value, kind, starts[j], ends[last]
        return value, kind, starts[first], ends[j]
    return None


def _number_in(
    lex: Lexicon, w: str, values: _NumberValues, codes: set[str], support: dict[str, float]
) -> int | None:
    """The value of number token ``w`` (``values``: digits, or a number word's languages
    and values) in one of ``codes`` or of the languages ``support`` counts, unless ``w`` is
    also a sexual word; ``None`` when it is none of those."""
    if "" in values:
        return values[""]
    senses = lex.exact.get(w)
    if senses is not None and any(x.category == "sexual" for x in senses):
        return None
    for code, value in values.items():
        if code in codes or support.get(code, 0) > 0:
            return value
    return None


def _counts_persons(lex: Lexicon, w: str) -> bool:
    """Is ``w`` a person word (then a number before it counts them: "two children")?"""
    senses = lex.lookup(w)
    return senses is not None and any(x.category in ("minor", "adult") for x in senses)


def _person_ages(
    toks: Tokens,
    persons: list[tuple[int, set[str]]],
    seen: set[int],
    consumed: Spans,
    text: str,
    lex: Lexicon,
    support: dict[str, float],
    numbers: dict[int, _NumberValues],
) -> list[Hit]:
    """A bare number or number word right after a person word ("girl, 12", "girl,
    twelve"), not already read as an age. A number word counts only in the person word's
    language or one the text's scripts and function words support: "naked girl tara" is
    a name, not Hausa nine; and not when it is also a sexual word (Danish "seks")."""
    hits: list[Hit] = []
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    n = len(kinds)
    for i, codes in persons:
        j = i + 1
        values = numbers.get(j)
        if values is None or j in seen:
            continue
        if "" in values and _decimal_follows(text, ends[j]):
            continue  # a decimal: 1.5
        value = _number_in(lex, strs[j], values, codes, support)
        if value is None:
            continue
        gap = text[ends[i] : starts[j]]
        if len(gap) <= 3 and _AGE_GAP.fullmatch(gap) and not inside(consumed, starts[j], ends[j]):
            if j + 1 < n and kinds[j + 1] == "w" and _counts_persons(lex, strs[j + 1]):
                continue  # a count: "woman, two children"
            hit = age_hit(value, starts[j], ends[j])
            if hit is not None:
                hits.append(hit)
    return hits


def _decimal_follows(text: str, z: int) -> bool:
    """Does a decimal point and a digit follow offset ``z`` (``1.5``)?"""
    return z + 1 < len(text) and text[z] in ".," and text[z + 1].isdigit()
