"""Detection: what a text asks for, found in its words and scored.

In: a :class:`~needle.textguard.normalize.Normalized` text and the :class:`Lexicon`.
Out: a :class:`~needle.textguard.hits.Detection` with the hits kept (each with its span in
the normalised text, the lexicon sense, the evasion it had to see through) and the scores the
policy decides on.

The flow, linear in the length of the text; each step is a module of its own, and this one
runs them and reads the words:

1. **Regions that do not ask for anything** are set aside (:mod:`~needle.textguard.scope`):
   the ``Negative prompt:`` section of diffusion metadata and Midjourney's ``--no`` list.
2. **Tokens** (:mod:`~needle.textguard.tokens`): words of spaced scripts, runs of unspaced
   scripts (Chinese, Japanese, Thai: forward maximum matching over the lexicon), emoji;
   clause ends and commas are remembered. **Masked** words are read back
   (:mod:`~needle.textguard.masks`): ``n*de``, ``nu.de``, ``p@rn``. Words split or glued to
   evade are **re-cut** (:mod:`~needle.textguard.recut`): ``nu de``, ``nu, de``,
   ``nudechild``, ``naked12yo``.
3. **Ages and grades** (:mod:`~needle.textguard.ages`) by one regex built from every
   language's units (``12yo``, ``12 años``, ``12歳``, ``בת 12``, ``5th grade``), then on the
   tokens; ages under 18 are minors, 18 and over are adults.
4. **Lookup** of each word (here, with :mod:`~needle.textguard.words`): multi-word phrases
   first (:mod:`~needle.textguard.phrases`, so ``naked mole rat`` and ``nude lipstick`` take
   their harmless sense before ``naked`` is seen), then the exact entry, the longest stem,
   and when nothing matches, variants (:mod:`~needle.textguard.variants`): clitics
   (``l'enfant``, Arabic ``al-``), numbers glued to words (``1girl``, ``12yonude``),
   leetspeak, squeezed doubles, homoglyph skeleton, transliteration, compounds without
   separators, respellings (``kidz``, ``chld``, ``dlihc``). Hint words count towards their
   language; negators are noted. Respellings that are weak alone need company
   (:func:`_licensed`): a word read backwards counts only beside another one, two
   consonants (``nd``) only beside another word typed without vowels.
5. **Scope** (:mod:`~needle.textguard.scope`): negation (``no nudity``; ``sin ropa`` is a
   phrase of its own), contextual words licensed by their language, adult ages and adult
   words cancelling ambiguous minor words (``19 year old girl``), and subject attachment: a
   sexual word closer to an adult than to the child (``nude woman and a child``) scores as a
   scene, not as the same subject.
6. **Score** (:mod:`~needle.textguard.scoring`): ``minor weight x sexual weight x scope
   factor``, combined over distinct terms by noisy-OR; documented coded terms score on their
   own.
"""

from __future__ import annotations

import re
import unicodedata

from needle.textguard.ages import age_sense, cjk_ages, find_ages, token_ages
from needle.textguard.hits import NO_SPANS, Detection, Negator, Raw, Spans, inside
from needle.textguard.masks import unmask
from needle.textguard.normalize import Normalized
from needle.textguard.phrases import phrase_at, phrase_evasion
from needle.textguard.recut import expand
from needle.textguard.respell import REVERSED_ALONE, REVERSED_MIN, SHORT_CONSONANTS
from needle.textguard.scope import excluded
from needle.textguard.scoring import score
from needle.textguard.scripts import script_languages
from needle.textguard.terms import Lexicon
from needle.textguard.tokens import DIGIT, Tokens, tokenize
from needle.textguard.variants import Found, variants
from needle.textguard.words import Word, is_syllabic, word

__all__ = ["detect"]


def detect(norm: Normalized, lex: Lexicon) -> Detection:
    """Find and score what ``norm`` asks for. See the module docstring for the steps."""
    text = norm.text
    skipped = excluded(text)
    raw_toks, _ = tokenize(text, lex)
    raw_toks = unmask(raw_toks, norm, lex)
    starts, backwards, standard = _prepass(raw_toks, lex)
    if backwards >= REVERSED_MIN or standard:
        raw_toks = _rewritten(raw_toks, lex, backwards >= REVERSED_MIN)
        starts = _prepass(raw_toks, lex)[0]
    toks, infos = expand(raw_toks, lex, text)
    # ages after tokens: where number words are needs to be known first
    age_hits = find_ages(text, lex, starts)
    if skipped:
        age_hits = [h for h in age_hits if not inside(skipped, h.start, h.end)]
    consumed = Spans([(h.start, h.end) for h in age_hits]) if age_hits else NO_SPANS
    findings = _Findings(script_languages(norm.original, text))
    _read(toks, infos, lex, skipped, consumed, findings)
    if findings.respelled:
        findings.raws = _licensed(findings.raws, backwards >= REVERSED_MIN)
    later = token_ages(toks, lex, findings.persons, consumed, text, findings.support)
    if later:
        # the words of a unit read now are part of the age ("ọmọ ọd*ún 19": "ọmọ" is a
        # child elsewhere, here "aged")
        read = Spans([(h.start, h.end) for h in later])
        findings.raws = [r for r in findings.raws if not read.covers(r.start, r.end)]
        age_hits.extend(later)
    return score(lex, findings.raws, age_hits, findings.negators, findings.support, toks)


def _prepass(toks: Tokens, lex: Lexicon) -> tuple[list[int], int, bool]:
    """One pass over the words (their analysis is memoised): where an age in words may start
    (:attr:`~needle.textguard.words.Word.age_start`; the number-word regexes are tried there
    only), how many distinct words are written backwards (of three letters or more; 0
    unless one of them is a sensitive word), and whether a word of a phrase is respelled."""
    cache: dict[str, Word] = lex.word_cache  # type: ignore[assignment]
    starts: list[int] = []
    backwards: set[str] = set()
    sensitive = False
    standard = False
    for t, k, s in zip(toks.text, toks.kind, toks.start, strict=True):
        if k == "w":
            info = cache.get(t)
            if info is None:
                info = word(lex, t)
            if info.age_start:
                starts.append(s)
            if info.backwards is not None and (len(t) >= 3 or (len(t) == 2 and is_syllabic(t[0]))):
                backwards.add(t)
                if info.backwards_sensitive:
                    sensitive = True
                    if len(t) >= REVERSED_ALONE:  # "eifargonropredniK": no coincidence
                        backwards.add("")
            standard = standard or info.standard is not None
    return starts, len(backwards) if sensitive else 0, standard


def _rewritten(toks: Tokens, lex: Lexicon, backwards: bool) -> Tokens:
    """The words read as meant, so that phrases, units and negation apply to them: in a text
    written backwards (``edun dlihc``, ``raey dlo``), every unknown word whose reversal the
    lexicon knows, reversed; a respelled word of a phrase (``clothez``), standard."""
    out = Tokens()
    for i in range(len(toks)):
        out.copy_from(toks, i)
        if toks.kind[i] == "w":
            w = toks.text[i]
            info = word(lex, w)
            back = info.reversal if backwards else None
            if back is None and backwards and not info.senses and DIGIT.search(w) is not None:
                back = _letters_reversed(lex, w)
            if back is not None:
                out.text[-1] = back
                out.evasion[-1] = "reversed"
            elif info.standard is not None:
                out.text[-1] = info.standard
                out.evasion[-1] = info.standard_evasion
    return out


_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _letters_reversed(lex: Lexicon, w: str) -> str | None:
    """A number with letters glued to it, the letters read backwards (``5ht``, ``12oy``),
    when they are then a unit the lexicon knows."""
    back = _LETTER_RUN.sub(lambda m: m.group()[::-1], w)
    runs = _LETTER_RUN.findall(back)
    return back if runs and all(r in lex.vocab or r in lex.unit_first for r in runs) else None


class _Findings:
    """What reading the tokens collects for scoring."""

    __slots__ = ("negators", "persons", "raws", "respelled", "support")

    def __init__(self, support: dict[str, float]) -> None:
        self.raws: list[Raw] = []
        self.negators: list[Negator] = []
        #: token indexes of minor or adult words and their languages, for a bare age after
        #: them ("girl, 12", "girl, twelve")
        self.persons: list[tuple[int, set[str]]] = []
        #: whether a word was found reversed or without vowels (then :func:`_licensed`)
        self.respelled = False
        #: language -> support (scripts, hint words; scoring adds the words' votes)
        self.support = support


def _read(
    toks: Tokens,
    infos: list[Word | None] | None,
    lex: Lexicon,
    skipped: Spans,
    consumed: Spans,
    findings: _Findings,
) -> None:
    """Look every token up, left to right (step 4 of the module docstring).

    One loop over the tokens, kept in one function on purpose: the common cases (a word that
    adds nothing, a word with senses, a hint word) are handled inline, since a helper call
    per word costs measurably in pure Python; the rarer ones (unspaced runs, leet symbols
    glued into a word, phrases) are helpers.
    """
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    clauses, groups, positions, evasions = toks.clause, toks.group, toks.pos, toks.evasion
    raws, negators, support = findings.raws, findings.negators, findings.support
    n = len(kinds)
    skip_until = -1
    check_skipped = bool(skipped)
    check_consumed = bool(consumed)
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
        if check_skipped and skipped.covers(s, e):
            continue
        if check_consumed and consumed.covers(s, e):
            continue
        cl, gr, p = clauses[i], groups[i], positions[i]
        if kind == "u":
            _unspaced(lex, w, s, p, cl, gr, findings)
            continue
        if kind == "s":
            senses = lex.exact.get(w)
            if senses is not None:
                raws.append(Raw(senses, s, e, p, cl, gr))
            continue
        if kind == "l" or (i + 1 < n and kinds[i + 1] == "l" and starts[i + 1] == e):
            end = _glued_leet(toks, i, lex, raws)
            if end >= 0:
                skip_until = end
                continue
            if kind == "l":
                continue
        info = word(lex, w)
        if info.phrases is not None:
            phrase = phrase_at(toks, i, info.phrases)
            if phrase is not None:
                end = i + len(phrase[0])
                seen = {x for x in evasions[i:end] if x}
                seen.update(x for x in phrase_evasion(strs, i, phrase[0]).split("+") if x)
                ev = "+".join(sorted(seen))
                raws.append(Raw(phrase[1], s, ends[end - 1], p, cl, gr, ev))
                skip_until = end
                continue
        hint = info.hint
        if hint is not None and len(hint) <= 2:
            for code in hint:
                support[code] = support.get(code, 0) + 1
        if info.neg_before is not None:
            negators.append((p, gr, False, info.neg_before))
        if info.neg_after is not None:
            negators.append((p, gr, True, info.neg_after))
        if info.senses is not None or info.variants:
            _add_word(info, toks, i, findings)


def _add_word(info: Word, toks: Tokens, i: int, findings: _Findings) -> None:
    """The senses of word token ``i``, its own or found through its variants."""
    w, s, e, ev0 = toks.text[i], toks.start[i], toks.end[i], toks.evasion[i]
    p, cl, gr = toks.pos[i], toks.clause[i], toks.group[i]
    found: Found
    if info.senses is not None:
        found = [(0, len(w), info.senses, ev0)]
    else:
        found = [
            (fs, fe, sn, "+".join(x for x in (ev0, ev) if x)) for fs, fe, sn, ev in info.variants
        ]
    virtual = e - s != len(w)  # re-cut from several tokens: its span is wider than it
    for fs, fe, sn, ev in found:
        if "reversed" in ev or "vowels" in ev:
            findings.respelled = True
        if virtual:
            fs, fe = 0, e - s
        findings.raws.append(Raw(sn, s + fs, s + fe, p, cl, gr, ev))
        codes = {x.language for x in sn if x.category in ("minor", "adult")}
        if codes:
            findings.persons.append((i, codes))


def _licensed(raws: list[Raw], backwards: bool) -> list[Raw]:
    """``raws`` without the respelled words too weak alone: words read backwards unless
    :data:`~needle.textguard.respell.REVERSED_MIN` are (``backwards``: the text was found
    written backwards, and read so), and vowel-less words of
    :data:`~needle.textguard.respell.SHORT_CONSONANTS` letters unless another vowel-less word
    was found."""
    reversed_ = [] if backwards else [r for r in raws if "reversed" in r.evasion]
    vowels = [r for r in raws if "vowels" in r.evasion]
    drop: set[int] = set()
    if 0 < len({r.start for r in reversed_}) < REVERSED_MIN:
        drop.update(id(r) for r in reversed_)
    short = [r for r in vowels if r.end - r.start <= SHORT_CONSONANTS]
    if short and len({r.start for r in vowels}) < 2:
        drop.update(id(r) for r in short)
    return [r for r in raws if id(r) not in drop] if drop else raws


def _glued_leet(toks: Tokens, i: int, lex: Lexicon, raws: list[Raw]) -> int:
    """Leet symbols glued into a word (``$ex``, ``r@ygold``, ``s€x``): the word and symbol
    tokens from ``i`` that touch are joined and looked up. The index after them when that
    found something, else -1."""
    kinds, strs, starts, ends = toks.kind, toks.text, toks.start, toks.end
    n = len(kinds)
    j = i
    merged = ""
    while j < n and kinds[j] in ("w", "l") and (j == i or starts[j] == ends[j - 1]):
        merged += strs[j]
        j += 1
    if j - i > 1 and any(kinds[k] == "w" for k in range(i, j)):
        senses = lex.lookup(merged)
        found = [(0, len(merged), senses, "")] if senses is not None else variants(lex, merged)
        if found:
            s, p, cl, gr = starts[i], toks.pos[i], toks.clause[i], toks.group[i]
            for fs, fe, sn, ev in found:
                raws.append(Raw(sn, s + fs, s + fe, p, cl, gr, ev or "leet"))
            return j
    return -1


def _unspaced_entry(
    lex: Lexicon,
    key: str,
    start: int,
    end: int,
    p: float,
    clause: int,
    group: int,
    findings: _Findings,
    evasion: str,
) -> None:
    """An entry (or a negator) found at ``start``..``end`` of an unspaced run."""
    senses = lex.unspaced[key]
    if senses[0].category == "negation":
        findings.negators.append(
            (p, group, senses[0].tier == "after", {x.language for x in senses})
        )
        return
    findings.raws.append(Raw(senses, start, end, p, clause, group, evasion))


def _single_syllables(run: str) -> tuple[str, list[int]]:
    """``run`` with each syllable (a letter and its marks) typed more than once in a row
    made single, and the offset in ``run`` of each character kept (empty when nothing
    repeats)."""
    syllables: list[tuple[int, int]] = []
    for k, c in enumerate(run):
        if syllables and unicodedata.category(c)[0] == "M":
            syllables[-1] = (syllables[-1][0], k + 1)
        else:
            syllables.append((k, k + 1))
    kept = [
        (a, b)
        for j, (a, b) in enumerate(syllables)
        if j == 0 or run[a:b] != run[syllables[j - 1][0] : syllables[j - 1][1]]
    ]
    if len(kept) == len(syllables):
        return run, []
    return "".join(run[a:b] for a, b in kept), [k for a, b in kept for k in range(a, b)]


def _unspaced(
    lex: Lexicon, run: str, base: int, pos: float, clause: int, group: int, findings: _Findings
) -> None:
    """Entries and negators in a run of an unspaced script starting at ``base`` (forward
    maximum matching with the lexicon's trie regex), then ages written in its numerals."""
    regex = lex.unspaced_regex
    if regex is not None:
        found = [(m.start(), m.end(), m.group(), "") for m in regex.finditer(run)]
        single, offsets = _single_syllables(run)
        if offsets:
            # a syllable typed more than once ("ເດັດັດັກ", "未成成年"): read once too; an
            # entry found so replaces those found as typed inside it
            once = [
                (offsets[m.start()], offsets[m.end() - 1] + 1, m.group(), "repeat")
                for m in regex.finditer(single)
            ]
            once = [x for x in once if not any(a <= x[0] and x[1] <= z for a, z, _, _ in found)]
            found = [x for x in found if not any(a <= x[0] and x[1] <= z for a, z, _, _ in once)]
            found = sorted(found + once)
        for a, z, key, evasion in found:
            _unspaced_entry(
                lex, key, base + a, base + z, pos + a / 2, clause, group, findings, evasion
            )
    for offset, hit in cjk_ages(run, base, lex):
        findings.raws.append(
            Raw([age_sense(hit)], hit.start, hit.end, pos + offset / 2, clause, group)
        )
