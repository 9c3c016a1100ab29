"""From reviewed items to report plans, and from a plan to the report's typed elements.

The flow:

1. ``plan_reports`` picks the files whose *current* decision is an abuse one (``abuse-real``,
   ``abuse-ai``) and groups them by reported account: a case is an account, its case details
   are what is known of it. One ``ReportPlan`` per account, with all of that account's files;
   files in no case make one report without a reported account. An account with no decided
   files still gets a plan (a report about the account alone).
2. ``build_report`` turns a plan and the reporter's settings into a ``Report`` (``/submit``).
3. ``build_file_details`` turns one planned file into its ``FileDetails`` (``/fileinfo``),
   once the service has given the report and file ids.

In: the store, ``NcmecConfig``. Out: ``ReportPlan``, ``Report``, ``FileDetails``. No I/O
beyond reading the store; nothing is sent from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from needle.errors import ConfigError, ReportError
from needle.jsonvalue import JSONObject, JSONValue
from needle.report.cybertip import model as m
from needle.report.cybertip.config import NcmecConfig
from needle.review.decisions import DECISIONS
from needle.store import Store
from needle.store.schema import CaseDetailRow, CaseItemRow, DecisionRow, FileRow

__all__ = [
    "ABUSE_DECISIONS",
    "Account",
    "PlannedFile",
    "ReportPlan",
    "build_file_details",
    "build_report",
    "plan_reports",
]

ABUSE_DECISIONS = ("abuse-real", "abuse-ai")
#: case-detail keys read into ``Account``; any other key goes to ``additionalInfo``
ACCOUNT_KEYS = (
    "esp_user_id", "screen_name", "email", "display_name", "profile_url", "ip",
    "first_name", "last_name", "phone", "incident_url", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class Account:
    """A reported account, as its case details give it."""

    esp_user_id: str | None = None
    screen_name: str | None = None
    email: str | None = None
    display_name: str | None = None
    profile_url: str | None = None
    ip: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    incident_url: str | None = None
    notes: str | None = None
    #: other keys the reviewer gave, in their order: written as additional information
    other: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_details(cls, details: JSONObject) -> Account:
        known = {k: _text(details.get(k)) for k in ACCOUNT_KEYS}
        other = tuple(
            (key, text)
            for key, value in details.items()
            if key not in ACCOUNT_KEYS and (text := _text(value)) is not None
        )
        return cls(**known, other=other)


def _text(value: JSONValue) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class PlannedFile:
    """One file that goes into a report, with the reviewer's decision and what was found."""

    file_id: int
    path: str
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    decision: str
    classification: str | None
    #: the provenance stage's verdict: claimed, likely or unknown
    ai_generated: str
    #: EXIF fields the provenance stage read, as (field, what it said)
    exif: tuple[tuple[str, str], ...]
    seen_at: datetime

    @property
    def name(self) -> str:
        """The file's own name (an archive member's name, not the archive's)."""
        tail = self.path.rsplit("!", 1)[-1]
        return tail.rstrip("/").rsplit("/", 1)[-1] or self.path

    @property
    def generative_ai(self) -> bool:
        """The reviewer decided AI-generated, or the file itself claims it was."""
        return self.decision == "abuse-ai" or self.ai_generated == "claimed"


@dataclass(frozen=True)
class ReportPlan:
    """One report to make: the account (None when the files are in no case) and its files."""

    case_name: str | None
    account: Account | None
    files: tuple[PlannedFile, ...]

    @property
    def file_ids(self) -> tuple[int, ...]:
        return tuple(f.file_id for f in self.files)


# -- planning -----------------------------------------------------------------------------------


def _current_decisions() -> sa.Subquery:
    newest = sa.select(sa.func.max(DecisionRow.id)).group_by(DecisionRow.file_id)
    return sa.select(DecisionRow).where(DecisionRow.id.in_(newest)).subquery()


def _planned(session: Session, where: sa.ColumnElement[bool]) -> list[PlannedFile]:
    current = _current_decisions()
    query = (
        sa.select(FileRow, current.c.decision, current.c.classification)
        .join(current, current.c.file_id == FileRow.id)
        .where(where, current.c.decision.in_(ABUSE_DECISIONS))
        .order_by(FileRow.id)
    )
    return [_planned_file(row, d, c) for row, d, c in session.execute(query)]


def _planned_file(row: FileRow, decision: str, classification: str | None) -> PlannedFile:
    provenance = dict(row.details).get("provenance")
    verdict, exif = "unknown", []
    if isinstance(provenance, dict):
        verdict = str(provenance.get("ai_generated") or "unknown")
        evidence = provenance.get("evidence")
        for item in evidence if isinstance(evidence, list) else ():
            if isinstance(item, dict) and "exif" in str(item.get("field", "")).lower():
                exif.append((str(item["field"]), str(item.get("detail", ""))))
    seen = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return PlannedFile(
        row.id, row.path, row.md5, row.sha1, row.sha256, row.pdq, decision, classification,
        verdict, tuple(exif), seen,
    )  # fmt: skip


def _account(session: Session, case: str) -> Account:
    row = session.get(CaseDetailRow, case)
    return Account.from_details(dict(row.details) if row is not None else {})


def _by_case(session: Session, files: Sequence[PlannedFile]) -> list[ReportPlan]:
    """Group files by their case (the first by name when a file is in several)."""
    ids = [f.file_id for f in files]
    first: dict[int, str] = {}
    for file_id, case in session.execute(
        sa.select(CaseItemRow.file_id, CaseItemRow.case_name)
        .where(CaseItemRow.file_id.in_(ids))
        .order_by(CaseItemRow.case_name)
    ):
        first.setdefault(file_id, case)
    groups: dict[str | None, list[PlannedFile]] = {}
    for file in files:
        groups.setdefault(first.get(file.file_id), []).append(file)
    return [
        ReportPlan(case, _account(session, case) if case else None, tuple(group))
        for case, group in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    ]


def _check_items(session: Session, items: Iterable[int], found: Sequence[PlannedFile]) -> None:
    wanted = sorted(set(items))
    missing = sorted(set(wanted) - {f.file_id for f in found})
    if not missing:
        return
    exists = set(session.scalars(sa.select(FileRow.id).where(FileRow.id.in_(missing))))
    unknown = [i for i in missing if i not in exists]
    if unknown:
        raise ReportError(f"no item {', '.join(map(str, unknown))}")
    raise ReportError(
        f"item {', '.join(map(str, missing))} is not decided as abuse (its current decision "
        f"must be {' or '.join(DECISIONS[d] for d in ABUSE_DECISIONS)}): decide it first"
    )


def _case_of_account(session: Session, account: str) -> str:
    """The case whose details name the account (``esp_user_id``), or a case of that name."""
    for name, details in session.execute(sa.select(CaseDetailRow.case_name, CaseDetailRow.details)):
        if isinstance(details, dict) and _text(details.get("esp_user_id")) == account:
            return str(name)
    if session.get(CaseDetailRow, account) is not None:
        return account
    if session.scalar(sa.select(CaseItemRow.id).where(CaseItemRow.case_name == account).limit(1)):
        return account
    raise ReportError(
        f"no case is the account {account!r}: give a case its account details "
        "(esp_user_id) or name the case with --case"
    )


def plan_reports(
    store: Store,
    *,
    items: Sequence[int] | None = None,
    case: str | None = None,
    account: str | None = None,
) -> list[ReportPlan]:
    """The reports to make from the given items, case or account (at most one of them; none
    means every file decided as abuse). Items must be decided as abuse; a case or account
    without such files gives one report about the account alone."""
    if sum(x is not None for x in (items, case, account)) > 1:
        raise ReportError("name items, a case or an account: one of them")
    with sessionmaker(store.engine)() as session:
        if case is not None or account is not None:
            name = case.strip() if case is not None else _case_of_account(session, str(account))
            in_case = FileRow.id.in_(
                sa.select(CaseItemRow.file_id).where(CaseItemRow.case_name == name)
            )
            known = session.get(CaseDetailRow, name) is not None
            files = _planned(session, in_case)
            if not files and not known and case is not None:
                has_items = session.scalar(
                    sa.select(CaseItemRow.id).where(CaseItemRow.case_name == name).limit(1)
                )
                if has_items is None:
                    raise ReportError(f"no case {name!r}")
            return [ReportPlan(name, _account(session, name), tuple(files))]
        if items is not None:
            files = _planned(session, FileRow.id.in_(list(items)))
            _check_items(session, items, files)
        else:
            files = _planned(session, sa.true())
        return _by_case(session, files)


# -- building -----------------------------------------------------------------------------------


def _person(cls: type[m.Person], c: object) -> m.Person:
    first, last = getattr(c, "first_name", None), getattr(c, "last_name", None)
    email, phone = getattr(c, "email", None), getattr(c, "phone", None)
    return cls(
        first_name=first,
        last_name=last,
        phone=(m.Phone(phone),) if phone else (),
        email=(m.Email(email),) if email else (),
    )


def _reporter(config: NcmecConfig) -> m.Reporter:
    if not config.reporter.email:
        raise ConfigError(
            "a CyberTipline report needs the reporter's email: set email in the "
            "[ncmec.reporter] table of the config (--config ncmec.toml)"
        )
    reporting = _person(m.ReportingPerson, config.reporter)
    contact = _person(m.ContactPerson, config.contact) if config.contact else None
    return m.Reporter(reporting, contact)  # type: ignore[arg-type]


def _reported(account: Account, config: NcmecConfig) -> m.PersonOrUserReported:
    person = None
    if account.first_name or account.last_name or account.email or account.phone:
        person = _person(m.ReportedPerson, account)
    notes = [account.notes] if account.notes else []
    notes += [f"{key}: {value}" for key, value in account.other]
    return m.PersonOrUserReported(
        person_or_user_reported_person=person,  # type: ignore[arg-type]
        esp_identifier=account.esp_user_id,
        esp_service=config.esp_name,
        screen_name=account.screen_name,
        display_name=(account.display_name,) if account.display_name else (),
        profile_url=(account.profile_url,) if account.profile_url else (),
        ip_capture_event=(m.IpCaptureEvent(account.ip),) if account.ip else (),
        additional_info="\n".join(notes) or None,
    )


def build_report(plan: ReportPlan, config: NcmecConfig, now: datetime | None = None) -> m.Report:
    """The ``/submit`` document of ``plan``. The incident time is when needle first recorded
    the earliest of its files (the time of the report when it has none)."""
    when = min((f.seen_at for f in plan.files), default=None)
    described = "when the earliest reported file was first recorded by the service's scan"
    if when is None:
        when, described = now or datetime.now(UTC), "when this report was made"
    summary = m.IncidentSummary(
        incident_type=config.incident_type,
        incident_date_time=when.replace(microsecond=0),
        incident_date_time_description=described,
    )
    account = plan.account
    internet: tuple[m.InternetDetails, ...] = ()
    if account is not None and account.incident_url:
        internet = (m.InternetDetails(m.WebPageIncident(url=(account.incident_url,))),)
    counts = {d: sum(f.decision == d for f in plan.files) for d in ABUSE_DECISIONS}
    info = f"{len(plan.files)} file(s) reviewed by a person: " + ", ".join(
        f"{DECISIONS[d]} {n}" for d, n in counts.items()
    )
    return m.Report(
        incident_summary=summary,
        internet_details=internet,
        reporter=_reporter(config),
        person_or_user_reported=(_reported(account, config),) if account else (),
        additional_info=info,
    )


def build_file_details(
    file: PlannedFile, config: NcmecConfig, report_id: str, file_id: str
) -> m.FileDetails:
    """The ``/fileinfo`` document of one uploaded file. ``fileViewedByEsp`` is true: a
    person reviewed the file and decided it (that decision is why it is reported)."""
    hashes = tuple(
        m.FileHash(value, kind) for kind, value in (("MD5", file.md5), ("SHA1", file.sha1)) if value
    )
    hash_pairs = tuple(
        m.Detail(name, value)
        for name, value in (("PDQ", file.pdq), ("SHA-256", file.sha256))
        if value
    )
    details = []
    if hash_pairs:
        details.append(m.Details("HASH", hash_pairs))
    if file.exif:
        details.append(m.Details("EXIF", tuple(m.Detail(k, v) for k, v in file.exif)))
    annotations = m.FileAnnotations(generative_ai=file.generative_ai)
    return m.FileDetails(
        report_id=report_id,
        file_id=file_id,
        original_file_name=file.name,
        file_viewed_by_esp=True,
        publicly_available=config.publicly_available,
        file_relevance="Reported",
        file_annotations=annotations if annotations.any() else None,
        industry_classification=file.classification,
        original_file_hash=hashes,
        details=tuple(details),
        additional_info=(f"reviewer's decision: {DECISIONS.get(file.decision, file.decision)}",),
    )
