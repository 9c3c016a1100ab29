"""The bundled models (NudeNet 320n, dlib + age-v1): offline, on CPU, on benign pictures only.

What fires on abusive content is tested in tests/assess with injected scores; here the models
must stay quiet on ordinary photos and age an adult face as an adult.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classify.helpers import (
    astronaut,
    astronaut_sample,
    models,
    no_network,
    sample_of,
    synth_sample,
)
from needle.assess import EXPLICIT_POSSIBLE, EXPLICIT_REVIEW, MINOR_POSSIBLE, Priority, assess
from needle.classify import Classification, Classifier, Sample, load_classifiers, run_classifiers
from needle.classify._runtime import LazySession
from needle.classify.age import MINOR_AGE, AgeClassifier
from needle.classify.base import Box, iou
from needle.classify.nudenet import NudeNetClassifier
from needle.media import decode_image

__all__ = ["models"]  # the session fixture, imported so pytest finds it

# where the face is in scikit-image's astronaut (512x512): dlib's own HOG box, in fractions
ASTRONAUT_FACE = Box(179 / 512, 83 / 512, 267 / 512, 171 / 512)


def by_name(results: list[Classification], name: str) -> Classification:
    return next(c for c in results if c.classifier == name)


def test_models_load_and_run_without_network() -> None:
    with no_network():
        fresh = load_classifiers(["nudenet", "age"], load=True)
        results = run_classifiers(fresh, [astronaut_sample()])[0]
    assert [c.classifier for c in results] == ["nudenet", "age"]
    assert all(c.unavailable is None for c in results)
    for classifier in fresh:
        assert isinstance(classifier, LazySession) and classifier.session is not None
    nudenet = fresh[0]
    assert isinstance(nudenet, NudeNetClassifier)
    assert nudenet.session.get_providers() == ["CPUExecutionProvider"]


def test_sessions_use_one_thread_by_default(models: list[Classifier]) -> None:
    nudenet = next(c for c in models if isinstance(c, NudeNetClassifier))
    assert nudenet.session.get_session_options().intra_op_num_threads == 1
    ager = next(c for c in models if isinstance(c, AgeClassifier))
    assert ager.session.session.get_session_options().intra_op_num_threads == 1


def test_astronaut_is_aged_as_an_adult(models: list[Classifier]) -> None:
    results = run_classifiers(models, [astronaut_sample()])[0]
    age = by_name(results, "age")
    assert age.scores["faces"] == 1
    (face,) = age.faces
    assert face.age is not None and face.age >= MINOR_AGE
    assert face.minor_likelihood is not None and face.minor_likelihood < MINOR_POSSIBLE
    assert age.scores["minor_likelihood"] == face.minor_likelihood
    assert iou(face.box, ASTRONAUT_FACE) > 0.7
    explicit = by_name(results, "nudenet")
    assert explicit.scores["explicit"] < EXPLICIT_POSSIBLE
    assert assess(classifications=results).priority is Priority.NONE


def test_explicit_detector_face_box_is_merged_not_duplicated(models: list[Classifier]) -> None:
    results = run_classifiers(models, [astronaut_sample()])[0]
    detected = by_name(results, "nudenet").faces
    assert len(detected) == 1 and detected[0].age is None
    assert iou(detected[0].box, ASTRONAUT_FACE) > 0.5
    # HOG finds the same face: one aged face, not two
    assert [f.detector for f in by_name(results, "age").faces] == ["dlib-hog"]


def test_faces_from_the_explicit_detector_are_aged_when_hog_finds_none(
    models: list[Classifier],
) -> None:
    nudenet = next(c for c in models if isinstance(c, NudeNetClassifier))
    no_hog = AgeClassifier(hog=False)
    (results,) = run_classifiers([nudenet, no_hog], [astronaut_sample()])
    (face,) = by_name(results, "age").faces
    assert face.detector == "nudenet-320n"
    assert face.detection_score is not None and face.detection_score > 0.5
    assert face.age is not None and face.age >= MINOR_AGE


def test_age_can_be_gated_on_the_explicit_score(models: list[Classifier]) -> None:
    nudenet = next(c for c in models if isinstance(c, NudeNetClassifier))
    gated = AgeClassifier(only_if_explicit=EXPLICIT_POSSIBLE)
    (results,) = run_classifiers([nudenet, gated], [astronaut_sample()])
    age = by_name(results, "age")
    assert age.skipped == f"explicit 0.00 < {EXPLICIT_POSSIBLE:.2f}: not aged"
    assert age.scores == {} and age.faces == () and age.unavailable is None
    assert age.thresholds["only_if_explicit"] == EXPLICIT_POSSIBLE
    assert assess(classifications=results).priority is Priority.NONE
    # without an explicit score to go by, the gate lets the image through
    (alone,) = run_classifiers([gated], [astronaut_sample()])
    assert alone[0].skipped is None and alone[0].scores["faces"] == 1


def test_benign_reference_photos_stay_below_review(
    models: list[Classifier], testdata: Path
) -> None:
    paths = sorted(
        p for p in (testdata / "pdq").rglob("*") if p.suffix.lower() in (".jpg", ".png", ".webp")
    )
    assert len(paths) > 30
    samples = [Sample(decode_image(p.read_bytes(), draft_size=512), path=str(p)) for p in paths]
    results = run_classifiers(models, samples)
    for path, found in zip(paths, results, strict=True):
        explicit = by_name(found, "nudenet")
        assert explicit.unavailable is None, path
        assert explicit.scores["explicit"] < EXPLICIT_REVIEW, path
        assert assess(classifications=found).priority is Priority.NONE, path


@pytest.mark.parametrize("size", [(64, 48), (320, 240), (1200, 800), (333, 1000)])
def test_synthesised_images_stay_below_review(
    models: list[Classifier], size: tuple[int, int]
) -> None:
    samples = [synth_sample(seed, size) for seed in range(6)]
    for found in run_classifiers(models, samples):
        assert by_name(found, "nudenet").scores["explicit"] < EXPLICIT_REVIEW
        assert all(c.unavailable is None for c in found)


def test_odd_images_classify(models: list[Classifier]) -> None:
    tiny = sample_of(Image.new("RGB", (1, 1), (10, 200, 30)), "PNG")
    tall = sample_of(Image.new("RGB", (3, 900), (255, 255, 255)), "PNG")
    grey = sample_of(astronaut().convert("L"), "JPEG")
    for found in run_classifiers(models, [tiny, tall, grey]):
        assert all(c.unavailable is None for c in found)
        assert by_name(found, "nudenet").scores["explicit"] < EXPLICIT_REVIEW


def test_batching_does_not_change_results(models: list[Classifier]) -> None:
    samples = [astronaut_sample(), synth_sample(1, (640, 480)), synth_sample(2, (200, 300))]
    together = run_classifiers(models, samples)
    alone = [run_classifiers(models, [s])[0] for s in samples]
    for a, b in zip(together, alone, strict=True):
        for x, y in zip(a, b, strict=True):
            assert x.scores.keys() == y.scores.keys()
            for key in x.scores:
                assert x.scores[key] == pytest.approx(y.scores[key], abs=1e-4)
            assert len(x.faces) == len(y.faces)


def test_detector_matches_the_nudenet_package(models: list[Classifier]) -> None:
    """In parity mode (square input, BGR as nudenet.py feeds it) boxes and labels match the
    package's own detector and scores differ only by the resize filter."""
    cv2 = pytest.importorskip("cv2")
    nudenet_pkg = pytest.importorskip("nudenet")
    image = astronaut()
    reference = nudenet_pkg.NudeDetector().detect(
        cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)
    )
    ours = NudeNetClassifier(square=True, bgr=True).classify([sample_of(image, "PNG")])[0]
    found = [(f.box, f.detection_score) for f in ours.faces] + [
        (r.box, r.score) for r in ours.regions
    ]
    assert len(found) == len(reference) >= 1
    for detection in reference:
        x, y, w, h = detection["box"]
        box = Box(x / 512, y / 512, (x + w) / 512, (y + h) / 512)
        best = max(found, key=lambda f: iou(f[0], box))
        assert iou(best[0], box) > 0.8
        assert best[1] == pytest.approx(detection["score"], abs=0.06)


def test_classifiers_pickle_without_their_sessions(models: list[Classifier]) -> None:
    for classifier in models:
        assert isinstance(classifier, LazySession)
        assert "_session" not in classifier.__getstate__()
        clone = pickle.loads(pickle.dumps(classifier))
        assert clone.name == classifier.name
    clones = pickle.loads(pickle.dumps(models))
    (results,) = run_classifiers(clones, [astronaut_sample()])
    (original,) = run_classifiers(models, [astronaut_sample()])
    assert [c.scores for c in results] == [c.scores for c in original]


def _classify_in_worker(classifiers: list[Classifier], data: bytes) -> dict[str, float]:
    sample = Sample(decode_image(data, draft_size=512))
    (found,) = run_classifiers(classifiers, [sample])
    return {f"{c.classifier}.{k}": v for c in found for k, v in c.scores.items()}


@pytest.mark.slow
def test_classifiers_run_in_a_worker_process(models: list[Classifier]) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    sample = astronaut_sample()
    assert sample.data is not None
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        remote = pool.submit(_classify_in_worker, models, sample.data).result(timeout=120)
    local = _classify_in_worker(models, sample.data)
    assert remote.keys() == local.keys()
    for key, value in local.items():
        assert remote[key] == pytest.approx(value, abs=1e-5)
