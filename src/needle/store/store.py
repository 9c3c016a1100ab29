"""The store: banks, scan jobs and per-file records, on SQLite or PostgreSQL alike.

Only the scan's parent process writes. Records of a batch are written in one transaction
together with their matches, so a killed scan leaves whole records or none, and the unique
(job, path) key makes a record impossible to store twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload, sessionmaker

from needle.banks.model import Bank, BankEntry
from needle.errors import BankError, JobRunning, StoreError
from needle.jsonvalue import JSONObject
from needle.signals.pdq import PDQ_MATCH_DISTANCE
from needle.store.engine import DEFAULT_DB, create_engine, migrate
from needle.store.owner import is_alive, now_utc, this_process
from needle.store.record import ScanRecord, StoredRecord, path_key, record_row, stored_record
from needle.store.schema import BankEntryRow, BankRow, FileRow, JobRow, MatchRow

__all__ = ["BankSummary", "Job", "JobSummary", "Store", "path_key"]


@dataclass(frozen=True)
class BankSummary:
    name: str
    pdq_threshold: int
    description: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Job:
    id: int
    roots: list[str]
    fingerprint: str
    status: str
    options: JSONObject


@dataclass(frozen=True)
class JobSummary:
    job_id: int
    status: str
    files: int
    errors: int
    matched_files: int
    errors_by_reason: dict[str, int]
    matches_by_bank: dict[str, int]
    matches_by_signal: dict[str, int]
    priorities: dict[str, int]


def _insert(dialect: str, table: type[FileRow]) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that can skip rows whose unique key exists (both backends speak it)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def _same(
    column: sa.orm.InstrumentedAttribute[str | None], value: str | None
) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _pairs(session: Session, statement: sa.Executable) -> dict[str, int]:
    return {str(key): int(value) for key, value in session.execute(statement)}


def _fingerprint(roots: Sequence[str], options: JSONObject) -> str:
    text = json.dumps({"roots": list(roots), "options": options}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Store:
    """Open with ``Store(url)``; the schema is migrated to the newest revision on open."""

    def __init__(self, url: str = DEFAULT_DB) -> None:
        self.url = url
        self.engine = create_engine(url)
        migrate(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- banks -----------------------------------------------------------------------------

    def create_bank(
        self, name: str, *, pdq_threshold: int = PDQ_MATCH_DISTANCE, description: str = ""
    ) -> None:
        if not name or len(name) > 200:
            raise BankError("a bank name must be 1 to 200 characters")
        if not 0 <= pdq_threshold <= 256:
            raise BankError(f"PDQ threshold must be between 0 and 256, not {pdq_threshold}")
        with self._session.begin() as session:
            if session.scalar(sa.select(BankRow.id).where(BankRow.name == name)) is not None:
                raise BankError(f"bank {name!r} exists already")
            session.add(BankRow(name=name, pdq_threshold=pdq_threshold, description=description))

    def _bank_row(self, session: Session, name: str) -> BankRow:
        row = session.scalar(sa.select(BankRow).where(BankRow.name == name))
        if row is None:
            known = ", ".join(session.scalars(sa.select(BankRow.name).order_by(BankRow.name)))
            raise BankError(
                f"no bank named {name!r} (banks: {known or 'none yet'}); "
                "create one with: needle bank import NAME FILE"
            )
        return row

    def has_bank(self, name: str) -> bool:
        with self._session() as session:
            return session.scalar(sa.select(BankRow.id).where(BankRow.name == name)) is not None

    def set_bank_threshold(self, name: str, pdq_threshold: int) -> None:
        with self._session.begin() as session:
            self._bank_row(session, name).pdq_threshold = pdq_threshold

    def add_entries(self, name: str, entries: Iterable[BankEntry]) -> int:
        """Add entries to a bank; those already in it are skipped. Returns how many were new."""
        with self._session.begin() as session:
            bank = self._bank_row(session, name)
            existing: set[tuple[str, str]] = set(
                session.execute(
                    sa.select(BankEntryRow.signal_type, BankEntryRow.value).where(
                        BankEntryRow.bank_id == bank.id
                    )
                )
            )
            rows = []
            for entry in entries:
                key = (entry.signal_type, entry.value)
                if key in existing:
                    continue
                existing.add(key)
                rows.append(
                    {
                        "bank_id": bank.id,
                        "signal_type": entry.signal_type,
                        "value": entry.value,
                        "labels": list(entry.labels),
                        "meta": dict(entry.meta),
                    }
                )
            for start in range(0, len(rows), 5000):
                session.execute(sa.insert(BankEntryRow), rows[start : start + 5000])
            return len(rows)

    def load_bank(self, name: str) -> Bank:
        with self._session() as session:
            row = self._bank_row(session, name)
            entries = [
                BankEntry(e.signal_type, e.value, tuple(e.labels), dict(e.meta))
                for e in session.scalars(
                    sa.select(BankEntryRow)
                    .where(BankEntryRow.bank_id == row.id)
                    .order_by(BankEntryRow.id)
                )
            ]
            return Bank(row.name, entries, row.pdq_threshold, row.description)

    def bank_names(self) -> list[str]:
        with self._session() as session:
            return list(session.scalars(sa.select(BankRow.name).order_by(BankRow.name)))

    def list_banks(self) -> list[BankSummary]:
        with self._session() as session:
            counts: dict[int, dict[str, int]] = {}
            for bank_id, signal_type, n in session.execute(
                sa.select(BankEntryRow.bank_id, BankEntryRow.signal_type, sa.func.count()).group_by(
                    BankEntryRow.bank_id, BankEntryRow.signal_type
                )
            ):
                counts.setdefault(bank_id, {})[signal_type] = n
            return [
                BankSummary(b.name, b.pdq_threshold, b.description, counts.get(b.id, {}))
                for b in session.scalars(sa.select(BankRow).order_by(BankRow.name))
            ]

    def delete_bank(self, name: str) -> None:
        with self._session.begin() as session:
            row = self._bank_row(session, name)
            session.execute(sa.delete(BankEntryRow).where(BankEntryRow.bank_id == row.id))
            session.delete(row)

    # -- jobs ------------------------------------------------------------------------------

    def open_job(
        self, roots: Sequence[str], options: JSONObject, *, new: bool = False
    ) -> tuple[Job, bool]:
        """The unfinished job over the same roots and options, or a new one; this process
        becomes its owner. Returns the job and whether it is resumed.

        Raises ``JobRunning`` when another live process runs that job: two scans writing one
        job would each skip or repeat the other's files.
        """
        fingerprint = _fingerprint(roots, options)
        me, now = this_process(), now_utc()
        with self._session.begin() as session:
            if not new:
                row = session.scalar(
                    sa.select(JobRow)
                    .where(JobRow.fingerprint == fingerprint, JobRow.status == "running")
                    .order_by(JobRow.id.desc())
                    .limit(1)
                )
                if row is not None:
                    self._claim(session, row, me, now)
                    return self._job(row), True
            row = JobRow(
                roots=list(roots), fingerprint=fingerprint, options=options, owner=me,
                heartbeat_at=now,
            )  # fmt: skip
            session.add(row)
            session.flush()
            return self._job(row), False

    @staticmethod
    def _claim(session: Session, row: JobRow, me: str, now: datetime) -> None:
        """Take over ``row`` unless a live process other than this one owns it."""
        if row.owner != me and is_alive(row.owner, row.heartbeat_at, now):
            pid = (row.owner or "").split(" ")[1:2]
            raise JobRunning(
                f"scan job {row.id} over these paths is running in another process "
                f"(pid {pid[0] if pid else '?'} on {(row.owner or '?').split(' ')[0]}): wait "
                "for it to finish, or stop it and run this command again to continue it "
                "(--new starts a separate scan)"
            )
        claimed = session.execute(
            sa.update(JobRow)
            .where(JobRow.id == row.id, _same(JobRow.owner, row.owner))
            .values(owner=me, heartbeat_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise JobRunning(f"scan job {row.id} was taken over by another process just now")
        session.refresh(row)

    def heartbeat(self, job_id: int) -> None:
        """Say that this process still runs ``job_id`` (a running scan calls it every
        ``HEARTBEAT_SECONDS``)."""
        with self._session.begin() as session:
            session.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id, JobRow.owner == this_process())
                .values(heartbeat_at=now_utc())
            )

    @staticmethod
    def _job(row: JobRow) -> Job:
        return Job(row.id, list(row.roots), row.fingerprint, row.status, dict(row.options))

    def finish_job(self, job_id: int, status: str = "complete") -> None:
        with self._session.begin() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise StoreError(f"no scan job {job_id}")
            row.status = status
            row.finished_at = datetime.now(UTC)
            row.owner = None

    def latest_job(self) -> Job | None:
        with self._session() as session:
            row = session.scalar(sa.select(JobRow).order_by(JobRow.id.desc()).limit(1))
            return self._job(row) if row else None

    def done_keys(self, job_id: int) -> set[str]:
        """Path keys already recorded for a job (what a resumed scan skips)."""
        with self._session() as session:
            return set(session.scalars(sa.select(FileRow.path_key).where(FileRow.job_id == job_id)))

    def add_records(self, job_id: int, records: Sequence[ScanRecord]) -> int:
        """Store file records and their matches in one transaction; returns how many were new.

        A record whose key the job holds already (another scan of the same job wrote it, or
        a path came twice) is left as stored, never written twice and never the cause of a
        failed batch.
        """
        if not records:
            return 0
        rows = [{"job_id": job_id, **record_row(record)} for record in records]
        insert = _insert(self.engine.dialect.name, FileRow).on_conflict_do_nothing(
            index_elements=[FileRow.job_id, FileRow.path_key]
        )
        with self._session.begin() as session:
            ids = {
                key: file_id
                for file_id, key in session.execute(
                    insert.returning(FileRow.id, FileRow.path_key), rows
                )
            }
            matches = [
                {"file_id": ids[key], **m.to_dict()}
                for record, row in zip(records, rows, strict=True)
                if (key := str(row["path_key"])) in ids
                for m in record.matches
            ]
            if matches:
                session.execute(sa.insert(MatchRow), matches)
        return len(ids)

    def iter_records(
        self,
        job_id: int,
        *,
        only: str | None = None,
        priority: str | None = None,
        batch: int = 1000,
    ) -> Iterator[StoredRecord]:
        """Every record of a job in path order, with its matches.

        ``only="matched"`` keeps records with a match, ``only="errors"`` unreadable ones
        (``only="readable-errors"``: leaving out files that are not images at all);
        ``priority`` keeps one priority.
        """
        last = ""
        while True:
            query = sa.select(FileRow).where(FileRow.job_id == job_id, FileRow.path > last)
            if only == "matched":
                query = query.where(FileRow.matches.any())
            elif only == "errors":
                query = query.where(FileRow.error.is_not(None))
            elif only == "readable-errors":
                query = query.where(
                    FileRow.error.is_not(None), FileRow.error_reason != "unsupported"
                )
            if priority is not None:
                query = query.where(FileRow.priority == priority)
            with self._session() as session:
                rows = list(
                    session.scalars(
                        query.order_by(FileRow.path)
                        .limit(batch)
                        .options(selectinload(FileRow.matches))
                    )
                )
            if not rows:
                return
            for row in rows:
                yield stored_record(row)
            last = rows[-1].path

    def summary(self, job_id: int) -> JobSummary:
        with self._session() as session:
            job = session.get(JobRow, job_id)
            if job is None:
                raise StoreError(f"no scan job {job_id}")
            files = session.scalar(
                sa.select(sa.func.count()).select_from(FileRow).where(FileRow.job_id == job_id)
            )
            reasons = _pairs(
                session,
                sa.select(FileRow.error_reason, sa.func.count())
                .where(FileRow.job_id == job_id, FileRow.error_reason.is_not(None))
                .group_by(FileRow.error_reason),
            )
            matched = session.scalar(
                sa.select(sa.func.count(sa.distinct(MatchRow.file_id)))
                .join(FileRow, FileRow.id == MatchRow.file_id)
                .where(FileRow.job_id == job_id)
            )
            by_bank = _pairs(
                session,
                sa.select(MatchRow.bank, sa.func.count(sa.distinct(MatchRow.file_id)))
                .join(FileRow, FileRow.id == MatchRow.file_id)
                .where(FileRow.job_id == job_id)
                .group_by(MatchRow.bank),
            )
            by_signal = _pairs(
                session,
                sa.select(MatchRow.signal_type, sa.func.count(sa.distinct(MatchRow.file_id)))
                .join(FileRow, FileRow.id == MatchRow.file_id)
                .where(FileRow.job_id == job_id)
                .group_by(MatchRow.signal_type),
            )
            priorities = _pairs(
                session,
                sa.select(FileRow.priority, sa.func.count())
                .where(FileRow.job_id == job_id, FileRow.priority.is_not(None))
                .group_by(FileRow.priority),
            )
            return JobSummary(
                job_id, job.status, files or 0, sum(reasons.values()), matched or 0,
                dict(reasons), by_bank, by_signal, priorities,
            )  # fmt: skip
