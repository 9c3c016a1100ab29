"""Calibrating an AI-image detector on an organisation's own labelled files, on its own machine.

In: a JSON Lines file with one labelled file a line, ``{"path": "...", "label": "real" |
"generated", "source": "..."}`` (``source`` optional: a camera, a platform, a generator; paths
relative to the labels file), the detector (a built classifier that gives an ``ai_image``
score) and the false-positive rate wanted on real files. Out: an ``AiReport`` whose
``calibration`` (``needle.assess.calibration.AiImageCalibration``) is what the assessment
policy reads: the threshold at that rate, the rate and the true-positive rate measured there,
ROC AUC, counts, and the same figures per JPEG quality band, size band and source.

The steps of ``calibrate``:

1. read the labels (``read_labels``); lines that cannot be used are reported, not fatal;
2. decode each file exactly as a scan does (JPEGs at a reduced DCT draft size) and run the
   detector through ``needle.classify.run_classifiers``, so the scores are those a scan gets;
3. note each file's JPEG quality, estimated from its quantisation tables (``jpeg_quality``),
   and its size in megapixels;
4. choose the threshold on the real files' scores (``threshold_for_fpr``) and measure it,
   overall and per band (``breakdown``).

Nothing is sent anywhere; only numbers come out.
"""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from needle.assess.calibration import AiImageCalibration, BandFigures
from needle.classify import run_classifiers
from needle.classify.base import AI_IMAGE_SCORE, WORKING_SIZE, Classifier, Sample
from needle.errors import ConfigError, MediaError
from needle.eval.models import label_text, roc_auc
from needle.jsonvalue import JSONObject, JSONValue
from needle.media import DEFAULT_LIMITS, Limits, decode_image
from needle.media.image import DecodedImage
from needle.provenance.quantization import (
    IJG_CHROMINANCE,
    IJG_LUMINANCE,
    ijg_table,
    read_tables,
)
from needle.signals.pdq import PDQ_DRAFT_SIZE

__all__ = [
    "DEFAULT_FPR",
    "AiLabel",
    "AiReport",
    "Measured",
    "breakdown",
    "calibrate",
    "jpeg_quality",
    "quality_band",
    "read_labels",
    "size_band",
    "threshold_for_fpr",
    "write_calibration",
]

#: false-positive rate on real files that ``needle eval ai`` calibrates for unless told: one
#: real photo in a hundred ordered after the likely-real ones
DEFAULT_FPR = 0.01
#: images per detector call
BATCH = 16
#: JPEG quality bands (estimated IJG quality, inclusive lower bounds); recompression by
#: platforms and messengers commonly lands in the lowest band
QUALITY_BANDS: tuple[tuple[str, int], ...] = (("q<70", 0), ("q70-89", 70), ("q≥90", 90))
NOT_JPEG = "not JPEG"
UNKNOWN_QUALITY = "JPEG, quality unknown"
#: size bands by megapixels of the full-size picture (lower bounds): thumbnails and messenger
#: copies, web-sized, phone and generator outputs, camera originals
SIZE_BANDS: tuple[tuple[str, float], ...] = (
    ("<0.5 MP", 0.0),
    ("0.5-2 MP", 0.5),
    ("2-8 MP", 2.0),
    ("≥8 MP", 8.0),
)
#: a band whose real files are flagged at more than this many times the target rate (with
#: at least ``_WARN_MIN_REAL`` real files in it) gets a warning in the calibration
_WARN_FACTOR = 2.0
_WARN_MIN_REAL = 20
_LABELS = {"real": False, "generated": True}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AiLabel:
    path: Path
    generated: bool
    source: str | None
    line: int


@dataclass(frozen=True)
class Measured:
    """One labelled file's score and what it was: JPEG quality (None: not a JPEG, or no
    standard tables) and size."""

    label: AiLabel
    score: float
    format: str
    quality: int | None
    megapixels: float


@dataclass(frozen=True)
class AiReport:
    calibration: AiImageCalibration
    unreadable: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> JSONObject:
        return {
            "calibration": self.calibration.to_dict(),
            "unreadable": list[JSONValue](self.unreadable),
            "problems": list[JSONValue](self.problems),
        }


def read_labels(path: str | Path) -> tuple[list[AiLabel], list[str]]:
    """The usable lines of a labels file and the problems with the others."""
    file = Path(path)
    text = label_text(file)
    base = file.resolve().parent
    rows: list[AiLabel] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            problems.append(f"line {number}: not a JSON object")
            continue
        name, label, source = record.get("path"), record.get("label"), record.get("source")
        if not isinstance(name, str) or not name:
            problems.append(f'line {number}: no "path"')
            continue
        if label not in _LABELS:
            problems.append(f'line {number}: "label" {label!r} is not "real" or "generated"')
            continue
        if source is not None and not isinstance(source, str):
            problems.append(f'line {number}: "source" must be text')
            continue
        full = Path(name) if Path(name).is_absolute() else base / name
        rows.append(AiLabel(full, _LABELS[label], source or None, number))
    return rows, problems


@functools.cache
def _standard(quality: int) -> tuple[list[int], list[int]]:
    """libjpeg's tables at ``quality``, each sorted (the comparison ignores value order)."""
    return (
        sorted(ijg_table(IJG_LUMINANCE, quality)),
        sorted(ijg_table(IJG_CHROMINANCE, quality)),
    )


def jpeg_quality(data: bytes) -> int | None:
    """The IJG quality (1-100) whose tables come closest to the JPEG's own, or None.

    Encoders that scale the IJG example tables (libjpeg, Pillow, most web and phone software)
    give their quality exactly; cameras with tables of their own get the nearest match. The
    comparison is of the sorted table values, so the tables' order in the file does not
    matter."""
    found = read_tables(data)
    if found is None or len(found.luminance) != 64:
        return None
    luma = sorted(found.luminance)
    chroma = sorted(found.chrominance) if len(found.chrominance) == 64 else None

    def distance(quality: int) -> int:
        std_luma, std_chroma = _standard(quality)
        d = sum(abs(a - b) for a, b in zip(luma, std_luma, strict=True))
        if chroma is not None:
            d += sum(abs(a - b) for a, b in zip(chroma, std_chroma, strict=True))
        return d

    return min(range(1, 101), key=lambda q: (distance(q), -q))


def quality_band(fmt: str, quality: int | None) -> str:
    if fmt not in ("JPEG", "MPO"):
        return NOT_JPEG
    if quality is None:
        return UNKNOWN_QUALITY
    return [name for name, low in QUALITY_BANDS if quality >= low][-1]


def size_band(megapixels: float) -> str:
    return [name for name, low in SIZE_BANDS if megapixels >= low][-1]


def threshold_for_fpr(real: Sequence[float], scores: Sequence[float], fpr: float) -> float:
    """The lowest threshold (``score >= threshold`` flags) that flags at most ``fpr`` of the
    ``real`` scores, placed midway between the highest real score it must not flag and the
    next score above it among all ``scores``; above 1 when no threshold can do it."""
    if not real:
        raise ConfigError("no real files were measured: a threshold needs real files")
    ordered = sorted(real, reverse=True)
    allowed = math.floor(fpr * len(ordered) + 1e-9)
    cut = ordered[min(allowed, len(ordered) - 1)]
    above = [s for s in scores if s > cut]
    if not above:
        return float(np.nextafter(cut, np.inf))
    return (cut + min(above)) / 2


def _rate(values: np.ndarray, threshold: float) -> float | None:
    return float((values >= threshold).mean()) if len(values) else None


def _figures(group: str, band: str, rows: list[Measured], threshold: float) -> BandFigures:
    real = np.asarray([m.score for m in rows if not m.label.generated])
    generated = np.asarray([m.score for m in rows if m.label.generated])
    return BandFigures(
        group,
        band,
        len(real),
        len(generated),
        _rate(real, threshold),
        _rate(generated, threshold),
        roc_auc([m.score for m in rows], [m.label.generated for m in rows]),
    )


def breakdown(measured: list[Measured], threshold: float) -> list[BandFigures]:
    """The threshold's rates and the ROC AUC per JPEG quality band, size band and source
    (the last only when some label names a source); empty bands are left out."""
    groups: list[tuple[str, list[str], Callable[[Measured], str]]] = [
        (
            "jpeg_quality",
            [name for name, _ in QUALITY_BANDS] + [UNKNOWN_QUALITY, NOT_JPEG],
            lambda m: quality_band(m.format, m.quality),
        ),
        ("megapixels", [name for name, _ in SIZE_BANDS], lambda m: size_band(m.megapixels)),
    ]
    if any(m.label.source for m in measured):
        sources = sorted({m.label.source or "unspecified" for m in measured})
        groups.append(("source", sources, lambda m: m.label.source or "unspecified"))
    out = []
    for group, bands, band_of in groups:
        for band in bands:
            rows = [m for m in measured if band_of(m) == band]
            if rows:
                out.append(_figures(group, band, rows, threshold))
    return out


def _batches(
    rows: list[AiLabel], limits: Limits, unreadable: list[str]
) -> Iterator[list[tuple[AiLabel, Sample, int | None]]]:
    """Files decoded as a scan decodes them, in batches, with their estimated JPEG quality."""
    batch: list[tuple[AiLabel, Sample, int | None]] = []
    for row in rows:
        try:
            data = row.path.read_bytes()
            if len(data) > limits.max_file_bytes:
                raise MediaError("file over the size limit")
            image = decode_image(
                data, limits=limits, draft_size=PDQ_DRAFT_SIZE, draft_long=WORKING_SIZE
            )
        except (OSError, MediaError) as exc:
            unreadable.append(f"{row.path}: {exc}")
            continue
        quality = jpeg_quality(data) if image.format in ("JPEG", "MPO") else None
        batch.append((row, Sample(image, path=str(row.path)), quality))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _megapixels(image: DecodedImage) -> float:
    width, height = image.upright_size
    return width * height / 1e6


@dataclass
class _Detector:
    """Who gave the scores: the first classification that had one."""

    name: str = ""
    model: str = ""
    version: str = ""
    sha256: str | None = None


def _measure(
    rows: list[AiLabel],
    detector: Classifier,
    score: str,
    limits: Limits,
    unreadable: list[str],
    progress: Progress | None,
) -> tuple[list[Measured], _Detector]:
    """Each readable file's score; the others go to ``unreadable`` with the reason."""
    measured: list[Measured] = []
    who = _Detector()
    for batch in _batches(rows, limits, unreadable):
        results = run_classifiers([detector], [sample for _, sample, _ in batch])
        for (row, sample, quality), found in zip(batch, results, strict=True):
            (c,) = found
            if c.unavailable is not None or c.skipped is not None:
                unreadable.append(f"{row.path}: {c.unavailable or c.skipped}")
                continue
            if score not in c.scores:
                raise ConfigError(
                    f"detector {c.classifier!r} gives no {score!r} score (it gives "
                    f"{', '.join(c.scores) or 'none'}); set `ai_image_label` in its config to "
                    'the label that is the probability of "generated"'
                )
            if not who.name:
                who = _Detector(c.classifier, c.model, c.version, c.model_sha256)
            image = sample.image
            measured.append(
                Measured(row, float(c.scores[score]), image.format, quality, _megapixels(image))
            )
        if progress:
            progress(len(measured) + len(unreadable), len(rows))
    return measured, who


def calibrate(
    labels: str | Path,
    detector: Classifier,
    *,
    fpr: float = DEFAULT_FPR,
    score: str = AI_IMAGE_SCORE,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress | None = None,
    now: Callable[[], datetime] | None = None,
) -> AiReport:
    """Run ``detector`` on every labelled file and calibrate its ``score`` at ``fpr``."""
    if not 0.0 < fpr < 1.0:
        raise ConfigError(f"--fpr must be a rate between 0 and 1 (0.01 is 1 %), got {fpr}")
    rows, problems = read_labels(labels)
    if not rows:
        raise ConfigError(f"{labels} has no usable lines ({'; '.join(problems[:3]) or 'empty'})")
    unreadable: list[str] = []
    measured, who = _measure(rows, detector, score, limits, unreadable, progress)
    if not any(not m.label.generated for m in measured):
        why = "; ".join(unreadable[:3]) or "none is labelled real"
        raise ConfigError(
            f"no real file of {labels} could be measured ({why}): the threshold is set on "
            "your real files"
        )
    if who.sha256 is None:
        raise ConfigError(
            f"detector {who.name!r} reports no model file SHA-256, so no calibration could be "
            "matched to its model; calibrate a local model (the onnx classifier type)"
        )
    calibration = _calibration(measured, who, fpr, score, labels, now or _utc_now)
    calibration = replace(calibration, files=len(rows), unreadable=len(unreadable))
    return AiReport(calibration, unreadable, problems)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _calibration(
    measured: list[Measured],
    who: _Detector,
    fpr: float,
    score: str,
    labels: str | Path,
    now: Callable[[], datetime],
) -> AiImageCalibration:
    real = [m.score for m in measured if not m.label.generated]
    generated = np.asarray([m.score for m in measured if m.label.generated])
    everything = [m.score for m in measured]
    threshold = threshold_for_fpr(real, everything, fpr)
    bands = breakdown(measured, threshold)
    measured_fpr = _rate(np.asarray(real), threshold) or 0.0
    return AiImageCalibration(
        detector=who.name,
        model=who.model,
        model_version=who.version,
        model_sha256=who.sha256 or "",
        threshold=threshold,
        target_fpr=fpr,
        fpr=measured_fpr,
        tpr=_rate(generated, threshold),
        auc=roc_auc(everything, [m.label.generated for m in measured]),
        real=len(real),
        generated=len(generated),
        unreadable=0,
        files=0,
        score=score,
        created=now().isoformat(timespec="seconds"),
        labels=str(labels),
        breakdown=tuple(bands),
        warnings=tuple(_warnings(len(real), len(generated), threshold, fpr, bands)),
    )


def _warnings(
    real: int, generated: int, threshold: float, fpr: float, bands: list[BandFigures]
) -> Iterator[str]:
    needed = math.ceil(1 / fpr)
    if real < needed:
        yield (
            f"only {real} real files: a {fpr * 100:.3g} % false-positive rate needs at least "
            f"{needed} to be measured; the threshold sits above every real file's score. "
            "Label more real files."
        )
    if threshold > 1.0:
        yield "real files score 1.0: no threshold reaches this false-positive rate"
    if generated == 0:
        yield "no generated files: how many generated files the threshold catches is unknown"
    for band in bands:
        if band.fpr is not None and band.real >= _WARN_MIN_REAL and band.fpr > _WARN_FACTOR * fpr:
            yield (
                f"{band.group} {band.band}: {band.fpr * 100:.3g} % of {band.real} real files "
                f"are flagged, more than {_WARN_FACTOR:g}x the {fpr * 100:.3g} % aimed at"
            )


def write_calibration(calibration: AiImageCalibration, path: str | Path) -> None:
    """Write the calibration file (whole or not at all)."""
    file = Path(path)
    text = json.dumps(calibration.to_dict(), indent=2, ensure_ascii=False) + "\n"
    temp: str | None = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, file)
    except OSError as exc:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise ConfigError(f"cannot write {file}: {exc.strerror or exc}") from None
