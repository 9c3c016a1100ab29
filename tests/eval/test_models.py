"""The evaluation harness: metrics checked against definitions written out here, label files,
and whole runs with fake scores (explicit) and the real age model on benign pictures."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classify.helpers import FakeClassifier, astronaut, models
from conftest import image_bytes, synth_image
from needle.assess import DEFAULT_POLICY, AssessmentPolicy
from needle.classify import Classification, Classifier, Sample
from needle.errors import ConfigError
from needle.eval.models import (
    Threshold,
    evaluate_age,
    evaluate_explicit,
    read_labels,
    roc_auc,
)

__all__ = ["models"]


def brute_auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """P(score of a random positive > a random negative), ties counting half."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]), st.booleans()),
        min_size=2,
        max_size=40,
    )
)
def test_auc_matches_its_definition(pairs: list[tuple[float, bool]]) -> None:
    scores = [s for s, _ in pairs]
    positive = [p for _, p in pairs]
    expected = brute_auc(scores, positive) if any(positive) and not all(positive) else None
    result = roc_auc(scores, positive)
    assert result == (None if expected is None else pytest.approx(expected))


def test_auc_edges() -> None:
    assert roc_auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert roc_auc([0.1, 0.9], [True, False]) == 0.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert roc_auc([0.5, 0.7], [True, True]) is None


def test_threshold_counts() -> None:
    t = Threshold.measure("x", 0.5, [0.9, 0.6, 0.4, 0.2, 0.5], [True, False, True, False, True])
    assert (t.true_positives, t.false_positives, t.false_negatives, t.true_negatives) == (
        2,
        1,
        1,
        1,
    )
    assert t.precision == pytest.approx(2 / 3)
    assert t.recall == pytest.approx(2 / 3)
    assert t.accuracy == pytest.approx(3 / 5)
    empty = Threshold.measure("x", 0.5, [0.1], [False])
    assert empty.precision is None and empty.recall is None and empty.accuracy == 1.0


def test_read_labels(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text(
        "Path,Label\na.jpg,1\nsub/b.jpg,benign\n/abs/c.jpg,TRUE\nd.jpg,maybe\n,1\n"
    )
    rows, problems = read_labels(tmp_path / "labels.csv", "label")
    assert [(r.path, r.value, r.line) for r in rows] == [
        (tmp_path / "a.jpg", 1.0, 2),
        (tmp_path / "sub" / "b.jpg", 0.0, 3),
        (Path("/abs/c.jpg"), 1.0, 4),
    ]
    assert problems == [
        "line 5: label 'maybe' is not 1/0, true/false, yes/no, explicit/benign",
        "line 6: no path",
    ]
    (tmp_path / "ages.csv").write_text("path,age\na.jpg,7\nb.jpg,old\nc.jpg,200\n")
    rows, problems = read_labels(tmp_path / "ages.csv", "age")
    assert [r.value for r in rows] == [7.0]
    assert len(problems) == 2
    (tmp_path / "wrong.csv").write_text("file,age\na.jpg,3\n")
    with pytest.raises(ConfigError, match="needs a header line with `path` and `age`"):
        read_labels(tmp_path / "wrong.csv", "age")


def _write(folder: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        (folder / name).write_bytes(image_bytes(synth_image(i)))


def test_explicit_run_with_injected_scores(tmp_path: Path) -> None:
    names = [f"img{i}.jpg" for i in range(6)]
    _write(tmp_path, names)
    labels = [1, 1, 0, 0, 1, 0]
    chosen = {
        "img0.jpg": 0.9,
        "img1.jpg": 0.4,
        "img2.jpg": 0.6,
        "img3.jpg": 0.1,
        "img4.jpg": 0.55,
        "img5.jpg": 0.05,
    }
    (tmp_path / "labels.csv").write_text(
        "path,label\n"
        + "".join(f"{n},{v}\n" for n, v in zip(names, labels, strict=True))
        + "gone.jpg,1\n"
    )

    def score(sample: Sample, before: Sequence[Classification]) -> Classification:
        assert sample.path is not None
        return Classification("fake", "m", "1", {"explicit": chosen[Path(sample.path).name]})

    report = evaluate_explicit(
        tmp_path / "labels.csv", [FakeClassifier(result=score)], DEFAULT_POLICY
    )
    assert (report.files, report.measured, report.positives) == (7, 6, 3)
    assert report.unreadable[0].startswith(str(tmp_path / "gone.jpg"))
    scores = [chosen[n] for n in names]
    assert report.auc == pytest.approx(brute_auc(scores, [bool(v) for v in labels]))
    review = report.thresholds[0]
    assert (review.name, review.threshold) == ("explicit_review", 0.5)
    assert (review.true_positives, review.false_positives, review.false_negatives) == (2, 1, 1)
    assert report.model == "fake m 1"
    stricter = evaluate_explicit(
        tmp_path / "labels.csv",
        [FakeClassifier(result=score)],
        AssessmentPolicy(explicit_review=0.8),
    )
    assert stricter.thresholds[0].true_positives == 1


def test_explicit_run_when_no_classifier_answers(tmp_path: Path) -> None:
    _write(tmp_path, ["a.jpg"])
    (tmp_path / "labels.csv").write_text("path,label\na.jpg,0\n")
    report = evaluate_explicit(tmp_path / "labels.csv", [FakeClassifier()], DEFAULT_POLICY)
    assert report.measured == 0
    assert report.unreadable == [f"{tmp_path / 'a.jpg'}: no classifier gave a 'explicit' score"]
    assert report.auc is None


def test_age_run_on_the_astronaut(tmp_path: Path, models: list[Classifier]) -> None:
    astronaut().save(tmp_path / "astronaut.jpg")
    (tmp_path / "blank.jpg").write_bytes(image_bytes(synth_image(3)))
    (tmp_path / "ages.csv").write_text("path,age\nastronaut.jpg,42\nblank.jpg,30\n")
    report = evaluate_age(tmp_path / "ages.csv", models, DEFAULT_POLICY, whole_image=False)
    assert (report.files, report.measured, report.whole_image) == (2, 1, 0)
    assert report.unreadable == [f"{tmp_path / 'blank.jpg'}: no face found"]
    assert report.mae is not None and 0 <= report.mae < 42
    band = next(b for b in report.bands if b.band == "40-59")
    assert band.count == 1 and band.mae == report.mae and band.accuracy == 1.0
    assert report.auc is None  # no minors among the labels
    review = report.thresholds[0]
    assert (review.true_negatives, review.false_positives) == (1, 0)

    # a picture without a detectable face is aged as one whole-image face when asked
    report = evaluate_age(tmp_path / "ages.csv", models, DEFAULT_POLICY, whole_image=True)
    assert (report.measured, report.whole_image) == (2, 1)


def test_age_run_needs_the_age_model(tmp_path: Path) -> None:
    (tmp_path / "ages.csv").write_text("path,age\n")
    with pytest.raises(ConfigError, match="needs the `age` classifier"):
        evaluate_age(tmp_path / "ages.csv", [FakeClassifier()], DEFAULT_POLICY)
