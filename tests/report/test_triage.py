"""The triage report: counts that match the store, CSV and JSONL of every row, an HTML file
that loads nothing and holds no pictures unless asked, and then only blurred ones."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, synth_image
from needle.errors import ReportError
from needle.report.triage import CSV_COLUMNS, write_triage_report
from needle.report.triage.writer import _cell
from needle.store import Store
from report.reviewed import SIZE, checkerboard
from report.triage_data import FILES, triage_job


@pytest.fixture
def job(store: Store, tmp_path: Path) -> tuple[int, dict[str, int]]:
    return triage_job(store, tmp_path / "evidence")


def _count(html: str, element_id: str) -> int:
    found = re.search(rf'id="{re.escape(element_id)}">(\d+)<', html)
    assert found, element_id
    return int(found.group(1))


def test_counts_match_the_store(
    store: Store, job: tuple[int, dict[str, int]], tmp_path: Path
) -> None:
    job_id, _ = job
    report = write_triage_report(store, tmp_path / "out", job=job_id)
    expected = store.summary(job_id)
    summary = report.summary
    assert summary.files == expected.files == len(FILES)
    assert summary.known == expected.matched_files == 3 and summary.new == len(FILES) - 3
    assert (
        dict(summary.errors) == dict(expected.errors_by_reason) == {"corrupt": 1, "unsupported": 1}
    )
    assert dict(summary.banks) == dict(expected.matches_by_bank) == {"bank-one": 2, "bank-two": 1}
    assert {k: v for k, v in summary.by_priority.items() if v} == dict(expected.priorities)
    assert dict(summary.by_ai) == {"claimed": 1, "likely": 1, "unknown": len(FILES) - 2}
    assert summary.by_reason["match"] == 3 and summary.by_reason["provenance"] == 2
    assert summary.decisions == {"undecided": len(FILES) - 2, "abuse-real": 1, "abuse-ai": 1}
    assert sum(n for _, n in summary.timeline) == len(FILES)

    html = Path(report.html).read_text()
    assert _count(html, "count-files") == len(FILES)
    assert _count(html, "count-known") == 3
    assert _count(html, "count-new") == len(FILES) - 3
    assert _count(html, "count-ai-claimed") == 1
    assert _count(html, "count-errors") == 2
    assert _count(html, "count-priority-critical") == 3
    assert _count(html, "count-bank-bank-one") == 2
    assert _count(html, "count-error-corrupt") == 1
    assert _count(html, "count-decision-abuse-ai") == 1


def test_csv_and_jsonl_hold_every_row_and_html_the_top(
    store: Store, job: tuple[int, dict[str, int]], tmp_path: Path
) -> None:
    job_id, ids = job
    report = write_triage_report(store, tmp_path / "out", job=job_id, top=4)
    with open(report.csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(FILES) == report.rows
    lines = Path(report.jsonl).read_text().splitlines()
    assert len(lines) == len(FILES)
    records = [json.loads(line) for line in lines]
    assert {r["id"] for r in records} == set(ids.values())
    by_id = {r["id"]: r for r in records}
    assert by_id[ids["known-c"]]["banks"] == ["bank-two"] and by_id[ids["known-c"]]["known"]
    assert by_id[ids["ai-likely"]]["ai"] == "likely"
    assert by_id[ids["known-a"]]["decision"] == "abuse-real"

    html = Path(report.html).read_text()
    table = html[html.index('id="top-rows"') :]
    assert table.count("<tr>") == 1 + 4 == 1 + report.html_rows
    assert "Top 4 of 11 files" in html
    # the queue's order: the three critical files first
    assert re.findall(r'class="p-(\w+)"', table)[:4] == ["critical", "critical", "critical", "high"]


def test_the_html_loads_nothing_and_escapes_what_it_shows(
    store: Store, job: tuple[int, dict[str, int]], tmp_path: Path
) -> None:
    report = write_triage_report(store, tmp_path / "out")
    html = Path(report.html).read_text()
    assert "<img" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "http://" not in html and "https://" not in html
    assert "url(" not in html
    assert "odd &lt;b&gt;name &amp;amp;.jpg" in html and "<b>name" not in html
    assert "default-src 'none'" in html


def _high_frequency(image: Image.Image) -> float:
    """Mean difference between neighbouring grey pixels: the sharp edges a blur takes away."""
    pixels = np.asarray(image.convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(pixels, axis=0)).mean() + np.abs(np.diff(pixels, axis=1)).mean())


def test_thumbnails_are_blurred_greyscale_and_only_for_the_top_rows(
    store: Store, job: tuple[int, dict[str, int]], tmp_path: Path
) -> None:
    job_id, _ = job
    report = write_triage_report(
        store, tmp_path / "out", job=job_id, with_thumbnails=True, thumbnails=3
    )
    assert report.thumbnails == 3 and report.thumbnails_missing == 0
    html = Path(report.html).read_text()
    uris = re.findall(r'<img class="thumb" alt="[^"]*" src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(uris) == 3 == html.count("<img")
    thumbs = [Image.open(io.BytesIO(base64.b64decode(uri))) for uri in uris]
    assert all(t.mode == "L" for t in thumbs)
    # the first row is the checkerboard (critical, stored first): all edges before, none after
    original = checkerboard()
    assert thumbs[0].size == original.size
    assert _high_frequency(original) > 100
    assert _high_frequency(thumbs[0]) < 0.02 * _high_frequency(original)
    for seed, thumb in zip((101, 102), thumbs[1:], strict=True):
        assert _high_frequency(thumb) < 0.5 * _high_frequency(synth_image(seed, SIZE))


def test_a_missing_file_gets_no_thumbnail_and_is_counted(
    store: Store, job: tuple[int, dict[str, int]], tmp_path: Path
) -> None:
    (tmp_path / "evidence" / "known-a.jpg").unlink()
    report = write_triage_report(store, tmp_path / "out", with_thumbnails=True, thumbnails=2)
    assert report.thumbnails == 1 and report.thumbnails_missing == 1
    assert "1 could not be made" in Path(report.html).read_text()


def test_an_empty_store_and_a_missing_job(store: Store, tmp_path: Path) -> None:
    report = write_triage_report(store, tmp_path / "out")
    assert report.rows == 0 and report.summary.timeline == ()
    assert "nothing to show" in Path(report.html).read_text()
    with pytest.raises(ReportError, match="no scan job 3"):
        write_triage_report(store, tmp_path / "out", job=3)


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("@x") == "'@x" and _cell("/a/b") == "/a/b" and _cell(None) == ""


def test_cli_writes_the_three_files(
    capsys: pytest.CaptureFixture[str],
    store: Store,
    job: tuple[int, dict[str, int]],
    tmp_path: Path,
) -> None:
    out = tmp_path / "report"
    db = store.engine.url.render_as_string(hide_password=False)
    code, stdout, err = run_cli(
        capsys, "report", "html", "--db", db, "--out", str(out), "--top", "5"
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["triage.csv", "triage.html", "triage.jsonl"]
    flat = " ".join(stdout.split())
    assert "(5 of 11 rows)" in flat and "11 files: 3 known, 8 new, 2 unreadable" in flat
