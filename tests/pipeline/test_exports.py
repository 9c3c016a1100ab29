"""Embedded prompts are private: no export path writes them (the privacy rule of
``needle.store.record``). Exports serialise records only through ``export_record``."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import run_cli
from needle.pipeline.scan import run_scan
from needle.pipeline.worker import ScanOptions
from needle.report import write_jsonl
from needle.store import Store, export_record


def test_export_record_has_no_way_to_include_the_prompt() -> None:
    assert list(inspect.signature(export_record).parameters) == ["record"]


def test_embedded_prompts_appear_in_no_export(
    testdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    for png in sorted((testdata / "provenance" / "generators").rglob("*.png")):
        shutil.copy(png, folder / f"{png.parent.name}-{png.name}")
    db = f"sqlite:///{tmp_path / 'n.db'}"
    options = ScanOptions(provenance=True, textguard=True)
    with Store(db) as store:
        job = run_scan([str(folder)], store=store, workers=0, options=options).job
        records = list(store.iter_records(job.id))
        prompts = {r.embedded_prompt.prompt for r in records if r.embedded_prompt}
        negatives = {
            r.embedded_prompt.negative_prompt
            for r in records
            if r.embedded_prompt and r.embedded_prompt.negative_prompt
        }
        assert len(prompts) >= 3, "the generator test files carry prompts"
        write_jsonl(store, job.id, tmp_path / "out.jsonl")
        write_jsonl(store, job.id, "-")
        exports = {
            "to_dict": json.dumps([r.to_dict() for r in records], ensure_ascii=False),
            "jsonl file": (tmp_path / "out.jsonl").read_text(encoding="utf-8"),
            "jsonl stdout": capsys.readouterr().out,
        }
        reports = _reports(store, job.id, tmp_path / "reports")
    code, out, _ = run_cli(
        capsys, "scan", str(folder), "--db", db, "--no-classify", "--jsonl", "-", "-q", "--new"
    )
    assert code == 0
    exports["scan --jsonl -"] = out
    for where, text in exports.items():
        assert text.count('"path"') >= len(records), where
        for secret in prompts | negatives:
            # a prompt's words may legitimately appear in a file name; the whole text must not
            if len(secret) > 30:
                assert secret not in text, (where, secret[:40])
        assert '"embedded_prompt"' not in text, where  # as a key (the test's folder has the words)
    for where, text in reports.items():
        for secret in prompts | negatives:
            if len(secret) > 30:
                assert secret not in text, (where, secret[:40])
        assert '"embedded_prompt"' not in text, where


def _reports(store: Store, job_id: int, folder: Path) -> dict[str, str]:
    """The triage report's three files and a VICS export of the job (every file decided)."""
    from needle.report.triage import write_triage_report
    from needle.report.vics import build_vics
    from needle.review import decide
    from needle.store.schema import FileRow

    with store.engine.connect() as connection:
        ids = connection.scalars(sa.select(FileRow.id).where(FileRow.job_id == job_id)).all()
    for file_id in ids:
        decide(store, file_id, "abuse-ai", "", "tester")
    report = write_triage_report(store, folder, job=job_id)
    texts = {
        name: Path(path).read_text(encoding="utf-8")
        for name, path in (("triage html", report.html), ("triage csv", report.csv),
                           ("triage jsonl", report.jsonl))
    }  # fmt: skip
    texts["vics"] = json.dumps(build_vics(store, job=job_id).document, ensure_ascii=False)
    return texts
