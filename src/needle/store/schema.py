"""The database schema: banks and their entries, scan jobs, file records and their matches.

Changes to it go through an Alembic migration in ``migrations/versions``; the test suite
checks that the migrations produce exactly this schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "AuditRow",
    "BankEntryRow",
    "BankRow",
    "Base",
    "CaseDetailRow",
    "CaseItemRow",
    "DecisionRow",
    "FileRow",
    "JobRow",
    "LedgerRow",
    "MatchRow",
    "ReportSubmissionRow",
    "SessionRow",
    "SettingRow",
    "TokenRow",
    "UserRow",
]


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[type, type[sa.JSON]]] = {dict: sa.JSON, list: sa.JSON}


class BankRow(Base):
    __tablename__ = "bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    pdq_threshold: Mapped[int]
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: a video matches one of this bank's videos when these shares of its frames and of the
    #: banked video's are found (``needle.banks.model.Bank``)
    vpdq_query_percent: Mapped[float] = mapped_column(sa.Float, default=80.0, server_default="80")
    vpdq_compared_percent: Mapped[float] = mapped_column(sa.Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)

    entries: Mapped[list[BankEntryRow]] = relationship(
        back_populates="bank", cascade="all, delete-orphan", passive_deletes=True
    )


class BankEntryRow(Base):
    __tablename__ = "bank_entry"
    __table_args__ = (sa.UniqueConstraint("bank_id", "signal_type", "value", name="uq_bank_entry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    signal_type: Mapped[str] = mapped_column(sa.String(40))
    #: the hash; for a type whose values are too long for a key (``vpdq``: a whole video),
    #: the sha256 of the value, which is then kept in ``payload``
    value: Mapped[str] = mapped_column(sa.String(512))
    labels: Mapped[list] = mapped_column(default=list)
    meta: Mapped[dict] = mapped_column(default=dict)
    payload: Mapped[str | None] = mapped_column(sa.Text)

    bank: Mapped[BankRow] = relationship(back_populates="entries")


class JobRow(Base):
    """One scan of a set of roots. A killed job is resumed by the next scan of the same roots."""

    __tablename__ = "scan_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    roots: Mapped[list] = mapped_column()
    fingerprint: Mapped[str] = mapped_column(sa.String(64), index=True)
    options: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="running")
    #: the scan process running the job ("host pid start-time token"), and when it last said
    #: it is alive: a second scan of the same job waits for a live owner, takes over a dead one
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class FileRow(Base):
    """One file of one job: its signals, or the reason it could not be read, and later stages."""

    __tablename__ = "file_record"
    __table_args__ = (sa.UniqueConstraint("job_id", "path_key", name="uq_file_record_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        sa.ForeignKey("scan_job.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(sa.Text)
    #: sha1 of ``path``: paths can exceed what a unique index holds
    path_key: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    md5: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    sha1: Mapped[str | None] = mapped_column(sa.String(40))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    pdq: Mapped[str | None] = mapped_column(sa.String(64))
    pdq_quality: Mapped[int | None]
    format: Mapped[str | None] = mapped_column(sa.String(20))
    width: Mapped[int | None]
    height: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    error_reason: Mapped[str | None] = mapped_column(sa.String(40))
    #: later stages' results (reasons, classifications, provenance, text guard), as their
    #: ``to_dict`` wrote them: written by ``needle.store.record.record_row`` alone
    details: Mapped[dict] = mapped_column(default=dict)
    priority: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    #: a generator prompt from the file's metadata: private, never exported (store/record.py)
    embedded_prompt: Mapped[dict | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)

    matches: Mapped[list[MatchRow]] = relationship(
        back_populates="file", cascade="all, delete-orphan", passive_deletes=True
    )


class MatchRow(Base):
    __tablename__ = "match"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("file_record.id", ondelete="CASCADE"), index=True
    )
    bank: Mapped[str] = mapped_column(sa.String(200))
    signal_type: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[str] = mapped_column(sa.String(512))
    distance: Mapped[int]
    threshold: Mapped[int]
    transform: Mapped[str | None] = mapped_column(sa.String(20))
    labels: Mapped[list] = mapped_column(default=list)

    file: Mapped[FileRow] = relationship(back_populates="matches")


# -- the review service (needle serve): accounts, sessions, tokens, decisions, audit ------------


class UserRow(Base):
    """A person who signs in to the review UI. ``password_hash`` is an argon2id hash."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    disabled: Mapped[bool] = mapped_column(default=False)
    #: failed sign-ins since the last good one; at the limit the account locks for a while
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class SessionRow(Base):
    """A signed-in browser. ``id`` is the sha256 of the cookie's secret, never the secret."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


class TokenRow(Base):
    """An API token for a machine client: only its sha256 is kept, and its first characters."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class DecisionRow(Base):
    """A reviewer's decision on one file record; the newest one per file is the current one."""

    __tablename__ = "review_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("file_record.id", ondelete="CASCADE"), index=True
    )
    decision: Mapped[str] = mapped_column(sa.String(40))
    #: the industry classification a reviewer set (A1, A2, B1, B2: NCMEC's categories), if any
    classification: Mapped[str | None] = mapped_column(sa.String(4))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    user: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


class CaseItemRow(Base):
    """A file record grouped into a named case (an account, an incident)."""

    __tablename__ = "case_item"
    __table_args__ = (sa.UniqueConstraint("case_name", "file_id", name="uq_case_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_name: Mapped[str] = mapped_column(sa.String(200), index=True)
    file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("file_record.id", ondelete="CASCADE"), index=True
    )
    added_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


class CaseDetailRow(Base):
    """What is known of a case as a reported account (for reports): its identifiers and
    facts, as the reviewer or the platform gave them (``needle.report`` reads them)."""

    __tablename__ = "case_detail"

    case_name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    details: Mapped[dict] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(sa.String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)


class ReportSubmissionRow(Base):
    """One report sent (or previewed) to an outside body, with every step's answer: a
    failure is kept here and shown, never dropped."""

    __tablename__ = "report_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # ncmec
    case_name: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    environment: Mapped[str] = mapped_column(sa.String(20))  # test | production | preview
    #: previewed | open | finished | retracted | failed
    status: Mapped[str] = mapped_column(sa.String(20))
    #: the receiver's id of the report (NCMEC's reportId), once it gave one
    report_id: Mapped[str | None] = mapped_column(sa.String(64))
    file_ids: Mapped[list] = mapped_column(default=list)
    #: each step: what was asked, what came back (status, the answer's text, times)
    log: Mapped[list] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class SettingRow(Base):
    """Organisation settings (blur defaults) and counters (the banks' generation)."""

    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(default=dict)


class AuditRow(Base):
    """One audited action. Rows form a hash chain: ``hash`` covers the row and ``prev_hash``,
    so an edited, deleted or reordered row breaks the chain where it happened
    (``needle.audit.verify``)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(20))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    target: Mapped[str] = mapped_column(sa.String(300), default="")
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    detail: Mapped[dict] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class LedgerRow(Base):
    """One entry of a generation service's ledger (``needle.genguard.ledger``): a guarded
    request, its decision and what it produced. Entries form a hash chain (``prev_hash``) and
    each is signed (Ed25519, ``signature`` by the key ``key_id``); ``seq`` numbers them.
    """

    __tablename__ = "genguard_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    request_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    account: Mapped[str] = mapped_column(sa.String(200), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    decision: Mapped[str] = mapped_column(sa.String(20))
    reasons: Mapped[list] = mapped_column(default=list)
    prompt_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    prompt: Mapped[str | None] = mapped_column(sa.Text)
    output_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    pdq: Mapped[list] = mapped_column(default=list)
    payload: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    detail: Mapped[dict] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    key_id: Mapped[str] = mapped_column(sa.String(32))
    signature: Mapped[str] = mapped_column(sa.String(128))
