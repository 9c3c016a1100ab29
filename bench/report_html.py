"""Triage report: ``write_triage_report`` over a synthetic scan of ``--records`` file records.

Builds a SQLite store quickly by bulk-inserting rows (no images: the rows are what the report
reads): priorities, reasons, provenance verdicts, unreadable files and bank matches in fixed
proportions, record times spread over a week, a few hundred decisions. Then times the report
(HTML, CSV and JSONL in one pass, the top ``--top`` rows in the HTML) and prints a table:
seconds, peak RSS, the sizes of the three files. Targets (issue 11): 100k records in under
30 s, the HTML under 20 MB.

    .venv/bin/python bench/report_html.py                          # 100k records
    .venv/bin/python bench/report_html.py --records 10000 --no-write   # a smoke run

The table also goes to the "## Triage report" section of docs/performance.md (unless
``--no-write``).
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import uptime, write_section
from needle.report.triage import write_triage_report
from needle.store import Store
from needle.store.schema import DecisionRow, FileRow, JobRow, MatchRow

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Triage report"
PRIORITIES = ("critical", "high", "medium", "low", "none", "none", "none", "none", "none", "none")
REASONS = {
    "critical": ("known material: md5 matches bank {bank}", "match"),
    "high": ("explicit 0.91 (bench-detector)", "visual"),
    "medium": ("text blocked by the text guard (file name)", "guard"),
    "low": ("possibly explicit 0.35 (bench-detector)", "visual"),
}
ERRORS = ("corrupt", "unsupported", "too-large", "encrypted")
BANKS = ("bank-a", "bank-b", "bank-c")


def _row(i: int, job_id: int, start: datetime) -> tuple[dict[str, object], str | None]:
    digest = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
    priority = PRIORITIES[i % len(PRIORITIES)]
    bank = BANKS[i % len(BANKS)] if priority == "critical" else None
    reasons = []
    if priority in REASONS:
        text, kind = REASONS[priority]
        reasons.append({"text": text.format(bank=bank), "kind": kind, "priority": priority,
                        "evidence": {}})  # fmt: skip
    details: dict[str, object] = {"reasons": reasons}
    if i % 17 == 0:
        details["provenance"] = {"ai_generated": "claimed" if i % 34 == 0 else "likely"}
    error = ERRORS[i % len(ERRORS)] if i % 23 == 0 else None
    path = f"/evidence/{i // 1000:04d}/file-{i:07d}.jpg"
    return {
        "job_id": job_id, "path": path, "path_key": hashlib.sha1(path.encode()).hexdigest(),
        "size": 1000 + i % 50000, "md5": digest[:32], "sha1": digest[:40], "sha256": digest,
        "pdq": None if error else digest, "pdq_quality": None if error else 90,
        "format": None if error else "JPEG", "width": 640, "height": 480,
        "error": "cannot decode" if error else None, "error_reason": error,
        "details": details, "priority": priority,
        "created_at": start + timedelta(seconds=i * 604800 // 100000),
    }, bank  # fmt: skip


def build(url: str, records: int) -> int:
    """A store with one finished job of ``records`` synthetic rows; returns the job id."""
    start = datetime(2026, 1, 5, tzinfo=UTC)
    with Store(url) as store, store.engine.begin() as connection:
        job_id = connection.execute(
            sa.insert(JobRow).values(roots=["/evidence"], fingerprint="bench", options={},
                                     status="complete")
            .returning(JobRow.id)
        ).scalar_one()  # fmt: skip
        for first in range(0, records, 5000):
            rows, banks = zip(
                *(_row(i, job_id, start) for i in range(first, min(first + 5000, records))),
                strict=True,
            )
            ids = connection.execute(
                sa.insert(FileRow).returning(FileRow.id, sort_by_parameter_order=True), list(rows)
            ).scalars().all()  # fmt: skip
            matches = [
                {"file_id": i, "bank": b, "signal_type": "md5", "value": r["md5"], "distance": 0,
                 "threshold": 0, "labels": []}
                for i, b, r in zip(ids, banks, rows, strict=True) if b
            ]  # fmt: skip
            if matches:
                connection.execute(sa.insert(MatchRow), matches)
            decisions = [
                {"file_id": i, "decision": "abuse-real" if n % 2 else "not-abuse", "note": "",
                 "user": "bench"}
                for n, i in enumerate(ids) if n % 250 == 0
            ]  # fmt: skip
            connection.execute(sa.insert(DecisionRow), decisions)
        return int(job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    load_before = uptime()
    with tempfile.TemporaryDirectory(prefix="needle-bench-report-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        began = time.perf_counter()
        job_id = build(url, args.records)
        build_s = time.perf_counter() - began
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with Store(url) as store:
            began = time.perf_counter()
            report = write_triage_report(store, Path(tmp) / "out", job=job_id, top=args.top)
            seconds = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sizes = [Path(p).stat().st_size / 1e6 for p in (report.html, report.csv, report.jsonl)]
    load_after = uptime()
    if report.rows != args.records:
        raise SystemExit(f"the report counted {report.rows} rows of {args.records}")
    ok = "yes" if seconds < 30 and sizes[0] < 20 else "no"
    table = (
        "| records | HTML rows | seconds | peak RSS MB | RSS before MB | HTML MB | CSV MB | JSONL MB "
        "| within target |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
        f"| {args.records:,} | {report.html_rows:,} | {seconds:.1f} | {peak:,.0f} | "
        f"{rss_before:,.0f} | {sizes[0]:.2f} | {sizes[1]:.1f} | {sizes[2]:.1f} | {ok} |\n"
    )
    print(table)
    print(f"(store built in {build_s:.1f} s)")
    if args.no_write:
        return
    text = (
        f"{SECTION}\n\n"
        "`write_triage_report` over a synthetic scan (`bench/report_html.py`), SQLite: rows "
        "bulk-inserted with priorities, reasons, provenance verdicts, unreadable files, bank "
        "matches and decisions in fixed proportions. One pass writes the CSV and JSONL and counts "
        "every row (read 2,000 at a time); the HTML lists the top rows only. Target: 100k records "
        "in under 30 s, the HTML under 20 MB. Peak RSS is the process's, the synthetic store's "
        "build included (RSS before).\n\n"
        f"Command: `python bench/report_html.py --records {args.records}` — "
        f"{datetime.now(UTC):%Y-%m-%d}.\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}. Load (`uptime`) "
        f"before: `{load_before}`; after: `{load_after}`.\n\n{table}"
    )
    write_section(DOC, SECTION, text)


if __name__ == "__main__":
    main()
