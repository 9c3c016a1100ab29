"""Reading the triage report's rows from the store, a chunk at a time, and counting them.

In: the store and an optional scan job. Out: ``TriageRow`` s in id order (``iter_rows``, for
the CSV, the JSONL and the counts: memory stays bounded by the chunk, whatever the scan's
size), the top ``n`` rows in the review queue's order (``top_rows``), and a ``Tally`` that
turns the rows it saw into a ``TriageSummary``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from needle.report.triage.model import AI_STATES, TriageRow, TriageSummary
from needle.review.model import PRIORITY_ORDER
from needle.review.queue import current_decision
from needle.store import Store
from needle.store.schema import FileRow, MatchRow

__all__ = ["CHUNK", "UNASSESSED", "UNDECIDED", "Tally", "iter_rows", "top_rows"]

#: rows read per query
CHUNK = 2000
UNASSESSED = "unassessed"
UNDECIDED = "undecided"
#: timeline bins: by hour within two days, by day within about four months, else by month
_HOURLY_SPAN_S = 2 * 86400
_DAILY_SPAN_S = 120 * 86400


def _select(job: int | None) -> sa.Select[*tuple[Any, ...]]:
    query = sa.select(
        FileRow.id, FileRow.job_id, FileRow.path, FileRow.size, FileRow.md5, FileRow.sha1,
        FileRow.sha256, FileRow.pdq, FileRow.priority, FileRow.error_reason, FileRow.details,
        FileRow.created_at, current_decision().label("decision"),
    )  # fmt: skip
    return query if job is None else query.where(FileRow.job_id == job)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _ai(details: dict[str, Any]) -> str:
    provenance = details.get("provenance")
    state = provenance.get("ai_generated") if isinstance(provenance, dict) else None
    return state if state in AI_STATES else "unknown"


def _reasons(details: dict[str, Any]) -> list[dict[str, Any]]:
    value = details.get("reasons")
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _rows(connection: sa.Connection, found: Sequence[sa.Row[Any]]) -> list[TriageRow]:
    """``found`` file rows with the banks each matched (one query for the lot)."""
    banks: dict[int, set[str]] = defaultdict(set)
    ids = [r.id for r in found]
    if ids:
        for file_id, bank in connection.execute(
            sa.select(MatchRow.file_id, MatchRow.bank).where(MatchRow.file_id.in_(ids))
        ):
            banks[file_id].add(bank)
    rows = []
    for r in found:
        details = r.details if isinstance(r.details, dict) else {}
        reasons = _reasons(details)
        rows.append(
            TriageRow(
                r.id, r.job_id, r.path, r.size, r.md5, r.sha1, r.sha256, r.pdq, r.priority,
                tuple(sorted(banks.get(r.id, ()))), _ai(details),
                tuple(str(x.get("text", "")) for x in reasons),
                tuple(dict.fromkeys(str(x.get("kind", "")) for x in reasons if x.get("kind"))),
                r.error_reason, r.decision, _aware(r.created_at),
            )
        )  # fmt: skip
    return rows


def iter_rows(store: Store, job: int | None = None, chunk: int = CHUNK) -> Iterator[TriageRow]:
    """Every record in scope, in id order, read ``chunk`` at a time."""
    last = 0
    query = _select(job)
    while True:
        with store.engine.connect() as connection:
            found = list(
                connection.execute(query.where(FileRow.id > last).order_by(FileRow.id).limit(chunk))
            )
            rows = _rows(connection, found)
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def top_rows(store: Store, job: int | None, n: int) -> list[TriageRow]:
    """The first ``n`` records in the review queue's order: priority, then oldest, then id."""
    if n <= 0:
        return []
    rank = sa.case(
        {p: i for i, p in enumerate(PRIORITY_ORDER)}, value=FileRow.priority,
        else_=len(PRIORITY_ORDER),
    )  # fmt: skip
    query = _select(job).order_by(rank, FileRow.created_at, FileRow.id).limit(n)
    with store.engine.connect() as connection:
        return _rows(connection, list(connection.execute(query)))


def _bins(counted: Counter[datetime]) -> tuple[tuple[tuple[str, int], ...], str]:
    """(label, count) per hour, day or month, whichever gives the span a readable number."""
    if not counted:
        return (), "day"
    span = (max(counted) - min(counted)).total_seconds()
    if span <= _HOURLY_SPAN_S:
        unit, fmt = "hour", "%Y-%m-%d %H:00"
    elif span <= _DAILY_SPAN_S:
        unit, fmt = "day", "%Y-%m-%d"
    else:
        unit, fmt = "month", "%Y-%m"
    binned: Counter[str] = Counter()
    for moment, n in counted.items():
        binned[moment.strftime(fmt)] += n
    return tuple(sorted(binned.items())), unit


class Tally:
    """Counts rows as they stream past; ``summary()`` once they have all been seen."""

    def __init__(self) -> None:
        self.files = 0
        self.priority: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.known = 0
        self.ai: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.banks: Counter[str] = Counter()
        self.decisions: Counter[str] = Counter()
        # per minute: the timeline's finest bin is an hour, so this bounds memory by the span
        self.minutes: Counter[datetime] = Counter()

    def add(self, row: TriageRow) -> None:
        self.files += 1
        self.priority[row.priority or UNASSESSED] += 1
        self.reasons.update(row.reason_kinds)
        self.known += row.known
        self.ai[row.ai] += 1
        if row.error_reason:
            self.errors[row.error_reason] += 1
        self.banks.update(row.banks)
        self.decisions[row.decision or UNDECIDED] += 1
        self.minutes[row.recorded_at.replace(second=0, microsecond=0)] += 1

    def summary(self) -> TriageSummary:
        order = [*PRIORITY_ORDER, UNASSESSED]
        by_priority = {
            p: self.priority[p] for p in order if self.priority[p] or p in PRIORITY_ORDER
        }
        timeline, unit = _bins(self.minutes)
        return TriageSummary(
            self.files, by_priority, dict(self.reasons.most_common()), self.known,
            self.files - self.known, {s: self.ai[s] for s in AI_STATES},
            dict(self.errors.most_common()), dict(self.banks.most_common()),
            dict(self.decisions.most_common()), timeline, unit,
            min(self.minutes, default=None), max(self.minutes, default=None),
        )  # fmt: skip
