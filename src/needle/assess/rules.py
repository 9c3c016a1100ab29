"""The rules: one file's findings in, its priority and the reasons for it out.

In: what earlier stages found about one file (read through ``needle.assess.protocols``) and
an ``AssessmentPolicy``. Out: an ``Assessment``. The steps of ``assess``, one function each:

1. bank matches (``_match_reasons``): critical;
2. the visual rule (``_Visual``): the strongest explicit score against the most likely minor;
   for a video, whose sampled frames are classified one by one (``frame_time``), the rule
   runs per frame and the strongest frame speaks for the video, its time in the reason
   ("explicit 0.91 (nudenet 320n at 00:01:12)");
3. score rules of the policy (``_score_rule_reasons``);
4. text-guard results for text attached to the file (``_guard_reasons``), corroborated or not
   by the image;
5. classifiers that could not run;
6. AI-image detectors (``needle.assess.calibration``): a score is used only with a calibration
   of that model on file, and then, like provenance, only orders;
7. provenance (``_provenance``): never raises a priority, only orders files within one.

docs/assessment.md explains each rule with its default threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from needle.assess.assessment import ORDER_AI, ORDER_CAMERA, ORDER_UNKNOWN, Assessment, Reason
from needle.assess.calibration import AiImageFinding, ai_image_findings
from needle.assess.policy import DEFAULT_POLICY, AssessmentPolicy, Priority
from needle.assess.protocols import (
    ClassificationLike,
    FaceLike,
    GuardResultLike,
    MatchLike,
    ProvenanceLike,
    VideoMatchLike,
    optional,
)
from needle.jsonvalue import JSONObject, JSONValue

__all__ = ["MAX_MATCH_REASONS", "MAX_QUOTE", "assess"]

#: match reasons listed one by one; more are summed up in one line
MAX_MATCH_REASONS = 10
#: characters of a guard's quote repeated in a reason
MAX_QUOTE = 80


def assess(
    *,
    matches: Iterable[MatchLike] = (),
    classifications: Iterable[ClassificationLike] = (),
    provenance: ProvenanceLike | None = None,
    guard: Iterable[tuple[str, GuardResultLike] | GuardResultLike] = (),
    policy: AssessmentPolicy | None = None,
) -> Assessment:
    """Combine one file's findings into its priority and reasons.

    ``guard`` holds text-guard results with where the text came from, as
    ``(source, result)`` pairs: ``("filename", r)``, ``("embedded prompt", r)``; a bare
    result is taken as ``("text", result)``.
    """
    policy = policy or DEFAULT_POLICY
    classifications = list(classifications)
    available = [c for c in classifications if c.unavailable is None]
    visual = _strongest_frame(available, policy)

    reasons: list[Reason] = []
    reasons += _match_reasons(list(matches))
    reasons += visual.reasons(policy)
    reasons += _score_rule_reasons(available, policy)
    reasons += _guard_reasons(guard, visual, policy)
    reasons += [
        Reason(
            f"{c.classifier} ({c.model}) did not run: {c.unavailable}",
            "unavailable",
            policy.unavailable_priority,
            {"classifier": c.classifier, "model": c.model, "reason": c.unavailable},
        )
        for c in classifications
        if c.unavailable is not None
    ]
    priority = max((r.priority for r in reasons), default=Priority.NONE)
    detectors = ai_image_findings(
        _peaks(available, policy.ai_image_scores), policy.ai_image_scores,
        policy.ai_image_calibration,
    )  # fmt: skip
    detected = any(f.above for f in detectors)
    order, context = _provenance(provenance, priority, detected)
    reasons += context
    reasons += _detector_reasons(detectors, priority, explain=not context)
    reasons.sort(key=lambda r: -int(r.priority))  # stable: rule order within a priority
    return Assessment(priority, tuple(reasons), order, visual.score, policy.source)


def _video_of(m: MatchLike) -> VideoMatchLike | None:
    return optional(m, "video")  # type: ignore[return-value]


def _frame_time(c: ClassificationLike) -> float | None:
    value = optional(c, "frame_time")
    return float(value) if isinstance(value, int | float) else None


def _video_match_text(m: MatchLike, video: VideoMatchLike) -> str:
    """A banked video found in the file: how much of each is in the other, and where."""
    return (
        f"known material: video matches bank {m.bank!r}: "
        f"{video.query_match_percent:.0f}% of its frames found "
        f"({_clock(video.query_start)}–{_clock(video.query_end)}), "
        f"{video.compared_match_percent:.0f}% of the listed video's "
        f"({_clock(video.compared_start)}–{_clock(video.compared_end)}); "
        f"nearest frame {m.distance} ≤ {m.threshold} bits"
    )


def _source(c: ClassificationLike) -> str:
    """How a reason names the model, and for a video frame, the frame's time."""
    name = c.model if c.classifier in c.model else f"{c.classifier} {c.model}"
    time = _frame_time(c)
    return name if time is None else f"{name} at {_clock(time)}"


def _clock(seconds: float) -> str:
    """A video time as ``hh:mm:ss`` (``00:01:12``)."""
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _strongest_frame(available: list[ClassificationLike], policy: AssessmentPolicy) -> _Visual:
    """The visual rule over one file: an image's classifications together; a video's per
    sampled frame (explicit and minor scores of different frames are never combined), the
    frame with the highest visual score winning (the earliest on a tie)."""
    frames: dict[float | None, list[ClassificationLike]] = {}
    for c in available:
        frames.setdefault(_frame_time(c), []).append(c)
    if len(frames) <= 1:
        return _Visual.of(available, policy)
    best: _Visual | None = None
    for _, group in sorted(frames.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0.0)):
        visual = _Visual.of(group, policy)
        if best is None or (visual.score, visual.explicit or 0.0) > (
            best.score,
            best.explicit or 0.0,
        ):
            best = visual
    assert best is not None
    return best


def _peaks(available: list[ClassificationLike], names: Iterable[str]) -> list[ClassificationLike]:
    """One classification per classifier for rules that read single scores: a video's frame
    with the highest of ``names``; an image's classifications as they are."""
    if all(_frame_time(c) is None for c in available):
        return available
    wanted = tuple(names)
    best: dict[str, ClassificationLike] = {}
    for c in available:
        value = max((c.scores.get(n, -1.0) for n in wanted), default=-1.0)
        held = best.get(c.classifier)
        if held is None or value > max((held.scores.get(n, -1.0) for n in wanted), default=-1.0):
            best[c.classifier] = c
    return list(best.values())


def _match_reasons(matches: list[MatchLike]) -> list[Reason]:
    reasons = []
    for m in matches[:MAX_MATCH_REASONS]:
        video = _video_of(m)
        if video is not None:
            text = _video_match_text(m, video)
        elif m.distance == 0 and m.transform in (None, "original"):
            text = f"known material: {m.signal_type} matches bank {m.bank!r}"
        else:
            text = (
                f"known material: {m.signal_type} distance {m.distance} ≤ {m.threshold} "
                f"to bank {m.bank!r}"
            )
            if m.transform not in (None, "original"):
                text += f" (as {m.transform})"
        if m.labels:
            text += f" [{', '.join(m.labels)}]"
        evidence: JSONObject = {
            "bank": m.bank,
            "signal_type": m.signal_type,
            "value": m.value,
            "distance": m.distance,
            "threshold": m.threshold,
            "transform": m.transform,
            "labels": list(m.labels),
        }
        if video is not None:
            evidence["query_match_percent"] = round(video.query_match_percent, 2)
            evidence["compared_match_percent"] = round(video.compared_match_percent, 2)
        reasons.append(Reason(text, "match", Priority.CRITICAL, evidence))
    if len(matches) > MAX_MATCH_REASONS:
        more = len(matches) - MAX_MATCH_REASONS
        banks = sorted({m.bank for m in matches[MAX_MATCH_REASONS:]})
        reasons.append(
            Reason(
                f"known material: {more} more matches (banks {', '.join(banks)})",
                "match",
                Priority.CRITICAL,
                {"more": more, "banks": list[JSONValue](banks)},
            )
        )
    return reasons


@dataclass(frozen=True)
class _Minor:
    likelihood: float
    text: str
    evidence: Mapping[str, JSONValue]


@dataclass(frozen=True)
class _Visual:
    """The strongest explicit score and the most likely minor among one file's results."""

    explicit: float | None = None
    explicit_source: str = ""
    minor: _Minor | None = None
    age_ran: bool = False

    @classmethod
    def of(cls, available: list[ClassificationLike], policy: AssessmentPolicy) -> _Visual:
        explicit: float | None = None
        source = ""
        minor: _Minor | None = None
        age_ran = False
        for c in available:
            for name in policy.explicit_scores:
                value = c.scores.get(name)
                if value is not None and (explicit is None or value > explicit):
                    explicit, source = float(value), _source(c)
            aged = False
            for index, face in enumerate(c.faces, start=1):
                if face.minor_likelihood is None:
                    continue
                aged = True
                if minor is None or face.minor_likelihood > minor.likelihood:
                    minor = _face_minor(c, face, index)
            if any(name in c.scores for name in policy.minor_scores):
                age_ran = True
                if not aged:  # a classifier with a minor score but no per-face detail
                    for name in policy.minor_scores:
                        value = c.scores.get(name)
                        faces = c.scores.get("faces")
                        if value is None or faces == 0:
                            continue
                        if minor is None or value > minor.likelihood:
                            minor = _Minor(
                                float(value),
                                f"minor likelihood {value:.2f} ({_source(c)})",
                                {"minor_likelihood": float(value), "minor_source": _source(c)},
                            )
        return cls(explicit, source, minor, age_ran)

    @property
    def score(self) -> float:
        if self.explicit is None:
            return 0.0
        if self.minor is None:
            return self.explicit
        return self.explicit * self.minor.likelihood

    def reasons(self, policy: AssessmentPolicy) -> list[Reason]:
        e, minor = self.explicit, self.minor
        if e is None or e < policy.explicit_possible:
            return []
        evidence: JSONObject = {
            "explicit": round(e, 4),
            "explicit_review": policy.explicit_review,
            "explicit_possible": policy.explicit_possible,
            "explicit_source": self.explicit_source,
            "minor_review": policy.minor_review,
            "minor_possible": policy.minor_possible,
        }
        if minor is not None:
            evidence.update(minor.evidence)
        if e >= policy.explicit_review:
            said = f"explicit {e:.2f} ({self.explicit_source})"
            if minor is None:
                why = "no face could be aged" if self.age_ran else "no apparent-age model ran"
                return [
                    Reason(
                        f"{said} and {why}: a minor cannot be ruled out",
                        "visual",
                        policy.no_face_priority,
                        evidence,
                    )
                ]
            if minor.likelihood >= policy.minor_review:
                return [Reason(f"{said} and {minor.text}", "visual", Priority.HIGH, evidence)]
            if minor.likelihood >= policy.minor_possible:
                return [
                    Reason(
                        f"{said}; {minor.text} may be a minor "
                        f"(minor likelihood {minor.likelihood:.2f})",
                        "visual",
                        Priority.MEDIUM,
                        evidence,
                    )
                ]
            return [
                Reason(
                    f"{said}; every face looks adult (youngest: {minor.text})",
                    "visual",
                    Priority.LOW,
                    evidence,
                )
            ]
        said = f"possibly explicit {e:.2f} ({self.explicit_source})"
        if minor is not None and minor.likelihood >= policy.minor_review:
            return [Reason(f"{said} and {minor.text}", "visual", Priority.MEDIUM, evidence)]
        return [Reason(said, "visual", Priority.LOW, evidence)]


def _face_minor(c: ClassificationLike, face: FaceLike, index: int) -> _Minor:
    likelihood = float(face.minor_likelihood or 0.0)
    if face.age is not None:
        spread = f" ± {face.age_sd:.0f}" if face.age_sd is not None else ""
        text = f"apparent age {face.age:.0f}{spread} ({_source(c)}) on face {index}"
    else:
        text = f"minor likelihood {likelihood:.2f} ({_source(c)}) on face {index}"
    evidence: JSONObject = {
        "minor_likelihood": round(likelihood, 4),
        "age": None if face.age is None else round(face.age, 1),
        "age_sd": None if face.age_sd is None else round(face.age_sd, 1),
        "face": index,
        "minor_source": _source(c),
    }
    return _Minor(likelihood, text, evidence)


def _score_rule_reasons(
    available: list[ClassificationLike], policy: AssessmentPolicy
) -> list[Reason]:
    reasons = []
    for rule in policy.score_rules:
        for c in _peaks(available, (rule.score,)):
            if rule.classifier is not None and c.classifier != rule.classifier:
                continue
            value = c.scores.get(rule.score)
            if value is None or value < rule.threshold:
                continue
            reasons.append(
                Reason(
                    f"{rule.score} {value:.2f} ({_source(c)}) ≥ {rule.threshold:.2f}",
                    "score",
                    rule.priority,
                    {
                        "score": rule.score,
                        "value": round(float(value), 4),
                        "threshold": rule.threshold,
                        "classifier": c.classifier,
                        "model": c.model,
                        "version": c.version,
                    },
                )
            )
    return reasons


def _guard_reasons(
    guard: Iterable[tuple[str, GuardResultLike] | GuardResultLike],
    visual: _Visual,
    policy: AssessmentPolicy,
) -> list[Reason]:
    reasons = []
    for item in guard:
        source, result = item if isinstance(item, tuple) else ("text", item)
        decision = str(result.decision)
        if decision not in ("block", "review"):
            continue
        categories = [str(c) for c in result.categories]
        minors = "sexual_minors" in categories or {"sexual", "minor"} <= set(categories)
        quotes = [str(getattr(e, "quote", "")) for e in result.evidence]
        quote = next((q for q in quotes if q), "")
        if len(quote) > MAX_QUOTE:
            quote = quote[: MAX_QUOTE - 1] + "…"
        evidence: JSONObject = {
            "source": source,
            "decision": decision,
            "categories": list[JSONValue](categories),
            "score": round(float(result.score), 4),
            "quote": quote,
        }
        said = f"“{quote}”" if quote else f"score {float(result.score):.2f}"
        if decision == "block" and minors:
            corroborated = []
            if visual.explicit is not None and visual.explicit >= policy.explicit_possible:
                corroborated.append(f"explicit {visual.explicit:.2f} ({visual.explicit_source})")
            if visual.minor is not None and visual.minor.likelihood >= policy.minor_review:
                corroborated.append(visual.minor.text)
            text = f"{source}: text guard blocks it as sexual content involving minors ({said})"
            if corroborated:
                text += "; the image agrees: " + " and ".join(corroborated)
                priority = policy.guard_corroborated_priority
            else:
                priority = policy.guard_block_priority
            reasons.append(Reason(text, "guard", priority, evidence))
            continue
        verb = "blocks" if decision == "block" else "flags for review"
        kinds = ", ".join(categories) or "unspecified"
        reasons.append(
            Reason(
                f"{source}: text guard {verb} it ({kinds}; {said})",
                "guard",
                policy.guard_review_priority,
                evidence,
            )
        )
    return reasons


#: what an AI-generated file of medium priority and above is told about its priority
_STAYS = (
    "; stays {priority}: sexualised images of minors are illegal material whether generated "
    "or not; reviewed after likely-real files of this priority"
)


def _detector_reasons(
    findings: list[AiImageFinding], priority: Priority, *, explain: bool
) -> list[Reason]:
    """Reasons for AI-image detector scores; ``explain``: no provenance reason explains the
    file's place in the queue, so the first score above its threshold does."""
    reasons = []
    for finding in findings:
        text = finding.text
        if finding.above and explain and priority >= Priority.MEDIUM:
            text += _STAYS.format(priority=priority.label)
            explain = False
        reasons.append(Reason(text, "provenance", Priority.NONE, finding.evidence))
    return reasons


def _provenance(
    provenance: ProvenanceLike | None, priority: Priority, detected: bool = False
) -> tuple[int, list[Reason]]:
    """The review order within the priority and the provenance reason. ``detected``: a
    calibrated AI-image detector is above its threshold, which counts as AI evidence."""
    if provenance is None:
        return (ORDER_AI if detected else ORDER_UNKNOWN), []
    summary = provenance.summary()
    original = provenance.camera_original
    evidence: JSONObject = {
        "ai_generated": provenance.ai_generated,
        "camera_claimed": bool(provenance.camera_claimed),
        "camera_original": original,
        "generator": provenance.generator,
        "model": provenance.model,
    }
    if provenance.ai_generated in ("claimed", "likely"):
        text = f"AI-generated ({provenance.ai_generated}): {summary}"
        if priority >= Priority.MEDIUM:
            text += _STAYS.format(priority=priority.label)
        return ORDER_AI, [Reason(text, "provenance", Priority.NONE, evidence)]
    camera = provenance.camera_claimed or original in ("likely", "possible")
    if camera and detected:
        # AI evidence outweighs camera evidence, as a generator's own metadata does
        text = (
            f"{_camera_text(provenance, original, summary)}; but a calibrated AI-image "
            "detector says likely AI-generated"
        )
        if priority >= Priority.MEDIUM:
            text += _STAYS.format(priority=priority.label)
        return ORDER_AI, [Reason(text, "provenance", Priority.NONE, evidence)]
    if camera:
        text = _camera_text(provenance, original, summary)
        if priority >= Priority.MEDIUM:
            text += "; reviewed before other files of this priority (may show a real child)"
        return ORDER_CAMERA, [Reason(text, "provenance", Priority.NONE, evidence)]
    return (ORDER_AI if detected else ORDER_UNKNOWN), []


def _camera_text(provenance: ProvenanceLike, original: str, summary: str) -> str:
    """What the camera evidence says: the file's own claim, and the camera-original verdict
    from its encoding and EXIF (``likely``/``possible``; ``unknown`` proves nothing)."""
    parts = []
    if provenance.camera_claimed:
        parts.append(f"claims to come from a camera: {summary}")
    if original in ("likely", "possible"):
        why = provenance.camera_reason
        parts.append(f"camera original {original}" + (f" ({why})" if why else ""))
    return "; ".join(parts)
