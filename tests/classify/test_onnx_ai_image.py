"""The generic ONNX classifier configured as an AI-image detector: the ``ai_image`` score, the
model file's SHA-256 on every result, and the preprocessing options detectors need. Uses the
tiny colour model of ``test_onnx_generic`` (mean colour -> "reddish" / "bluish")."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import pytest

from classify.helpers import sample_of
from needle.classify import load_classifiers, run_classifiers
from needle.classify.base import AI_IMAGE_SCORE
from needle.classify.onnx_generic import OnnxClassifier, OnnxConfig
from needle.errors import ConfigError

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from classify.test_onnx_generic import blue, build_model, red

DETECTOR = """
[classifiers.detector]
type = "onnx"
model = "tiny.onnx"
labels = ["real", "generated"]
ai_image_label = "generated"
activation = "softmax"
mean = [0.48145466, 0.4578275, 0.40821073]
std = [0.26862954, 0.26130258, 0.27577711]
resize = "center-crop"
interpolation = "bicubic"
channel_order = "BGR"
"""


def test_a_detector_reports_ai_image_and_its_model_digest(tmp_path: Path) -> None:
    build_model(tmp_path / "tiny.onnx")
    (tmp_path / "needle.toml").write_text(DETECTOR)
    (detector,) = load_classifiers(["detector"], tmp_path / "needle.toml", load=True)
    digest = hashlib.sha256((tmp_path / "tiny.onnx").read_bytes()).hexdigest()
    reddish, bluish = run_classifiers([detector], [sample_of(red()), sample_of(blue())])
    # BGR swaps the channels: the model's "reddish" column (here "real") reads blue
    assert reddish[0].scores[AI_IMAGE_SCORE] == reddish[0].scores["generated"]
    assert reddish[0].scores[AI_IMAGE_SCORE] > 0.5 > bluish[0].scores[AI_IMAGE_SCORE]
    assert reddish[0].model_sha256 == digest == bluish[0].model_sha256
    assert reddish[0].to_dict()["model_sha256"] == digest
    assert detector.version == digest[:12]
    # the digest is read once and travels with the classifier to worker processes
    copy = pickle.loads(pickle.dumps(detector))
    assert isinstance(copy, OnnxClassifier) and copy._model_sha256 == digest


def test_the_digest_is_of_the_file_even_with_a_version_set(tmp_path: Path) -> None:
    build_model(tmp_path / "tiny.onnx", softmax=True)
    config = OnnxConfig.from_mapping(
        {"model": "tiny.onnx", "labels": ["a", "b"], "version": "2.0"}, tmp_path
    )
    classifier = OnnxClassifier(config)
    (found,) = classifier.classify([sample_of(red())])
    assert classifier.version == "2.0" and AI_IMAGE_SCORE not in found.scores
    assert found.model_sha256 == hashlib.sha256((tmp_path / "tiny.onnx").read_bytes()).hexdigest()


def test_a_single_logit_detector(tmp_path: Path) -> None:
    build_model(tmp_path / "one.onnx", outputs=1)  # logit = R + G + B (channel means)
    config = OnnxConfig.from_mapping(
        {
            "model": "one.onnx",
            "labels": ["generated"],
            "ai_image_label": "generated",
            "activation": "sigmoid",
        },
        tmp_path,
    )
    (found,) = OnnxClassifier(config).classify([sample_of(red())])
    assert set(found.scores) == {"generated", AI_IMAGE_SCORE}
    assert 0.5 < found.scores[AI_IMAGE_SCORE] < 1.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ai_image_label": "fake"}, "not one of the `labels`"),
        ({"interpolation": "lanczos"}, "interpolation"),
    ],
)
def test_detector_config_errors(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OnnxConfig.from_mapping({"model": "m.onnx", "labels": ["real", "generated"], **options})
