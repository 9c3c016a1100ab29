"""Measuring the classifiers on an organisation's own labelled images, on its own machine.

In: a CSV of ``path,age`` (apparent-age model) or ``path,label`` (explicit-content model;
label 1/0, true/false, yes/no, explicit/benign), paths relative to the CSV's folder, the
classifiers to measure and the assessment policy whose thresholds are reported. Out: an
``AgeReport`` or ``ExplicitReport``: mean absolute error and minor/adult accuracy per age
band, ROC AUC, precision and recall at the policy's thresholds, and the files that could not
be read. Nothing is written or sent anywhere; only numbers come out.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from needle.assess.policy import AssessmentPolicy
from needle.classify import run_classifiers
from needle.classify.age import MINOR_AGE, AgeClassifier
from needle.classify.base import Box, Classification, Classifier, Face, Sample
from needle.errors import ConfigError, MediaError
from needle.jsonvalue import JSONObject, JSONValue
from needle.media import DEFAULT_LIMITS, decode_image

__all__ = [
    "AGE_BANDS",
    "AgeReport",
    "BandStats",
    "ExplicitReport",
    "LabelRow",
    "Threshold",
    "evaluate_age",
    "evaluate_explicit",
    "label_text",
    "read_labels",
    "roc_auc",
]

#: age bands reported separately (years, inclusive): children, teenagers, then adults
AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("0-12", 0, 12.999),
    ("13-17", 13, 17.999),
    ("18-24", 18, 24.999),
    ("25-39", 25, 39.999),
    ("40-59", 40, 59.999),
    ("60+", 60, 200),
)
#: images decoded per classifier call
BATCH = 16
#: JPEGs decoded in the DCT domain to at least this many pixels a side, as a scan does
DRAFT_SIZE = 512
_TRUE = {"1", "true", "yes", "explicit", "positive", "nsfw", "y"}
_FALSE = {"0", "false", "no", "benign", "negative", "safe", "sfw", "n"}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LabelRow:
    path: Path
    value: float
    line: int


def label_text(path: str | Path) -> str:
    """A labels file's text (UTF-8, a byte-order mark allowed); a ``ConfigError`` saying why
    when it cannot be read."""
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_labels(csv_path: str | Path, column: str) -> tuple[list[LabelRow], list[str]]:
    """Rows of a ``path,<column>`` CSV with a header; problems are returned, not raised."""
    file = Path(csv_path)
    text = label_text(file)
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "path" not in header or column not in header:
        raise ConfigError(
            f"{file} needs a header line with `path` and `{column}` columns "
            f"(found: {', '.join(header) or 'nothing'})"
        )
    rows: list[LabelRow] = []
    problems: list[str] = []
    base = file.resolve().parent
    for line, raw in enumerate(reader, start=2):
        record = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        path, value = record.get("path", ""), record.get(column, "")
        if not path:
            problems.append(f"line {line}: no path")
            continue
        try:
            number = _parse(value, column)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        full = Path(path) if Path(path).is_absolute() else base / path
        rows.append(LabelRow(full, number, line))
    return rows, problems


def _parse(value: str, column: str) -> float:
    if column == "label":
        low = value.lower()
        if low in _TRUE:
            return 1.0
        if low in _FALSE:
            return 0.0
        raise ValueError(f"label {value!r} is not 1/0, true/false, yes/no, explicit/benign")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{column} {value!r} is not a number") from None
    if not 0 <= number <= 130:
        raise ValueError(f"{column} {number} is not an age in years")
    return number


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, ties counted half); None without both
    classes."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True)
class Threshold:
    """Precision and recall of ``score >= threshold`` as the positive prediction."""

    name: str
    threshold: float
    precision: float | None
    recall: float | None
    accuracy: float | None
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @classmethod
    def measure(
        cls, name: str, threshold: float, scores: Sequence[float], positive: Sequence[bool]
    ) -> Threshold:
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(positive, dtype=bool)
        flagged = s >= threshold
        tp = int((flagged & y).sum())
        fp = int((flagged & ~y).sum())
        fn = int((~flagged & y).sum())
        tn = int((~flagged & ~y).sum())
        n = tp + fp + fn + tn
        return cls(
            name,
            threshold,
            tp / (tp + fp) if tp + fp else None,
            tp / (tp + fn) if tp + fn else None,
            (tp + tn) / n if n else None,
            tp,
            fp,
            fn,
            tn,
        )

    def to_dict(self) -> JSONObject:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "precision": self.precision,
            "recall": self.recall,
            "accuracy": self.accuracy,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "true_negatives": self.true_negatives,
        }


@dataclass(frozen=True)
class BandStats:
    band: str
    count: int
    mae: float | None
    #: share of faces put on the right side of the minor line (minor likelihood vs the
    #: policy's ``minor_review``)
    accuracy: float | None

    def to_dict(self) -> JSONObject:
        return {"band": self.band, "count": self.count, "mae": self.mae, "accuracy": self.accuracy}


@dataclass(frozen=True)
class AgeReport:
    files: int
    measured: int
    whole_image: int
    unreadable: list[str]
    mae: float | None
    bands: list[BandStats]
    auc: float | None
    thresholds: list[Threshold]
    model: str
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> JSONObject:
        return {
            "files": self.files,
            "measured": self.measured,
            "whole_image": self.whole_image,
            "unreadable": list[JSONValue](self.unreadable),
            "mae": self.mae,
            "bands": [b.to_dict() for b in self.bands],
            "minor_auc": self.auc,
            "thresholds": [t.to_dict() for t in self.thresholds],
            "model": self.model,
            "problems": list[JSONValue](self.problems),
        }


@dataclass(frozen=True)
class ExplicitReport:
    files: int
    measured: int
    positives: int
    unreadable: list[str]
    auc: float | None
    thresholds: list[Threshold]
    model: str
    score: str
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> JSONObject:
        return {
            "files": self.files,
            "measured": self.measured,
            "positives": self.positives,
            "unreadable": list[JSONValue](self.unreadable),
            "auc": self.auc,
            "thresholds": [t.to_dict() for t in self.thresholds],
            "model": self.model,
            "score": self.score,
            "problems": list[JSONValue](self.problems),
        }


def _batches(
    rows: list[LabelRow], unreadable: list[str]
) -> Iterator[list[tuple[LabelRow, Sample]]]:
    batch: list[tuple[LabelRow, Sample]] = []
    for row in rows:
        try:
            data = row.path.read_bytes()
            if len(data) > DEFAULT_LIMITS.max_file_bytes:
                raise MediaError("file over the size limit")
            image = decode_image(data, draft_size=DRAFT_SIZE)
        except (OSError, MediaError) as exc:
            unreadable.append(f"{row.path}: {exc}")
            continue
        batch.append((row, Sample(image, path=str(row.path))))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _age_of(results: Sequence[Classification]) -> tuple[Face | None, str]:
    """The largest aged face among one image's classifications."""
    best: Face | None = None
    model = ""
    for c in results:
        for face in c.faces:
            if face.age is None:
                continue
            if best is None or face.box.area > best.box.area:
                best, model = face, f"{c.model} {c.version}"
    return best, model


def evaluate_age(
    labels: str | Path,
    classifiers: Sequence[Classifier],
    policy: AssessmentPolicy,
    *,
    whole_image: bool = True,
    progress: Progress | None = None,
) -> AgeReport:
    """Age every labelled image (its largest face) and compare with the label.

    Images where no face is found are aged as one face filling the whole image when
    ``whole_image`` is set (datasets of face crops), else left out.
    """
    rows, problems = read_labels(labels, "age")
    ager = next((c for c in classifiers if isinstance(c, AgeClassifier)), None)
    if ager is None:
        raise ConfigError("needle eval age needs the `age` classifier among --classifiers")
    unreadable: list[str] = []
    faceless: list[str] = []
    truth: list[float] = []
    predicted: list[float] = []
    minor: list[float] = []
    fallback = 0
    model = ""
    done = 0
    for batch in _batches(rows, unreadable):
        results = run_classifiers(classifiers, [s for _, s in batch])
        for (row, sample), found in zip(batch, results, strict=True):
            face, model_name = _age_of(found)
            if face is None and whole_image:
                face, model_name = _age_of(_whole_image(ager, sample))
                fallback += face is not None
            if face is None or face.age is None:
                faceless.append(f"{row.path}: no face found")
                continue
            model = model or model_name
            truth.append(row.value)
            predicted.append(face.age)
            minor.append(face.minor_likelihood or 0.0)
        done += len(batch)
        if progress:
            progress(done + len(unreadable), len(rows))
    unreadable += faceless
    t = np.asarray(truth)
    p = np.asarray(predicted)
    is_minor = [a < MINOR_AGE for a in truth]
    return AgeReport(
        files=len(rows),
        measured=len(truth),
        whole_image=fallback,
        unreadable=unreadable,
        mae=float(np.abs(p - t).mean()) if len(t) else None,
        bands=_bands(t, p, np.asarray(minor) >= policy.minor_review),
        auc=roc_auc(minor, is_minor),
        thresholds=[
            Threshold.measure("minor_review", policy.minor_review, minor, is_minor),
            Threshold.measure("minor_possible", policy.minor_possible, minor, is_minor),
        ],
        model=model or ager.model,
        problems=problems,
    )


def _bands(truth: np.ndarray, predicted: np.ndarray, flagged: np.ndarray) -> list[BandStats]:
    """Mean absolute error and minor/adult accuracy per age band; ``flagged``: the faces put
    on the minor side of the line."""
    bands = []
    for name, lo, hi in AGE_BANDS:
        mask = (truth >= lo) & (truth <= hi)
        n = int(mask.sum())
        correct = flagged[mask] == (truth[mask] < MINOR_AGE)
        bands.append(
            BandStats(
                name,
                n,
                float(np.abs(predicted[mask] - truth[mask]).mean()) if n else None,
                float(correct.mean()) if n else None,
            )
        )
    return bands


def _whole_image(ager: Classifier, sample: Sample) -> list[Classification]:
    """Age the whole image as one face (a face crop HOG finds no face in)."""
    prior = Classification("eval", "whole-image", "", faces=(Face(Box(0, 0, 1, 1), "whole-image"),))
    try:
        return ager.classify([sample], [[prior]])
    except Exception:  # one bad crop must not end the evaluation
        return []


def evaluate_explicit(
    labels: str | Path,
    classifiers: Sequence[Classifier],
    policy: AssessmentPolicy,
    *,
    score: str = "explicit",
    progress: Progress | None = None,
) -> ExplicitReport:
    """Score every labelled image with ``score`` (highest over the classifiers) and compare."""
    rows, problems = read_labels(labels, "label")
    unreadable: list[str] = []
    failed: list[str] = []
    scores: list[float] = []
    positive: list[bool] = []
    model = ""
    done = 0
    for batch in _batches(rows, unreadable):
        results = run_classifiers(classifiers, [s for _, s in batch])
        for (row, _), found in zip(batch, results, strict=True):
            values = [(c.scores[score], c) for c in found if score in c.scores]
            if not values:
                why = "; ".join(c.unavailable for c in found if c.unavailable) or (
                    f"no classifier gave a {score!r} score"
                )
                failed.append(f"{row.path}: {why}")
                continue
            value, best = max(values, key=lambda v: v[0])
            model = model or f"{best.classifier} {best.model} {best.version}"
            scores.append(float(value))
            positive.append(row.value >= 0.5)
        done += len(batch)
        if progress:
            progress(done + len(unreadable), len(rows))
    unreadable += failed
    return ExplicitReport(
        files=len(rows),
        measured=len(scores),
        positives=sum(positive),
        unreadable=unreadable,
        auc=roc_auc(scores, positive),
        thresholds=[
            Threshold.measure("explicit_review", policy.explicit_review, scores, positive),
            Threshold.measure("explicit_possible", policy.explicit_possible, scores, positive),
        ],
        model=model,
        score=score,
        problems=problems,
    )
