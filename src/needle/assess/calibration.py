"""Calibrations of AI-image detectors, and what one detector's score is worth with or without.

In: a calibration file written by ``needle eval ai`` (JSON, format below) and, at assessment
time, the ``ai_image`` scores of one file's classifications. Out: an ``AiImageCalibration``
(``load_calibration``) and, per score, one ``Reason`` of priority ``none`` saying whether the
score was used, and the review order it implies (``ai_image_reasons``).

Published pixel-level detectors lose accuracy on recompressed, resized real-world images, so
a score is only evidence once the organisation has measured the detector on its own files: the
calibration holds the threshold at which the detector flags the chosen share of the
organisation's *real* files (its false-positive rate), how many generated files it catches
there, and the same per JPEG quality, size and source. The rules:

- no calibration on file for the detector, or one measured on another model file (matched by
  the model's SHA-256, not its name): the score is recorded with "uncalibrated: not used" and
  changes nothing;
- at or above the calibrated threshold: AI evidence, as provenance's; the file keeps its
  priority and is reviewed after likely-real files of that priority;
- below it: proves nothing. A detector that misses is never evidence of a real photo.

The calibration file (``needle-ai-image-calibration``, version 1)::

    {"format": "needle-ai-image-calibration", "version": 1,
     "detector": "cf", "model": "cf-vit", "model_version": "1.0",
     "model_sha256": "<64 hex digits>", "score": "ai_image",
     "created": "2025-01-31T12:00:00+00:00", "labels": "labels.jsonl",
     "target_fpr": 0.01, "threshold": 0.81, "fpr": 0.009, "tpr": 0.74, "auc": 0.95,
     "counts": {"files": 2010, "measured": 2000, "real": 1200, "generated": 800,
                "unreadable": 10},
     "breakdown": [{"group": "jpeg_quality", "band": "q<70", "real": 300, "generated": 90,
                    "fpr": 0.02, "tpr": 0.51, "auc": 0.88}, ...],
     "warnings": []}

This module reads the file; ``needle.eval.ai`` measures and writes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from needle.assess.protocols import ClassificationLike
from needle.errors import ConfigError
from needle.jsonvalue import JSONObject, JSONValue

__all__ = [
    "CALIBRATION_FORMAT",
    "CALIBRATION_VERSION",
    "AiImageCalibration",
    "AiImageFinding",
    "BandFigures",
    "ai_image_findings",
    "load_calibration",
]

CALIBRATION_FORMAT = "needle-ai-image-calibration"
CALIBRATION_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class BandFigures:
    """The detector on one slice of the calibration files, at the overall threshold.

    ``group`` is ``jpeg_quality``, ``megapixels`` or ``source``; ``fpr`` is the share of the
    slice's real files flagged, ``tpr`` of its generated files (None without such files).
    """

    group: str
    band: str
    real: int
    generated: int
    fpr: float | None
    tpr: float | None
    auc: float | None

    def to_dict(self) -> JSONObject:
        return {
            "group": self.group,
            "band": self.band,
            "real": self.real,
            "generated": self.generated,
            "fpr": _round(self.fpr),
            "tpr": _round(self.tpr),
            "auc": _round(self.auc),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BandFigures:
        return cls(
            str(data["group"]),
            str(data["band"]),
            int(data["real"]),
            int(data["generated"]),
            _optional_unit(data.get("fpr"), "breakdown fpr"),
            _optional_unit(data.get("tpr"), "breakdown tpr"),
            _optional_unit(data.get("auc"), "breakdown auc"),
        )


@dataclass(frozen=True)
class AiImageCalibration:
    """One detector, measured on the organisation's own labelled files.

    ``detector`` is the configured classifier instance's name and ``model_sha256`` the model
    file's digest: both must match a classification for its score to be used. ``threshold``
    flags ``fpr`` of the ``real`` files (the aim was ``target_fpr``) and ``tpr`` of the
    ``generated`` ones. ``path`` is where it was loaded from (not written).
    """

    detector: str
    model: str
    model_version: str
    model_sha256: str
    threshold: float
    target_fpr: float
    fpr: float
    tpr: float | None
    auc: float | None
    real: int
    generated: int
    unreadable: int = 0
    files: int = 0
    score: str = "ai_image"
    created: str = ""
    labels: str = ""
    breakdown: tuple[BandFigures, ...] = ()
    warnings: tuple[str, ...] = ()
    path: str | None = field(default=None, compare=False)

    @property
    def measured(self) -> int:
        return self.real + self.generated

    def to_dict(self) -> JSONObject:
        """The calibration file's content."""
        return {
            "format": CALIBRATION_FORMAT,
            "version": CALIBRATION_VERSION,
            "detector": self.detector,
            "model": self.model,
            "model_version": self.model_version,
            "model_sha256": self.model_sha256,
            "score": self.score,
            "created": self.created,
            "labels": self.labels,
            "target_fpr": self.target_fpr,
            "threshold": self.threshold,
            "fpr": _round(self.fpr),
            "tpr": _round(self.tpr),
            "auc": _round(self.auc),
            "counts": {
                "files": self.files,
                "measured": self.measured,
                "real": self.real,
                "generated": self.generated,
                "unreadable": self.unreadable,
            },
            "breakdown": [b.to_dict() for b in self.breakdown],
            "warnings": list[JSONValue](self.warnings),
        }

    def summary(self) -> JSONObject:
        """What an assessment policy records about the calibration it holds."""
        return {
            "path": self.path,
            "detector": self.detector,
            "model_sha256": self.model_sha256,
            "threshold": self.threshold,
            "fpr": self.fpr,
            "tpr": self.tpr,
            "measured": self.measured,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str | None = None) -> AiImageCalibration:
        """Read a calibration file's content; a ``ConfigError`` says what is wrong with it."""
        where = path or "calibration"
        if data.get("format") != CALIBRATION_FORMAT:
            raise ConfigError(
                f'{where} is not an AI-image calibration (no "format": '
                f'"{CALIBRATION_FORMAT}"); write one with `needle eval ai`'
            )
        if data.get("version") != CALIBRATION_VERSION:
            raise ConfigError(
                f"{where}: calibration version {data.get('version')!r} is not supported "
                f"(this needle reads version {CALIBRATION_VERSION}); run `needle eval ai` again"
            )
        try:
            counts = data.get("counts") or {}
            calibration = cls(
                detector=str(data["detector"]),
                model=str(data.get("model", "")),
                model_version=str(data.get("model_version", "")),
                model_sha256=str(data["model_sha256"]).lower(),
                threshold=float(data["threshold"]),
                target_fpr=float(data["target_fpr"]),
                fpr=float(data["fpr"]),
                tpr=_optional_unit(data.get("tpr"), "tpr"),
                auc=_optional_unit(data.get("auc"), "auc"),
                real=int(counts["real"]),
                generated=int(counts["generated"]),
                unreadable=int(counts.get("unreadable", 0)),
                files=int(counts.get("files", 0)),
                score=str(data.get("score", "ai_image")),
                created=str(data.get("created", "")),
                labels=str(data.get("labels", "")),
                breakdown=tuple(BandFigures.from_dict(b) for b in data.get("breakdown") or ()),
                warnings=tuple(str(w) for w in data.get("warnings") or ()),
                path=path,
            )
        except KeyError as exc:
            raise ConfigError(f"{where}: calibration lacks {exc.args[0]!r}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{where}: malformed calibration ({exc})") from None
        if not _SHA256.fullmatch(calibration.model_sha256):
            raise ConfigError(f"{where}: model_sha256 is not a SHA-256 (64 hex digits)")
        if not 0.0 < calibration.target_fpr < 1.0 or not 0.0 <= calibration.fpr <= 1.0:
            raise ConfigError(f"{where}: target_fpr and fpr must be rates between 0 and 1")
        if calibration.real <= 0:
            raise ConfigError(f"{where}: measured on no real files; it sets no threshold")
        return calibration


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _optional_unit(value: Any, name: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} {number} is not between 0 and 1")
    return number


def load_calibration(path: str | Path) -> AiImageCalibration:
    """Read a calibration file written by ``needle eval ai``."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read AI-image calibration {file}: {exc.strerror or exc}"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"AI-image calibration {file} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"AI-image calibration {file} is not a JSON object")
    return AiImageCalibration.from_dict(data, str(file))


def _percent(rate: float) -> str:
    """``0.01`` -> ``1 %``, ``0.005`` -> ``0.5 %``."""
    return f"{rate * 100:.3g} %"


@dataclass(frozen=True)
class AiImageFinding:
    """One detector's score on one file and what it is worth: ``used`` when a calibration of
    that model is on file; ``above`` when the score reaches its threshold."""

    text: str
    evidence: JSONObject
    above: bool


def _judge(
    c: ClassificationLike,
    name: str,
    value: float,
    calibrations: Sequence[AiImageCalibration],
    source: str,
) -> AiImageFinding:
    said = f"AI-image detector {source}: {value:.2f}"
    evidence: JSONObject = {
        "signal": "ai_image_detector",
        "score": name,
        "value": round(value, 4),
        "classifier": c.classifier,
        "model": c.model,
        "version": c.version,
        "model_sha256": c.model_sha256,
        "calibrated": False,
    }
    mine = [k for k in calibrations if k.detector == c.classifier and k.score == name]
    if c.model_sha256 is None:
        why = "the detector reports no model file SHA-256 to match a calibration against"
    elif not mine:
        on_file = ", ".join(sorted({k.detector for k in calibrations})) or "none"
        why = (
            f"no calibration on file for detector {c.classifier!r} (calibrations on file: "
            f"{on_file}); measure it on your own files with `needle eval ai`"
        )
    else:
        match = next((k for k in mine if k.model_sha256 == c.model_sha256), None)
        if match is not None:
            return _calibrated(said, value, match, evidence)
        other = mine[0]
        why = (
            f"the calibration on file ({other.path or 'policy'}) was measured on model "
            f"sha256 {other.model_sha256[:12]}…, but this result comes from "
            f"{c.model_sha256[:12]}…; a calibration is refused for any other model file: "
            "run `needle eval ai` again with this model"
        )
        evidence["refused_calibration"] = other.path
    return AiImageFinding(f"{said}; uncalibrated: not used ({why})", evidence, False)


def _calibrated(
    said: str, value: float, k: AiImageCalibration, evidence: JSONObject
) -> AiImageFinding:
    evidence.update(
        {
            "calibrated": True,
            "calibration": k.path,
            "threshold": k.threshold,
            "fpr": k.fpr,
            "target_fpr": k.target_fpr,
            "tpr": k.tpr,
            "real": k.real,
            "generated": k.generated,
        }
    )
    measured = f"the {_percent(k.target_fpr)} FPR threshold ({k.threshold:.2f}) measured on " + (
        f"{k.measured:,} of your files"
    )
    if value >= k.threshold:
        caught = (
            f"; it caught {_percent(k.tpr)} of your generated ones there"
            if k.tpr is not None
            else ""
        )
        text = f"{said}, above {measured}{caught}: likely AI-generated"
        return AiImageFinding(text, evidence, True)
    text = (
        f"{said}, below {measured}: proves nothing either way "
        "(a detector that misses is no evidence of a real photo)"
    )
    return AiImageFinding(text, evidence, False)


def ai_image_findings(
    available: Sequence[ClassificationLike],
    scores: Sequence[str],
    calibrations: Sequence[AiImageCalibration],
) -> list[AiImageFinding]:
    """One finding per AI-image score among one file's classifications."""
    findings = []
    for c in available:
        for name in scores:
            value = c.scores.get(name)
            if value is None:
                continue
            source = c.model if c.classifier == c.model else f"{c.classifier} ({c.model})"
            findings.append(_judge(c, name, float(value), calibrations, source))
    return findings
