"""Calibrating an AI-image detector, end to end, on a tiny detector built here with ``onnx``.

The "detector" is a graph computing sigmoid(10 x (mean red - 0.5)): synthesised images with a
strong red mean play the generated files, weakly red ones the real files, saved as PNG and as
JPEG at several qualities and two sizes. Nothing here depicts anything: the pictures are
flat colours with a green ramp. ``needle eval ai`` calibrates it; ``needle classify`` then
shows what the assessment makes of its scores with and without that calibration.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import image_bytes, run_cli
from needle.assess import AssessmentPolicy, load_calibration, load_policy
from needle.errors import ConfigError
from needle.eval.ai import (
    jpeg_quality,
    quality_band,
    read_labels,
    size_band,
    threshold_for_fpr,
)

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
helper, TensorProto = onnx.helper, onnx.TensorProto

#: the real files' red means: eighteen low, two high (the detector's false positives)
REAL = [0.10 + 0.015 * i for i in range(18)] + [0.62, 0.66]
#: the generated files' red means: one low (missed), nine high
GENERATED = [0.30, 0.56, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95]
#: how each file is saved, in turn: PNG, then JPEG at these qualities
FORMATS: list[int | None] = [None, 50, 80, 95]
BIG = (1000, 700)  # 0.7 megapixels
SMALL = (64, 48)


def expected_score(red: float) -> float:
    return 1 / (1 + math.exp(-10 * (red - 0.5)))


def build_detector(path: Path) -> Path:
    """logit = 10 x (mean of channel 0 - 0.5); the config applies the sigmoid."""
    nodes = [
        helper.make_node("Gather", ["pixels", "red_index"], ["red"], axis=1),
        helper.make_node("GlobalAveragePool", ["red"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("Mul", ["flat", "gain"], ["scaled"]),
        helper.make_node("Sub", ["scaled", "offset"], ["logit"]),
    ]
    graph = helper.make_graph(
        nodes,
        "red-mean",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["n", 1])],
        initializer=[
            onnx.numpy_helper.from_array(np.array([0], dtype=np.int64), "red_index"),
            onnx.numpy_helper.from_array(np.array(10.0, dtype=np.float32), "gain"),
            onnx.numpy_helper.from_array(np.array(5.0, dtype=np.float32), "offset"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


DETECTOR_CONFIG = """
[classifiers.redness]
type = "onnx"
model = "red-mean.onnx"
model_name = "red-mean"
labels = ["generated"]
ai_image_label = "generated"
activation = "sigmoid"
input_size = [32, 32]
interpolation = "bicubic"
"""


def picture(red: float, size: tuple[int, int]) -> Image.Image:
    """A flat red level with a green ramp across it (so JPEG has something to encode)."""
    w, h = size
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[..., 0] = round(red * 255)
    pixels[..., 1] = np.linspace(40, 200, w, dtype=np.float32).astype(np.uint8)[None, :]
    pixels[..., 2] = 90
    return Image.fromarray(pixels)


def save(folder: Path, name: str, image: Image.Image, quality: int | None) -> str:
    if quality is None:
        (folder / f"{name}.png").write_bytes(image_bytes(image, "PNG"))
        return f"{name}.png"
    (folder / f"{name}.jpg").write_bytes(image_bytes(image, "JPEG", quality=quality))
    return f"{name}.jpg"


def labelled_set(folder: Path) -> Path:
    """The labelled files and their labels file; also a missing file and a bad line."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for kind, reds, big in (("real", REAL, 3), ("generated", GENERATED, 2)):
        for i, red in enumerate(reds):
            size = BIG if i < big else SMALL
            name = save(folder, f"{kind}{i:02d}", picture(red, size), FORMATS[i % len(FORMATS)])
            line: dict[str, str] = {"path": name, "label": kind}
            if kind == "generated":
                line["source"] = "generator-x"
            elif i % 2 == 0:
                line["source"] = "camera-a"
            lines.append(json.dumps(line))
    lines.append(json.dumps({"path": "missing.png", "label": "real"}))
    lines.append(json.dumps({"path": "x.png", "label": "fake"}))
    lines.append("not json")
    (folder / "labels.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "labels.jsonl"


@pytest.fixture
def detector(tmp_path: Path) -> Path:
    """The classifier config; its model beside it."""
    build_detector(tmp_path / "red-mean.onnx")
    (tmp_path / "needle.toml").write_text(DETECTOR_CONFIG)
    return tmp_path / "needle.toml"


def count(values: list[float], fmt: int | None) -> int:
    return sum(1 for i in range(len(values)) if FORMATS[i % len(FORMATS)] == fmt)


def test_eval_ai_writes_a_calibration(
    tmp_path: Path, detector: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = labelled_set(tmp_path / "set")
    out = tmp_path / "calibration" / "redness.json"
    code, text, err = run_cli(
        capsys,
        "eval",
        "ai",
        str(labels),
        "--classifier-config",
        str(detector),
        "--out",
        str(out),
        "--fpr",
        "0.1",
    )
    assert code == 0, err
    data = json.loads(out.read_text())
    digest = hashlib.sha256((tmp_path / "red-mean.onnx").read_bytes()).hexdigest()
    assert data["format"] == "needle-ai-image-calibration" and data["version"] == 1
    assert (data["detector"], data["model"], data["model_sha256"]) == (
        "redness",
        "red-mean",
        digest,
    )
    assert data["model_version"] == digest[:12] and data["score"] == "ai_image"
    assert data["created"] and data["labels"] == str(labels)
    # 20 real files, 2 of them may be flagged at 10 %: the threshold sits between the third
    # highest real score and the next score above it (the lowest caught generated file)
    cut, caught = expected_score(sorted(REAL)[-3]), expected_score(0.56)
    assert data["threshold"] == pytest.approx((cut + caught) / 2, abs=0.03)
    assert (data["target_fpr"], data["fpr"], data["tpr"]) == (0.1, 0.1, 0.9)
    # the missed generated file (0.30) beats 14 real files, 0.56 and 0.60 beat 18, 0.65 19
    assert data["auc"] == pytest.approx((14 + 18 + 18 + 19 + 6 * 20) / 200, abs=0.02)
    assert data["counts"] == {
        "files": 31,
        "measured": 30,
        "real": 20,
        "generated": 10,
        "unreadable": 1,
    }
    bands = {(b["group"], b["band"]): b for b in data["breakdown"]}
    for fmt, band in ((None, "not JPEG"), (50, "q<70"), (80, "q70-89"), (95, "q≥90")):
        assert bands["jpeg_quality", band]["real"] == count(REAL, fmt)
        assert bands["jpeg_quality", band]["generated"] == count(GENERATED, fmt)
    assert bands["megapixels", "0.5-2 MP"]["real"] == 3
    assert bands["megapixels", "0.5-2 MP"]["generated"] == 2
    assert bands["megapixels", "<0.5 MP"]["real"] == 17
    assert bands["source", "camera-a"]["real"] == 10
    assert bands["source", "unspecified"]["real"] == 10
    assert bands["source", "generator-x"]["generated"] == 10
    assert bands["source", "generator-x"]["fpr"] is None
    assert bands["source", "generator-x"]["tpr"] == 0.9
    # per band, the rates are those of the overall threshold: the two false positives are
    # real files 18 and 19, saved as JPEG q80 and q95
    assert bands["jpeg_quality", "q70-89"]["fpr"] == pytest.approx(1 / 5)
    assert bands["jpeg_quality", "q<70"]["fpr"] == 0.0
    # 20 real files are enough to measure 10 % (at least 10 are needed): no warning
    assert not any("needs at least" in w for w in data["warnings"])
    # the readable table and what could not be measured
    text, err = text.replace("\n", ""), err.replace("\n", "")
    assert "ROC AUC" in text and "q<70" in text and "camera-a" in text
    assert "redness" in text and digest[:12] in text
    assert f'ai_image_calibration = "{out}"' in text
    assert "missing.png" in err and "line 32" in err and "line 33" in err
    # and the assessment policy reads it back
    assert load_calibration(out).threshold == data["threshold"]


def test_eval_ai_json_and_few_real_files(
    tmp_path: Path, detector: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = labelled_set(tmp_path / "set")
    out = tmp_path / "cal.json"
    code, text, err = run_cli(
        capsys,
        "eval",
        "ai",
        str(labels),
        "--classifier-config",
        str(detector),
        "--out",
        str(out),
        "--json",
    )
    assert code == 0, err
    report = json.loads(text)
    calibration = report["calibration"]
    assert calibration == json.loads(out.read_text())
    # 1 % of 20 real files: none may be flagged, so the threshold is above every real score
    assert calibration["fpr"] == 0.0
    assert calibration["threshold"] > expected_score(max(REAL)) - 0.02
    assert calibration["tpr"] == pytest.approx(0.6)  # 0.70 .. 0.95 score above 0.66's
    assert any("needs at least 100" in w for w in calibration["warnings"])
    assert any("missing.png" in u for u in report["unreadable"])
    assert len(report["problems"]) == 2


def test_eval_ai_setup_errors(
    tmp_path: Path, detector: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = labelled_set(tmp_path / "set")
    out = str(tmp_path / "cal.json")
    args = ("eval", "ai", str(labels), "--out", out, "--classifier-config")
    # a classifier without an ai_image score
    plain = tmp_path / "plain.toml"
    plain.write_text(DETECTOR_CONFIG.replace('ai_image_label = "generated"\n', ""))
    code, _, err = run_cli(capsys, *args, str(plain))
    assert code == 3 and "no 'ai_image' score" in err and "ai_image_label" in err
    # two detectors: which one?
    two = tmp_path / "two.toml"
    two.write_text(DETECTOR_CONFIG + DETECTOR_CONFIG.replace("redness", "other"))
    code, _, err = run_cli(capsys, *args, str(two))
    assert code == 3 and "--classifier" in err
    code, _, err = run_cli(capsys, *args, str(two), "--classifier", "other", "--fpr", "1.5")
    assert code == 3 and "--fpr" in err
    # no real file among the labels
    only = tmp_path / "set" / "generated.jsonl"
    only.write_text(json.dumps({"path": "generated05.jpg", "label": "generated"}) + "\n")
    code, _, err = run_cli(
        capsys, "eval", "ai", str(only), "--out", out, "--classifier-config", str(detector)
    )
    assert code == 3 and "no real file" in err
    assert not (tmp_path / "cal.json").exists()


def classify(
    capsys: pytest.CaptureFixture[str], detector: Path, image: Path, *policy: str
) -> dict[str, object]:
    code, out, err = run_cli(
        capsys,
        "classify",
        str(image),
        "--config",
        str(detector),
        "--classifiers",
        "redness",
        "--json",
        *policy,
    )
    assert code == 0, err
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


def test_the_assessment_uses_a_calibrated_score_only(
    tmp_path: Path, detector: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = labelled_set(tmp_path / "set")
    calibration = tmp_path / "cal" / "redness.json"
    code, _, err = run_cli(
        capsys,
        "eval",
        "ai",
        str(labels),
        "--classifier-config",
        str(detector),
        "--out",
        str(calibration),
        "--fpr",
        "0.1",
    )
    assert code == 0, err
    threshold = json.loads(calibration.read_text())["threshold"]
    (tmp_path / "policy.toml").write_text('[policy]\nai_image_calibration = "cal/redness.json"\n')
    policy = ("--policy", str(tmp_path / "policy.toml"))
    red, pale = tmp_path / "red.png", tmp_path / "pale.png"
    picture(0.9, SMALL).save(red)
    picture(0.2, SMALL).save(pale)

    # calibrated, above the threshold: AI evidence, ordered after likely-real files
    found = classify(capsys, detector, red, *policy)
    (reason,) = found["reasons"]  # type: ignore[misc]
    assert reason == (
        f"AI-image detector redness (red-mean): {expected_score(0.9):.2f}, above the 10 % FPR "
        f"threshold ({threshold:.2f}) measured on 30 of your files; it caught 90 % of your "
        "generated ones there: likely AI-generated"
    )
    assessment = found["assessment"]
    assert isinstance(assessment, dict)
    assert assessment["priority"] == "none" and assessment["order"] == 2
    evidence = assessment["reasons"][0]["evidence"]
    assert evidence["calibrated"] is True and evidence["threshold"] == threshold

    # calibrated, below: recorded, proves nothing, changes nothing
    found = classify(capsys, detector, pale, *policy)
    (reason,) = found["reasons"]  # type: ignore[misc]
    assert "below the 10 % FPR threshold" in reason and "proves nothing" in reason
    assert found["assessment"]["order"] == 1  # type: ignore[index]

    # no calibration on file: recorded as not used
    found = classify(capsys, detector, red, "--policy", str(tmp_path / "empty.toml"))
    (reason,) = found["reasons"]  # type: ignore[misc]
    assert "uncalibrated: not used" in reason and "needle eval ai" in reason
    assert found["assessment"]["order"] == 1  # type: ignore[index]
    assert found["priority"] == "none"

    # a calibration of another model file is refused
    data = json.loads(calibration.read_text())
    data["model_sha256"] = "0" * 64
    calibration.write_text(json.dumps(data))
    found = classify(capsys, detector, red, *policy)
    (reason,) = found["reasons"]  # type: ignore[misc]
    assert "uncalibrated: not used" in reason
    assert "measured on model sha256 000000000000…" in reason and "refused" in reason
    assert found["assessment"]["order"] == 1  # type: ignore[index]


@pytest.fixture(autouse=True)
def _empty_policy(tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text("[policy]\n")


def test_policy_refuses_a_broken_calibration(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('ai_image_calibration = ["missing.json"]\n')
    with pytest.raises(ConfigError, match="cannot read AI-image calibration"):
        load_policy(policy)
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    policy.write_text('ai_image_calibration = "bad.json"\n')
    with pytest.raises(ConfigError, match="not an AI-image calibration"):
        load_policy(policy)
    with pytest.raises(ConfigError, match="path of a calibration file"):
        AssessmentPolicy.from_mapping({"ai_image_calibration": 3})


def test_threshold_for_fpr() -> None:
    real = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    generated = [0.85, 0.97, 0.99]
    everything = real + generated
    # 10 % of 10 real files: one may be flagged (0.95); cut at 0.9, next above is 0.95
    assert threshold_for_fpr(real, everything, 0.1) == pytest.approx(0.925)
    # none may be flagged: above 0.95, below 0.97
    assert threshold_for_fpr(real, everything, 0.05) == pytest.approx(0.96)
    # ties: two real files at the cut are both left unflagged
    assert threshold_for_fpr([0.9, 0.9, 0.1], [0.9, 0.9, 0.1, 0.95], 0.34) == 0.925
    # a real file at 1.0 with no room above: no threshold flags nothing but it
    assert threshold_for_fpr([1.0], [1.0], 0.01) > 1.0
    with pytest.raises(ConfigError):
        threshold_for_fpr([], [0.5], 0.01)


def test_jpeg_quality_from_the_tables() -> None:
    image = picture(0.5, (40, 40))
    for quality in (10, 50, 69, 70, 89, 90, 100):
        assert jpeg_quality(image_bytes(image, "JPEG", quality=quality)) == quality
    assert jpeg_quality(image_bytes(image.convert("L"), "JPEG", quality=75)) == 75
    assert jpeg_quality(image_bytes(image, "PNG")) is None
    assert jpeg_quality(b"\xff\xd8\xff\xdb\x00\x02") is None  # an empty table segment
    assert jpeg_quality(b"\xff\xd8\xff\xdb\xff") is None  # cut short
    assert quality_band("JPEG", 69) == "q<70" and quality_band("JPEG", 70) == "q70-89"
    assert quality_band("JPEG", 90) == "q≥90" and quality_band("PNG", None) == "not JPEG"
    assert quality_band("JPEG", None) == "JPEG, quality unknown"
    assert size_band(0.2) == "<0.5 MP" and size_band(12.0) == "≥8 MP"


def test_read_labels(tmp_path: Path) -> None:
    (tmp_path / "labels.jsonl").write_text(
        "\n".join(
            [
                json.dumps({"path": "a.png", "label": "real"}),
                "",
                json.dumps({"path": "/abs/b.png", "label": "generated", "source": "x"}),
                json.dumps({"label": "real"}),
                json.dumps(["path"]),
                json.dumps({"path": "c.png", "label": "real", "source": 3}),
            ]
        )
    )
    rows, problems = read_labels(tmp_path / "labels.jsonl")
    assert [(r.path.name, r.generated, r.source, r.line) for r in rows] == [
        ("a.png", False, None, 1),
        ("b.png", True, "x", 3),
    ]
    assert rows[0].path == tmp_path / "a.png"
    assert [p.split(":")[0] for p in problems] == ["line 4", "line 5", "line 6"]
    with pytest.raises(ConfigError, match="cannot read"):
        read_labels(tmp_path / "none.jsonl")
