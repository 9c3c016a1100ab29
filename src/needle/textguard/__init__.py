"""The text guard: does a prompt, file name or metadata text ask for sexual content of minors?

In: any text (``str``). Out: a :class:`GuardResult` with a ``decision`` (``block`` /
``review`` / ``allow``), the ``categories`` seen (``sexual``, ``minor``, ``sexual_minors``), a
``score`` (0..1), ``evidence`` quoted from the original text, the ``languages`` recognised and
the ``policy`` used. Local and fast: a few tens of microseconds per short prompt on one core,
no model needed (see docs/textguard.md).

The flow: :mod:`~needle.textguard.normalize` (evasions undone, map back kept) ->
:mod:`~needle.textguard.detect` (multilingual lexicon in :mod:`~needle.textguard.lexicon`,
ages, scope, word sense) -> optional :mod:`~needle.textguard.model` (ONNX) ->
:mod:`~needle.textguard.policy` (thresholds) -> :mod:`~needle.textguard.result`.

Use :func:`check` for the default guard, or build a :class:`Guard` with your policy and an
optional classifier::

    from needle.textguard import Guard, Policy, check
    check("a cat on a sofa").decision            # 'allow'
    Guard(Policy(sexual_only="review")).check(prompt)
"""

from __future__ import annotations

from needle.textguard.detect import Detection, detect, evasion_label
from needle.textguard.lexicon import Lexicon, load_lexicon
from needle.textguard.model import OnnxTextClassifier, TextClassifier
from needle.textguard.normalize import Normalized, normalize
from needle.textguard.policy import DECISIONS, Policy
from needle.textguard.result import CATEGORIES, Evidence, GuardResult

__all__ = [
    "CATEGORIES",
    "DECISIONS",
    "Evidence",
    "Guard",
    "GuardResult",
    "Normalized",
    "OnnxTextClassifier",
    "Policy",
    "TextClassifier",
    "check",
    "normalize",
]

_DEFAULT_POLICY = Policy()


class Guard:
    """A text guard with a policy and, optionally, a learned classifier.

    Build one per process and reuse it: the lexicon is compiled once, and ``check`` keeps no
    state between calls (safe from several threads).
    """

    def __init__(
        self,
        policy: Policy | None = None,
        classifier: TextClassifier | None = None,
        *,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.policy = policy or _DEFAULT_POLICY
        self.classifier = classifier
        self.lexicon = lexicon or load_lexicon()

    def check(self, text: str, *, policy: Policy | None = None) -> GuardResult:
        """Check one text. ``policy`` overrides the guard's own for this call."""
        if not isinstance(text, str):
            raise TypeError(
                f"the text guard checks str, not {type(text).__name__}; decode bytes first, "
                "e.g. data.decode('utf-8', 'replace')"
            )
        pol = policy or self.policy
        truncated = len(text) > pol.max_chars
        body = text[: pol.max_chars] if truncated else text
        norm = normalize(body)
        found: Detection = detect(norm, self.lexicon)
        evidence: list[Evidence] = []
        for hit in found.hits:
            start, end = norm.span(hit.start, hit.end)
            quote = text[start:end]
            evidence.append(
                Evidence(
                    hit.category,
                    hit.term,
                    start,
                    end,
                    quote,
                    hit.language,
                    evasion_label(hit.evasion, quote, hit.term),
                    hit.weight,
                )
            )
        score = found.score
        model_name: str | None = None
        model_score: float | None = None
        if self.classifier is not None and pol.model_weight > 0:
            model_name = self.classifier.name
            model_score = round(min(1.0, max(0.0, float(self.classifier.score(body)))), 4)
            weighted = model_score * pol.model_weight
            if weighted > score:
                score = round(weighted, 4)
            if weighted >= pol.review_threshold:
                evidence.append(
                    Evidence("sexual_minors", f"model:{model_name}", 0, 0, "", "und", "", weighted)
                )
        # risk evidence first, in text order; adult counter-evidence last
        evidence.sort(key=lambda e: e.category == "adult")
        categories = tuple(
            name
            for name, value in (
                ("sexual", found.sexual),
                ("minor", found.minor),
                ("sexual_minors", score),
            )
            if value >= pol.review_threshold
        )
        decision = pol.decide(score, categories, truncated=truncated)
        return GuardResult(
            decision=decision,
            categories=categories,
            score=score,
            evidence=tuple(evidence),
            languages=found.languages,
            policy=pol,
            truncated=truncated,
            model=model_name,
            model_score=model_score,
        )


_default_guard: Guard | None = None


def check(text: str, *, policy: Policy | None = None) -> GuardResult:
    """Check ``text`` with the default guard (rules only) and ``policy`` or the default one."""
    global _default_guard
    if _default_guard is None:
        _default_guard = Guard()
    return _default_guard.check(text, policy=policy)
