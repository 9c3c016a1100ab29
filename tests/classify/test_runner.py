"""The classifier protocol, registry, configuration and runner, with fake classifiers; and the
explicit detector's output decoding with a fake model session (no imagery involved)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classify.helpers import FakeClassifier, synth_sample
from needle.classify import (
    Classification,
    ClassifyConfig,
    Face,
    Sample,
    load_classifiers,
    load_config,
    registry,
    run_classifiers,
)
from needle.classify._runtime import package_file
from needle.classify.age import AgeClassifier, age_stats
from needle.classify.base import Box, iou
from needle.classify.nudenet import NUDENET_LABELS, NudeNetClassifier, nms
from needle.errors import ConfigError, OptionalDependencyError, PluginError
from needle.plugins import Registry

# -- boxes ------------------------------------------------------------------------------------


def test_box_from_and_to_pixels() -> None:
    box = Box.from_pixels(10, 20, 110, 220, 200, 400)
    assert box == Box(0.05, 0.05, 0.55, 0.55)
    assert box.to_pixels(200, 400) == (10, 20, 110, 220)
    assert Box.from_pixels(-5, -5, 500, 500, 100, 100) == Box(0, 0, 1, 1)


def test_iou() -> None:
    a = Box(0, 0, 0.5, 0.5)
    assert iou(a, a) == 1
    assert iou(a, Box(0.5, 0.5, 1, 1)) == 0
    assert iou(a, Box(0.25, 0, 0.75, 0.5)) == pytest.approx(1 / 3)


# -- runner -----------------------------------------------------------------------------------


def test_runner_orders_by_stage_and_passes_earlier_results() -> None:
    face = Face(Box(0.1, 0.1, 0.3, 0.3), detector="fake-detector", detection_score=0.9)

    def detect(sample: Sample, before: Sequence[Classification]) -> Classification:
        return Classification("detector", "d", "1", {"explicit": 0.1}, faces=(face,))

    reader = FakeClassifier("reader", stage=20)
    detector = FakeClassifier("detector", stage=10, result=detect)
    samples = [synth_sample(1), synth_sample(2)]
    results = run_classifiers([reader, detector], samples)
    assert [[c.classifier for c in r] for r in results] == [["detector", "reader"]] * 2
    ((count, earlier),) = reader.calls
    assert count == 2
    assert [[c.classifier for c in e] for e in earlier] == [["detector"], ["detector"]]
    assert earlier[0][0].faces == (face,)


def test_one_bad_image_does_not_spoil_the_batch() -> None:
    samples = [synth_sample(i) for i in range(4)]
    bad = samples[2].path
    fake = FakeClassifier("fragile", scores={"x": 0.5}, fail_on=lambda s: s.path == bad)
    results = run_classifiers([fake], samples)
    assert [r[0].unavailable for r in results[:2] + results[3:]] == [None] * 3
    assert results[2][0].unavailable == f"ValueError: cannot handle {bad}"
    assert results[2][0].scores == {}
    assert results[0][0].scores == {"x": 0.5}


def test_wrong_result_count_is_unavailable_not_silently_misaligned() -> None:
    class Short(FakeClassifier):
        def classify(self, batch: Sequence[Sample], prior: Any = None) -> list[Classification]:
            return []

    results = run_classifiers([Short("short")], [synth_sample(1)])
    assert results[0][0].unavailable == "RuntimeError: returned 0 results for 1 images"


def test_setup_errors_are_raised_not_recorded() -> None:
    def broken(sample: Sample, before: Sequence[Classification]) -> Classification:
        raise OptionalDependencyError("install needle-triage[classify]")

    with pytest.raises(OptionalDependencyError):
        run_classifiers([FakeClassifier(result=broken)], [synth_sample(1)])


def test_empty_batch() -> None:
    assert run_classifiers([FakeClassifier()], []) == []


def test_working_copy_is_made_once_and_shared() -> None:
    sample = synth_sample(3, (2000, 1000))
    first = sample.working(512)
    assert first.size == (512, 256)
    assert sample.working(512) is first
    assert sample.working(320).size == (320, 160)
    small = synth_sample(4, (100, 50))
    assert small.working(512) is small.image.image


# -- registry and configuration ---------------------------------------------------------------


def test_builtin_types_are_registered() -> None:
    assert registry.names() == ["nudenet", "age", "onnx", "http"]
    assert [p.name for p in registry if p.default] == ["nudenet", "age"]


def test_default_classifiers_in_stage_order() -> None:
    built = load_classifiers()
    assert [type(c) for c in built] == [NudeNetClassifier, AgeClassifier]
    assert [c.stage for c in built] == sorted(c.stage for c in built)


def test_names_and_options_from_config(tmp_path: Path) -> None:
    (tmp_path / "needle.toml").write_text(
        "[classifiers.age]\nmargin = 4.5\ndetect_size = 640\n\n"
        '[classifiers.second]\ntype = "nudenet"\nsquare = true\n\n'
        '[classifiers.off]\ntype = "nudenet"\nenabled = false\n'
    )
    config = load_config(tmp_path / "needle.toml")
    assert config.base_dir == tmp_path.resolve()
    built = load_classifiers(None, config, threads=2)
    assert [c.name for c in built] == ["nudenet", "second", "age"]
    age = built[2]
    assert isinstance(age, AgeClassifier)
    assert (age.margin, age.detect_size, age.threads) == (4.5, 640, 2)
    assert isinstance(built[1], NudeNetClassifier) and built[1].square
    # named explicitly, a disabled instance still runs
    assert [c.name for c in load_classifiers(["off"], config)] == ["off"]


def test_config_as_mapping() -> None:
    built = load_classifiers(["age"], {"age": {"margin": 0}})
    assert isinstance(built[0], AgeClassifier) and built[0].margin == 0


@pytest.mark.parametrize(
    ("names", "config", "message"),
    [
        (["nope"], None, "unknown classifier 'nope'; known: age, http, nudenet, onnx"),
        ([" "], None, "no classifier named"),
        (["age"], {"age": {"margin": 99}}, "age margin must be between 0 and 20 years"),
        (["age"], {"age": {"colour": 1}}, "unknown age option(s) colour"),
        (["nudenet"], {"nudenet": {"model": "/no/such.onnx"}}, "model file not found"),
    ],
)
def test_config_errors_say_what_is_wrong(
    names: list[str], config: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_classifiers(names, config, load=True)
    assert message in str(info.value)


def test_bad_config_file(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[classifiers\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match=r"missing\.toml does not exist"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="must be a table"):
        ClassifyConfig.from_mapping({"classifiers": {"x": 1}})


def test_missing_package_names_the_extra() -> None:
    with pytest.raises(OptionalDependencyError, match=r"needle-triage\[classify\]"):
        package_file("needle_no_such_package", "x.onnx")


class _ThirdParty:
    name = "acme"
    summary = "a third-party classifier"
    default = False

    def build(self, options: Any, *, name: str | None = None, base_dir: Path | None = None) -> Any:
        return FakeClassifier(name or self.name, scores={"acme": float(options.get("v", 0))})


class _EntryPoint:
    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def load(self) -> Any:
        return self.obj


def test_third_party_classifiers_load_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    def entry_points(group: str) -> list[_EntryPoint]:
        return [_EntryPoint(_ThirdParty)] if group == "needle.classifiers" else []

    monkeypatch.setattr("needle.plugins.entry_points", entry_points)
    fresh: Registry[Any] = Registry("classifier", "needle.classifiers", registry._builtins)
    assert "acme" in fresh
    monkeypatch.setattr("needle.classify.runner.registry", fresh)
    (built,) = load_classifiers(["acme"], {"acme": {"v": 0.25}})
    assert run_classifiers([built], [synth_sample(1)])[0][0].scores == {"acme": 0.25}

    def duplicate(group: str) -> list[_EntryPoint]:
        return [_EntryPoint(type("Dup", (_ThirdParty,), {"name": "age"}))]

    monkeypatch.setattr("needle.plugins.entry_points", duplicate)
    with pytest.raises(PluginError, match="two classifier plugins are named 'age'"):
        Registry("classifier", "needle.classifiers", registry._builtins).names()
    # only needle's seam is patched: importlib's own entry_points is the real one, and the
    # fake plugins are not among the installed ones
    assert importlib.metadata.entry_points is not duplicate
    installed = importlib.metadata.entry_points(group="needle.classifiers")
    assert not {"acme", "Dup"} & {ep.name for ep in installed}


# -- apparent age arithmetic ------------------------------------------------------------------


def test_age_stats_from_a_distribution() -> None:
    weights = np.array([0.25, *range(1, 81)], dtype=np.float64)
    p = np.zeros((2, 81))
    p[0, 9] = 0.5  # ages 9 and 11, half each
    p[0, 11] = 0.5
    p[1, 17] = 0.3  # 17, 19, 40
    p[1, 19] = 0.3
    p[1, 40] = 0.4
    child, mixed = age_stats(p, weights, cutoff=18)
    assert child.age == pytest.approx(10)
    assert child.sd == pytest.approx(1)
    assert child.minor_likelihood == pytest.approx(1)
    assert child.confidence == pytest.approx(0.5)
    assert mixed.minor_likelihood == pytest.approx(0.3)
    # a margin moves the cut-off: 19 now counts
    assert age_stats(p[1:], weights, cutoff=20)[0].minor_likelihood == pytest.approx(0.6)


# -- explicit detector: decoding a (fake) model output ----------------------------------------


class _FakeSession:
    """Stands in for onnxruntime: returns a chosen YOLO output for every image."""

    def __init__(self, output: np.ndarray) -> None:
        self.output = output
        self.shapes: list[tuple[int, ...]] = []

    def run(self, names: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        (tensor,) = feeds.values()
        self.shapes.append(tensor.shape)
        return [np.repeat(self.output[None], tensor.shape[0], axis=0)]


def _yolo(*detections: tuple[str, float, tuple[float, float, float, float]]) -> np.ndarray:
    """A [22, anchors] output with one anchor per detection (cx, cy, w, h in input pixels)."""
    out = np.zeros((4 + len(NUDENET_LABELS), max(len(detections), 1) + 3), dtype=np.float32)
    for i, (label, score, (cx, cy, w, h)) in enumerate(detections):
        out[:4, i] = (cx, cy, w, h)
        out[4 + NUDENET_LABELS.index(label), i] = score
    return out


def test_detector_classes_map_to_scores_regions_and_faces() -> None:
    output = _yolo(
        ("BUTTOCKS_EXPOSED", 0.81, (100, 100, 40, 40)),
        ("BUTTOCKS_EXPOSED", 0.60, (102, 101, 40, 40)),  # overlaps the first: suppressed
        ("FEMALE_BREAST_COVERED", 0.44, (200, 60, 30, 30)),
        ("FEET_EXPOSED", 0.70, (50, 200, 20, 20)),
        ("FACE_FEMALE", 0.90, (160, 40, 32, 32)),
        ("BELLY_EXPOSED", 0.24, (260, 150, 30, 30)),  # under the floor: dropped
    )
    classifier = NudeNetClassifier()
    session = _FakeSession(output)
    classifier._session, classifier._input = session, "images"
    sample = synth_sample(1, (640, 480))  # working copy 512x384 -> 320x240 -> padded 320x256
    (result,) = classifier.classify([sample])
    assert session.shapes == [(1, 3, 256, 320)]
    assert result.scores["explicit"] == pytest.approx(0.81)
    assert result.scores["suggestive"] == pytest.approx(0.44)
    assert [(r.label, round(r.score, 2)) for r in result.regions] == [
        ("BUTTOCKS_EXPOSED", 0.81),
        ("FEET_EXPOSED", 0.7),
    ]
    (face,) = result.faces
    assert face.detector == "nudenet-320n" and face.age is None
    assert face.box == pytest.approx(Box(144 / 320, 24 / 240, 176 / 320, 56 / 240))
    assert result.thresholds["detection_floor"] == 0.25


def test_exposed_non_sexual_parts_do_not_count_as_explicit() -> None:
    output = _yolo(
        ("FEET_EXPOSED", 0.95, (50, 50, 20, 20)), ("BELLY_EXPOSED", 0.9, (150, 150, 40, 40))
    )
    classifier = NudeNetClassifier()
    classifier._session, classifier._input = _FakeSession(output), "images"
    (result,) = classifier.classify([synth_sample(2)])
    assert result.scores == {"explicit": 0.0, "suggestive": 0.0}
    assert len(result.regions) == 2


def test_images_of_different_shapes_are_batched_by_shape() -> None:
    classifier = NudeNetClassifier()
    session = _FakeSession(_yolo())
    classifier._session, classifier._input = session, "images"
    samples = [
        synth_sample(1, (640, 480)),
        synth_sample(2, (480, 640)),
        synth_sample(3, (800, 600)),
    ]
    results = classifier.classify(samples)
    assert len(results) == 3
    assert sorted(session.shapes) == [(1, 3, 320, 256), (2, 3, 256, 320)]


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float32)
    scores = np.array([0.5, 0.9, 0.3], dtype=np.float32)
    assert nms(boxes, scores, 0.45) == [1, 2]
    assert nms(boxes, scores, 0.99) == [1, 0, 2]
