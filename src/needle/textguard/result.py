"""The text guard's result types: a decision that carries its evidence.

In: what the detector found, mapped back to the original text. Out: :class:`GuardResult`
(``decision``, ``categories``, ``score``, ``evidence``, ``languages``, the ``policy`` used)
and its :class:`Evidence`, each quoting the original input: ``text[start:end] == quote``.
"""

from __future__ import annotations

from dataclasses import dataclass

from needle._compiled import reduce_by_fields
from needle.jsonvalue import JSONObject
from needle.textguard.policy import GuardPolicy

__all__ = ["CATEGORIES", "Evidence", "GuardResult"]

#: the categories a result can carry
CATEGORIES = ("sexual", "minor", "sexual_minors")


@dataclass(frozen=True, slots=True)
class Evidence:
    """One word or phrase behind a decision, quoted from the original input.

    ``category`` is ``sexual``, ``minor``, ``sexual_minors`` (one term meaning both, or the
    optional model), or ``adult`` (counter-evidence: an adult subject or an age of 18+, shown
    because it changed the outcome). ``term`` is the lexicon entry (``age:12`` for ages,
    ``grade:5`` for school grades, ``model:NAME`` for the model, whose quote is empty).
    A result lists risk evidence first (in text order), then adult counter-evidence.
    ``evasion`` names what was seen through, ``+``-joined (``leet``, ``spacing``,
    ``homoglyph``, ``invisible``, ``fullwidth``, ``styled``, ``diacritics``, ``repeat``,
    ``case``, ``compound``, ``transliteration``, ``masking``, ``vowels``, ``phonetic``,
    ``reversed``, ``emoji``), empty when none.
    """

    category: str
    term: str
    start: int
    end: int
    quote: str
    language: str
    evasion: str
    weight: float = 0.0

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return reduce_by_fields(self)

    def to_dict(self) -> JSONObject:
        return {
            "category": self.category,
            "term": self.term,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "language": self.language,
            "evasion": self.evasion,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class GuardResult:
    """The guard's answer for one text.

    ``score`` (0..1) measures sexual content involving a minor; ``decision`` is the policy's
    reading of it; ``categories`` lists what was seen (``sexual``, ``minor``,
    ``sexual_minors``). ``languages`` are ISO 639-1 codes of the languages recognised, most
    evident first. ``truncated`` is true when the input was longer than
    ``policy.max_chars`` and only its beginning was checked. ``model`` and ``model_score``
    are set when an ONNX classifier took part. ``rule`` says which rule produced the
    decision, in words (the pair of terms and their scope, a coded term, the model, or the
    policy's choice for adult content alone, a child alone, a cut input).
    """

    decision: str
    categories: tuple[str, ...]
    score: float
    evidence: tuple[Evidence, ...]
    languages: tuple[str, ...]
    policy: GuardPolicy
    truncated: bool = False
    model: str | None = None
    model_score: float | None = None
    rule: str = ""

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return reduce_by_fields(self)

    @property
    def blocked(self) -> bool:
        return self.decision == "block"

    def reasons(self) -> list[str]:
        """Short human-readable reasons: the rule that decided, then one line per piece of
        risk evidence (for assessments)."""
        out = [f"{self.decision}: {self.rule}"] if self.rule else []
        for ev in self.evidence:
            if ev.category == "adult":
                continue
            how = f" (evasion: {ev.evasion})" if ev.evasion else ""
            lang = f" [{ev.language}]" if ev.language not in ("und", "") else ""
            quote = ev.quote if ev.quote else ev.term
            out.append(f"{ev.category}: {quote!r} -> {ev.term}{lang}{how}")
        return out

    def to_dict(self) -> JSONObject:
        return {
            "decision": self.decision,
            "categories": list(self.categories),
            "score": self.score,
            "evidence": [e.to_dict() for e in self.evidence],
            "languages": list(self.languages),
            "policy": self.policy.to_dict(),
            "truncated": self.truncated,
            "model": self.model,
            "model_score": self.model_score,
            "rule": self.rule,
        }
