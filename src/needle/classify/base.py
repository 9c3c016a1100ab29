"""What a classifier is, and what it returns.

In: a batch of ``Sample`` objects (a decoded image, and where the caller has them the file's
bytes and hashes), plus the results of the classifiers that ran before it on the same batch.
Out: one ``Classification`` per image: named scores in ``[0, 1]`` with the model name and
version, the regions and faces the model found, or the reason it could not run.

Score kinds the assessment reads by name (a classifier may report others; score rules in the
assessment policy give those a meaning):

- ``explicit`` (``EXPLICIT_SCORE``): how likely the image is sexually explicit;
- ``minor_likelihood`` (``MINOR_SCORE``): how likely the most minor-looking face is under 18,
  per face on ``Face`` and the image's maximum in ``scores``;
- ``ai_image`` (``AI_IMAGE_SCORE``): a pixel-level detector's probability that the image is
  AI-generated. It is used only with a calibration of that exact model (matched by
  ``Classification.model_sha256``) measured on the organisation's own files
  (docs/ai-detectors.md).

Classifiers never decide priority (that is ``needle.assess``), and never raise for one bad
image: a failure becomes a ``Classification`` whose ``unavailable`` says why.

Boxes are ``(left, top, right, bottom)`` as fractions of the image's width and height, after
EXIF rotation, so they mean the same thing whatever size the image was decoded at (scans decode
JPEGs at a reduced "draft" size). ``Box.to_pixels(width, height)`` turns one into pixels.

Plugins: a ``ClassifierPlugin`` is a small, cheap object registered by name (built-ins and the
``needle.classifiers`` entry-point group); ``plugin.build(options)`` makes the ``Classifier``,
which loads its model lazily on first use (``needle.classify._runtime.LazySession``), so
classifiers pickle to worker processes without their model sessions and each process opens
its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

from PIL import Image

from needle.jsonvalue import JSONObject, JSONValue
from needle.media.image import DecodedImage

__all__ = [
    "AI_IMAGE_SCORE",
    "EXPLICIT_SCORE",
    "MINOR_SCORE",
    "WORKING_SIZE",
    "Box",
    "Classification",
    "Classifier",
    "ClassifierPlugin",
    "Face",
    "Region",
    "Sample",
    "iou",
]


#: score names with a meaning of their own in the assessment (see the module docstring)
EXPLICIT_SCORE = "explicit"
MINOR_SCORE = "minor_likelihood"
AI_IMAGE_SCORE = "ai_image"


class Box(NamedTuple):
    """``(left, top, right, bottom)`` as fractions of the image's width and height."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def from_pixels(
        cls, left: float, top: float, right: float, bottom: float, width: int, height: int
    ) -> Box:
        """A box from pixel coordinates in an image of ``width`` x ``height``, clipped to it."""
        w, h = float(max(width, 1)), float(max(height, 1))
        return cls(
            min(max(left / w, 0.0), 1.0),
            min(max(top / h, 0.0), 1.0),
            min(max(right / w, 0.0), 1.0),
            min(max(bottom / h, 0.0), 1.0),
        )

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (
            round(self.left * width),
            round(self.top * height),
            round(self.right * width),
            round(self.bottom * height),
        )

    @property
    def area(self) -> float:
        return max(self.right - self.left, 0.0) * max(self.bottom - self.top, 0.0)

    def rounded(self, digits: int = 4) -> list[float]:
        return [round(v, digits) for v in self]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not overlap)."""
    inter = Box(
        max(a.left, b.left), max(a.top, b.top), min(a.right, b.right), min(a.bottom, b.bottom)
    )
    union = a.area + b.area - inter.area
    return inter.area / union if union > 0 else 0.0


@dataclass(frozen=True)
class Region:
    """Something a detector found: its class label, its score, and where."""

    label: str
    score: float
    box: Box

    def to_dict(self) -> JSONObject:
        return {
            "label": self.label,
            "score": round(self.score, 4),
            "box": list[JSONValue](self.box.rounded()),
        }


@dataclass(frozen=True)
class Face:
    """A face, who found it, and (once an age model has seen it) its apparent age.

    ``age`` is the expected apparent age in years and ``age_sd`` the spread of the model's
    distribution around it; ``minor_likelihood`` is the share of that distribution below the
    minor cut-off (18 years plus the classifier's margin). All three are None for faces that
    were only detected.
    """

    box: Box
    detector: str
    detection_score: float | None = None
    age: float | None = None
    age_sd: float | None = None
    age_confidence: float | None = None
    minor_likelihood: float | None = None

    def to_dict(self) -> JSONObject:
        def r(v: float | None, digits: int) -> float | None:
            return None if v is None else round(v, digits)

        return {
            "box": list[JSONValue](self.box.rounded()),
            "detector": self.detector,
            "detection_score": r(self.detection_score, 4),
            "age": r(self.age, 1),
            "age_sd": r(self.age_sd, 1),
            "age_confidence": r(self.age_confidence, 4),
            "minor_likelihood": r(self.minor_likelihood, 4),
        }


@dataclass(frozen=True)
class Classification:
    """One classifier's result for one image.

    ``classifier`` is the plugin (or configured instance) name, ``model`` and ``version``
    identify the weights. ``scores`` are in ``[0, 1]`` except counts such as ``faces``.
    ``thresholds`` are the classifier's own cut-offs that shaped the result (for example the
    detector's floor below which a region is not reported), kept as evidence. When the model
    could not run, ``unavailable`` says why and ``scores`` is empty; when a configured gate
    told it not to look (the age model on images that are not even possibly explicit),
    ``skipped`` says so and ``scores`` is empty too. ``model_sha256`` is the SHA-256 of the
    model file when the classifier runs a local one (the ``onnx`` type): a calibration names
    the exact model it was measured on, and the assessment matches it by this digest.
    ``frame_time``: for a frame of a video, its time in seconds (a scan classifies a few
    sampled frames of each video, one ``Classification`` per frame and classifier); None for
    an image.
    """

    classifier: str
    model: str
    version: str
    scores: Mapping[str, float] = field(default_factory=dict)
    regions: tuple[Region, ...] = ()
    faces: tuple[Face, ...] = ()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    unavailable: str | None = None
    #: why the classifier chose not to look at this image (a configured gate), or None
    skipped: str | None = None
    model_sha256: str | None = None
    frame_time: float | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    @property
    def source(self) -> str:
        """How reasons name this model: ``nudenet 320n``, ``age-v1``."""
        if self.classifier in self.model:
            return self.model
        return f"{self.classifier} {self.model}"

    @classmethod
    def failed(cls, classifier: Classifier, reason: str) -> Classification:
        return cls(classifier.name, classifier.model, classifier.version, unavailable=reason)

    def to_dict(self) -> JSONObject:
        return {
            "classifier": self.classifier,
            "model": self.model,
            "version": self.version,
            "scores": {k: round(float(v), 4) for k, v in self.scores.items()},
            "regions": [r.to_dict() for r in self.regions],
            "faces": [f.to_dict() for f in self.faces],
            "thresholds": dict(self.thresholds),
            "unavailable": self.unavailable,
            "skipped": self.skipped,
            "model_sha256": self.model_sha256,
            **({} if self.frame_time is None else {"frame_time": round(self.frame_time, 3)}),
        }


#: long side of the one downscaled copy the built-in models share (nudenet resizes it to 320,
#: the HOG face detector runs on it): an image is resized from its decoded size only once
WORKING_SIZE = 512


@dataclass(frozen=True)
class Sample:
    """One image to classify. ``data`` and the hashes are optional extras for plugins that
    send a file's bytes or its hash elsewhere (the HTTP plugin); local models use ``image``.
    """

    image: DecodedImage
    data: bytes | None = field(default=None, repr=False)
    sha256: str | None = None
    md5: str | None = None
    path: str | None = None
    _copies: dict[int, Image.Image] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def working(self, max_side: int = WORKING_SIZE) -> Image.Image:
        """The image with its long side at most ``max_side``, resized once and shared by every
        classifier that asks for the same size (a larger cached copy is reused as source)."""
        cached = self._copies.get(max_side)
        if cached is not None:
            return cached
        source = self.image.image
        larger = [side for side in self._copies if side > max_side]
        if larger:
            source = self._copies[min(larger)]
        if max(source.size) > max_side:
            scale = max_side / max(source.size)
            size = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
            # box-average by an integer factor first, then bilinear: half the time of a plain
            # bilinear from a draft-decoded photo, and no aliasing
            source = source.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
        self._copies[max_side] = source
        return source


@runtime_checkable
class Classifier(Protocol):
    """Scores a batch of images.

    ``stage`` orders classifiers within one run (lower first): detectors whose regions or
    faces others read (the explicit-content detector, stage 10) come before their readers
    (the age model, stage 20). ``prior[i]`` holds the classifications already made for
    image ``i`` in this run.
    """

    name: str
    model: str
    version: str
    stage: int

    def classify(
        self,
        batch: Sequence[Sample],
        prior: Sequence[Sequence[Classification]] | None = None,
    ) -> list[Classification]: ...


class ClassifierPlugin(Protocol):
    """A registered classifier type: cheap to create, builds configured classifiers."""

    name: str
    summary: str
    #: run by ``needle scan`` / ``needle classify`` when no classifiers are named
    default: bool

    def build(
        self,
        options: Mapping[str, object],
        *,
        name: str | None = None,
        base_dir: Path | None = None,
    ) -> Classifier: ...
