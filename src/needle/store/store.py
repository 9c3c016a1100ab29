"""The store: banks, scan jobs and per-file records, on SQLite or PostgreSQL alike.

A bank entry is keyed by (bank, signal type, value). A ``vpdq`` entry's value (a whole
video's frame hashes, ``needle.signals.vpdq_exchange``) is longer than a key holds: it is
stored as its sha256 (``vpdq_digest``) in ``value`` and whole in ``payload``, and every read
(``load_bank``, ``load_bank_columns``, the lookups behind them) gives the whole value back.

Only the scan's parent process writes. Records of a batch are written in one transaction
together with their matches, so a killed scan leaves whole records or none, and the unique
(job, path) key makes a record impossible to store twice.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload, sessionmaker

from needle.banks._common import STREAM_CHUNK
from needle.banks.columns import ColumnsBuilder
from needle.banks.model import Bank, BankEntry
from needle.errors import BankError, JobRunning, StoreError
from needle.jsonvalue import JSONObject
from needle.signals.pdq import PDQ_MATCH_DISTANCE
from needle.store.bank_rows import (
    DIGEST_KEYED,
    BankImport,
    bank_shares,
    driver_chunks,
    insert_new_entries,
    whole_value,
)
from needle.store.engine import DEFAULT_DB, create_engine, migrate
from needle.store.owner import is_alive, now_utc, this_process
from needle.store.record import ScanRecord, StoredRecord, path_key, record_row, stored_record
from needle.store.schema import BankEntryRow, BankRow, FileRow, JobRow, MatchRow, SettingRow

__all__ = ["BankImport", "BankSummary", "Job", "JobSummary", "Store", "path_key"]


@dataclass(frozen=True)
class BankSummary:
    name: str
    pdq_threshold: int
    description: str
    counts: dict[str, int]
    vpdq_query_percent: float = 80.0
    vpdq_compared_percent: float = 0.0


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


BANK_GENERATION = "bank_generation"


def mark_banks_changed(session: Session) -> None:
    """Record, in ``session``'s transaction, that banks changed (``Store.bank_generation``)."""
    # a fresh random id, not a counter: two writers cannot both write the same "next" value
    row = session.get(SettingRow, BANK_GENERATION)
    value = {"id": uuid.uuid4().hex}
    if row is None:
        session.add(SettingRow(key=BANK_GENERATION, value=value))
    else:
        row.value = value


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
        with self._session.begin() as session:
            if session.scalar(sa.select(BankRow.id).where(BankRow.name == name)) is not None:
                raise BankError(f"bank {name!r} exists already")
            self._new_bank(session, name, pdq_threshold, description)
            mark_banks_changed(session)

    @staticmethod
    def _new_bank(session: Session, name: str, pdq_threshold: int, description: str) -> BankRow:
        if not name or len(name) > 200:
            raise BankError("a bank name must be 1 to 200 characters")
        if not 0 <= pdq_threshold <= 256:
            raise BankError(f"PDQ threshold must be between 0 and 256, not {pdq_threshold}")
        row = BankRow(name=name, pdq_threshold=pdq_threshold, description=description)
        session.add(row)
        session.flush()
        return row

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
            mark_banks_changed(session)

    def set_bank_video_shares(
        self, name: str, *, query: float | None = None, compared: float | None = None
    ) -> None:
        """The shares (percent, 0-100) a video match with this bank's videos needs: of the
        scanned video's frames found in a banked one (``query``), and of its frames found in
        the scanned one (``compared``); None leaves one as it is."""
        for share in (query, compared):
            if share is not None and not 0.0 <= share <= 100.0:
                raise BankError(f"a share of frames is a percentage from 0 to 100, not {share}")
        with self._session.begin() as session:
            row = self._bank_row(session, name)
            if query is not None:
                row.vpdq_query_percent = query
            if compared is not None:
                row.vpdq_compared_percent = compared
            mark_banks_changed(session)

    @contextmanager
    def bank_import(
        self,
        name: str,
        *,
        create: bool = True,
        pdq_threshold: int | None = None,
        description: str = "",
    ) -> Iterator[BankImport]:
        """Add entries to bank ``name`` in one transaction, a chunk at a time.

        Yields a ``BankImport`` whose ``add`` inserts a chunk of entries, skipping those
        already in the bank (the database's unique key decides, not a set in memory). On
        leaving the block the transaction commits; on an error nothing of it is kept. A bank
        that does not exist is created when ``create`` (with ``pdq_threshold``, default 31),
        in the same transaction, and only kept when at least one entry was added: a failed
        or empty import leaves no empty bank behind. For an existing bank a given
        ``pdq_threshold`` replaces its threshold, in the same transaction too.
        """
        session = self._session()
        try:
            row = session.scalar(sa.select(BankRow).where(BankRow.name == name))
            created = row is None
            if row is None:
                if not create:
                    row = self._bank_row(session, name)  # raises, naming the banks there are
                threshold = PDQ_MATCH_DISTANCE if pdq_threshold is None else pdq_threshold
                row = self._new_bank(session, name, threshold, description)
            elif pdq_threshold is not None:
                if not 0 <= pdq_threshold <= 256:
                    raise BankError(f"PDQ threshold must be between 0 and 256, not {pdq_threshold}")
                row.pdq_threshold = pdq_threshold
            batch = BankImport(session, insert_new_entries(self.engine.dialect.name), row.id)
            batch.created = created
            yield batch
            if created and not batch.added:
                session.rollback()
                batch.created = False
            else:
                mark_banks_changed(session)
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def add_entries(self, name: str, entries: Iterable[BankEntry]) -> int:
        """Add entries to an existing bank; those already in it are skipped. Returns how many
        were new. Entries are inserted a chunk at a time, in one transaction."""
        with self.bank_import(name, create=False) as batch:
            chunk: list[BankEntry] = []
            for entry in entries:
                chunk.append(entry)
                if len(chunk) >= STREAM_CHUNK:
                    batch.add(chunk)
                    chunk = []
            batch.add(chunk)
        return batch.added

    def load_bank(self, name: str) -> Bank:
        """The bank with every entry as a ``BankEntry``: for exports and small banks. A scan
        loads with ``load_bank_columns``, which holds no object per entry."""
        with self._session() as session:
            row = self._bank_row(session, name)
            entries = [
                BankEntry(signal_type, value, tuple(labels), dict(meta))
                for signal_type, value, labels, meta in session.execute(
                    sa.select(
                        BankEntryRow.signal_type,
                        whole_value(),
                        BankEntryRow.labels,
                        BankEntryRow.meta,
                    )
                    .where(BankEntryRow.bank_id == row.id)
                    .order_by(BankEntryRow.id)
                )
            ]
            return Bank(row.name, entries, row.pdq_threshold, row.description, *bank_shares(row))

    def load_bank_columns(self, name: str, *, chunk: int = 1 << 16) -> Bank:
        """The bank as a scan matches it: entries as ``BankColumns``, read ``chunk`` rows at a time.

        Only (signal type, value) is read (the value alone when the bank holds one type), in
        entry order, through the driver's own cursor, straight into one array per type (16
        bytes an md5, 32 a PDQ hash); no object is kept per entry. Labels and meta stay
        in the database and are read for the entries asked for (the matches), by value
        through the bank's unique key. Entry positions are those of ``load_bank``.
        """
        with self._session() as session:
            row = self._bank_row(session, name)
            bank_id, threshold, description = row.id, row.pdq_threshold, row.description
            shares = bank_shares(row)
            counts = {
                str(kind): int(n)
                for kind, n in session.execute(
                    sa.select(BankEntryRow.signal_type, sa.func.count())
                    .where(BankEntryRow.bank_id == bank_id)
                    .group_by(BankEntryRow.signal_type)
                )
            }
            builder = ColumnsBuilder(counts)
            table = BankEntryRow.__table__.c
            kinds = list(counts)
            # the payload is read only where the bank holds a type that has one
            value = whole_value() if DIGEST_KEYED.keys() & counts.keys() else table.value
            query: sa.Select[tuple[str]] | sa.Select[tuple[str, str]]
            if len(kinds) == 1:  # the usual big bank: one type, so one column to read
                query = sa.select(value).where(
                    table.bank_id == bank_id, table.signal_type == kinds[0]
                )
            else:
                query = sa.select(table.signal_type, value).where(table.bank_id == bank_id)
            for rows in driver_chunks(session.connection(), query.order_by(table.id), chunk):
                if len(kinds) == 1:
                    builder.add(kinds * len(rows), [r[0] for r in rows])
                else:
                    builder.add([r[0] for r in rows], [r[1] for r in rows])

        def lookup(signal_type: str, values: Sequence[str]) -> dict[str, BankEntry]:
            return self._entries_by_value(bank_id, signal_type, values)

        return Bank(name, builder.build(lookup), threshold, description, *shares)

    def iter_bank_values(
        self, name: str, signal_type: str, *, after_id: int = 0, chunk: int = 1 << 16
    ) -> Iterator[list[tuple[int, str]]]:
        """One signal type's entries of a bank as ``(entry id, value)`` rows, in id order
        (the order of ``load_bank_columns``), ``chunk`` rows at a time from the driver's
        cursor, only those with an id above ``after_id``: for building an index of a bank
        too large to hold (``needle.match.pdq_build``) and catching it up later."""
        with self._session() as session:
            bank_id = self._bank_row(session, name).id
            table = BankEntryRow.__table__.c
            value = whole_value() if signal_type in DIGEST_KEYED else table.value
            query = (
                sa.select(table.id, value)
                .where(
                    table.bank_id == bank_id,
                    table.signal_type == signal_type,
                    table.id > after_id,
                )
                .order_by(table.id)
            )
            rows = driver_chunks(session.connection(), query, chunk)
            yield from cast(Iterator[list[tuple[int, str]]], rows)  # ids come back as int

    def _entries_by_value(
        self, bank_id: int, signal_type: str, values: Sequence[str]
    ) -> dict[str, BankEntry]:
        """Whole entries by value, looked up through the unique key (a digest-keyed type's
        values by their digest)."""
        digest = DIGEST_KEYED.get(signal_type)
        keys = {digest(v): v for v in values} if digest else {v: v for v in values}
        with self._session() as session:
            return {
                keys[key]: BankEntry(signal_type, keys[key], tuple(labels), dict(meta))
                for key, labels, meta in session.execute(
                    sa.select(BankEntryRow.value, BankEntryRow.labels, BankEntryRow.meta).where(
                        BankEntryRow.bank_id == bank_id,
                        BankEntryRow.signal_type == signal_type,
                        BankEntryRow.value.in_(list(keys)),
                    )
                )
            }

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
                BankSummary(
                    b.name, b.pdq_threshold, b.description, counts.get(b.id, {}), *bank_shares(b)
                )
                for b in session.scalars(sa.select(BankRow).order_by(BankRow.name))
            ]

    def delete_bank(self, name: str) -> None:
        with self._session.begin() as session:
            row = self._bank_row(session, name)
            session.execute(sa.delete(BankEntryRow).where(BankEntryRow.bank_id == row.id))
            session.delete(row)
            mark_banks_changed(session)

    def bank_generation(self) -> str:
        """A value that changes whenever any bank changes (in any process): a long-running
        reader (``needle serve``) compares it to know when to rebuild its index."""
        with self._session() as session:
            row = session.get(SettingRow, BANK_GENERATION)
            return str(row.value.get("id", "")) if row is not None else ""

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
