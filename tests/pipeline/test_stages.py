"""The scan's later stages end to end: scores injected through the classifier protocol become
a stored priority with reasons; provenance and the text guard are recorded per file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import image_bytes, synth_image
from needle.classify import Classification
from needle.classify.base import Box, Face
from needle.match.model import Match
from needle.pipeline.scan import assess_record, run_scan
from needle.pipeline.worker import FileRecord, ScanOptions, relative_name
from needle.store import Store
from needle.store.record import record_row


def _classified(
    explicit: float, minor: tuple[float, float, float] | None, path: str = "/evidence/x.jpg"
) -> FileRecord:
    found = [Classification("nudenet", "320n", "3.4.2", {"explicit": explicit})]
    if minor is not None:
        age, sd, likelihood = minor
        face = Face(Box(0.1, 0.1, 0.3, 0.3), "dlib-hog", 1.0, age, sd, 0.5, likelihood)
        scores = {"minor_likelihood": likelihood, "faces": 1}
        found.append(Classification("age", "age-v1", "2.0.0", scores, faces=(face,)))
    return FileRecord(path, 10, classifications=tuple(found))


def _row(record: FileRecord, matches: list[Match], policy: object = None) -> dict[str, object]:
    return record_row(assess_record(record, matches, policy))  # type: ignore[arg-type]


def test_injected_scores_become_a_stored_priority_with_reasons(tmp_path: Path) -> None:
    child_record = assess_record(_classified(0.93, (9.2, 3.6, 0.97)), [])
    benign_record = assess_record(_classified(0.02, None, "/evidence/benign.jpg"), [])
    child = record_row(child_record)
    adult = _row(_classified(0.93, (34.0, 6.0, 0.02)), [])
    benign = _row(_classified(0.02, None, "/evidence/benign.jpg"), [])
    assert child["priority"] in ("critical", "high")
    assert adult["priority"] not in ("critical", "high")
    assert benign["priority"] == "none"
    text = " ".join(r["text"] for r in child["details"]["reasons"])  # type: ignore[index]
    assert "explicit 0.93" in text and "age 9" in text

    known = _row(FileRecord("/evidence/k.jpg", 1), [Match("known", "md5", "0" * 32, 0, 0)])
    assert known["priority"] == "critical"

    with Store(f"sqlite:///{tmp_path / 'n.db'}") as store:
        job, _ = store.open_job(["/evidence"], {})
        store.add_records(job.id, [child_record, benign_record])
        stored = {r.path: r for r in store.iter_records(job.id)}
        assert store.summary(job.id).priorities == {child["priority"]: 1, "none": 1}
    record = stored["/evidence/x.jpg"].to_dict()
    assert record["priority"] == child["priority"]
    assert record["classifications"][0]["scores"]["explicit"] == 0.93
    assert record["reasons"]


def test_relative_name_is_what_a_person_named() -> None:
    roots = ("/cases/17", "/cases/17/sub")
    assert relative_name("/cases/17/sub/a.jpg", roots) == "a.jpg"
    assert relative_name("/cases/17/x/y.jpg", roots) == "x/y.jpg"
    assert relative_name("/cases/17/z.zip!in/b.jpg", roots) == "z.zip!in/b.jpg"
    assert relative_name("/elsewhere/c.jpg", roots) == "c.jpg"


def test_generator_prompt_is_stored_for_the_guard_but_not_exported(
    testdata: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    for png in sorted((testdata / "provenance" / "generators" / "AUTOMATIC1111").glob("*.png")):
        shutil.copy(png, folder / png.name)
    (folder / "photo.jpg").write_bytes(image_bytes(synth_image(1)))
    options = ScanOptions(provenance=True, textguard=True)
    with Store(f"sqlite:///{tmp_path / 'n.db'}") as store:
        result = run_scan([str(folder)], store=store, workers=0, options=options)
        records = {Path(r.path).name: r for r in store.iter_records(result.job.id)}
    generated = [r for r in records.values() if r.provenance and r.provenance.get("generator")]
    assert generated, "the AUTOMATIC1111 files carry generator metadata"
    for record in generated:
        assert "AUTOMATIC1111" in str(record.provenance["generator"])
        assert record.embedded_prompt is not None and record.embedded_prompt.prompt
        exported = json.dumps(record.to_dict())
        assert "embedded_prompt" not in exported
        assert record.embedded_prompt.prompt not in exported
        sources = [g["source"] for g in record.textguard]
        assert sources == ["file name", "embedded prompt"]
    photo = records["photo.jpg"]
    assert photo.provenance is not None and photo.provenance["ai_generated"] == "unknown"
    assert photo.embedded_prompt is None
    assert [g["source"] for g in photo.textguard] == ["file name"]


def test_a_policy_file_changes_the_stored_priority(tmp_path: Path) -> None:
    from needle.assess import load_policy

    strict = tmp_path / "policy.toml"
    strict.write_text("[policy]\nexplicit_review = 0.99\nexplicit_possible = 0.98\n")
    record = _classified(0.93, (9.2, 3.6, 0.97))
    default = _row(record, [])["priority"]
    relaxed = _row(record, [], load_policy(strict))["priority"]
    assert default in ("critical", "high")
    assert relaxed != default  # 0.93 is below this policy's explicit thresholds
