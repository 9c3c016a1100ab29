"""``needle report html``: the offline triage report of a scan (HTML, CSV, JSONL)."""

from __future__ import annotations

from pathlib import Path

import typer

from needle.cli._common import DB_OPTION, console, open_store
from needle.report.triage import DEFAULT_THUMBNAILS, DEFAULT_TOP, write_triage_report

__all__ = ["command"]


def command(
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder to write the report into.", file_okay=False
    ),
    job: int | None = typer.Option(None, "--job", help="Only this scan job (default: every job)."),
    top: int = typer.Option(DEFAULT_TOP, "--top", min=0, help="Rows listed in the HTML."),
    with_thumbnails: bool = typer.Option(
        False,
        "--with-thumbnails",
        help=f"Embed blurred greyscale thumbnails of the first {DEFAULT_THUMBNAILS} rows.",
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Write a triage report: triage.html, triage.csv and triage.jsonl.

    The HTML file is self-contained and loads nothing (no scripts, fonts or remote images):
    counts by priority, reason, known (bank match) or new, AI provenance, unreadable files
    by reason, the banks matched and a timeline, as inline SVG charts, and the top rows in
    the review queue's order (--top). It holds no pictures unless --with-thumbnails, which
    embeds the review UI's blurred, greyscale thumbnails of the first rows. The CSV and
    JSONL hold every row.
    """
    with open_store(db) as store:
        report = write_triage_report(store, out, job=job, top=top, with_thumbnails=with_thumbnails)
    summary = report.summary
    console.print(
        f"wrote {report.html} ({report.html_rows} of {report.rows} rows), {report.csv} and "
        f"{report.jsonl} in {report.seconds:.1f} s"
    )
    console.print(
        f"  {summary.files} files: {summary.known} known, {summary.new} new, "
        f"{summary.error_total} unreadable"
    )
    if with_thumbnails:
        console.print(
            f"  {report.thumbnails} thumbnails"
            + (
                f", {report.thumbnails_missing} files not readable"
                if report.thumbnails_missing
                else ""
            )
        )
