"""The guard itself: normalise, detect, add the optional model, decide, quote the evidence.

In: a text and a :class:`~needle.textguard.policy.GuardPolicy`. Out: a
:class:`~needle.textguard.result.GuardResult`. Compiled with mypyc where the build could (see
``needle._compiled``), like the other modules of the hot path.
"""

from __future__ import annotations

from needle.textguard.detect import detect
from needle.textguard.evasions import evasion_label
from needle.textguard.hits import Detection
from needle.textguard.model import TextClassifier
from needle.textguard.normalize import Normalized, normalize
from needle.textguard.policy import GuardPolicy
from needle.textguard.result import Evidence, GuardResult
from needle.textguard.terms import Lexicon, load_lexicon

__all__ = ["Guard", "check"]

_DEFAULT_POLICY = GuardPolicy()


class Guard:
    """A text guard with a policy and, optionally, a learned classifier.

    Build one per process and reuse it: the lexicon is compiled once, and ``check`` keeps no
    state between calls (safe from several threads).
    """

    def __init__(
        self,
        policy: GuardPolicy | None = None,
        classifier: TextClassifier | None = None,
        *,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.policy = policy or _DEFAULT_POLICY
        self.classifier = classifier
        self.lexicon = lexicon or load_lexicon()

    def check(self, text: object, *, policy: GuardPolicy | None = None) -> GuardResult:
        """Check one text (a ``str``). ``policy`` overrides the guard's own for this call.

        ``text`` is typed ``object`` so that a wrong type gets the explanation below in the
        compiled build too (mypyc would reject it first with a terser message)."""
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
        evidence = _evidence(found, norm, text)
        score = found.score
        rule = found.rule
        model_name: str | None = None
        model_score: float | None = None
        if self.classifier is not None and pol.model_weight > 0:
            model_name = self.classifier.name
            model_score = round(min(1.0, max(0.0, float(self.classifier.score(body)))), 4)
            weighted = model_score * pol.model_weight
            if weighted > score:
                score = round(weighted, 4)
                rule = f"model '{model_name}' scored {model_score:.2f} x {pol.model_weight:g}"
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
            rule=_rule(rule, score, decision, categories, pol, truncated),
        )


def _rule(
    why: str,
    score: float,
    decision: str,
    categories: tuple[str, ...],
    pol: GuardPolicy,
    truncated: bool,
) -> str:
    """The rule behind a decision, in words: the score against the threshold it crossed and
    what made the score, or the policy's choice that raised an allow."""
    if decision == "block" and score >= pol.block_threshold:
        return f"{why}: score {score:.2f} >= block threshold {pol.block_threshold:g}"
    if decision == "review" and score >= pol.review_threshold:
        return f"{why}: score {score:.2f} >= review threshold {pol.review_threshold:g}"
    if truncated and decision == pol.on_truncated:
        return f"input longer than {pol.max_chars} characters: on_truncated = {pol.on_truncated}"
    if decision != "allow":
        choice = "sexual_only" if "sexual" in categories else "minor_only"
        return f"policy {choice} = {decision}"
    if why:
        return f"{why}: score {score:.2f} < review threshold {pol.review_threshold:g}"
    return ""


def _evidence(found: Detection, norm: Normalized, text: str) -> list[Evidence]:
    """The detector's hits as evidence quoted from the original ``text``, with the evasions
    seen through."""
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
    return evidence


_default_guard: Guard | None = None


def check(text: object, *, policy: GuardPolicy | None = None) -> GuardResult:
    """Check ``text`` with the default guard (rules only) and ``policy`` or the default one."""
    global _default_guard
    if _default_guard is None:
        _default_guard = Guard()
    return _default_guard.check(text, policy=policy)
