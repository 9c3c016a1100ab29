"""AI-image detector scores in the assessment: used only with a calibration of that exact
model, then AI evidence that orders files (never raising or lowering a priority); below the
threshold, or uncalibrated, they change nothing. Findings are injected; no imagery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ProvenanceStub as Provenance
from needle.assess import (
    AiImageCalibration,
    AssessmentPolicy,
    Priority,
    assess,
    load_calibration,
    load_policy,
)
from needle.assess.assessment import ORDER_AI, ORDER_CAMERA, ORDER_UNKNOWN
from needle.classify import Box, Classification, Face
from needle.errors import ConfigError

SHA = "ab" * 32
OTHER_SHA = "cd" * 32


def calibration_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "format": "needle-ai-image-calibration",
        "version": 1,
        "detector": "cf",
        "model": "cf-vit",
        "model_version": "1.0",
        "model_sha256": SHA,
        "score": "ai_image",
        "created": "2025-01-31T12:00:00+00:00",
        "labels": "labels.jsonl",
        "target_fpr": 0.01,
        "threshold": 0.81,
        "fpr": 0.0095,
        "tpr": 0.74,
        "auc": 0.95,
        "counts": {"files": 2010, "measured": 2000, "real": 1200, "generated": 800},
        "breakdown": [
            {
                "group": "jpeg_quality",
                "band": "q<70",
                "real": 300,
                "generated": 90,
                "fpr": 0.02,
                "tpr": 0.51,
                "auc": 0.88,
            }
        ],
        "warnings": [],
    }
    data.update(changes)
    return data


CALIBRATION = AiImageCalibration.from_dict(calibration_data(), "cal/cf.json")
POLICY = AssessmentPolicy(ai_image_calibration=(CALIBRATION,))


def detector(score: float, sha: str | None = SHA, name: str = "cf") -> Classification:
    scores = {"real": 1 - score, "generated": score, "ai_image": score}
    return Classification(name, "cf-vit", "1.0", scores, model_sha256=sha)


def explicit_minor() -> list[Classification]:
    face = Face(Box(0.1, 0.1, 0.3, 0.3), "dlib-hog", 1.0, 9.0, 3.0, 0.5, 0.97)
    return [
        Classification("nudenet", "320n", "3.4.2", {"explicit": 0.9}),
        Classification("age", "age-v1", "2.0.0", {"minor_likelihood": 0.97}, faces=(face,)),
    ]


def test_above_the_calibrated_threshold_is_ai_evidence() -> None:
    result = assess(classifications=[detector(0.93)], policy=POLICY)
    assert result.priority == Priority.NONE and result.order == ORDER_AI
    (reason,) = result.reasons
    assert reason.text == (
        "AI-image detector cf (cf-vit): 0.93, above the 1 % FPR threshold (0.81) measured on "
        "2,000 of your files; it caught 74 % of your generated ones there: likely AI-generated"
    )
    assert (reason.kind, reason.priority) == ("provenance", Priority.NONE)
    assert reason.evidence["calibrated"] is True
    assert reason.evidence["calibration"] == "cal/cf.json"
    assert reason.evidence["threshold"] == 0.81 and reason.evidence["real"] == 1200


def test_it_keeps_the_priority_and_orders_after_likely_real_files() -> None:
    flagged = assess(classifications=[*explicit_minor(), detector(0.9)], policy=POLICY)
    unknown = assess(classifications=[*explicit_minor(), detector(0.2)], policy=POLICY)
    camera = assess(
        classifications=[*explicit_minor(), detector(0.2)],
        provenance=Provenance(camera_claimed=True, text="EXIF camera"),
        policy=POLICY,
    )
    assert flagged.priority == unknown.priority == camera.priority == Priority.HIGH
    assert (camera.order, unknown.order, flagged.order) == (
        ORDER_CAMERA,
        ORDER_UNKNOWN,
        ORDER_AI,
    )
    ranked = sorted([flagged, unknown, camera], key=lambda a: a.sort_key())
    assert ranked == [camera, unknown, flagged]
    assert flagged.reasons[0].kind == "visual"
    assert flagged.reasons[-1].text.endswith(
        "likely AI-generated; stays high: sexualised images of minors are illegal material "
        "whether generated or not; reviewed after likely-real files of this priority"
    )


def test_below_the_threshold_proves_nothing() -> None:
    result = assess(classifications=[detector(0.5)], policy=POLICY)
    assert result.order == ORDER_UNKNOWN and result.priority == Priority.NONE
    (reason,) = result.reasons
    assert "0.50, below the 1 % FPR threshold (0.81)" in reason.text
    assert "no evidence of a real photo" in reason.text
    # and never turns a file into a likely-real one ahead of unknown files
    claimed_ai = assess(
        classifications=[detector(0.01)],
        provenance=Provenance("claimed", text="C2PA says trainedAlgorithmicMedia"),
        policy=POLICY,
    )
    assert claimed_ai.order == ORDER_AI


def test_without_a_calibration_the_score_is_not_used() -> None:
    result = assess(classifications=[*explicit_minor(), detector(0.99)])
    assert result.priority == Priority.HIGH and result.order == ORDER_UNKNOWN
    text = result.reasons[-1].text
    assert text.startswith("AI-image detector cf (cf-vit): 0.99; uncalibrated: not used")
    assert "needle eval ai" in text
    assert result.reasons[-1].evidence["calibrated"] is False


def test_a_calibration_of_another_model_is_refused() -> None:
    result = assess(classifications=[detector(0.99, sha=OTHER_SHA)], policy=POLICY)
    assert result.order == ORDER_UNKNOWN
    (reason,) = result.reasons
    assert "uncalibrated: not used" in reason.text
    assert "cal/cf.json" in reason.text and "abababababab…" in reason.text
    assert "cdcdcdcdcdcd…" in reason.text and "refused" in reason.text
    assert reason.evidence["refused_calibration"] == "cal/cf.json"
    # another detector name, or a detector that names no model file, is not matched either
    other = assess(classifications=[detector(0.99, name="acme")], policy=POLICY)
    assert "no calibration on file for detector 'acme'" in other.reasons[0].text
    assert other.order == ORDER_UNKNOWN
    remote = assess(classifications=[detector(0.99, sha=None)], policy=POLICY)
    assert "reports no model file SHA-256" in remote.reasons[0].text


def test_a_detector_outweighs_a_camera_claim_as_provenance_does() -> None:
    result = assess(
        classifications=[*explicit_minor(), detector(0.95)],
        provenance=Provenance(camera_claimed=True, text="EXIF camera Canon"),
        policy=POLICY,
    )
    assert result.order == ORDER_AI
    texts = [r.text for r in result.reasons]
    assert any("claims to come from a camera" in t and "detector says" in t for t in texts)
    assert sum("stays high" in t for t in texts) == 1


def test_the_policy_file_names_calibrations(tmp_path: Path) -> None:
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "cf.json").write_text(json.dumps(calibration_data()))
    (tmp_path / "policy.toml").write_text('[policy]\nai_image_calibration = "cal/cf.json"\n')
    policy = load_policy(tmp_path / "policy.toml")
    (loaded,) = policy.ai_image_calibration
    assert loaded == CALIBRATION and loaded.path == str(tmp_path / "cal" / "cf.json")
    assert loaded.breakdown[0].band == "q<70" and loaded.measured == 2000
    recorded = policy.to_dict()["ai_image_calibration"]
    assert recorded == [
        {
            "path": str(tmp_path / "cal" / "cf.json"),
            "detector": "cf",
            "model_sha256": SHA,
            "threshold": 0.81,
            "fpr": 0.0095,
            "tpr": 0.74,
            "measured": 2000,
        }
    ]
    # round trip of the file's own format
    assert AiImageCalibration.from_dict(loaded.to_dict()) == loaded
    assert assess(classifications=[detector(0.9)], policy=policy).order == ORDER_AI


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "other"}, "not an AI-image calibration"),
        ({"version": 2}, "version 2 is not supported"),
        ({"model_sha256": "abc"}, "not a SHA-256"),
        ({"threshold": "high"}, "malformed"),
        ({"counts": {"generated": 3}}, "lacks 'real'"),
        ({"target_fpr": 0}, "rates between 0 and 1"),
        ({"tpr": 2}, "malformed"),
    ],
)
def test_broken_calibrations_are_refused(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(calibration_data(**changes)))
    with pytest.raises(ConfigError, match=message):
        load_calibration(path)
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a JSON object"):
        load_calibration(path)
