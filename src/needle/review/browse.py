"""What the job and bank pages list: scan jobs with their progress, a bank's entries.

Read-only views over the store for the analyst's pages; the review queue is ``queue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from needle.jsonvalue import JSONObject
from needle.review.queue import aware, sessions
from needle.store import Store
from needle.store.schema import BankEntryRow, BankRow, FileRow, JobRow, MatchRow

__all__ = ["BankEntryView", "JobView", "bank_entries", "bank_matches", "job_view", "jobs"]


@dataclass(frozen=True)
class JobView:
    id: int
    roots: tuple[str, ...]
    status: str
    created_at: datetime
    finished_at: datetime | None
    files: int
    options: JSONObject


@dataclass(frozen=True)
class BankEntryView:
    signal_type: str
    value: str
    labels: tuple[str, ...]


def _view(row: JobRow, files: int) -> JobView:
    return JobView(
        row.id,
        tuple(str(r) for r in row.roots) if isinstance(row.roots, list) else (),
        row.status,
        aware(row.created_at),
        aware(row.finished_at) if row.finished_at else None,
        files,
        dict(row.options),
    )


def jobs(store: Store, offset: int = 0, limit: int = 50) -> list[JobView]:
    """Scan jobs, newest first, with how many files each has recorded."""
    counts = (
        sa.select(FileRow.job_id, sa.func.count().label("files"))
        .group_by(FileRow.job_id)
        .subquery()
    )
    query = (
        sa.select(JobRow, sa.func.coalesce(counts.c.files, 0))
        .outerjoin(counts, counts.c.job_id == JobRow.id)
        .order_by(JobRow.id.desc())
        .offset(max(0, offset))
        .limit(max(0, min(limit, 500)))
    )
    with sessions(store)() as session:
        return [_view(row, int(files)) for row, files in session.execute(query)]


def job_view(store: Store, job_id: int) -> JobView | None:
    with sessions(store)() as session:
        row = session.get(JobRow, job_id)
        if row is None:
            return None
        files = session.scalar(
            sa.select(sa.func.count()).select_from(FileRow).where(FileRow.job_id == job_id)
        )
        return _view(row, int(files or 0))


def bank_entries(store: Store, name: str, offset: int = 0, limit: int = 100) -> list[BankEntryView]:
    """A page of a bank's entries in the order they were added (hashes and labels only)."""
    query = (
        sa.select(BankEntryRow.signal_type, BankEntryRow.value, BankEntryRow.labels)
        .join(BankRow, BankRow.id == BankEntryRow.bank_id)
        .where(BankRow.name == name)
        .order_by(BankEntryRow.id)
        .offset(max(0, offset))
        .limit(max(0, min(limit, 1000)))
    )
    with sessions(store)() as session:
        return [
            BankEntryView(kind, value, tuple(str(x) for x in labels or ()))
            for kind, value, labels in session.execute(query)
        ]


def bank_matches(store: Store, name: str) -> int:
    """How many file records matched the bank, over every job."""
    with sessions(store)() as session:
        return int(
            session.scalar(
                sa.select(sa.func.count(sa.distinct(MatchRow.file_id))).where(MatchRow.bank == name)
            )
            or 0
        )
