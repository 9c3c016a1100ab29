"""Previewing and sending CyberTipline reports, each kept as a submission and audited.

Previewing builds the report and every file's ``fileDetails`` XML, checks them against the
schema and stores a ``previewed`` submission: nothing leaves the machine. Sending
(``send_report``) needs credentials and runs the documented flow: status, submit, then per file
upload (bytes through ``needle.review.media.media_bytes``) and fileinfo, then finish. Every
call's answer is appended to the submission's log as it comes (a crash keeps what happened).

Failure after ``/submit`` opened a report: the report is retracted, the submission is marked
``retracted`` (or ``failed`` when the retraction failed too) with the error, the failure is
audited, and ``SubmissionFailed`` names the submission id. Nothing fails silently.

In: the store, a ``ReportPlan``, ``NcmecConfig``, ``Credentials``. Out: ``Preview``,
``Submission``; rows in ``report_submission`` and ``audit_log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from needle.audit import AuditLog
from needle.errors import NeedleError, ReportError, SubmissionFailed
from needle.jsonvalue import JSONValue
from needle.report.cybertip.build import PlannedFile, ReportPlan, build_file_details, build_report
from needle.report.cybertip.client import CybertipClient, CybertipError, Step
from needle.report.cybertip.config import Credentials, NcmecConfig
from needle.report.cybertip.xml import to_xml, validate
from needle.store import Store
from needle.store.schema import ReportSubmissionRow

if TYPE_CHECKING:
    import httpx

    from needle.store.quarantine import Quarantine

__all__ = [
    "KIND",
    "FilePreview",
    "Preview",
    "Submission",
    "preview_report",
    "send_report",
    "submission",
    "submissions",
]

KIND = "ncmec"
#: what a preview's fileDetails carry until the service gives real ids
PREVIEW_REPORT_ID = "0"
PREVIEW_FILE_ID = "pending"


@dataclass(frozen=True)
class Submission:
    """One report previewed or sent, with every step's answer (``log``)."""

    id: int
    kind: str
    case_name: str | None
    environment: str
    status: str
    report_id: str | None
    file_ids: tuple[int, ...]
    log: tuple[Step, ...]
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class FilePreview:
    file_id: int
    name: str
    xml: str


@dataclass(frozen=True)
class Preview:
    """The report's XML and each file's ``fileDetails`` (ids are placeholders until sent)."""

    submission_id: int
    xml: str
    files: tuple[FilePreview, ...]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _submission(row: ReportSubmissionRow) -> Submission:
    log = tuple(Step.from_dict(e) for e in row.log if isinstance(e, dict))
    created = _aware(row.created_at)
    assert created is not None
    return Submission(
        row.id, row.kind, row.case_name, row.environment, row.status, row.report_id,
        tuple(int(i) for i in row.file_ids), log, row.error, row.created_by, created,
        _aware(row.finished_at),
    )  # fmt: skip


def submissions(store: Store, limit: int = 200) -> list[Submission]:
    """The newest NCMEC submissions first."""
    query = (
        sa.select(ReportSubmissionRow)
        .where(ReportSubmissionRow.kind == KIND)
        .order_by(ReportSubmissionRow.id.desc())
        .limit(limit)
    )
    with sessionmaker(store.engine)() as session:
        return [_submission(row) for row in session.scalars(query)]


def submission(store: Store, submission_id: int) -> Submission:
    """One submission, or a ``ReportError`` when there is none of that id."""
    with sessionmaker(store.engine)() as session:
        row = session.get(ReportSubmissionRow, submission_id)
        if row is None or row.kind != KIND:
            raise ReportError(f"no NCMEC submission {submission_id}")
        return _submission(row)


def _documents(plan: ReportPlan, config: NcmecConfig) -> tuple[str, tuple[FilePreview, ...]]:
    report = to_xml(build_report(plan, config))
    validate(report)
    files = []
    for file in plan.files:
        xml = to_xml(build_file_details(file, config, PREVIEW_REPORT_ID, PREVIEW_FILE_ID))
        validate(xml)
        files.append(FilePreview(file.file_id, file.name, xml))
    return report, tuple(files)


def _insert(store: Store, plan: ReportPlan, config: NcmecConfig, status: str, user: str,
            log: list[JSONValue]) -> int:  # fmt: skip
    with sessionmaker(store.engine).begin() as session:
        row = ReportSubmissionRow(
            kind=KIND, case_name=plan.case_name, environment=config.environment, status=status,
            file_ids=list(plan.file_ids), log=log, created_by=user[:100],
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def preview_report(
    store: Store, plan: ReportPlan, config: NcmecConfig, user: str, *, role: str = "reviewer"
) -> Preview:
    """Build and check the XML of ``plan``; store and audit a ``previewed`` submission."""
    xml, files = _documents(plan, config)
    step = Step("preview", None, None, "built and checked against the schema; not sent",
                datetime.now(UTC))  # fmt: skip
    submission_id = _insert(store, plan, config, "previewed", user, [step.to_dict()])
    AuditLog(store.engine).append(
        user, role, "report-preview", f"submission:{submission_id}", "",
        {"kind": KIND, "case": plan.case_name, "files": list(plan.file_ids),
         "environment": config.environment},
    )  # fmt: skip
    return Preview(submission_id, xml, files)


class _Run:
    """One send in progress: its row, the log as it grows, the report id once given."""

    def __init__(self, store: Store, submission_id: int) -> None:
        self.store = store
        self.id = submission_id
        self.log: list[JSONValue] = []
        self.report_id: str | None = None

    def record(self, step: Step) -> None:
        self.log.append(step.to_dict())
        self.update(log=list(self.log))

    def update(self, **values: object) -> None:
        with sessionmaker(self.store.engine).begin() as session:
            session.execute(
                sa.update(ReportSubmissionRow)
                .where(ReportSubmissionRow.id == self.id)
                .values(**values)
            )


def _file_bytes(store: Store, file: PlannedFile, quarantine: Quarantine | None) -> bytes:
    from needle.review import media_bytes, review_item

    try:
        return media_bytes(store, review_item(store, file.file_id), quarantine)
    except NeedleError as exc:
        raise ReportError(f"file {file.file_id} ({file.name}) cannot be read: {exc}") from None


def _flow(client: CybertipClient, run: _Run, plan: ReportPlan, config: NcmecConfig,
          xml: str, quarantine: Quarantine | None) -> None:  # fmt: skip
    client.status()
    run.report_id = client.submit(xml)
    run.update(report_id=run.report_id)
    for file in plan.files:
        data = _file_bytes(run.store, file, quarantine)
        file_id = client.upload(run.report_id, file.name, data)
        details = build_file_details(file, config, run.report_id, file_id)
        document = to_xml(details)
        validate(document)
        client.fileinfo(document, subject=file.name)
    client.finish(run.report_id)


def send_report(
    store: Store,
    plan: ReportPlan,
    config: NcmecConfig,
    credentials: Credentials,
    user: str,
    transport: httpx.BaseTransport | None = None,
    *,
    quarantine: Quarantine | None = None,
    role: str = "reviewer",
) -> Submission:
    """Send ``plan`` to the configured environment; the finished ``Submission``, or
    ``SubmissionFailed`` (naming it) after an open report was retracted."""
    xml, _ = _documents(plan, config)  # a report that fails the schema is never opened
    run = _Run(store, _insert(store, plan, config, "open", user, []))
    audit = AuditLog(store.engine)
    target = f"submission:{run.id}"
    with CybertipClient(config.url, credentials, transport=transport, on_step=run.record) as client:
        try:
            _flow(client, run, plan, config, xml, quarantine)
        except Exception as exc:  # every failure takes the same path: retract, keep, raise
            message = str(exc) or type(exc).__name__
            status = "failed"
            if run.report_id is not None:
                try:
                    client.retract(run.report_id)
                    status = "retracted"
                except CybertipError as again:
                    message += f"; retracting report {run.report_id} failed too: {again}"
            run.update(status=status, error=message, finished_at=datetime.now(UTC))
            detail: dict[str, JSONValue] = {
                "kind": KIND, "case": plan.case_name, "report_id": run.report_id,
                "status": status, "error": message, "environment": config.environment,
            }  # fmt: skip
            if status == "retracted":
                audit.append(user, role, "report-retract", target, "", detail)
            audit.append(user, role, "report-failed", target, "", detail)
            raise SubmissionFailed(message, submission_id=run.id) from exc
    run.update(status="finished", finished_at=datetime.now(UTC))
    audit.append(
        user, role, "report-submit", target, "",
        {"kind": KIND, "case": plan.case_name, "report_id": run.report_id,
         "files": list(plan.file_ids), "environment": config.environment},
    )  # fmt: skip
    return submission(store, run.id)
