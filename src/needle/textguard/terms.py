"""The multilingual lexicon's terms: one TOML file per language, loaded and compiled once.

In: the ``*.toml`` files of the data package ``needle.textguard.lexicon`` (see ``en.toml`` for the annotated format). Out: a
:class:`Lexicon` of lookup tables over *normalised* keys (every entry goes through
:func:`needle.textguard.normalize.normalize`, exactly as input text does):

- ``exact``: one-word entries -> their senses;
- ``stems``: prefix entries (``porn*``, every Korean entry) looked up longest first;
- ``phrases``: multi-word entries, keyed by their first word;
- ``unspaced``: entries in scripts written without spaces (Chinese, Japanese, Thai), matched
  by forward maximum matching with one compiled trie regex, so that benign longer words
  (``裸眼`` "naked eye", ``性别`` "gender") win over the sensitive character inside them;
- ``age`` units, number words and grade words, compiled into the age regex by the detector;
- ``negators`` (before / after the word they negate; in unspaced scripts they sit in
  ``unspaced`` with category ``negation``), and ``hints``: common function words
  that tell which language a text is in (used to list languages and to license *contextual*
  entries, which are words that mean something harmless in another language: French ``nu``
  is Dutch and Romanian "now", Swedish ``barn`` is an English building).

Entries are single words or short clinical terms. A sense carries its category, tier and
weight; the tiers and their weights are defined here, where a reader can weigh them.
"""

from __future__ import annotations

import functools
import itertools
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from needle._compiled import reduce_by_fields
from needle.errors import ConfigError
from needle.textguard.normalize import normalize, squeeze
from needle.textguard.respell import (
    CONSONANT_STOP,
    consonants,
    fits,
    latin_letters,
    respellings,
)
from needle.textguard.scripts import SPACED_MARK_CLASS, UNSPACED_CLASS

#: the data package that holds one TOML file per language
LEXICON_PACKAGE = "needle.textguard.lexicon"

__all__ = [
    "SPACED_CHAR",
    "SPACED_WORD",
    "TIER_WEIGHTS",
    "Lexicon",
    "Sense",
    "load_lexicon",
    "sense_votes",
    "sensitive",
    "trie_regex",
    "words",
]

#: weight of each tier, 0..1. Chosen so that one explicit sexual term next to one clear
#: minor term scores 1.0 (block), an ambiguous word such as "girl" (adult women are called
#: girls in most prompts) with an explicit term scores 0.4 (review), and "young" alone with
#: an explicit term stays below review (0.25). Tuned on tests/data/textguard/dev.jsonl.
TIER_WEIGHTS: dict[tuple[str, str], float] = {
    ("sexual", "explicit"): 1.0,  # nude, naked, porn, sexual acts
    ("sexual", "suggestive"): 0.6,  # sexy, seductive, lingerie
    ("sexual", "weak"): 0.3,  # innuendo emoji: only with other signals
    ("minor", "child"): 1.0,  # child, toddler, preteen, ages under 18, primary school
    ("minor", "youth"): 0.9,  # teen, adolescent, schoolgirl: an adult age cancels these
    ("minor", "ambiguous"): 0.4,  # girl, boy, daughter: an adjacent adult word cancels too
    ("minor", "weak"): 0.25,  # young
    ("sexual_minors", "coded"): 1.0,  # terms that mean both: paedophile, documented codes
    ("adult", "adult"): 0.0,  # woman, adult, mature: counter-evidence, not a risk
    ("benign", "benign"): 0.0,  # naked mole rat, sex education, nude colour: word sense
}

_UNSPACED_CHAR = re.compile(f"[{UNSPACED_CLASS}]")
HAS_LETTER = re.compile(r"[^\W\d_]")
#: one character of a word in a spaced script: a word character of no unspaced script, or a
#: vowel sign of a spaced script whose marks are letters (``scripts.SPACED_MARK_CLASS``:
#: Thai is not in it, its characters form unspaced runs). ``_`` never occurs: it folds to a
#: space.
SPACED_CHAR = rf"(?:[^\W{UNSPACED_CLASS}]|[{SPACED_MARK_CLASS}])"
#: a word of a spaced script: letters and digits, with inner apostrophes (l'enfant, girl's)
_SPACED_RUN = rf"(?:[^\W{UNSPACED_CLASS}]++|[{SPACED_MARK_CLASS}]++)++"  # possessive
SPACED_WORD = rf"{_SPACED_RUN}(?:['’]{_SPACED_RUN})*"
_WORD_RE = re.compile(SPACED_WORD)


def words(normalized_text: str) -> list[str]:
    """The words of an already-normalised spaced-script text (how entries are keyed)."""
    return _WORD_RE.findall(normalized_text)


@dataclass(frozen=True, slots=True)
class Sense:
    """One meaning of a lexicon entry."""

    language: str
    category: str  # sexual | minor | sexual_minors | adult | benign
    tier: str
    weight: float
    term: str  # normalised entry as written in the lexicon (stems keep their "*")
    contextual: bool = False

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return reduce_by_fields(self)


@dataclass(slots=True)
class Lexicon:
    """All languages' entries, compiled for lookup. Built once by :func:`load_lexicon`."""

    languages: dict[str, str] = field(default_factory=dict)  # code -> English name
    exact: dict[str, list[Sense]] = field(default_factory=dict)
    squeezed: dict[str, list[Sense]] = field(default_factory=dict)
    stems: dict[str, list[Sense]] = field(default_factory=dict)
    #: first two characters of a stem -> the stem lengths to try, longest first
    stem_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    phrases: dict[str, list[tuple[tuple[str, ...], list[Sense]]]] = field(default_factory=dict)
    unspaced: dict[str, list[Sense]] = field(default_factory=dict)
    unspaced_regex: re.Pattern[str] | None = None
    #: sensitive one-word entries by first two characters -> lengths (compound splitting)
    piece_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    hints: dict[str, set[str]] = field(default_factory=dict)  # word -> languages
    #: two words that follow each other in a phrase ("mole", "rat"): a glued word cut into
    #: them is believable
    phrase_pairs: set[tuple[str, str]] = field(default_factory=set)
    #: the words of every phrase
    phrase_words: set[str] = field(default_factory=set)
    #: the words of sensitive phrases ("be", "gai" of Vietnamese "bé gái"), function words
    #: left out
    sensitive_phrase_words: set[str] = field(default_factory=set)
    #: function words -> their languages: the hints and the function words a language
    #: shares with many others (``de``, ``na``), which tell no language but are words a
    #: glued text is cut at (``nuade`` is "nua de")
    function_words: dict[str, set[str]] = field(default_factory=dict)
    negate_before: dict[str, set[str]] = field(default_factory=dict)
    negate_after: dict[str, set[str]] = field(default_factory=dict)
    age_after: dict[str, set[str]] = field(default_factory=dict)  # unit -> languages
    age_before: dict[str, set[str]] = field(default_factory=dict)
    grade_after: dict[str, set[str]] = field(default_factory=dict)
    grade_before: dict[str, set[str]] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)  # number word -> value
    #: number word -> its languages and its value in each (a number word counts as an age
    #: only beside a unit or a person word of its own language: Hausa "tara" is nine, and a
    #: name elsewhere)
    number_languages: dict[str, dict[str, int]] = field(default_factory=dict)
    #: the first two letters of units after a number, which may be glued to a number word
    #: ("zwölfjährige", "열두살"), and the first words of units before a number ("aged")
    unit_heads: set[str] = field(default_factory=set)
    before_firsts: set[str] = field(default_factory=set)
    clitics: dict[str, tuple[str, ...]] = field(default_factory=dict)  # first char -> prefixes
    #: every word the lexicon knows (entries, phrase words, units, hints, numbers): the pieces
    #: a run of letters may be segmented into ("n u d e l i t t l e g i r l")
    vocab: set[str] = field(default_factory=set)
    vocab_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: proper prefixes of vocabulary words: two fragments "ch" + "il" that begin a word
    vocab_prefixes: set[str] = field(default_factory=set)
    #: phrases keyed by their first word with doubled letters squeezed
    phrases_squeezed: dict[str, list[tuple[tuple[str, ...], list[Sense]]]] = field(
        default_factory=dict
    )
    #: phrases keyed by their first word without vowels ("chld" of "child seat")
    phrases_consonants: dict[str, list[tuple[tuple[str, ...], list[Sense]]]] = field(
        default_factory=dict
    )
    #: age and grade units after a number, as word tuples -> "age" or "grade"
    unit_words: dict[tuple[str, ...], str] = field(default_factory=dict)
    #: first words of those units ("yo", "th", "years")
    unit_first: set[str] = field(default_factory=set)
    #: age and grade units before a number, as word tuples -> "age" or "grade"
    before_unit_words: dict[tuple[str, ...], str] = field(default_factory=dict)
    #: the words of units and number words ("year", "klases", "twelve"): a masked word that
    #: fits one is read as it
    age_vocab: set[str] = field(default_factory=set)
    #: the words of :attr:`age_vocab` by their letters without vowels ("klss" -> "klasse")
    age_consonants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: units after a number that an ending may follow (``वर्ष`` of ``वर्षकी``), and their
    #: lengths, longest first
    free_units: set[str] = field(default_factory=set)
    free_unit_lengths: tuple[int, ...] = ()
    #: the first words of units after a number, and the last words of units before one
    unit_edges: tuple[set[str], set[str]] = field(default_factory=lambda: (set(), set()))
    #: the languages of the units of both tables, by word tuple
    unit_languages: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    #: respellings of English sensitive entries (``kidz``, ``chyld``, ``nekkid``) -> senses
    respelled: dict[str, list[Sense]] = field(default_factory=dict)
    #: respellings of the words of English phrases -> the word (``clothez`` -> ``clothes``)
    respelled_words: dict[str, str] = field(default_factory=dict)
    #: sensitive Latin-script entries without their vowels (``chld``, ``prn``) -> senses
    consonant_keys: dict[str, list[Sense]] = field(default_factory=dict)
    #: the same for stems, matched as the start of a word's consonants (``nckts``: nackt*)
    consonant_stems: dict[str, list[Sense]] = field(default_factory=dict)
    #: sensitive one-word entries (contextual ones too) by (length, first letter), for
    #: masked words (``n*de``)
    by_shape: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    #: every word the lexicon knows by (length, first letter), for masked words (``m*le``)
    vocab_by_shape: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    #: sensitive stems by first letter, longest first, for masked words (``p#rno``)
    stems_by_first: dict[str, list[str]] = field(default_factory=dict)
    #: one regex of the sensitive entries of four letters or more (stems too), built on first
    #: use: does a long glued word hold one (``kidsatthebeach``)?
    sensitive_inside: re.Pattern[str] | None = field(default=None, repr=False)
    #: per-word analysis memoised by the detector (bounded; cleared when full)
    word_cache: dict[str, object] = field(default_factory=dict, repr=False)
    #: id of each sense list -> (languages it votes for, its contextual (language, term)s)
    votes: dict[int, tuple[tuple[tuple[str, float], ...], tuple[tuple[str, str], ...]]] = field(
        default_factory=dict, repr=False
    )

    def lookup(self, word: str) -> list[Sense] | None:
        """Senses of ``word``: exact entry first, then the longest matching stem."""
        senses = self.exact.get(word)
        if senses is not None:
            return senses
        return self.stem(word)

    def fitting(self, pattern: str) -> list[str]:
        """The words the lexicon knows (entries of any sense, words of phrases and units)
        that ``pattern`` fits, ``?`` standing for any one letter (a masked word)."""
        if not pattern or pattern[0] == "?":
            return []
        shaped = self.vocab_by_shape.get((len(pattern), pattern[0]), ())
        return [w for w in shaped if fits(pattern, w)]

    def holds_sensitive(self, word: str) -> bool:
        """Does ``word`` contain a sensitive entry of four letters or more?"""
        regex = self.sensitive_inside
        if regex is None:
            keys = [
                k
                for table in (self.exact, self.stems)
                for k, senses in table.items()
                if len(k) >= 4 and _letters(k) and sensitive(senses)
            ]
            regex = self.sensitive_inside = re.compile(trie_regex(sorted(keys)) or "(?!)")
        return regex.search(word) is not None

    def stem(self, word: str) -> list[Sense] | None:
        lengths = self.stem_lengths.get(word[:2])
        if lengths is None:
            return None
        n = len(word)
        for length in lengths:
            if length <= n:
                senses = self.stems.get(word[:length])
                if senses is not None:
                    return senses
        return None


def _ends_word(unit: str) -> bool:
    """Does a unit end a word (a letter of an alphabet last: no ending follows it)?"""
    last = unit[-1]
    return last.isascii() or "\u0370" <= last <= "\u04ff"


def _letters(key: str) -> bool:
    """Letters only: ``isalpha``, or, in a script whose vowel signs are marks (Indic), no
    digit, space or symbol either."""
    return key.isalpha() or (not key.isascii() and all(c.isalpha() or _MARK.match(c) for c in key))


_MARK = re.compile(f"[{SPACED_MARK_CLASS}{UNSPACED_CLASS}]")
_NO_VOTE = frozenset({"coded", "emoji", "und"})


def sense_votes(
    senses: list[Sense],
) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, str], ...]]:
    """Which languages a word votes for, and its contextual senses.

    A word of one language votes 1 for it; a word shared by two or three languages (not
    English: English loanwords are everywhere) votes 0.5 for each; contextual senses do not
    vote, they are listed so that two contextual words of one language license each other.
    """
    langs = {s.language for s in senses if not s.contextual} - _NO_VOTE
    votes: tuple[tuple[str, float], ...] = ()
    if len(langs) == 1:
        votes = ((next(iter(langs)), 1.0),)
    elif 1 < len(langs) <= 3 and "en" not in langs:
        votes = tuple((code, 0.5) for code in sorted(langs))
    contextual = tuple((s.language, s.term) for s in senses if s.contextual)
    return votes, contextual


def _add(table: dict[str, list[Sense]], key: str, sense: Sense) -> None:
    table.setdefault(key, []).append(sense)


def _norm(entry: str) -> str:
    return normalize(entry.strip()).text.strip()


def trie_regex(keys: list[str]) -> str:
    """A regex alternation of ``keys`` factored as a trie: linear-time, longest match first."""
    trie: dict[str, Any] = {}
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        end = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        if len(branches) == 1 and not end:
            return branches[0]
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if end else body

    return emit(trie)


_CATEGORY_TIERS = {
    "sexual": ("explicit", "suggestive", "weak"),
    "minor": ("child", "youth", "ambiguous", "weak"),
    "sexual_minors": ("coded",),
}


def _compile_file(lex: Lexicon, code: str, data: dict[str, Any], source: str) -> None:
    """Add one language file: its entries (senses), then its function words and units."""
    name = str(data.get("name", code))
    lex.languages[code] = name
    stem_all = bool(data.get("stem_all", False))
    contextual = {_norm(e) for e in data.get("contextual", [])}

    def add_entry(raw: str, category: str, tier: str) -> None:
        is_stem = stem_all or raw.endswith("*")
        key = _norm(raw.rstrip("*"))
        if not key:
            raise ConfigError(f"lexicon {source}: empty entry in [{category}] {tier}")
        weight = TIER_WEIGHTS[(category, tier)]
        sense = Sense(
            code,
            category,
            tier,
            weight,
            key + ("*" if raw.endswith("*") else ""),
            key in contextual,
        )
        if _UNSPACED_CHAR.search(key):
            _add(lex.unspaced, key.replace(" ", ""), sense)
            return
        parts = words(key)
        if not parts and len(key) == 1:  # an emoji or symbol used as a word
            _add(lex.exact, key, sense)
            return
        if len(parts) > 1:
            lex.phrases.setdefault(parts[0], []).append((tuple(parts), [sense]))
            return
        if not parts:
            raise ConfigError(f"lexicon {source}: entry {raw!r} has no letters")
        word = parts[0]
        if is_stem:
            _add(lex.stems, word, sense)
        else:
            _add(lex.exact, word, sense)
            if squeeze(word) != word:
                _add(lex.squeezed, squeeze(word), sense)

    for category, tiers in _CATEGORY_TIERS.items():
        table = data.get(category, {})
        unknown = set(table) - set(tiers)
        if unknown:
            raise ConfigError(
                f"lexicon {source}: unknown tier(s) {sorted(unknown)} in [{category}]"
            )
        for tier in tiers:
            for raw in table.get(tier, []):
                add_entry(raw, category, tier)
    for raw in data.get("adult", {}).get("terms", []):
        add_entry(raw, "adult", "adult")
    benign = data.get("benign", {})
    for raw in benign.get("phrases", []):
        add_entry(raw, "benign", "benign")
    for head, followers in benign.get("next", {}).items():
        for follower in followers:
            add_entry(f"{head} {follower}", "benign", "benign")
    _compile_words(lex, code, data)


def _compile_words(lex: Lexicon, code: str, data: dict[str, Any]) -> None:
    """One language file's words that are not entries: hints, negators, age and grade
    units, number words, clitics."""
    hints = data.get("hints", {})
    for raw in hints.get("words", []):
        for w in words(_norm(raw)):
            lex.hints.setdefault(w, set()).add(code)
            lex.function_words.setdefault(w, set()).add(code)
    for raw in hints.get("shared", []):
        for w in words(_norm(raw)):
            lex.function_words.setdefault(w, set()).add(code)
    negation = data.get("negation", {})
    for where, spaced in (("before", lex.negate_before), ("after", lex.negate_after)):
        for raw in negation.get(where, []):
            key = _norm(raw)
            if _UNSPACED_CHAR.search(key):  # found by the unspaced matcher, like words
                _add(lex.unspaced, key, Sense(code, "negation", where, 0.0, key))
            else:
                spaced.setdefault(key, set()).add(code)
    for section, before, after in (
        ("age", lex.age_before, lex.age_after),
        ("grade", lex.grade_before, lex.grade_after),
    ):
        table = data.get(section, {})
        for raw in table.get("before", []):
            before.setdefault(_norm(raw), set()).add(code)
        for raw in table.get("after", []):
            after.setdefault(_norm(raw), set()).add(code)
    for raw, value in data.get("age", {}).get("numbers", {}).items():
        key = _norm(raw)
        # a number of several words is also written as one ("on iki", "oniki")
        for form in {key, key.replace(" ", "").replace("-", "")}:
            lex.numbers.setdefault(form, int(value))
            lex.number_languages.setdefault(form, {})[code] = int(value)
    for raw in data.get("clitics", []):
        key = _norm(raw)
        if key:
            lex.clitics[key[0]] = (*lex.clitics.get(key[0], ()), key)


def _finish(lex: Lexicon) -> None:
    vocab = lex.vocab
    vocab.update(k for k in lex.exact if len(k) >= 2)
    # stems of two letters are too short to cut words with, but not two Hangul syllables
    vocab.update(k for k in lex.stems if len(k) >= 3 or (len(k) == 2 and not k.isascii()))
    for entries in lex.phrases.values():
        for seq, _ in entries:
            vocab.update(w for w in seq if len(w) >= 2)
            lex.phrase_pairs.update(itertools.pairwise(seq))
            lex.phrase_words.update(seq)
    lex.sensitive_phrase_words = {
        w
        for entries in lex.phrases.values()
        for seq, senses in entries
        if any(s.category in _SENSITIVE for s in senses)
        for w in seq
        if len(w) >= 2 and w not in lex.function_words
    }
    for table in (lex.age_after, lex.age_before, lex.grade_after, lex.grade_before):
        for unit in table:
            vocab.update(w for w in words(unit) if len(w) >= 2)
    vocab.update(w for w in lex.function_words if len(w) >= 2)
    vocab.update(lex.numbers)
    for table in (lex.age_after, lex.grade_after):
        lex.unit_heads.update(unit.replace(" ", "")[:2] for unit in table)
    lex.before_firsts.update(k.split()[0] for k in lex.numbers if " " in k)  # "on" of "on iki"
    for table in (lex.age_before, lex.grade_before):
        lex.before_firsts.update(ws[0] for unit in table if (ws := words(unit)))
    vocab.update(k for k in lex.negate_before if len(k) >= 2)
    lengths: dict[str, set[int]] = {}
    for w in vocab:
        lengths.setdefault(w[:2], set()).add(len(w))
    lex.vocab_lengths = {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}
    lex.vocab_prefixes = {w[:k] for w in vocab if len(w) >= 3 for k in range(1, len(w))}
    for first, entries in lex.phrases.items():
        lex.phrases_squeezed.setdefault(squeeze(first), []).extend(entries)
        if latin_letters(first):
            for key in set(consonants(first)):
                if len(key) >= 2 and key != first:
                    lex.phrases_consonants.setdefault(key, []).extend(entries)
    for kind, table, target in (
        ("age", lex.age_after, lex.unit_words),
        ("grade", lex.grade_after, lex.unit_words),
        ("age", lex.age_before, lex.before_unit_words),
        ("grade", lex.grade_before, lex.before_unit_words),
    ):
        for unit, codes in table.items():
            parts = tuple(words(unit))
            if parts and _letters(parts[0]):
                for seq in (parts, tuple(squeeze(w) for w in parts)):
                    target.setdefault(seq, kind)
                    lex.unit_languages.setdefault(seq, set()).update(codes)
    by_two: dict[str, set[int]] = {}
    for stem in lex.stems:
        by_two.setdefault(stem[:2], set()).add(len(stem))
    lex.stem_lengths = {k: tuple(sorted(v, reverse=True)) for k, v in by_two.items()}
    pieces: dict[str, set[int]] = {}
    for key, senses in lex.exact.items():
        if len(key) >= 3 and any(s.category != "benign" for s in senses):
            pieces.setdefault(key[:2], set()).add(len(key))
    for key in lex.stems:
        if len(key) >= 4:
            pieces.setdefault(key[:2], set()).add(len(key))
    lex.piece_lengths = {k: tuple(sorted(v, reverse=True)) for k, v in pieces.items()}
    lex.unit_first = {parts[0] for parts in lex.unit_words}
    lex.free_units = {
        unit
        for table in (lex.age_after, lex.grade_after)
        for unit in table
        if " " not in unit and not _UNSPACED_CHAR.search(unit) and not _ends_word(unit)
    }
    lex.free_unit_lengths = tuple(sorted({len(u) for u in lex.free_units}, reverse=True))
    lex.unit_edges = (lex.unit_first, {parts[-1] for parts in lex.before_unit_words})
    lex.age_vocab = {
        w for table in (lex.unit_words, lex.before_unit_words) for ws in table for w in ws
    }
    lex.age_vocab.update(k for k in lex.numbers if " " not in k)
    # units and number words typed without vowels ("tlv år gmml", "5. klss"); not where
    # the skeleton is a word itself
    taken = lex.exact.keys() | lex.function_words.keys() | lex.numbers.keys() | CONSONANT_STOP
    for w in sorted(lex.age_vocab):
        if len(w) >= 3 and latin_letters(w):
            for key in set(consonants(w)):
                if len(key) >= 2 and key != w and key not in taken:
                    lex.age_consonants[key] = (*lex.age_consonants.get(key, ()), w)
    for phrase_table in (lex.phrases, lex.phrases_squeezed, lex.phrases_consonants):
        for entries in phrase_table.values():
            entries.sort(key=lambda e: -len(e[0]))
    for prefix_char, clitics in lex.clitics.items():
        lex.clitics[prefix_char] = tuple(sorted(set(clitics), key=len, reverse=True))
    _index_respellings(lex)
    tables: list[list[Sense]] = [*lex.exact.values(), *lex.stems.values(), *lex.unspaced.values()]
    tables += [senses for entries in lex.phrases.values() for _, senses in entries]
    tables += [*lex.respelled.values(), *lex.consonant_keys.values()]
    tables += list(lex.consonant_stems.values())
    for senses in tables:
        lex.votes[id(senses)] = sense_votes(senses)
    if lex.unspaced:
        keys = sorted(lex.unspaced, key=len, reverse=True)
        lex.unspaced_regex = re.compile(trie_regex(keys))


_SENSITIVE = frozenset({"sexual", "minor", "sexual_minors"})


def sensitive(senses: list[Sense]) -> list[Sense]:
    """The senses that are evidence (sexual, minor, or both), not contextual ones."""
    return [s for s in senses if s.category in _SENSITIVE and not s.contextual]


def _index_respellings(lex: Lexicon) -> None:
    """The keys respelled and masked words are found by (:mod:`~needle.textguard.respell`,
    :mod:`~needle.textguard.masks`), built from the sensitive entries. A key that is itself
    a word the lexicon knows is left out: that word means what it says."""
    known = lex.vocab
    # words a vowel-less key must not be (a unit word may: "nd" of "2nd grade" is no word)
    words = lex.exact.keys() | lex.function_words.keys() | lex.numbers.keys()
    tables = ((lex.exact, False), (lex.stems, True))
    for table, is_stem in tables:
        for key, senses in table.items():
            if (
                not is_stem
                and HAS_LETTER.search(key) is not None
                and key.replace("'", "").isalnum()
                and any(s.category in _SENSITIVE for s in senses)
            ):
                # contextual ones too: a masked word read as one still needs its language
                lex.by_shape.setdefault((len(key), key[0]), []).append(key)
            chosen = sensitive(senses)
            if is_stem and chosen and key.isalpha() and len(key) >= 3:
                lex.stems_by_first.setdefault(key[0], []).append(key)
            # without vowels a word is ambiguous across languages ("brn" is Norwegian "barn"
            # and English "born"): it counts only where its language is (contextual), so
            # the contextual entries are in too (Swedish "barn")
            evidence = [x for x in senses if x.category in _SENSITIVE]
            if not evidence or not latin_letters(key) or len(key) < 3:
                continue
            weak = [
                Sense(x.language, x.category, x.tier, x.weight, x.term, contextual=True)
                for x in evidence
            ]
            for k in set(consonants(key)):
                if len(k) >= 2 and k != key and k not in words and k not in CONSONANT_STOP:
                    target = lex.consonant_stems if is_stem else lex.consonant_keys
                    target.setdefault(k, []).extend(weak)
            english = [s for s in chosen if s.language == "en"]
            if english and not is_stem and len(key) >= 4:
                for r in respellings(key):
                    if r not in known and lex.lookup(r) is None:
                        lex.respelled.setdefault(r, []).extend(english)
    for stems in lex.stems_by_first.values():
        stems.sort(key=len, reverse=True)
    # words read as their standard spelling (then phrases and ages apply): the words of
    # English phrases, English entries among them ("gurl" of "little girl"), English number
    # words of five letters or more ("twelv") and unit words ("yeer")
    phrase_words = {
        w
        for entries in lex.phrases.values()
        for seq, senses in entries
        if any(s.language == "en" for s in senses)
        for w in seq
        if len(w) >= 4 and w.isascii() and w.isalpha()
    }
    phrase_words.update(
        w for w, codes in lex.number_languages.items() if "en" in codes and len(w) >= 5
    )
    phrase_words.update(
        w
        for seq, codes in lex.unit_languages.items()
        if "en" in codes
        for w in seq
        if len(w) >= 4 and w.isalpha()
    )
    for w in sorted(phrase_words):
        for r in respellings(w):
            if r not in known and (lex.lookup(r) is None or r in lex.respelled):
                lex.respelled_words.setdefault(r, w)
    for w in sorted(known):
        if len(w) >= 3 and w.isalpha():
            lex.vocab_by_shape.setdefault((len(w), w[0]), []).append(w)


@functools.cache
def load_lexicon() -> Lexicon:
    """Load and compile every ``*.toml`` lexicon shipped with needle (once per process)."""
    lex = Lexicon()
    root = resources.files(LEXICON_PACKAGE)
    files = sorted(
        (p for p in root.iterdir() if p.name.endswith(".toml")),
        key=lambda p: (p.name != "en.toml", p.name),
    )
    for path in files:
        # tomllib, not needle.config.read_toml: these are package data found through
        # importlib.resources (a Traversable, not always a file path), and an error here is a
        # broken install, not a user's settings file to correct
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"lexicon {path.name} is not valid TOML: {exc}") from exc
        code = str(data.get("language", path.name.removesuffix(".toml")))
        _compile_file(lex, code, data, path.name)
    _finish(lex)
    return lex
