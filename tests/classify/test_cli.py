"""``needle classify`` and ``needle eval age|explicit`` run in-process on benign pictures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classify.helpers import astronaut
from conftest import image_bytes, run_cli, synth_image

pytest.importorskip("onnxruntime", reason="needs the classify extra")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, *args)


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    folder = tmp_path / "pictures"
    folder.mkdir()
    astronaut().save(folder / "astronaut.jpg")
    (folder / "pattern.png").write_bytes(image_bytes(synth_image(5), "PNG"))
    return folder


def test_classify_prints_scores_faces_and_priority(
    capsys: pytest.CaptureFixture[str], pictures: Path
) -> None:
    code, out, _ = run(capsys, "classify", str(pictures / "astronaut.jpg"))
    assert code == 0
    assert "astronaut.jpg  priority none" in out
    assert "nudenet (320n" in out and "explicit 0.00" in out
    assert "face 1: apparent age" in out and "(dlib-hog" in out


def test_classify_json(capsys: pytest.CaptureFixture[str], pictures: Path) -> None:
    code, out, _ = run(capsys, "classify", str(pictures), "--json")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["path"]).name for r in records] == ["astronaut.jpg", "pattern.png"]
    for record in records:
        assert record["priority"] == "none"
        assert record["reasons"] == []
        assert [c["classifier"] for c in record["classifications"]] == ["nudenet", "age"]
        assert record["assessment"]["policy"] == "defaults"
    faces = records[0]["classifications"][1]["faces"]
    assert len(faces) == 1 and faces[0]["age"] >= 18


def test_classify_reports_unreadable_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "ok.png").write_bytes(image_bytes(synth_image(1), "PNG"))
    code, out, _ = run(capsys, "classify", str(tmp_path), "--json", "-c", "nudenet")
    assert code == 1
    records = {Path(r["path"]).name: r for r in map(json.loads, out.splitlines())}
    assert "error" in records["empty.jpg"]
    assert [c["classifier"] for c in records["ok.png"]["classifications"]] == ["nudenet"]


def test_classify_with_a_policy_and_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pictures: Path
) -> None:
    config = tmp_path / "needle.toml"
    config.write_text("[classifiers.age]\nmargin = 0\n\n[policy]\nexplicit_review = 0.9\n")
    code, out, _ = run(
        capsys, "classify", str(pictures / "astronaut.jpg"), "--config", str(config), "--json"
    )
    assert code == 0
    record = json.loads(out)
    assert record["assessment"]["policy"] == str(config)
    assert record["classifications"][1]["thresholds"]["margin"] == 0


def test_classify_errors_say_what_to_do(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "classify", str(tmp_path), "--classifiers", "nudenet,magic")
    assert code == 3
    assert "unknown classifier 'magic'; known: age, http, nudenet, onnx" in err
    code, _, err = run(capsys, "classify", str(tmp_path / "absent.jpg"))
    assert code == 3 and "no such file or folder" in err


def test_classify_lists_the_classifiers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "classify", "--list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["nudenet", "age", "onnx", "http"]


def test_eval_age(capsys: pytest.CaptureFixture[str], pictures: Path) -> None:
    (pictures / "ages.csv").write_text("path,age\nastronaut.jpg,42\n")
    code, out, _ = run(capsys, "eval", "age", str(pictures / "ages.csv"), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["measured"] == 1 and report["mae"] is not None
    assert report["thresholds"][0]["name"] == "minor_review"
    code, out, _ = run(capsys, "eval", "age", str(pictures / "ages.csv"))
    assert code == 0 and "mean absolute error" in out and "minor_review" in out


def test_eval_explicit(capsys: pytest.CaptureFixture[str], pictures: Path) -> None:
    (pictures / "labels.csv").write_text("path,label\nastronaut.jpg,0\npattern.png,benign\n")
    code, out, _ = run(capsys, "eval", "explicit", str(pictures / "labels.csv"), "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["measured"], report["positives"], report["auc"]) == (2, 0, None)
    review = report["thresholds"][0]
    assert (review["true_negatives"], review["false_positives"]) == (2, 0)
    code, out, _ = run(capsys, "eval", "explicit", str(pictures / "labels.csv"))
    assert code == 0 and "ROC AUC: –" in out and "explicit_review" in out
