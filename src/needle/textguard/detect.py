"""Detection: lexicon hits, ages and grades, then scope and word sense, then a score.

In: a :class:`~needle.textguard.normalize.Normalized` text and the :class:`Lexicon`.
Out: a :class:`Detection` with the hits kept (each with its span in the normalised text, the
lexicon sense, the evasion it had to see through) and the scores the policy decides on.

The flow, linear in the length of the text:

1. **Regions that do not ask for anything** are set aside: the ``Negative prompt:`` section
   of diffusion metadata and Midjourney's ``--no`` list.
2. **Ages and grades** by one regex built from every language's units (``12yo``, ``12 años``,
   ``12歳``, ``בת 12``, ``5th grade``); ages under 18 are minors, 18 and over are adults.
3. **Tokens**: words of spaced scripts, runs of unspaced scripts (Chinese, Japanese, Thai:
   forward maximum matching over the lexicon), emoji; clause ends and commas are remembered.
4. **Lookup** of each word: multi-word phrases first (so ``naked mole rat`` and ``nude
   lipstick`` take their harmless sense before ``naked`` is seen), then the exact entry, the
   longest stem, and when nothing matches, variants: clitics (``l'enfant``, Arabic ``al-``),
   numbers glued to words (``1girl``, ``12yonude``), leetspeak, squeezed doubles, homoglyph
   skeleton, transliteration, a word split over two tokens (``nu de``), compounds without
   separators (``nudechild``).
5. **Scope**: negation (``no nudity``, ``sin ropa`` is a phrase of its own), contextual words
   licensed by their language, adult ages and adult words cancelling ambiguous minor words
   (``19 year old girl``), and subject attachment: a sexual word closer to an adult than to
   the child (``nude woman and a child``) scores as a scene, not as the same subject.
6. **Score**: ``minor weight x sexual weight x scope factor``, combined over distinct terms by
   noisy-OR; documented coded terms score on their own.
"""

from __future__ import annotations

import bisect
import operator
import re
import unicodedata
from dataclasses import dataclass, field
from itertools import accumulate, repeat

from needle.textguard.lexicon import (
    SPACED_CHAR,
    SPACED_WORD,
    Lexicon,
    Sense,
    sense_votes,
)
from needle.textguard.normalize import (
    LEET_SYMBOLS,
    Normalized,
    fold_leet,
    skeleton,
    squeeze,
    transliterate,
)
from needle.textguard.scripts import UNSPACED_CLASS, script_languages

__all__ = [
    "CROSS_CLAUSE_FACTOR",
    "FAR_FACTOR",
    "FAR_TOKENS",
    "MINOR_AGE",
    "NEGATION_WINDOW",
    "SCENE_FACTOR",
    "Detection",
    "Hit",
    "detect",
    "evasion_label",
    "quote_evasions",
]

#: age of majority: under it, a person is a child (UN Convention on the Rights of the Child,
#: art. 1; the age used by NCMEC and the IWF for CSAM)
MINOR_AGE = 18
#: ages above this are not read as ages ("200 years old tree")
MAX_AGE = 99
#: a sexual word and a minor word in different sentences of one prompt: still one image, but
#: less surely one subject (keeps two strong words at block, 1.0 x 1.0 x 0.75 >= 0.6)
CROSS_CLAUSE_FACTOR = 0.75
#: a sexual word attached to an adult subject with a child elsewhere in the scene
#: ("nude woman and a child"): review, not block (1.0 x 1.0 x 0.5 < 0.6)
SCENE_FACTOR = 0.5
#: words further apart than this many tokens are unlikely to describe one subject
FAR_TOKENS = 40
FAR_FACTOR = 0.5
#: a negator ("no", "without", "sin") reaches this many words ahead, within its comma group
NEGATION_WINDOW = 3
#: an adult word cancels an ambiguous minor word this many words away ("adult girl")
ADULT_ADJACENT = 1
#: longest word the variant steps (compounds, leet) look at; longer words are lookup-only
MAX_VARIANT_LEN = 40
#: evidence kept per text, and per term: bounds scoring time on megabyte inputs (the score
#: depends on distinct terms, so repeats add nothing)
MAX_HITS = 512
MAX_PER_TERM = 16

_CANCEL_BY_AGE = frozenset({"youth", "ambiguous", "weak"})
_CANCEL_BY_NOUN = frozenset({"ambiguous", "weak"})

# --- tokens -----------------------------------------------------------------------------------

_SPACED_CHAR = SPACED_CHAR
_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf"
_TOKEN = re.compile(
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
#: ``findall`` returns plain strings (no groups, several times faster than ``_TOKEN``)
_TOKEN_ASCII = re.compile(r"[0-9A-Za-z_]++(?:['’][0-9A-Za-z_]++)*|[.?;](?=\s|$)|\n|[,:]|[@$|+]")
_ASCII_BREAKS = frozenset(".?;\n")
_ASCII_COMMAS = frozenset(",:")
_ASCII_LEET = frozenset("@$|+")
_DIGIT = re.compile(r"\d")
_HAS_LETTER = re.compile(r"[^\W\d]")
_NUM_SUFFIX = re.compile(r"(\d{1,3})(\D+)")
_WORD_NUM = re.compile(r"(\D{3,}?)\d+")
_APOSTROPHE = re.compile("['’]")
_NEGATIVE_SECTION = re.compile(r"negative prompt\s*:")
_SECTION_END = re.compile(r"\n\s*(?:steps|sampler|cfg scale|seed|size|model|model hash)\s*:")
_MJ_NO = re.compile(r"(?<!\S)--no\b")
_MJ_NEXT = re.compile(r"\s--\w")
_ADULT_PLUS = re.compile(r"(?<![\d.])(1[89]|[2-9]\d)\s*\+")
_AGE_GAP = re.compile(r"[\s,(\[:]*")
_CJK_NUM = "一二三四五六七八九十两兩"
_CJK_AGE = re.compile(rf"([{_CJK_NUM}]{{1,3}})\s*(?:歳|才|岁|歲)")


@dataclass(slots=True)
class Hit:
    """A lexicon sense found at ``[start, end)`` of the normalised text (internal: mutable
    for speed, never changed after it is made)."""

    category: str  # sexual | minor | sexual_minors | adult
    tier: str
    weight: float
    term: str
    language: str
    start: int
    end: int
    pos: float  # word position, for distances
    clause: int
    evasion: str = ""  # what the detector had to undo (leet, compound, ...)


@dataclass(slots=True)
class Detection:
    """What :func:`detect` found, before a policy turns it into a decision."""

    hits: list[Hit] = field(default_factory=list)
    score: float = 0.0  # sexual content involving a minor, 0..1
    sexual: float = 0.0  # sexual content at all
    minor: float = 0.0  # a minor at all (after adult evidence)
    languages: tuple[str, ...] = ()


#: a negator: position, comma group, whether it follows the word it negates, its languages
_Negator = tuple[float, int, bool, set[str]]


@dataclass(slots=True)
class _Raw:
    senses: list[Sense]
    start: int
    end: int
    pos: float
    clause: int
    group: int
    evasion: str = ""


# --- ages -------------------------------------------------------------------------------------


def _unit_pattern(units: list[str]) -> str:
    """Alternation of unit words; spaces and hyphens between their words are optional."""
    parts = []
    for unit in sorted(units, key=len, reverse=True):
        pieces = [re.escape(p) for p in re.split(r"[\s\-]+", unit) if p]
        parts.append(r"[\s\-]*".join(pieces))
    return "|".join(parts)


def _needs_boundary(unit: str) -> bool:
    last = unit[-1]
    return last.isascii() or "\u0370" <= last <= "\u04ff"


_AGE_CACHE: dict[int, tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str] | None]] = {}


def _age_regexes(lex: Lexicon) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str] | None]:
    """Three regexes built once from every language's units: units after a number (matched
    at each number), units before a number (matched on the text just before it), and number
    words with a unit ("twelve year old")."""
    cached = _AGE_CACHE.get(id(lex))
    if cached is not None:
        return cached
    w = _SPACED_CHAR
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
    words = [re.escape(k) for k in sorted(lex.numbers, key=len, reverse=True)]
    word_regex = None
    if words and lex.age_after:
        bounded = [u for u in lex.age_after if _needs_boundary(u)]
        word_regex = re.compile(
            rf"(?<!{w})(?P<n>{'|'.join(words)}){sep}(?:{_unit_pattern(bounded)})(?!{w})"
        )
    _AGE_CACHE[id(lex)] = (after_regex, before_regex, word_regex)
    return after_regex, before_regex, word_regex


def _cjk_number(s: str) -> int:
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")}
    digits["两"] = digits["兩"] = 2
    if "十" not in s:
        return digits.get(s[-1], 0)
    tens, _, ones = s.partition("十")
    return (digits.get(tens, 1) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)


def _age_hit(value: int, start: int, end: int, *, grade: bool = False) -> Hit | None:
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


def _find_ages(text: str, lex: Lexicon, has_number_word: bool) -> list[Hit]:
    hits: list[Hit] = []
    after_regex, before_regex, word_regex = _age_regexes(lex)
    after_pre, before_pre = _age_prefilters(lex)
    if _DIGIT.search(text):
        n = len(text)
        for a, z in _number_spans(text):
            if z - a > 3 or (a > 0 and text[a - 1] in ".,"):
                continue
            if z + 1 < n and text[z] in ".," and text[z + 1].isdigit():
                continue
            if after_pre is not None and after_pre.match(text, a) is None:
                m = None
            else:
                m = after_regex.match(text, a)
            if m is not None:
                group = m.lastgroup or ""
                hit = _age_hit(int(text[a:z]), a, m.end(), grade=group[0] == "g")
            else:
                lo = max(0, a - _BEFORE_WINDOW)
                if before_pre is not None and before_pre.search(text, lo, a) is None:
                    continue
                b = before_regex.search(text, lo, a)
                if b is None:
                    continue
                group = b.lastgroup or ""
                hit = _age_hit(int(text[a:z]), b.start(), z, grade=group == "G")
            if hit is not None:
                hits.append(hit)
        if "+" in text:
            for m in _ADULT_PLUS.finditer(text):
                hit = _age_hit(int(m.group(1)), m.start(), m.end())
                if hit is not None:
                    hits.append(hit)
    if has_number_word and word_regex is not None:
        for m in word_regex.finditer(text):
            hit = _age_hit(lex.numbers[m.group("n")], m.start(), m.end())
            if hit is not None:
                hits.append(hit)
    return hits


# --- word lookup ------------------------------------------------------------------------------


def _split_compound(
    lex: Lexicon, word: str, start: int = 0, depth: int = 0
) -> list[tuple[int, int, list[Sense]]] | None:
    """Split ``word[start:]`` into lexicon words only (``nudechild``), longest pieces first."""
    n = len(word)
    if start == n:
        return []
    if depth > 4 or n - start < 3:
        return None
    lengths = lex.piece_lengths.get(word[start : start + 2])
    if lengths is None:
        return None
    for length in lengths:
        end = start + length
        if end > n or (n - end) in (1, 2):
            continue
        piece = word[start:end]
        senses = lex.exact.get(piece) or lex.stems.get(piece)
        if senses is None:
            continue
        rest = _split_compound(lex, word, end, depth + 1)
        if rest is not None:
            return [(start, end, senses), *rest]
    return None


def _variants(lex: Lexicon, word: str) -> list[tuple[int, int, list[Sense], str]]:
    """Find ``word`` (not in the lexicon as written) through its variants.

    Returns ``(start, end, senses, evasion)`` spans relative to the word; empty when none.
    """
    n = len(word)
    if n > MAX_VARIANT_LEN:
        return []
    # clitics and elision: l'enfant, girl's; Arabic al-/wa-, Hebrew ha-/ve-
    if "'" in word or "’" in word:
        out = []
        offset = 0
        for part in _APOSTROPHE.split(word):
            senses = lex.lookup(part) if len(part) >= 2 else None
            if senses is not None:
                out.append((offset, offset + len(part), senses, ""))
            offset += len(part) + 1
        if out:
            return out
    clitics = lex.clitics.get(word[0])
    if clitics:
        for clitic in clitics:
            if word.startswith(clitic) and n - len(clitic) >= 3:
                senses = lex.lookup(word[len(clitic) :])
                if senses is not None:
                    return [(len(clitic), n, senses, "")]
    has_digit = _DIGIT.search(word) is not None
    if has_digit:
        # 1girl, 2girls, 12yonude: a count or an age glued to a word
        m = _NUM_SUFFIX.fullmatch(word)
        if m is not None:
            digits, suffix = m.group(1), m.group(2)
            base = len(digits)
            senses = lex.lookup(suffix)
            if senses is not None:
                return [(base, n, senses, "")]
            for unit in _GLUED_UNITS:
                if suffix.startswith(unit) and len(suffix) > len(unit) + 2:
                    rest = suffix[len(unit) :]
                    found = _lookup_or_split(lex, rest)
                    if found:
                        age = _age_hit(int(digits), 0, base + len(unit))
                        out = [
                            (s + base + len(unit), e + base + len(unit), sn, ev)
                            for s, e, sn, ev in found
                        ]
                        if age is not None:
                            out.insert(0, (0, base + len(unit), [_age_sense(age)], "compound"))
                        return out
        m = _WORD_NUM.fullmatch(word)
        if m is not None:
            senses = lex.lookup(m.group(1))
            if senses is not None:
                return [(0, len(m.group(1)), senses, "")]
    if (has_digit or not LEET_SYMBOLS.isdisjoint(word)) and _HAS_LETTER.search(word):
        for one in ("i", "l"):
            leet = fold_leet(word, one=one)
            found = _lookup_or_split(lex, leet)
            if found:
                return [(s, e, sn, "leet") for s, e, sn, _ in found]
    squeezed = squeeze(word) if _DOUBLE.search(word) else word
    if squeezed != word:
        senses = (
            _undoubled(lex, word)
            or lex.exact.get(squeezed)
            or lex.squeezed.get(squeezed)
            or lex.stem(squeezed)
        )
        if senses is not None:
            return [(0, n, senses, "repeat")]
    if not word.isascii():
        skel = skeleton(word)
        if skel is not None and skel != word:
            found = _lookup_or_split(lex, skel) or _lookup_or_split(lex, fold_leet(skel))
            if found:
                return [(0, n, sn, "homoglyph") for _, _, sn, _ in found[:1]]
        latin = transliterate(word)
        if latin is not None and latin != word:
            senses = lex.lookup(latin)
            if senses is not None:
                return [(0, n, senses, "transliteration")]
    return []


def _lookup_or_split(lex: Lexicon, word: str) -> list[tuple[int, int, list[Sense], str]]:
    senses = lex.lookup(word)
    if senses is not None:
        return [(0, len(word), senses, "")]
    if len(word) >= 6:
        pieces = _split_compound(lex, word)
        if pieces and len(pieces) > 1:
            return [(s, e, sn, "compound") for s, e, sn in pieces]
    return []


#: age units that are glued to digits and then to another word in file names (12yonude)
_GLUED_UNITS = ("yo", "yrs", "yr", "y")


def _age_sense(hit: Hit) -> Sense:
    return Sense(hit.language, hit.category, hit.tier, hit.weight, hit.term)


# --- the detector -----------------------------------------------------------------------------


def _excluded(text: str) -> _Spans:
    if "negative prompt" not in text and "--no" not in text:
        return _NO_SPANS
    spans = []
    if "negative prompt" in text:
        for m in _NEGATIVE_SECTION.finditer(text):
            end = _SECTION_END.search(text, m.end())
            spans.append((m.start(), end.start() if end else len(text)))
    if "--no" in text:
        for m in _MJ_NO.finditer(text):
            end = _MJ_NEXT.search(text, m.end())
            spans.append((m.start(), end.start() if end else len(text)))
    return _Spans(spans)


class _Spans:
    """Sorted, merged spans of the normalised text; membership by bisection."""

    __slots__ = ("ends", "starts")

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.starts = [a for a, _ in merged]
        self.ends = [b for _, b in merged]

    def __bool__(self) -> bool:
        return bool(self.starts)

    def covers(self, start: int, end: int) -> bool:
        k = bisect.bisect_right(self.starts, start) - 1
        return k >= 0 and end <= self.ends[k]


_NO_SPANS = _Spans([])


def _inside(spans: _Spans, start: int, end: int) -> bool:
    return bool(spans) and spans.covers(start, end)


class _Tokens:
    """Parallel lists describing the words of one text (kept flat for speed)."""

    __slots__ = ("clause", "end", "evasion", "group", "info", "kind", "pos", "start", "text")

    def __init__(self) -> None:
        #: the :class:`_Word` of each word token (``None`` for others), when already known
        self.info: list[_Word | None] | None = None
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

    def copy_from(self, other: _Tokens, i: int) -> None:
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

    def __len__(self) -> int:
        return len(self.kind)


#: texts this long or longer are tokenized part by part (below it, the set-up costs more)
_SPLIT_MIN = 96


def _tokenize(text: str, lex: Lexicon) -> tuple[_Tokens, bool]:
    """Words, unspaced runs, emoji and leet symbols with their spans; clause and comma counts.

    ``findall`` (no match objects) and ``str.find`` for the offsets: about twice as fast as
    ``finditer`` on long prompts. ``find`` cannot land early: the text skipped between two
    tokens holds no word, unspaced or symbol character.
    """
    toks = _Tokens()
    clause = group = 0
    pos = 0.0
    cursor = 0
    find = text.find
    rows: list[tuple[str, str, int, int, int, int, float]] = []
    add = rows.append
    parts = (
        text.split()
        if len(text) >= _SPLIT_MIN and text.isascii() and "!" not in text and "\n" not in text
        else None
    )
    lengths = list(map(len, parts)) if parts else None
    if parts and lengths and sum(lengths) + len(parts) - 1 == len(text):
        # one white-space character between parts, none around: a part starts where the
        # lengths say. Most parts are a word, or a word and a comma; the others are
        # tokenized alone (no token crosses white space, and what follows a part is white
        # space or the end, as ``(?=\s|$)`` needs). Positions are then 0, 1, 2, ...
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
        if rows6:
            columns = list(map(list, zip(*rows6, strict=True)))
            toks.kind, toks.text, toks.start, toks.end, toks.clause, toks.group = columns
            toks.pos = list(map(float, range(len(rows6))))
        toks.evasion = [""] * len(rows6)
        return toks, _has_number_word(toks, lex)
    if parts is not None:
        # as above, finding each part
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
    elif text.isascii() and "!" not in text:
        # words, clause ends, commas and leet symbols, told apart by their text
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
    else:
        for w, u, sym, brk, comma, leet in _TOKEN.findall(text):
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
    if rows:
        columns = list(map(list, zip(*rows, strict=True)))
        toks.kind, toks.text, toks.start, toks.end = columns[:4]
        toks.clause, toks.group, toks.pos = columns[4:]
    toks.evasion = [""] * len(rows)
    return toks, _has_number_word(toks, lex)


def _has_number_word(toks: _Tokens, lex: Lexicon) -> bool:
    """Is a word token a number word ("twelve")?"""
    numbers = lex.numbers
    return not numbers.keys().isdisjoint(toks.text) and any(
        k == "w" and t in numbers for t, k in zip(toks.text, toks.kind, strict=True)
    )


def _segment(
    lex: Lexicon, word: str, keep: frozenset[int] = frozenset()
) -> list[tuple[int, int]] | None:
    """Cut ``word`` into words the lexicon knows, in as few pieces as possible.

    ``keep`` are offsets where an original token starts: the original tokens are pieces too,
    and among cuts with equally few pieces the one that keeps most original boundaries wins
    ("and a naked" stays as it is rather than becoming "and anak ed"). A single ``a`` or
    ``i`` is a piece ("ofaminor"), and a final piece may be a stem with a short ending
    (``pornosu``, ``девочка``). ``None`` when no cut covers the whole word.
    """
    n = len(word)
    vocab = lex.vocab
    lengths = lex.vocab_lengths
    nxt: dict[int, int] = {}
    if keep:
        bounds = sorted(keep | {n})
        nxt = {b: bounds[k + 1] for k, b in enumerate(bounds[:-1])}
    edges = keep | {n}
    memo: dict[int, tuple[int, int, int] | None] = {n: (0, 0, n)}

    def best(p: int) -> tuple[int, int, int] | None:
        if p in memo:
            return memo[p]
        memo[p] = None  # guards against re-entry; every piece moves forward anyway
        choice: tuple[int, int, int] | None = None
        candidates = [
            p + length
            for length in lengths.get(word[p : p + 2], ())
            if p + length <= n and word[p : p + length] in vocab
        ]
        if p in nxt:
            candidates.append(nxt[p])
        if word[p] in "ai" and p + 1 < n:
            candidates.append(p + 1)
        for q in candidates:
            rest = best(q)
            if rest is None:
                continue
            cost = (rest[0] + 1, rest[1] + (0 if (p in keep and q in edges) else 1), q)
            if choice is None or cost[:2] < choice[:2]:
                choice = cost
        if choice is None:
            for length in lex.stem_lengths.get(word[p : p + 2], ()):
                if p + length <= n and n - p - length <= 4 and word[p : p + length] in lex.stems:
                    choice = (1, 0 if p in keep else 1, n)
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
        pieces.append((p, step[2]))
        p = step[2]
    return pieces


def _known(lex: Lexicon, word: str) -> bool:
    """A word that is certainly a word: a hint, a word of an entry or unit, or an entry that
    is not only contextual."""
    if word in lex.hints or (word in lex.vocab and word not in lex.exact):
        return True
    senses = lex.lookup(word) or _undoubled(lex, word)
    return senses is not None and any(not s.contextual for s in senses)


_DOUBLE = re.compile(r"([^\W\d])\1")


def _undoubled(lex: Lexicon, word: str) -> list[Sense] | None:
    """Look ``word`` up with some of its doubled letters made single ("piikkutytto" ->
    "pikkutytto"): normalisation leaves two of a stretched letter, the word may have its own."""
    if _DOUBLE.search(word) is None:
        return None
    runs = [k for k in range(1, len(word)) if word[k] == word[k - 1] and word[k].isalpha()]
    if not runs or len(runs) > 4:
        return None
    for mask in range(1, 1 << len(runs)):
        drop = {runs[b] for b in range(len(runs)) if mask >> b & 1}
        candidate = "".join(c for k, c in enumerate(word) if k not in drop)
        senses = lex.lookup(candidate)
        if senses is not None:
            return senses
    return None


def _starts_word(lex: Lexicon, a: str, b: str) -> bool:
    """Do two neighbouring fragments join into (the start of) a word the lexicon knows?"""
    joined = a + b
    return joined in lex.vocab or joined in lex.vocab_prefixes


#: letters glued to a number (and more letters): naked12yo, 12yonude, nude1girl
_GLUED_NUMBER = re.compile(r"(?P<a>[^\W\d]{3,})?(?P<n>\d{1,3})(?P<b>[^\W\d]{1,})?")


#: words whose analysis is memoised; the cache is dropped when it grows past this
WORD_CACHE_SIZE = 50_000


class _Word:
    """Everything about one word that does not depend on its neighbours, computed once."""

    __slots__ = (
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
        "senses",
        "unknown",
        "variants",
    )

    def __init__(self, lex: Lexicon, w: str) -> None:
        self.senses = lex.lookup(w)
        self.hint = lex.hints.get(w)
        self.neg_before = lex.negate_before.get(w)
        self.neg_after = lex.negate_after.get(w)
        phrases = lex.phrases.get(w)
        if phrases is None and not w.isalpha():
            phrases = lex.phrases.get(_canon(w))
        if phrases is None and _DOUBLE.search(w):
            phrases = lex.phrases_squeezed.get(squeeze(w))
        self.phrases = phrases
        alpha = w.isalpha()
        self.known = alpha and _known(lex, w)
        # could this word be the first half of a word split in two ("nu" of "nude")?
        self.can_start = alpha and (w in lex.vocab_prefixes or w in lex.vocab)
        # unknown: may be a fragment of a split word; short weak words of some language too
        self.unknown = alpha and not self.known
        senses = self.senses
        if alpha and self.known and len(w) <= 3 and self.hint is None and senses:
            self.unknown = all(x.weight < 0.5 and x.category == "minor" for x in senses)
        self.person = senses is not None and any(x.category in ("minor", "adult") for x in senses)
        self.variants: list[tuple[int, int, list[Sense], str]] = []
        # a plain ASCII word of letters without doubles has no variant to try
        plain = w.isascii() and alpha and _DOUBLE.search(w) is None and len(w) <= MAX_VARIANT_LEN
        if self.senses is None and self.hint is None and not w.isdigit() and not plain:
            self.variants = _variants(lex, w)
        self.compound: list[tuple[int, int]] | None = None
        if alpha and len(w) <= MAX_VARIANT_LEN and ((len(w) >= 5 and self.unknown) or len(w) >= 9):
            stem_rest = False
            senses = lex.exact.get(w)
            if senses is None:
                senses = lex.stem(w)
                stem_rest = senses is not None and _stem_length(lex, w) <= len(w) - 4
            if (senses is None and _undoubled(lex, w) is None) or stem_rest:
                pieces = _segment(lex, w)
                if pieces is not None and len(pieces) > 1 and _meaningful(lex, w, pieces):
                    self.compound = pieces
        self.glued: list[tuple[int, int]] | None = None
        if (
            not alpha
            and len(w) <= MAX_VARIANT_LEN
            and _DIGIT.search(w)
            and _HAS_LETTER.search(w)
            and self.senses is None
        ):
            self.glued = _glued_cuts(lex, w)
        #: nothing to do for this word in the detector's loop (unless a leet symbol is glued)
        self.inert = (
            self.senses is None
            and self.hint is None
            and self.neg_before is None
            and self.neg_after is None
            and self.phrases is None
            and not self.variants
        )


def _word(lex: Lexicon, w: str) -> _Word:
    cache = lex.word_cache
    info = cache.get(w)
    if info is None:
        info = _Word(lex, w)
        if len(cache) >= WORD_CACHE_SIZE:
            cache.clear()
        cache[w] = info
    return info  # type: ignore[return-value]


def _glued_cuts(lex: Lexicon, w: str) -> list[tuple[int, int]] | None:
    """Cut letters glued to a number, unless leetspeak explains the digits."""
    for one in ("i", "l"):
        leet = fold_leet(w, one=one)
        if leet in lex.vocab or _lookup_or_split(lex, leet):
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
                for u in _GLUED_UNITS
                if b.startswith(u)
                and lex.lookup(b) is None
                and len(b) > len(u) + 2
                and _lookup_or_split(lex, b[len(u) :])
            ),
            None,
        )
        if unit is not None:
            cuts += [(base, base + len(unit)), (base + len(unit), len(w))]
        else:
            cuts.append((base, len(w)))
    # worth cutting only if a piece means something: "naked12yo" yes, "8k" and "v2" no
    useful = any(
        lex.lookup(w[a:z]) is not None or w[a:z] in lex.unit_first for a, z in cuts if z - a >= 2
    )
    return cuts if useful else None


def _expand(toks: _Tokens, lex: Lexicon, text: str) -> _Tokens:
    """Re-cut words that were split or glued to evade: fragments, compounds, digits.

    - fragments that join into a lexicon word are joined with their neighbours and cut again
      ("nu de ch ild" -> nude, child; "ph oto of a yo ung boy" -> photo of a young boy);
    - a long unknown word (or one whose stem leaves a long rest) is cut
      ("nudelittlegirl", "minderjarigmeisjenaakt");
    - letters glued to digits are parted when leetspeak does not explain them
      ("naked12yo" -> naked, 12, yo).

    Returns ``toks`` itself when nothing needs re-cutting (the common case).
    """
    n = len(toks)
    kind, words_, start = toks.kind, toks.text, toks.start
    infos: list[_Word | None] = [None] * n
    frag = [False] * n
    work = False
    cache: dict[str, _Word] = lex.word_cache  # type: ignore[assignment]
    for i in range(n):
        if kind[i] != "w":
            continue
        w = words_[i]
        info = cache.get(w)
        if info is None:
            info = _word(lex, w)
        infos[i] = info
        if info.compound is not None or info.glued is not None:
            work = True
        if info.unknown:
            left = infos[i - 1] if i > 0 else None
            if left is not None and left.can_start and _joins(toks, lex, i - 1, i, text):
                frag[i] = frag[i - 1] = work = True
            if info.can_start and i + 1 < n and _joins(toks, lex, i, i + 1, text):
                frag[i] = frag[i + 1] = work = True
    if not work:
        toks.info = infos
        return toks
    out = _Tokens()
    produced = [0] * n  # output tokens made from each input token
    emitted = 0  # input tokens handled so far
    i = 0
    while i < n:
        slot = infos[i]
        before = len(out)
        if slot is None:
            out.copy_from(toks, i)
            produced[i] = 1
            i += 1
            continue
        if frag[i]:
            lo = i
            while lo > emitted and i - lo < 3 and _joinable(toks, lo - 1, lo, text):
                lo -= 1
            hi = last = i
            while (
                hi + 1 < n
                and hi + 1 - last <= 2
                and hi - lo < 12
                and _joinable(toks, hi, hi + 1, text)
            ):
                hi += 1
                if frag[hi]:
                    last = hi
            hi = last
            if hi + 1 < n and len(words_[hi + 1]) <= 4 and _joinable(toks, hi, hi + 1, text):
                hi += 1
            if hi > lo:
                undo = sum(produced[lo:i])
                saved = [_pop(out) for _ in range(undo)][::-1]
                if _resegment(toks, lo, hi, lex, out):
                    for k in range(lo, hi + 1):
                        produced[k] = 0
                    produced[hi] = len(out) - before + undo
                    i = emitted = hi + 1
                    continue
                for item in saved:
                    out.add(*item)
        info = slot
        cuts = info.compound or info.glued
        if cuts is not None:
            w = words_[i]
            evasion = "compound" if info.compound is not None else ""
            for a, b in cuts:
                out.add(
                    "w",
                    w[a:b],
                    start[i] + a,
                    start[i] + b,
                    toks.clause[i],
                    toks.group[i],
                    toks.pos[i] + a / 100,
                    evasion,
                )
            produced[i] = len(out) - before
            i += 1
            continue
        out.copy_from(toks, i)
        produced[i] = 1
        i += 1
    return out


def _joins(toks: _Tokens, lex: Lexicon, a: int, b: int, text: str) -> bool:
    """Do tokens ``a`` and ``b`` look like two halves of one lexicon word?"""
    return _starts_word(lex, toks.text[a], toks.text[b]) and _joinable(toks, a, b, text)


def _pop(toks: _Tokens) -> tuple[str, str, int, int, int, int, float, str]:
    return (
        toks.kind.pop(),
        toks.text.pop(),
        toks.start.pop(),
        toks.end.pop(),
        toks.clause.pop(),
        toks.group.pop(),
        toks.pos.pop(),
        toks.evasion.pop(),
    )


def _meaningful(lex: Lexicon, word: str, pieces: list[tuple[int, int]]) -> bool:
    """Is a cut of one long word believable? Every piece has 3+ letters (or is a short
    function word, or a lone "a"/"i"), and a piece is a real lexicon word of some weight, or
    the pieces are all longer words the lexicon uses ("traitrantruong"). Function words of
    many languages can cut almost anything ("trending" -> tre, nd, i, ng)."""
    for a, b in pieces:
        piece = word[a:b]
        if b - a < 3 and piece not in lex.hints and piece not in ("a", "i"):
            return False
    for a, b in pieces:
        if b - a < 3:
            continue
        senses = lex.lookup(word[a:b])
        if senses and any(not x.contextual and x.category != "benign" for x in senses):
            return True
    return (
        all(b - a >= 3 for a, b in pieces)
        and sum(word[a:b] not in lex.hints for a, b in pieces) >= 2
    )


def _joinable(toks: _Tokens, a: int, b: int, text: str) -> bool:
    if toks.kind[a] != "w" or toks.kind[b] != "w" or toks.group[a] != toks.group[b]:
        return False
    if not (toks.text[a].isalpha() and toks.text[b].isalpha()):
        return False
    gap = toks.start[b] - toks.end[a]
    return 0 < gap <= 3 and "\n" not in text[toks.end[a] : toks.start[b]]


def _stem_length(lex: Lexicon, word: str) -> int:
    for length in lex.stem_lengths.get(word[:2], ()):
        if length <= len(word) and word[:length] in lex.stems:
            return length
    return len(word)


def _resegment(toks: _Tokens, lo: int, hi: int, lex: Lexicon, out: _Tokens) -> bool:
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
    pieces = _segment(lex, joined, frozenset(keep))
    if pieces is None:
        return False
    old = set()
    k = 0
    for part in parts:
        old.add((k, k + len(part)))
        k += len(part)
    new = [joined[a:b] for a, b in pieces if (a, b) not in old]
    if not any(w in lex.vocab and w not in lex.hints for w in new):
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


def detect(norm: Normalized, lex: Lexicon) -> Detection:
    """Find and score what ``norm`` asks for. See the module docstring for the steps."""
    text = norm.text
    excluded = _excluded(text)
    # 3. tokens, re-cut where words were split or glued
    raw_toks, has_number_word = _tokenize(text, lex)
    toks = _expand(raw_toks, lex, text)
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    clauses, groups, positions, evasions = toks.clause, toks.group, toks.pos, toks.evasion
    # 2. ages (after tokens: number words need to be seen first)
    age_hits = _find_ages(text, lex, has_number_word)
    if excluded:
        age_hits = [h for h in age_hits if not _inside(excluded, h.start, h.end)]
    consumed = _Spans([(h.start, h.end) for h in age_hits]) if age_hits else _NO_SPANS
    raws: list[_Raw] = []
    persons: list[int] = []  # token indexes of minor or adult words: "girl, 12"
    negators: list[_Negator] = []
    support: dict[str, float] = script_languages(norm.original, text)
    n = len(kinds)
    skip_until = -1
    check_excluded = bool(excluded)
    check_consumed = bool(consumed)
    infos = toks.info
    for i in range(n):
        if i < skip_until:
            continue
        kind = kinds[i]
        if (
            infos is not None
            and kind == "w"
            and infos[i].inert  # type: ignore[union-attr]
            and not (i + 1 < n and kinds[i + 1] == "l" and starts[i + 1] == ends[i])
        ):
            continue  # a word that adds nothing, as the steps below would find
        w = strs[i]
        s, e = starts[i], ends[i]
        if check_excluded and excluded.covers(s, e):
            continue
        if check_consumed and consumed.covers(s, e):
            continue
        cl, gr, p, ev0 = clauses[i], groups[i], positions[i], evasions[i]
        if kind == "u":
            _unspaced(lex, w, s, p, cl, gr, raws, negators)
            continue
        if kind == "s":
            senses = lex.exact.get(w)
            if senses is not None:
                raws.append(_Raw(senses, s, e, p, cl, gr))
            continue
        if kind == "l" or (i + 1 < n and kinds[i + 1] == "l" and starts[i + 1] == e):
            # leet symbols glued into a word: $ex, r@ygold, s€x
            j = i
            merged = ""
            while j < n and kinds[j] in ("w", "l") and (j == i or starts[j] == ends[j - 1]):
                merged += strs[j]
                j += 1
            if j - i > 1 and any(kinds[k] == "w" for k in range(i, j)):
                senses = lex.lookup(merged)
                found = (
                    [(0, len(merged), senses, "")] if senses is not None else _variants(lex, merged)
                )
                if found:
                    for fs, fe, sn, ev in found:
                        raws.append(_Raw(sn, s + fs, s + fe, p, cl, gr, ev or "leet"))
                    skip_until = j
                    continue
            if kind == "l":
                continue
        info = _word(lex, w)
        # phrases (leet and doubled letters folded, so "n4k3d mole rat" keeps its sense)
        candidates = info.phrases
        if candidates is not None:
            matched = False
            nxt_word = strs[i + 1] if i + 1 < n else None
            for seq, senses in _phrases_after(candidates, nxt_word):
                length = len(seq)
                if i + length > n:
                    continue
                ok = True
                for k in range(1, length):
                    nxt = strs[i + k]
                    if kinds[i + k] != "w" or clauses[i + k] != cl or not _same_word(nxt, seq[k]):
                        ok = False
                        break
                if ok:
                    ev = "+".join(sorted({x for x in evasions[i : i + length] if x}))
                    raws.append(_Raw(senses, s, ends[i + length - 1], p, cl, gr, ev))
                    skip_until = i + length
                    matched = True
                    break
            if matched:
                continue
        hint = info.hint
        if hint is not None and len(hint) <= 2:
            for code in hint:
                support[code] = support.get(code, 0) + 1
        if info.neg_before is not None:
            negators.append((p, gr, False, info.neg_before))
        if info.neg_after is not None:
            negators.append((p, gr, True, info.neg_after))
        senses = info.senses
        found_here: list[tuple[int, int, list[Sense], str]]
        if senses is not None:
            found_here = [(0, len(w), senses, ev0)]
        elif not info.variants:
            continue
        else:
            found_here = [
                (fs, fe, sn, "+".join(x for x in (ev0, ev) if x))
                for fs, fe, sn, ev in info.variants
            ]
        virtual = e - s != len(w)  # re-cut from several tokens: its span is wider than it
        for fs, fe, sn, ev in found_here:
            if virtual:
                fs, fe = 0, e - s
            raws.append(_Raw(sn, s + fs, s + fe, p, cl, gr, ev))
            if any(x.category in ("minor", "adult") for x in sn):
                persons.append(i)
    age_hits.extend(_token_ages(toks, lex, persons, consumed, text))
    return _score(lex, raws, age_hits, negators, support, positions, starts, clauses)


_Phrases = list[tuple[tuple[str, ...], list[Sense]]]


class _PhraseIndex:
    """The phrases starting with one word, indexed by their second word, so that only
    those whose second word matches the next token (as :func:`_same_word` decides) are
    tried, in their lexicon order; memoised per next token."""

    __slots__ = ("by_second", "by_squeezed", "memo", "phrases", "short")

    def __init__(self, phrases: _Phrases) -> None:
        self.phrases = phrases  # kept: the index is found by id(phrases)
        self.by_second: dict[str, list[int]] = {}
        self.by_squeezed: dict[str, list[int]] = {}
        self.short: list[int] = []  # one-word sequences: nothing to compare
        for j, (seq, _) in enumerate(phrases):
            if len(seq) < 2:
                self.short.append(j)
                continue
            self.by_second.setdefault(seq[1], []).append(j)
            self.by_squeezed.setdefault(squeeze(seq[1]), []).append(j)
        self.memo: dict[str | None, _Phrases] = {}

    def after(self, nxt: str | None) -> _Phrases:
        found = self.memo.get(nxt)
        if found is not None:
            return found
        picked = set(self.short)
        if nxt is not None:
            picked.update(self.by_second.get(nxt, ()))
            if not nxt.isalpha():
                picked.update(self.by_second.get(fold_leet(nxt), ()))
            elif _DOUBLE.search(nxt) is not None:
                picked.update(self.by_squeezed.get(squeeze(nxt), ()))
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


def _canon(word: str) -> str:
    """A word with leetspeak folded, for phrase matching."""
    if word.isalpha():
        return word
    return fold_leet(word)


def _same_word(token: str, entry: str) -> bool:
    if token == entry:
        return True
    key = (token, entry)
    same = _SAME_WORD.get(key)
    if same is None:
        if not token.isalpha():
            same = fold_leet(token) == entry
        else:
            same = _DOUBLE.search(token) is not None and squeeze(token) == squeeze(entry)
        if len(_SAME_WORD) >= _MEMO_SIZE:
            _SAME_WORD.clear()
        _SAME_WORD[key] = same
    return same


#: memo sizes: entries past this clear the memo (pure functions of their arguments)
_MEMO_SIZE = 50_000
#: ``_same_word`` answers, by (token, phrase word)
_SAME_WORD: dict[tuple[str, str], bool] = {}


def _token_ages(
    toks: _Tokens, lex: Lexicon, persons: list[int], consumed: _Spans, text: str
) -> list[Hit]:
    """Ages the text regex cannot see: units in re-cut words ("10 ye ar old"), squeezed
    units ("10 yeeear oold"), and bare numbers after a person word ("girl, 12")."""
    hits: list[Hit] = []
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    if not any(map(str.isdigit, strs)):
        return hits  # both steps below start from a number token
    n = len(kinds)
    units = lex.unit_words
    seen: set[int] = set()
    for j in range(n):
        w = strs[j]
        if (
            kinds[j] != "w"
            or not w.isdigit()
            or len(w) > 2
            or _inside(consumed, starts[j], ends[j])
        ):
            continue
        if starts[j] > 0 and text[starts[j] - 1] in ".,":
            continue  # a decimal: 1.5
        for length in (3, 2, 1):
            if j + length >= n:
                continue
            seq = tuple(strs[j + k] for k in range(1, length + 1))
            kind = (
                units.get(seq)
                or units.get(tuple(_canon(x) for x in seq))
                or units.get(tuple(squeeze(x) for x in seq))
            )
            if kind is None:
                continue
            if any(
                kinds[j + k] != "w" or starts[j + k] - ends[j + k - 1] > 3
                for k in range(1, length + 1)
            ):
                continue
            hit = _age_hit(int(w), starts[j], ends[j + length], grade=kind == "grade")
            if hit is not None:
                hits.append(hit)
                seen.add(j)
            break
    for i in persons:
        j = i + 1
        if j in seen or j >= n or kinds[j] != "w" or not strs[j].isdigit() or len(strs[j]) > 2:
            continue
        gap = text[ends[i] : starts[j]]
        if len(gap) <= 3 and _AGE_GAP.fullmatch(gap) and not _inside(consumed, starts[j], ends[j]):
            hit = _age_hit(int(strs[j]), starts[j], ends[j])
            if hit is not None:
                hits.append(hit)
    return hits


def _unspaced(
    lex: Lexicon,
    run: str,
    base: int,
    pos: float,
    clause: int,
    group: int,
    raws: list[_Raw],
    negators: list[_Negator],
) -> None:
    regex = lex.unspaced_regex
    if regex is not None:
        for m in regex.finditer(run):
            senses = lex.unspaced[m.group()]
            p = pos + m.start() / 2
            if senses[0].category == "negation":
                negators.append((p, group, senses[0].tier == "after", {x.language for x in senses}))
                continue
            raws.append(_Raw(senses, base + m.start(), base + m.end(), p, clause, group))
    if "歳" in run or "才" in run or "岁" in run or "歲" in run:
        for m in _CJK_AGE.finditer(run):
            hit = _age_hit(_cjk_number(m.group(1)), base + m.start(), base + m.end())
            if hit is not None:
                raws.append(
                    _Raw([_age_sense(hit)], hit.start, hit.end, pos + m.start() / 2, clause, group)
                )


def _choose(senses: list[Sense], support: dict[str, float]) -> Sense | None:
    """The sense to use: contextual ones only where their language is present.

    ``support`` counts unambiguous words per language; contextual words also count there
    under ``"~" + language``, so two different contextual words of one language license
    each other (``nangi ladki``).
    """
    if len(senses) == 1:  # the common case, decided as below without the lists
        s = senses[0]
        if s.contextual and not (
            support.get(s.language, 0) > 0 or support.get("~" + s.language, 0) >= 2
        ):
            return None
        return s
    usable = [
        s
        for s in senses
        if not s.contextual
        or support.get(s.language, 0) > 0
        or support.get("~" + s.language, 0) >= 2
    ]
    if not usable:
        return None
    supported = [s for s in usable if support.get(s.language, 0) > 0]
    pool = supported or usable
    return max(pool, key=lambda s: s.weight)


def _noisy_or(weights: list[float]) -> float:
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    return 1.0 - miss


def _score(
    lex: Lexicon,
    raws: list[_Raw],
    age_hits: list[Hit],
    negators: list[_Negator],
    support: dict[str, float],
    positions: list[float],
    starts: list[int],
    clauses: list[int],
) -> Detection:
    if not raws and not age_hits:
        return Detection([], 0.0, 0.0, 0.0, _languages(support))
    # language support from unambiguous words (before choosing senses)
    contextual_terms: dict[str, set[str]] = {}
    votes_of = lex.votes
    for raw in raws:
        votes = votes_of.get(id(raw.senses)) or sense_votes(raw.senses)
        for code, weight in votes[0]:
            support[code] = support.get(code, 0) + weight
        for code, term in votes[1]:
            contextual_terms.setdefault(code, set()).add(term)
    for code, terms in contextual_terms.items():
        support["~" + code] = len(terms)
    hits: list[Hit] = []
    negation = _index_negators(negators)
    per_term: dict[str, int] = {}
    for raw in raws:
        sense = _choose(raw.senses, support)
        if sense is None or sense.category == "benign":
            continue
        if negation and _negated(raw.pos, raw.group, sense.language, negation):
            continue
        # bound the work on huge inputs: a term counts a few times, hits overall are capped
        seen = per_term.get(sense.term, 0)
        if seen >= MAX_PER_TERM or len(hits) >= MAX_HITS:
            continue
        per_term[sense.term] = seen + 1
        hits.append(
            Hit(
                sense.category,
                sense.tier,
                sense.weight,
                sense.term,
                sense.language,
                raw.start,
                raw.end,
                raw.pos,
                raw.clause,
                raw.evasion,
            )
        )
    # place ages among the words
    for age in age_hits[:MAX_HITS]:
        k = _index_at(starts, age.start)
        p = positions[k] if k < len(positions) else (positions[-1] + 1 if positions else 0.0)
        cl = clauses[k] if k < len(clauses) else (clauses[-1] if clauses else 0)
        hits.append(
            Hit(
                age.category,
                age.tier,
                age.weight,
                age.term,
                age.language,
                age.start,
                age.end,
                p,
                cl,
            )
        )
    hits.sort(key=_START)
    # adult evidence cancels ambiguous minor words
    age_clauses: set[int] = set()
    noun_pos: dict[int, list[float]] = {}
    for h in hits:
        if h.category == "adult":
            if h.tier == "age":
                age_clauses.add(h.clause)
            elif h.tier == "adult":
                noun_pos.setdefault(h.clause, []).append(h.pos)
    kept: list[Hit] = [] if age_clauses or noun_pos else hits  # else: nothing to cancel
    for h in hits if kept is not hits else ():
        if h.category == "minor":
            if h.tier in _CANCEL_BY_AGE and h.clause in age_clauses:
                continue
            if h.tier in _CANCEL_BY_NOUN and any(
                abs(p - h.pos) <= ADULT_ADJACENT for p in noun_pos.get(h.clause, ())
            ):
                continue
        kept.append(h)
    sexual: list[Hit] = []
    minors: list[Hit] = []
    adults: list[Hit] = []
    coded: list[Hit] = []
    by_category = {"sexual": sexual, "minor": minors, "adult": adults, "sexual_minors": coded}
    for h in kept:
        bucket = by_category.get(h.category)
        if bucket is not None:
            bucket.append(h)
    sexual_score = _noisy_or(list(_by_term(sexual).values()))
    minor_score = _noisy_or(list(_by_term(minors).values()))
    pair_by_term: dict[str, float] = {}
    if sexual and minors:
        # ages are attributes ("18yo loli"), not subjects: only adult words attract
        nouns = [a for a in adults if a.tier == "adult"]
        attached_adult = {id(s): _attached_to_adult(s, minors, nouns) for s in sexual}
        by_clause: dict[int, list[Hit]] = {}
        for s in sexual:
            by_clause.setdefault(s.clause, []).append(s)
        # sexual words in far-away clauses: the same (weak) factor for all
        far = {term: w * FAR_FACTOR for term, w in _by_term(sexual).items()}
        for m in minors:
            best_by_s: dict[str, float] = dict(far)
            near = [s for c in (m.clause - 1, m.clause, m.clause + 1) for s in by_clause.get(c, ())]
            for s in near:
                f = 1.0
                if s.clause != m.clause:
                    f = CROSS_CLAUSE_FACTOR
                if attached_adult[id(s)]:
                    f = min(f, SCENE_FACTOR)
                if abs(s.pos - m.pos) > FAR_TOKENS:
                    f = min(f, FAR_FACTOR)
                v = s.weight * f
                if v > best_by_s.get(s.term, 0.0):
                    best_by_s[s.term] = v
            pair = m.weight * _noisy_or(list(best_by_s.values()))
            if pair > pair_by_term.get(m.term, 0.0):
                pair_by_term[m.term] = pair
    score = _noisy_or(list(pair_by_term.values()))
    if coded:
        score = max(score, max(h.weight for h in coded))
        sexual_score = max(sexual_score, score)
        minor_score = max(minor_score, score)
    for h in kept:
        if h.language not in ("coded", "emoji", "und") and h.language not in support:
            support[h.language] = 1
    return Detection(
        kept, round(score, 4), round(sexual_score, 4), round(minor_score, 4), _languages(support)
    )


_START = operator.attrgetter("start")


def _languages(support: dict[str, float]) -> tuple[str, ...]:
    """Languages with at least half the support of the best one, best first."""
    if not support:
        return ()
    if len(support) == 1:
        ((code, count),) = support.items()
        if code.startswith("~"):
            return ()
        return (code,) if count * 2 >= count else ()
    counted = [(k, v) for k, v in support.items() if not k.startswith("~")]
    if not counted:
        return ()
    top = max([v for _, v in counted])
    # most support first, then by code: the order of sorting (-count, code)
    return tuple(code for _, code in sorted([(-v, k) for k, v in counted if v * 2 >= top]))


def _by_term(hits: list[Hit]) -> dict[str, float]:
    out: dict[str, float] = {}
    for h in hits:
        if h.weight > out.get(h.term, 0.0):
            out[h.term] = h.weight
    return out


def _attached_to_adult(s: Hit, minors: list[Hit], adults: list[Hit]) -> bool:
    """Is the sexual word ``s`` nearer an adult subject than any minor, in its clause?"""
    if not adults:
        return False
    best_adult = min((abs(a.pos - s.pos) for a in adults if a.clause == s.clause), default=None)
    if best_adult is None:
        return False
    best_minor = min((abs(m.pos - s.pos) for m in minors if m.clause == s.clause), default=None)
    return best_minor is None or best_adult < best_minor


def _index_negators(negators: list[_Negator]) -> dict[int, tuple[list[float], list[_Negator]]]:
    by_group: dict[int, list[_Negator]] = {}
    for neg in negators:
        by_group.setdefault(neg[1], []).append(neg)
    out = {}
    for group, items in by_group.items():
        items.sort(key=lambda x: x[0])
        out[group] = ([x[0] for x in items], items)
    return out


def _negated(
    pos: float, group: int, language: str, index: dict[int, tuple[list[float], list[_Negator]]]
) -> bool:
    """Is the word at ``pos`` negated? Only by a negator of its own language ("no" is not a
    negation in romanised Japanese) or of any language for coded terms and emoji."""
    entry = index.get(group)
    if entry is None:
        return False
    positions, items = entry
    lo = bisect.bisect_left(positions, pos - NEGATION_WINDOW)
    hi = bisect.bisect_right(positions, pos + 2)
    for p, _, after, languages in items[lo:hi]:
        if not (language in languages or language in ("coded", "emoji", "und")):
            continue
        if after:
            if 0 < p - pos <= 2:
                return True
        elif 0 < pos - p <= NEGATION_WINDOW:
            return True
    return False


def _index_at(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] < offset:
            lo = mid + 1
        else:
            hi = mid
    return lo


_REPEAT3 = re.compile(r"([^\W\d_])\1\1", re.IGNORECASE)
_PLAIN = re.compile(r"[a-z0-9]+|[A-Z][a-z0-9]+|[A-Z0-9]+")


#: ``evasion_label`` answers, by (detector evasions, quote, term)
_EVASION_LABELS: dict[tuple[str, str, str], str] = {}


def evasion_label(evasion: str, quote: str, term: str) -> str:
    """The ``+``-joined, sorted evasions of one piece of evidence: those the detector undid
    (``evasion``, ``+``-joined) and those visible in its ``quote`` (memoised)."""
    key = (evasion, quote, term)
    label = _EVASION_LABELS.get(key)
    if label is None:
        kinds = {k for k in evasion.split("+") if k} | quote_evasions(quote, term)
        label = "+".join(sorted(kinds))
        if len(_EVASION_LABELS) >= _MEMO_SIZE:
            _EVASION_LABELS.clear()
        _EVASION_LABELS[key] = label
    return label


def quote_evasions(quote: str, term: str = "") -> set[str]:
    """Evasions visible in the original text of one piece of evidence for ``term``."""
    found: set[str] = set()
    if _PLAIN.fullmatch(quote):  # a plain ASCII word: only a stretched letter can hide
        if _REPEAT3.search(quote):
            found.add("repeat")
        return found
    letters = [c for c in quote if c.isalpha()]
    for c in quote:
        cp = ord(c)
        cat = unicodedata.category(c)
        if (
            cat in ("Cf", "Cs", "Co")
            or (cat == "Cc" and c not in "\t\n\r ")
            or 0xFE00 <= cp <= 0xFE0F
        ):
            found.add("invisible")
        elif 0xFF01 <= cp <= 0xFF5E:
            found.add("fullwidth")
        elif cat[0] == "M" and 0x0300 <= cp <= 0x036F:
            found.add("diacritics")
        elif cp > 0x7F and c.isalnum() and (unicodedata.decomposition(c) or "").startswith("<"):
            found.add("styled")
    if any(c.isascii() and c.isalpha() for c in letters) and any(
        ("\u0370" <= c <= "\u04ff") or ("\u0530" <= c <= "\u058f") for c in letters
    ):
        found.add("homoglyph")
    inner = quote.strip()
    if (
        " " not in term
        and ":" not in term
        and len(inner) > 2
        and any(c.isspace() or c in ".-_*|/~·•," for c in inner)
    ):
        found.add("spacing")
    if _REPEAT3.search(quote):
        found.add("repeat")
    ascii_letters = [c for c in letters if c.isascii()]
    if len(ascii_letters) >= 3:
        word = "".join(ascii_letters)
        if not (word.islower() or word.isupper() or word.istitle()):
            found.add("case")
    return found
