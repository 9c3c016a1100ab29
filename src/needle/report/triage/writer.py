"""``write_triage_report``: one self-contained HTML file, and CSV and JSONL of the same rows.

In: the store, an optional scan job, an output folder. Out: ``triage.html``, ``triage.csv``
and ``triage.jsonl`` in that folder, each written to a temporary name and renamed, and a
``TriageReport``.

The flow, bounded in memory whatever the scan's size:

1. **Stream** every record in scope a chunk at a time (``collect.iter_rows``): each row is
   written to the CSV and the JSONL and counted (``collect.Tally``).
2. **Top rows**: the first ``top`` records in the review queue's order, read with one query.
3. **Thumbnails** (only when asked): for the first ``thumbnails`` of those, the review UI's
   blurred, greyscale thumbnail (``needle.review.media.thumbnail`` at the organisation's blur)
   embedded as a ``data:`` URI. A file whose bytes cannot be read gets none, and is counted.
4. **Render** the HTML with Jinja2 (autoescaped): counts, inline SVG charts, the top rows.

The HTML loads nothing: no scripts, no external fonts, styles or images, and a
Content-Security-Policy that forbids them (``img-src data:`` for the thumbnails alone).
Embedded prompts are never in any of the three files: rows are built from named fields.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from needle.errors import MediaError, ReportError
from needle.report.triage.charts import columns, horizontal_bars
from needle.report.triage.collect import Tally, iter_rows, top_rows
from needle.report.triage.model import CSV_COLUMNS, TriageReport, TriageRow, TriageSummary
from needle.review.model import REASON_KINDS
from needle.store import Store
from needle.store.quarantine import Quarantine
from needle.store.schema import JobRow

__all__ = ["DEFAULT_THUMBNAILS", "DEFAULT_TOP", "write_triage_report"]

#: rows the HTML lists (the CSV and JSONL hold every row)
DEFAULT_TOP = 1000
#: rows of the top that get a thumbnail with ``with_thumbnails``
DEFAULT_THUMBNAILS = 50
HTML_NAME, CSV_NAME, JSONL_NAME = "triage.html", "triage.csv", "triage.jsonl"
#: cells a spreadsheet would run as a formula start with one of these (CSV injection)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@contextmanager
def _atomic(target: Path, newline: str | None = None) -> Iterator[IO[str]]:
    """A text file that appears at ``target`` only once it is complete."""
    temp = target.with_name(f".{target.name}.tmp")
    try:
        with open(temp, "w", encoding="utf-8", newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _csv_row(row: TriageRow) -> list[str]:
    data = row.to_dict()
    data["banks"] = " | ".join(row.banks)
    data["reasons"] = " | ".join(row.reasons)
    data["known"] = "yes" if row.known else "no"
    return [_cell(data[c]) for c in CSV_COLUMNS]


def _thumbnail_maker(store: Store, quarantine: Quarantine | None) -> Callable[[int], str | None]:
    """file id -> a blurred thumbnail as a ``data:`` URI, or None when its bytes are not there."""
    from needle.review import media_bytes, org_blur, review_item, thumbnail

    blur = org_blur(store)

    def make(file_id: int) -> str | None:
        try:
            data = thumbnail(media_bytes(store, review_item(store, file_id), quarantine), blur)
        except MediaError:
            return None
        return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")

    return make


def _charts(summary: TriageSummary) -> dict[str, object]:
    return {
        "priority": horizontal_bars("Files by priority", summary.by_priority.items()),
        "reasons": horizontal_bars(
            "Files by reason", ((REASON_KINDS.get(k, k), n) for k, n in summary.by_reason.items())
        ),
        "known": horizontal_bars(
            "Known (bank match) and new", (("known", summary.known), ("new", summary.new))
        ),
        "ai": horizontal_bars("AI provenance", summary.by_ai.items()),
        "errors": horizontal_bars("Unreadable files by reason", summary.errors.items()),
        "banks": horizontal_bars("Top banks matched", list(summary.banks.items())[:10]),
        "timeline": columns(f"Files recorded per {summary.timeline_unit}", summary.timeline),
    }


def _check_job(store: Store, job: int | None) -> None:
    if job is None:
        return
    with store.engine.connect() as connection:
        if connection.scalar(sa.select(JobRow.id).where(JobRow.id == job)) is None:
            raise ReportError(f"no scan job {job}")


def _render(context: dict[str, object]) -> str:
    from needle._optional import import_optional

    jinja2 = import_optional("jinja2", "report")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("needle.report.triage", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return str(env.get_template("triage.html").render(**context))


def write_triage_report(
    store: Store,
    out_dir: str | Path,
    *,
    job: int | None = None,
    top: int = DEFAULT_TOP,
    with_thumbnails: bool = False,
    thumbnails: int = DEFAULT_THUMBNAILS,
    quarantine: Quarantine | None = None,
    title: str | None = None,
) -> TriageReport:
    """Write ``triage.html``, ``triage.csv`` and ``triage.jsonl`` into ``out_dir`` (made when
    missing) for the records of ``job`` (every job when None); see the module docstring."""
    started = time.perf_counter()
    if top < 0 or thumbnails < 0:
        raise ReportError("--top and the number of thumbnails cannot be negative")
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(
            f"cannot make the report folder {folder}: {exc.strerror or exc}"
        ) from None
    _check_job(store, job)
    tally = Tally()
    try:
        with ExitStack() as files:
            csv_file = files.enter_context(_atomic(folder / CSV_NAME, newline=""))
            jsonl_file = files.enter_context(_atomic(folder / JSONL_NAME))
            writer = csv.writer(csv_file)
            writer.writerow(CSV_COLUMNS)
            for row in iter_rows(store, job):
                tally.add(row)
                writer.writerow(_csv_row(row))
                jsonl_file.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
        summary = tally.summary()
        rows = top_rows(store, job, top)
        thumbs: dict[int, str] = {}
        missing = 0
        if with_thumbnails:
            make = _thumbnail_maker(store, quarantine)
            for row in rows[:thumbnails]:
                uri = make(row.id)
                if uri is None:
                    missing += 1
                else:
                    thumbs[row.id] = uri
        html = _render({
            "title": title or (f"needle triage report: scan job {job}" if job else "needle triage report"),
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "job": job, "summary": summary, "charts": _charts(summary), "rows": rows,
            "top": top, "thumbs": thumbs, "with_thumbnails": with_thumbnails,
            "thumbnails_missing": missing, "reason_names": REASON_KINDS,
        })  # fmt: skip
        with _atomic(folder / HTML_NAME) as handle:
            handle.write(html)
    except OSError as exc:
        raise ReportError(f"cannot write the report into {folder}: {exc.strerror or exc}") from None
    return TriageReport(
        str(folder / HTML_NAME), str(folder / CSV_NAME), str(folder / JSONL_NAME), summary,
        summary.files, len(rows), len(thumbs), missing, time.perf_counter() - started,
    )  # fmt: skip
