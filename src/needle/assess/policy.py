"""The assessment policy: thresholds and which finding raises a file to which priority.

In: nothing (the documented defaults) or a TOML file. Out: a frozen ``AssessmentPolicy``. The
rules that use it are in ``needle.assess`` and explained, default by default, in
docs/assessment.md.

A policy file holds a ``[policy]`` table (keys may also sit at the top level of a file of
their own)::

    [policy]
    explicit_review = 0.6
    minor_review = 0.5

    [[policy.score_rules]]          # scores of your own classifiers (onnx / http plugins)
    score = "csam"
    threshold = 0.8
    priority = "high"
    classifier = "acme"             # optional: only this classifier's score

    # calibrations written by `needle eval ai` (paths relative to this file): an AI-image
    # detector's score is used only with a calibration of that exact model
    ai_image_calibration = "calibration/cf.json"     # or a list of paths

The defaults are not calibrated on abuse material (needle's authors have none and want none):
they are where each model says "more likely than not", with a lower "possible" band under
them. Measure the models on your own labelled data with ``needle eval explicit`` and
``needle eval age`` and set the thresholds here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from needle.assess.calibration import AiImageCalibration, load_calibration
from needle.config import read_toml, table
from needle.errors import ConfigError
from needle.jsonvalue import JSONObject

__all__ = [
    "DEFAULT_POLICY",
    "EXPLICIT_POSSIBLE",
    "EXPLICIT_REVIEW",
    "MINOR_POSSIBLE",
    "MINOR_REVIEW",
    "AssessmentPolicy",
    "Priority",
    "ScoreRule",
    "load_policy",
]


def _check_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be between 0 and 1, got {value}")


class Priority(enum.IntEnum):
    """How soon a human should look: ``CRITICAL > HIGH > MEDIUM > LOW > NONE``."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, value: str | Priority) -> Priority:
        if isinstance(value, Priority):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = ", ".join(p.label for p in sorted(cls, reverse=True))
            raise ConfigError(f"unknown priority {value!r}; use one of {names}") from None


#: an ``explicit`` score from here is an explicit image. nudenet 320n reports body-part
#: detections from 0.25 (its own floor); 0.5 is where it says "more likely than not".
EXPLICIT_REVIEW = 0.5
#: from here to EXPLICIT_REVIEW an image is "possibly explicit": low on its own, medium with
#: an apparent minor
EXPLICIT_POSSIBLE = 0.3
#: a face's share of its age distribution under 18 + margin from which it is an apparent
#: minor: more likely than not
MINOR_REVIEW = 0.5
#: from here to MINOR_REVIEW a face "may be a minor": an explicit image with such a face is
#: medium, not low
MINOR_POSSIBLE = 0.25


@dataclass(frozen=True)
class ScoreRule:
    """A score of a (usually your own) classifier that alone raises a file's priority."""

    score: str
    threshold: float
    priority: Priority
    classifier: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScoreRule:
        unknown = set(data) - {"score", "threshold", "priority", "classifier"}
        if unknown:
            raise ConfigError(
                f"unknown score_rules key(s) {', '.join(sorted(unknown))}; "
                "known: score, threshold, priority, classifier"
            )
        try:
            rule = cls(
                score=str(data["score"]),
                threshold=float(data["threshold"]),
                priority=Priority.parse(data["priority"]),
                classifier=None if data.get("classifier") is None else str(data["classifier"]),
            )
        except KeyError as exc:
            raise ConfigError(f"a score rule needs {exc.args[0]!r}") from None
        except (TypeError, ValueError):
            raise ConfigError(f"score rule threshold must be a number, got {data!r}") from None
        _check_unit("score_rules threshold", rule.threshold)
        return rule

    def to_dict(self) -> JSONObject:
        return {
            "score": self.score,
            "threshold": self.threshold,
            "priority": self.priority.label,
            "classifier": self.classifier,
        }


@dataclass(frozen=True)
class AssessmentPolicy:
    """Thresholds and the priority each kind of finding raises a file to.

    ``*_priority`` fields are what a finding of that kind is worth on its own; the visual
    rules (explicit x apparent minor) are fixed and use the four thresholds.
    """

    explicit_review: float = EXPLICIT_REVIEW
    explicit_possible: float = EXPLICIT_POSSIBLE
    minor_review: float = MINOR_REVIEW
    minor_possible: float = MINOR_POSSIBLE
    #: an explicit image in which no face could be aged: a minor cannot be ruled out
    no_face_priority: Priority = Priority.MEDIUM
    #: text (filename, embedded prompt, metadata) the guard blocks as sexual content involving
    #: minors, with no visual finding
    guard_block_priority: Priority = Priority.MEDIUM
    #: the same, with a possibly explicit image or an apparent minor in it
    guard_corroborated_priority: Priority = Priority.HIGH
    #: text the guard sends to review, or blocks as sexual content without minors
    guard_review_priority: Priority = Priority.LOW
    #: a classifier that could not run on the file (its check is missing)
    unavailable_priority: Priority = Priority.LOW
    #: score names read as "explicit" and as "minor likelihood" from any classifier
    explicit_scores: tuple[str, ...] = ("explicit",)
    minor_scores: tuple[str, ...] = ("minor_likelihood",)
    #: score names read as an AI-image detector's probability that the image is generated
    ai_image_scores: tuple[str, ...] = ("ai_image",)
    score_rules: tuple[ScoreRule, ...] = field(default=())
    #: calibrations of AI-image detectors (``needle eval ai``); in the TOML file, the path of
    #: one calibration file or a list of them. Without one, a detector's score is not used.
    ai_image_calibration: tuple[AiImageCalibration, ...] = field(default=())
    #: where the policy came from, for the record ("defaults" or a file path)
    source: str = "defaults"

    def __post_init__(self) -> None:
        for name in ("explicit_review", "explicit_possible", "minor_review", "minor_possible"):
            _check_unit(name, getattr(self, name))
        if self.explicit_possible > self.explicit_review:
            raise ConfigError("explicit_possible must not be above explicit_review")
        if self.minor_possible > self.minor_review:
            raise ConfigError("minor_possible must not be above minor_review")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], source: str = "mapping", base_dir: Path | None = None
    ) -> AssessmentPolicy:
        """A policy from a mapping (a ``policy`` table, or the keys themselves); calibration
        paths are relative to ``base_dir`` (the policy file's folder)."""
        found: Mapping[str, Any] = table(dict(data), "policy", "assessment policy")
        if "policy" not in data:  # a file of its own: a shared file's other tables are not ours
            found = {k: v for k, v in found.items() if k != "classifiers"}
        names = {f.name for f in fields(cls)} - {"source"}
        unknown = set(found) - names
        if unknown:
            raise ConfigError(
                f"unknown policy key(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(sorted(names))}"
            )
        values: dict[str, Any] = {}
        for key, value in found.items():
            if key.endswith("_priority"):
                values[key] = Priority.parse(value)
            elif key == "score_rules":
                if not isinstance(value, list):
                    raise ConfigError(
                        "score_rules must be an array of tables ([[policy.score_rules]])"
                    )
                values[key] = tuple(ScoreRule.from_mapping(rule) for rule in value)
            elif key == "ai_image_calibration":
                values[key] = _calibrations(value, base_dir)
            elif key in ("explicit_scores", "minor_scores", "ai_image_scores"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"{key} must be a list of score names")
                values[key] = tuple(value)
            else:
                try:
                    values[key] = float(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"policy {key} must be a number, got {value!r}") from None
        return replace(cls(), source=source, **values)

    def to_dict(self) -> JSONObject:
        out: JSONObject = {}
        for f in fields(self):
            value: object = getattr(self, f.name)
            if isinstance(value, Priority):
                out[f.name] = value.label
            elif f.name == "score_rules":
                out[f.name] = [rule.to_dict() for rule in self.score_rules]
            elif f.name == "ai_image_calibration":
                out[f.name] = [k.summary() for k in self.ai_image_calibration]
            elif isinstance(value, tuple):
                out[f.name] = list(value)
            elif isinstance(value, str | int | float):
                out[f.name] = value
        return out


def _calibrations(value: Any, base_dir: Path | None) -> tuple[AiImageCalibration, ...]:
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise ConfigError(
            "ai_image_calibration must be the path of a calibration file (from `needle eval "
            "ai`) or a list of them"
        )
    found = []
    for text in paths:
        path = Path(text).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        found.append(load_calibration(path))
    return tuple(found)


DEFAULT_POLICY = AssessmentPolicy()


def load_policy(path: str | Path | None) -> AssessmentPolicy:
    """The policy in a TOML file (its ``[policy]`` table, or its top level); None: defaults."""
    if path is None:
        return DEFAULT_POLICY
    data = read_toml(path, "assessment policy")
    return AssessmentPolicy.from_mapping(
        data, source=str(Path(path)), base_dir=Path(path).resolve().parent
    )
