"""The reports pages: what the CLI's ``needle report`` does, for analysts in the browser.

``/reports`` lists the CyberTipline reports waiting to be made (one per case, that is per
reported account, from items decided as abuse), the submissions made so far, the VICS export
and the triage report of each scan job. A case's page takes the reported account's details,
previews the XML and, only where the operator configured NCMEC credentials
(``needle serve --report-config FILE`` and the environment), sends it. Sending runs in a
thread; a failure is shown to the analyst who sent it with its submission's log (the open
report was retracted), never dropped.

Everything here needs the ``reports`` permission (analysts); media is never shown on these
pages. Audited: each preview, submission, retraction and failure (by ``needle.report``), each
change of a case's account details (``case-details``), each VICS and triage download
(``export``).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from needle.access import Principal
from needle.errors import ConfigError, ReportError, SubmissionFailed
from needle.jsonvalue import JSONObject
from needle.report.cybertip import (
    NcmecConfig,
    ReportPlan,
    how_to_configure,
    load_config,
    load_credentials,
    plan_reports,
    preview_report,
    send_report,
    submission,
    submissions,
)
from needle.report.cybertip.build import ACCOUNT_KEYS
from needle.report.triage import write_triage_report
from needle.report.vics import VICS_VERSIONS, build_vics, load_vics_config
from needle.review import case_details, set_case_details
from needle.review.browse import jobs
from needle.web.auth import allow
from needle.web.pages import render
from needle.web.service import Service, audit, get_service

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_LABELS: dict[str, str] = {
    "esp_user_id": "User id on the platform",
    "screen_name": "Screen name",
    "display_name": "Display name",
    "email": "Email address",
    "profile_url": "Profile URL",
    "ip": "IP address seen",
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "incident_url": "URL of the incident",
    "notes": "Notes for NCMEC",
}
#: the account fields the case page asks for (the report builder's keys), with their labels
ACCOUNT_FIELDS: dict[str, str] = {key: _LABELS.get(key, key) for key in ACCOUNT_KEYS}
_MAX_FIELD = 500
#: the triage page is self-contained: its inline style sheet and data: thumbnails, no script
TRIAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_TRIAGE_FILES = {
    "html": ("triage.html", "text/html; charset=utf-8"),
    "csv": ("triage.csv", "text/csv; charset=utf-8"),
    "jsonl": ("triage.jsonl", "application/x-ndjson"),
}


def _config(service: Service) -> NcmecConfig:
    """The ``[ncmec]`` settings, read afresh (an operator may edit the file while serving)."""
    try:
        return load_config(service.settings.report_config)
    except ConfigError as exc:
        raise HTTPException(500, f"the report configuration cannot be read: {exc}") from None


def _sending(config: NcmecConfig) -> tuple[bool, str]:
    """Whether this service may send, and if not, what the operator does about it."""
    try:
        ready = load_credentials(config) is not None
    except ConfigError as exc:
        return False, str(exc)
    if config.source is None:
        return False, "start the service with --report-config FILE (an [ncmec] table)"
    return ready, "" if ready else how_to_configure()


async def _plan(service: Service, case: str) -> ReportPlan:
    try:
        plans = await asyncio.to_thread(plan_reports, service.store, case=case)
    except ReportError as exc:
        raise HTTPException(404, str(exc)) from None
    return plans[0]


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request, who: Principal = allow("reports"), service: Service = Depends(get_service)
) -> Response:
    config = _config(service)
    plans = await asyncio.to_thread(plan_reports, service.store)
    sent = await asyncio.to_thread(submissions, service.store, 50)
    listed = await asyncio.to_thread(jobs, service.store, 0, 50)
    may_send, why_not = _sending(config)
    return render(
        request,
        "reports.html",
        who,
        plans=plans,
        submissions=sent,
        jobs=listed,
        config=config,
        may_send=may_send,
        why_not=why_not,
        versions=VICS_VERSIONS,
    )


@router.get("/reports/ncmec/case/{name:path}", response_class=HTMLResponse)
async def case_report(
    request: Request,
    name: str,
    who: Principal = allow("reports"),
    service: Service = Depends(get_service),
) -> Response:
    """One case as a report: its account's details (editable), its files, preview and send."""
    plan = await _plan(service, name)
    details = await asyncio.to_thread(case_details, service.store, name)
    may_send, why_not = _sending(_config(service))
    return render(
        request,
        "report_case.html",
        who,
        plan=plan,
        details=details,
        fields=ACCOUNT_FIELDS,
        may_send=may_send,
        why_not=why_not,
    )


@router.post("/reports/ncmec/case/{name:path}/account")
async def save_account(
    request: Request,
    name: str,
    who: Principal = allow("reports"),
    service: Service = Depends(get_service),
) -> Response:
    """Replace what is known of the case's account (empty fields are dropped)."""
    form = await request.form()
    details: JSONObject = {}
    for key in ACCOUNT_FIELDS:
        value = form.get(key)
        if isinstance(value, str) and value.strip():
            details[key] = value.strip()[:_MAX_FIELD]
    plan = await _plan(service, name)
    if plan.case_name is None:
        raise HTTPException(404, f"no case {name!r}")
    await asyncio.to_thread(set_case_details, service.store, plan.case_name, details, who.name)
    await audit(
        service, who, request, "case-details", f"case:{plan.case_name}", fields=",".join(details)
    )
    return RedirectResponse(f"/reports/ncmec/case/{plan.case_name}", status_code=303)


@router.post("/reports/ncmec/case/{name:path}/preview", response_class=HTMLResponse)
async def preview(
    request: Request,
    name: str,
    who: Principal = allow("reports"),
    service: Service = Depends(get_service),
) -> Response:
    """Build the report's XML and check it against the schema; nothing is sent."""
    plan = await _plan(service, name)
    config = _config(service)
    try:
        shown = await asyncio.to_thread(
            lambda: preview_report(service.store, plan, config, who.name, role=who.role.value)
        )
    except (ReportError, ConfigError) as exc:
        raise HTTPException(400, str(exc)) from None
    return render(request, "report_preview.html", who, plan=plan, preview=shown)


@router.post("/reports/ncmec/case/{name:path}/send")
async def send(
    request: Request,
    name: str,
    confirm: Annotated[str, Form()] = "",
    who: Principal = allow("reports"),
    service: Service = Depends(get_service),
) -> Response:
    """Send the case's report to the configured environment; a failure is shown, not lost."""
    if confirm != "send":
        raise HTTPException(400, "tick the box that confirms the report is to be sent")
    plan = await _plan(service, name)
    config = _config(service)
    may_send, why_not = _sending(config)  # reads the credentials: a broken file says so here
    credentials = load_credentials(config) if may_send else None
    if credentials is None:
        raise HTTPException(409, f"sending is not configured: {why_not}")
    try:
        sent = await asyncio.to_thread(
            lambda: send_report(
                service.store,
                plan,
                config,
                credentials,
                who.name,
                quarantine=service.quarantine,
                role=who.role.value,
            )
        )
    except SubmissionFailed as exc:
        return RedirectResponse(f"/reports/submissions/{exc.submission_id}", status_code=303)
    except (ReportError, ConfigError) as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/reports/submissions/{sent.id}", status_code=303)


@router.get("/reports/submissions/{submission_id}", response_class=HTMLResponse)
async def submission_page(
    request: Request,
    submission_id: int,
    who: Principal = allow("reports"),
    service: Service = Depends(get_service),
) -> Response:
    """One submission with each step's answer; a failed one says what went wrong."""
    try:
        found = await asyncio.to_thread(submission, service.store, submission_id)
    except ReportError as exc:
        raise HTTPException(404, str(exc)) from None
    return render(request, "report_submission.html", who, sub=found)


@router.get("/reports/vics")
async def vics_export(
    request: Request,
    version: str = "2.0",
    job: int | None = None,
    case: str | None = None,
    who: Principal = allow("reports"),
    service: Service = Depends(get_service),
) -> Response:
    """The reviewed items (of a job or a case) as a VICS JSON download."""
    import json

    case = (case or "").strip() or None
    try:
        config = load_vics_config(service.settings.report_config)
        export = await asyncio.to_thread(
            lambda: build_vics(service.store, version=version, job=job, case=case, config=config)
        )
    except (ReportError, ConfigError) as exc:
        raise HTTPException(400, str(exc)) from None
    await audit(
        service, who, request, "export", "vics", version=version, job=job or 0,
        case=case or "", media=export.media, files=export.files,
    )  # fmt: skip
    body = json.dumps(export.document, indent=1, ensure_ascii=False)
    name = f"needle-vics-{version}" + (f"-job{job}" if job else "") + ".json"
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/reports/triage/{job_id}/{kind}")
async def triage(
    request: Request,
    job_id: int,
    kind: str,
    who: Principal = allow("reports"),
    service: Service = Depends(get_service),
) -> Response:
    """The triage report of one scan job: the HTML page (no thumbnails), or its CSV or JSONL."""
    if kind not in _TRIAGE_FILES:
        raise HTTPException(404, f"no triage file {kind!r}: use {', '.join(_TRIAGE_FILES)}")
    file_name, media_type = _TRIAGE_FILES[kind]

    def build() -> bytes:
        with tempfile.TemporaryDirectory(prefix="needle-triage-") as folder:
            write_triage_report(service.store, folder, job=job_id)
            return (Path(folder) / file_name).read_bytes()

    try:
        body = await asyncio.to_thread(build)
    except ReportError as exc:
        raise HTTPException(404, str(exc)) from None
    await audit(service, who, request, "export", f"triage:{kind}", job=job_id)
    headers = {
        "Content-Disposition": f'attachment; filename="job{job_id}-{file_name}"',
        "Cache-Control": "no-store",
    }
    if kind == "html":  # shown in the browser: its own inline style, nothing else at all
        headers["Content-Disposition"] = f'inline; filename="job{job_id}-{file_name}"'
        headers["Content-Security-Policy"] = TRIAGE_CSP
    return Response(body, media_type=media_type, headers=headers)
