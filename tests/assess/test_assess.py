"""The assessment, with findings injected through the protocols: every combination of
matches, explicit and apparent-minor scores, provenance and text-guard results that changes a
file's priority or its place in the queue. No imagery is involved."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ProvenanceStub as Provenance
from needle.assess import (
    EXPLICIT_POSSIBLE,
    EXPLICIT_REVIEW,
    MINOR_POSSIBLE,
    MINOR_REVIEW,
    Assessment,
    AssessmentPolicy,
    Priority,
    ScoreRule,
    assess,
    load_policy,
)
from needle.classify import Box, Classification, Face
from needle.errors import ConfigError
from needle.match.model import Match

NONE, LOW, MEDIUM, HIGH, CRITICAL = (
    Priority.NONE,
    Priority.LOW,
    Priority.MEDIUM,
    Priority.HIGH,
    Priority.CRITICAL,
)


def explicit(score: float, classifier: str = "nudenet", model: str = "320n") -> Classification:
    return Classification(classifier, model, "3.4.2", {"explicit": score, "suggestive": 0.0})


def aged(*faces: tuple[float, float, float]) -> Classification:
    """The age model's result: (age, sd, minor likelihood) per face."""
    found = tuple(
        Face(Box(0.1 * i, 0.1, 0.1 * i + 0.1, 0.2), "dlib-hog", 1.0, a, sd, 0.5, m)
        for i, (a, sd, m) in enumerate(faces)
    )
    scores = {"minor_likelihood": max((f[2] for f in faces), default=0.0), "faces": len(faces)}
    return Classification("age", "age-v1", "2.0.0", scores, faces=found)


CHILD = (9.2, 3.6, 0.97)  # -> "apparent age 9 ± 4"
TEEN_OR_ADULT = (19.0, 4.0, 0.35)  # between MINOR_POSSIBLE and MINOR_REVIEW
ADULT = (34.0, 6.0, 0.02)


def match(bank: str = "known", distance: int = 0, signal: str = "sha256", **kw: object) -> Match:
    return Match(bank, signal, "ab" * 32, distance, 31 if signal == "pdq" else 0, **kw)  # type: ignore[arg-type]


AI = Provenance("claimed", generator="ComfyUI", text="C2PA says trainedAlgorithmicMedia")
CAMERA = Provenance("unknown", camera_claimed=True, text="EXIF camera Canon EOS 5D")


@dataclass(frozen=True)
class Quote:
    quote: str
    category: str


@dataclass(frozen=True)
class Guard:
    decision: str
    categories: tuple[str, ...]
    score: float = 0.9
    evidence: tuple[Quote, ...] = field(default_factory=tuple)


BLOCK_MINORS = Guard(
    "block", ("sexual_minors",), 0.97, (Quote("clinical test phrase", "sexual_minors"),)
)


# -- explicit x apparent minor ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ([], NONE),
        ([explicit(0.0), aged()], NONE),
        ([explicit(0.1), aged(CHILD)], NONE),  # a child, nothing explicit: a family photo
        ([explicit(0.35)], LOW),  # possibly explicit, age not measured
        ([explicit(0.35), aged()], LOW),
        ([explicit(0.35), aged(ADULT)], LOW),
        ([explicit(0.35), aged(TEEN_OR_ADULT)], LOW),
        ([explicit(0.35), aged(CHILD)], MEDIUM),
        ([explicit(0.8)], MEDIUM),  # explicit, no age model ran
        ([explicit(0.8), aged()], MEDIUM),  # explicit, no face to age
        ([explicit(0.8), aged(ADULT)], LOW),
        ([explicit(0.8), aged(TEEN_OR_ADULT)], MEDIUM),
        ([explicit(0.8), aged(CHILD)], HIGH),
        ([explicit(0.8), aged(ADULT, CHILD)], HIGH),  # any face
        ([aged(CHILD)], NONE),
    ],
)
def test_visual_rules(found: list[Classification], expected: Priority) -> None:
    assert assess(classifications=found).priority is expected


@pytest.mark.parametrize(
    ("e", "m", "expected"),
    [
        (EXPLICIT_REVIEW, MINOR_REVIEW, HIGH),
        (EXPLICIT_REVIEW - 1e-6, MINOR_REVIEW, MEDIUM),
        (EXPLICIT_REVIEW, MINOR_REVIEW - 1e-6, MEDIUM),
        (EXPLICIT_REVIEW, MINOR_POSSIBLE, MEDIUM),
        (EXPLICIT_REVIEW, MINOR_POSSIBLE - 1e-6, LOW),
        (EXPLICIT_POSSIBLE, MINOR_REVIEW, MEDIUM),
        (EXPLICIT_POSSIBLE - 1e-6, MINOR_REVIEW, NONE),
        (EXPLICIT_POSSIBLE, 0.0, LOW),
    ],
)
def test_thresholds_are_inclusive(e: float, m: float, expected: Priority) -> None:
    assert assess(classifications=[explicit(e), aged((10, 2, m))]).priority is expected


def test_reason_names_its_evidence() -> None:
    result = assess(classifications=[explicit(0.91), aged(ADULT, CHILD)])
    (reason,) = result.reasons
    assert reason.text == "explicit 0.91 (nudenet 320n) and apparent age 9 ± 4 (age-v1) on face 2"
    assert reason.kind == "visual" and reason.priority is HIGH
    assert reason.evidence["explicit"] == 0.91
    assert reason.evidence["explicit_review"] == EXPLICIT_REVIEW
    assert reason.evidence["face"] == 2 and reason.evidence["age"] == 9.2
    assert result.score == pytest.approx(0.91 * 0.97)


@pytest.mark.parametrize(
    ("found", "text"),
    [
        (
            [explicit(0.8)],
            "explicit 0.80 (nudenet 320n) and no apparent-age model ran: "
            "a minor cannot be ruled out",
        ),
        (
            [explicit(0.8), aged()],
            "explicit 0.80 (nudenet 320n) and no face could be aged: a minor cannot be ruled out",
        ),
        (
            [explicit(0.8), aged(ADULT)],
            "explicit 0.80 (nudenet 320n); every face looks adult "
            "(youngest: apparent age 34 ± 6 (age-v1) on face 1)",
        ),
        (
            [explicit(0.8), aged(TEEN_OR_ADULT)],
            "explicit 0.80 (nudenet 320n); apparent age "
            "19 ± 4 (age-v1) on face 1 may be a minor (minor likelihood 0.35)",
        ),
        (
            [explicit(0.4), aged(CHILD)],
            "possibly explicit 0.40 (nudenet 320n) and apparent age 9 ± 4 (age-v1) on face 1",
        ),
        ([explicit(0.4)], "possibly explicit 0.40 (nudenet 320n)"),
    ],
)
def test_reason_texts(found: list[Classification], text: str) -> None:
    (reason,) = assess(classifications=found).reasons
    assert reason.text == text


def test_strongest_explicit_score_of_several_classifiers_counts() -> None:
    found = [explicit(0.2), explicit(0.7, "acme", "acme-v3"), aged(CHILD)]
    result = assess(classifications=found)
    assert result.priority is HIGH
    assert result.reasons[0].text.startswith("explicit 0.70 (acme-v3) and")


def test_a_minor_score_without_faces_counts() -> None:
    custom = Classification("hotline", "minors-v2", "remote", {"minor_likelihood": 0.8})
    result = assess(classifications=[explicit(0.9), custom])
    assert result.priority is HIGH
    assert (
        result.reasons[0].text == "explicit 0.90 (nudenet 320n) and minor likelihood 0.80 "
        "(hotline minors-v2)"
    )


def test_a_face_with_only_a_minor_likelihood_counts() -> None:
    face = Face(Box(0, 0, 1, 1), "x", None, None, None, None, 0.9)
    custom = Classification("kids", "k1", "1", {"minor_likelihood": 0.9, "faces": 1}, faces=(face,))
    result = assess(classifications=[explicit(0.9), custom])
    assert result.priority is HIGH
    assert "minor likelihood 0.90 (kids k1) on face 1" in result.reasons[0].text


def test_duck_typed_results_are_accepted() -> None:
    @dataclass
    class LooseFace:
        age: float | None
        age_sd: float | None
        minor_likelihood: float | None

    @dataclass
    class Loose:
        classifier: str
        model: str
        version: str
        scores: dict[str, float]
        faces: list[LooseFace]
        unavailable: str | None = None

    found = [
        Loose("nudenet", "320n", "x", {"explicit": 0.9}, []),
        Loose("age", "age-v1", "x", {"minor_likelihood": 0.9}, [LooseFace(8, 2, 0.9)]),
    ]
    assert assess(classifications=found).priority is HIGH


# -- known material ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "found",
    [[], [explicit(0.0)], [explicit(0.9), aged(CHILD)], [explicit(0.9), aged(ADULT)]],
)
def test_any_match_is_critical(found: list[Classification]) -> None:
    result = assess(matches=[match()], classifications=found)
    assert result.priority is CRITICAL
    assert result.reasons[0].kind == "match"
    assert result.reasons[0].text == "known material: sha256 matches bank 'known'"


def test_match_reason_texts() -> None:
    result = assess(
        matches=[
            match("hotline", 12, "pdq", transform="rotate90", labels=("A1",)),
            match("ncmec", 0, "md5"),
        ]
    )
    assert [r.text for r in result.reasons] == [
        "known material: pdq distance 12 ≤ 31 to bank 'hotline' (as rotate90) [A1]",
        "known material: md5 matches bank 'ncmec'",
    ]
    assert result.reasons[0].evidence["distance"] == 12


def test_many_matches_are_summed_up() -> None:
    result = assess(matches=[match(f"b{i % 3}") for i in range(14)])
    assert len(result.reasons) == 11
    assert result.reasons[-1].text == "known material: 4 more matches (banks b0, b1, b2)"


# -- provenance: order within a priority, never lower -----------------------------------------


@pytest.mark.parametrize("found", [[explicit(0.9), aged(CHILD)], [explicit(0.9), aged()]])
def test_ai_generated_keeps_its_priority(found: list[Classification]) -> None:
    plain = assess(classifications=found)
    generated = assess(classifications=found, provenance=AI)
    assert generated.priority is plain.priority
    assert generated.order == 2 and plain.order == 1
    reason = generated.reasons[-1]
    assert reason.kind == "provenance" and reason.priority is NONE
    assert reason.text.startswith(
        "AI-generated (claimed): C2PA says trainedAlgorithmicMedia; stays"
    )
    assert "illegal material whether generated or not" in reason.text


def test_camera_claims_come_first() -> None:
    found = [explicit(0.9), aged(CHILD)]
    result = assess(classifications=found, provenance=CAMERA)
    assert (result.priority, result.order) == (HIGH, 0)
    assert result.reasons[-1].text.startswith("claims to come from a camera: EXIF camera Canon")


def test_camera_original_evidence_comes_first_and_says_why() -> None:
    found = [explicit(0.9), aged(CHILD)]
    original = Provenance(camera_original="likely", camera_reason="maker note, thumbnail")
    result = assess(classifications=found, provenance=original)
    assert (result.priority, result.order) == (HIGH, 0)
    assert result.reasons[-1].text.startswith("camera original likely (maker note, thumbnail)")
    assert result.reasons[-1].evidence["camera_original"] == "likely"
    both = Provenance(camera_claimed=True, text="EXIF camera", camera_original="possible")
    text = assess(classifications=found, provenance=both).reasons[-1].text
    assert text.startswith("claims to come from a camera: EXIF camera; camera original possible")
    # "unknown" proves nothing: no reason, no change of order
    unknown = assess(classifications=found, provenance=Provenance(camera_original="unknown"))
    assert unknown.order == 1 and [r.kind for r in unknown.reasons] == ["visual"]


def test_unknown_provenance_adds_nothing() -> None:
    result = assess(classifications=[explicit(0.9), aged(CHILD)], provenance=Provenance())
    assert result.order == 1 and [r.kind for r in result.reasons] == ["visual"]


def test_ai_generated_alone_raises_nothing() -> None:
    result = assess(classifications=[explicit(0.0)], provenance=AI)
    assert result.priority is NONE
    assert "stays" not in result.reasons[0].text


def test_queue_order() -> None:
    child = [explicit(0.9), aged(CHILD)]
    queue = {
        "known": assess(matches=[match()], provenance=AI),
        "real-high": assess(classifications=child, provenance=CAMERA),
        "high": assess(classifications=[explicit(0.6), aged(CHILD)]),
        "high-stronger": assess(classifications=child),
        "ai-high": assess(classifications=child, provenance=AI),
        "medium": assess(classifications=[explicit(0.9)]),
        "low": assess(classifications=[explicit(0.35)]),
        "none": assess(classifications=[explicit(0.0)], provenance=CAMERA),
    }
    ordered = sorted(queue, key=lambda k: queue[k].sort_key())
    assert ordered == [
        "known",
        "real-high",
        "high-stronger",
        "high",
        "ai-high",
        "medium",
        "low",
        "none",
    ]


# -- text guard -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guard", "found", "expected"),
    [
        ([("filename", BLOCK_MINORS)], [], MEDIUM),
        ([("filename", BLOCK_MINORS)], [explicit(0.1), aged(ADULT)], MEDIUM),
        ([("filename", BLOCK_MINORS)], [explicit(0.35), aged(ADULT)], HIGH),
        ([("filename", BLOCK_MINORS)], [explicit(0.0), aged(CHILD)], HIGH),
        ([("embedded prompt", Guard("block", ("sexual", "minor")))], [], MEDIUM),
        ([("filename", Guard("block", ("sexual",)))], [], LOW),
        ([("filename", Guard("review", ("minor",)))], [], LOW),
        ([("filename", Guard("allow", ()))], [], NONE),
        ([BLOCK_MINORS], [], MEDIUM),  # a bare result
        ([("filename", BLOCK_MINORS)], [explicit(0.9), aged(CHILD)], HIGH),
    ],
)
def test_guard_rules(guard: list[object], found: list[Classification], expected: Priority) -> None:
    assert assess(classifications=found, guard=guard).priority is expected  # type: ignore[arg-type]


def test_guard_reason_texts() -> None:
    result = assess(
        classifications=[explicit(0.4), aged(ADULT)], guard=[("embedded prompt", BLOCK_MINORS)]
    )
    guard = next(r for r in result.reasons if r.kind == "guard")
    assert guard.text == (
        "embedded prompt: text guard blocks it as sexual content involving minors "
        "(“clinical test phrase”); the image agrees: explicit 0.40 (nudenet 320n)"
    )
    assert guard.evidence["source"] == "embedded prompt"
    review = assess(guard=[("filename", Guard("review", ("minor",), 0.55))]).reasons[0]
    assert review.text == "filename: text guard flags for review it (minor; score 0.55)"
    bare = assess(guard=[BLOCK_MINORS]).reasons[0]
    assert bare.text.startswith("text: text guard blocks it")


def test_long_quotes_are_cut() -> None:
    long = Guard("block", ("sexual_minors",), 0.9, (Quote("x" * 200, "sexual_minors"),))
    (reason,) = assess(guard=[("filename", long)]).reasons
    assert len(reason.evidence["quote"]) == 80 and reason.evidence["quote"].endswith("…")


# -- score rules, unavailable checks, policy --------------------------------------------------


def test_score_rules_for_your_own_classifiers() -> None:
    policy = AssessmentPolicy(
        score_rules=(
            ScoreRule("csam", 0.8, HIGH, classifier="acme"),
            ScoreRule("csam", 0.5, MEDIUM),
        )
    )
    acme = Classification("acme", "acme-v3", "3.0", {"csam": 0.85})
    other = Classification("other", "o1", "1", {"csam": 0.85})
    assert assess(classifications=[acme], policy=policy).priority is HIGH
    assert assess(classifications=[other], policy=policy).priority is MEDIUM
    low = Classification("acme", "acme-v3", "3.0", {"csam": 0.3})
    assert assess(classifications=[low], policy=policy).priority is NONE
    reasons = assess(classifications=[acme], policy=policy).reasons
    assert [r.text for r in reasons] == ["csam 0.85 (acme-v3) ≥ 0.80", "csam 0.85 (acme-v3) ≥ 0.50"]


def test_a_check_that_did_not_run_is_low_with_its_reason() -> None:
    failed = Classification("nudenet", "320n", "3.4.2", unavailable="MemoryError: ")
    result = assess(classifications=[failed, aged(CHILD)])
    assert result.priority is LOW
    assert result.reasons[0].text == "nudenet (320n) did not run: MemoryError: "
    relaxed = AssessmentPolicy(unavailable_priority=NONE)
    assert assess(classifications=[failed], policy=relaxed).priority is NONE
    # an unavailable result's scores are never read
    broken = Classification("x", "y", "1", {"explicit": 0.99}, unavailable="bad answer")
    assert assess(classifications=[broken, aged(CHILD)]).priority is LOW


def test_policy_changes_the_rules() -> None:
    found = [explicit(0.7), aged(CHILD)]
    assert (
        assess(classifications=found, policy=AssessmentPolicy(explicit_review=0.8)).priority
        is MEDIUM
    )
    assert (
        assess(
            classifications=[explicit(0.7)], policy=AssessmentPolicy(no_face_priority=HIGH)
        ).priority
        is HIGH
    )
    strict = AssessmentPolicy(guard_block_priority=HIGH)
    assert assess(guard=[("filename", BLOCK_MINORS)], policy=strict).priority is HIGH


def test_policy_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(
        '[policy]\nexplicit_review = 0.7\nno_face_priority = "high"\n'
        '[[policy.score_rules]]\nscore = "csam"\nthreshold = 0.9\npriority = "critical"\n'
        "\n[classifiers.age]\nmargin = 1\n"
    )
    policy = load_policy(tmp_path / "policy.toml")
    assert policy.explicit_review == 0.7 and policy.no_face_priority is HIGH
    assert policy.score_rules == (ScoreRule("csam", 0.9, CRITICAL),)
    assert policy.source == str(tmp_path / "policy.toml")
    (tmp_path / "flat.toml").write_text("minor_review = 0.6\n\n[classifiers.age]\nmargin = 1\n")
    assert load_policy(tmp_path / "flat.toml").minor_review == 0.6
    assert load_policy(None) == AssessmentPolicy()
    assert json.loads(json.dumps(policy.to_dict()))["score_rules"][0]["priority"] == "critical"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[policy]\nexplicit_reviw = 0.5\n", "unknown policy key(s) explicit_reviw"),
        ("[policy]\nexplicit_review = 1.5\n", "explicit_review must be between 0 and 1"),
        ("[policy]\nexplicit_review = 0.2\n", "explicit_possible must not be above"),
        ('[policy]\nno_face_priority = "urgent"\n', "unknown priority 'urgent'; use one of"),
        ('[policy]\nminor_review = "high"\n', "policy minor_review must be a number"),
        ('[[policy.score_rules]]\nscore = "x"\n', "a score rule needs 'threshold'"),
        ("[policy\n", "not valid TOML"),
    ],
)
def test_policy_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_policy(tmp_path / "p.toml")
    assert message in str(info.value)


def test_priority_order_and_names() -> None:
    assert sorted(Priority) == [NONE, LOW, MEDIUM, HIGH, CRITICAL]
    assert Priority.parse("High") is HIGH and str(CRITICAL) == "critical"
    assert max(LOW, HIGH) is HIGH


def test_assessment_to_dict_is_json() -> None:
    result = assess(
        matches=[match()],
        classifications=[explicit(0.9), aged(CHILD)],
        provenance=AI,
        guard=[("filename", BLOCK_MINORS)],
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["priority"] == "critical"
    assert [r["kind"] for r in data["reasons"]] == ["match", "visual", "guard", "provenance"]
    assert data["reasons"][1]["priority"] == "high"
    assert isinstance(result, Assessment)


# -- monotone: more evidence never lowers a priority -------------------------------------------

unit = st.floats(0, 1, allow_nan=False)


@given(e=unit, m=unit, more_e=unit, more_m=unit)
def test_priority_never_falls_as_scores_rise(
    e: float, m: float, more_e: float, more_m: float
) -> None:
    low = assess(classifications=[explicit(e), aged((20, 3, m))]).priority
    e2, m2 = min(1.0, e + more_e), min(1.0, m + more_m)
    high = assess(classifications=[explicit(e2), aged((20, 3, m2))]).priority
    assert high >= low
