"""The review UI: the queue, an item with its evidence, decisions, cases, jobs and banks.

Pages are rendered on the server (``templates/``); ``static/review.js`` adds keyboard
shortcuts, press-and-hold reveal and the job page's live progress. Media is never shown
plainly by default: thumbnails are made small, greyscale and blurred here
(``needle.review.thumbnail``) and blurred again by the style sheet; the unblurred picture is
fetched only when the reviewer reveals it (``/item/{id}/media``, ``Cache-Control: no-store``).

Audited (``needle.audit``): opening an item (``view``), each reveal (``reveal``), each decision
(``decision``), putting an item into a case or taking it out (``case-add``, ``case-remove``).
Blurred thumbnails are not audited one by one: the queue shows dozens at a time, blurred.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from needle.access import Principal, Role, roles_for
from needle.errors import BankError, StoreError
from needle.jsonvalue import JSONObject
from needle.review import (
    CLASSIFICATIONS,
    DECISIONS,
    PRIORITY_ORDER,
    REASON_KINDS,
    BlurSettings,
    ItemNotFound,
    QueueFilter,
    ReviewError,
    ReviewItem,
    add_to_case,
    adjacent,
    case_items,
    cases,
    decide,
    effective_blur,
    media_bytes,
    org_blur,
    queue_count,
    queue_items,
    remove_from_case,
    revealed_image,
    review_item,
    set_user_blur,
    thumbnail,
)
from needle.review.blur import MAX_STRENGTH, MIN_STRENGTH
from needle.review.browse import bank_entries, bank_matches, job_view, jobs
from needle.signals.pdq import DIHEDRAL_DESCRIPTIONS
from needle.web.auth import allow
from needle.web.pages import render
from needle.web.service import Service, audit, get_service

__all__ = ["PAGE_SIZE", "audit", "blur_class", "filter_from", "off_loop", "router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
T = TypeVar("T")
_DECISION_FILTERS = {
    "open": "open (undecided, escalated, second review)",
    "undecided": "undecided",
    "decided": "decided",
    **DECISIONS,
}


async def off_loop(func: Callable[..., T], *args: object) -> T:
    """Store work off the event loop; a missing item is a 404, not a 400."""
    try:
        return await asyncio.to_thread(func, *args)
    except ItemNotFound as exc:
        raise HTTPException(404, str(exc)) from None


async def audit_item(
    service: Service, who: Principal, request: Request, action: str, file_id: int, **detail: object
) -> None:
    """One audit row for ``who`` doing ``action`` to item ``file_id``."""
    data: JSONObject = {k: v for k, v in detail.items() if isinstance(v, str | int | bool)}
    await audit(service, who, request, action, f"file:{file_id}", data)


def blur_class(blur: BlurSettings) -> str:
    """The style sheet's classes for a blur: strength rounded *up* to a step of 4 px (never
    weaker than asked), and ``colour`` only when greyscale is off."""
    step = min(MAX_STRENGTH, -(-blur.strength_px // 4) * 4)
    return f"blur-s{step}" + ("" if blur.greyscale else " colour")


def _int(value: str, what: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        raise ReviewError(f"{what} must be a number, not {value[:40]!r}")
    return int(value)


def filter_from(
    job: str = "", priority: str = "", reason: str = "", decision: str = "", case: str = ""
) -> QueueFilter:
    """A queue filter from form fields: '' means any, except for ``decision``, where '' is
    the default view ``open`` and ``all`` means any. Unknown values are refused."""
    chosen = decision.strip() or "open"
    wanted = QueueFilter(
        job=_int(job, "job"),
        priority=priority.strip() or None,
        reason=reason.strip() or None,
        decision=None if chosen == "all" else chosen,
        case=case.strip() or None,
    )
    if wanted.priority and wanted.priority not in PRIORITY_ORDER:
        raise ReviewError(f"unknown priority {wanted.priority!r}")
    if wanted.reason and wanted.reason not in REASON_KINDS:
        raise ReviewError(f"unknown reason kind {wanted.reason!r}")
    if wanted.decision and wanted.decision not in _DECISION_FILTERS:
        raise ReviewError(f"unknown decision filter {wanted.decision!r}")
    return wanted


def _query(wanted: QueueFilter, **more: int | str) -> str:
    """The query string that reproduces ``wanted`` (and ``more``), for links and redirects."""
    fields = {
        "job": "" if wanted.job is None else str(wanted.job),
        "priority": wanted.priority or "",
        "reason": wanted.reason or "",
        "decision": {None: "all", "open": ""}.get(wanted.decision, wanted.decision or ""),
        "case": wanted.case or "",
        **{k: str(v) for k, v in more.items()},
    }
    return urlencode({k: v for k, v in fields.items() if v})


class _Filter:
    """The queue's filter fields as a dependency (query string or form alike)."""

    def __init__(
        self,
        job: str = "",
        priority: str = "",
        reason: str = "",
        decision: str = "",
        case: str = "",
    ) -> None:
        self.value = filter_from(job, priority, reason, decision, case)


# -- the queue --------------------------------------------------------------------------------


@router.get("/queue", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    offset: int = 0,
    selected: _Filter = Depends(),
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> Response:
    wanted = selected.value
    offset = max(0, offset)
    items = await off_loop(queue_items, service.store, wanted, offset, PAGE_SIZE)
    total = await off_loop(queue_count, service.store, wanted)
    blur = await off_loop(effective_blur, service.store, who.name)
    org = await off_loop(org_blur, service.store)
    known_cases = await off_loop(cases, service.store)
    return render(
        request,
        "queue.html",
        who,
        items=items,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        wanted=wanted,
        query=_query(wanted),
        prev_query=_query(wanted, offset=max(0, offset - PAGE_SIZE)),
        next_query=_query(wanted, offset=offset + PAGE_SIZE),
        priorities=PRIORITY_ORDER,
        reason_kinds=REASON_KINDS,
        decision_filters=_DECISION_FILTERS,
        decisions=DECISIONS,
        classifications=CLASSIFICATIONS,
        cases=known_cases,
        blur=blur,
        blur_class=blur_class(blur),
        org_blur=org,
        strengths=[n for n in range(MIN_STRENGTH, MAX_STRENGTH + 1, 4) if n >= org.strength_px],
    )


@router.post("/queue/blur")
async def my_blur(
    request: Request,
    strength_px: Annotated[int, Form()],
    greyscale: Annotated[str, Form()] = "",
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> Response:
    """A reviewer's own blur: only ever stronger than the organisation's (else 400)."""
    chosen = await off_loop(set_user_blur, service.store, who.name, strength_px, bool(greyscale))
    await audit(service, who, request, "blur-setting", f"user:{who.name}", chosen.to_dict())
    return RedirectResponse("/queue", status_code=303)


# -- one item ---------------------------------------------------------------------------------


@router.get("/item/{file_id}", response_class=HTMLResponse)
async def item_page(
    request: Request,
    file_id: int,
    selected: _Filter = Depends(),
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> Response:
    wanted = selected.value
    item: ReviewItem = await off_loop(review_item, service.store, file_id)
    before, after = await off_loop(adjacent, service.store, file_id, wanted)
    blur = await off_loop(effective_blur, service.store, who.name)
    known_cases = await off_loop(cases, service.store)
    await audit_item(service, who, request, "view", file_id, priority=item.priority)
    return render(
        request,
        "item.html",
        who,
        item=item,
        record=item.record,
        wanted=wanted,
        query=_query(wanted),
        before=before,
        after=after,
        decisions=DECISIONS,
        classifications=CLASSIFICATIONS,
        reason_kinds=REASON_KINDS,
        cases=known_cases,
        transforms=DIHEDRAL_DESCRIPTIONS,
        blur=blur,
        blur_class=blur_class(blur),
    )


@router.get("/item/{file_id}/thumb")
async def item_thumbnail(
    file_id: int, who: Principal = allow("review"), service: Service = Depends(get_service)
) -> Response:
    item = await off_loop(review_item, service.store, file_id)
    blur = await off_loop(effective_blur, service.store, who.name)
    limits = service.settings.limits
    data = await off_loop(media_bytes, service.store, item, service.quarantine, limits)
    small = await off_loop(thumbnail, data, blur, limits)
    return Response(small, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/item/{file_id}/media")
async def item_media(
    request: Request,
    file_id: int,
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> Response:
    """The unblurred picture: only when a reviewer reveals it, audited, never cached."""
    item = await off_loop(review_item, service.store, file_id)
    limits = service.settings.limits
    try:
        data = await off_loop(media_bytes, service.store, item, service.quarantine, limits)
        shown = await off_loop(revealed_image, data, limits)
    except Exception as exc:
        await audit_item(
            service, who, request, "reveal", file_id, shown=False, error=str(exc)[:200]
        )
        raise
    await audit_item(service, who, request, "reveal", file_id, shown=True)
    return Response(
        shown,
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


@router.post("/item/{file_id}/decision")
async def item_decision(
    request: Request,
    file_id: int,
    decision: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=8000)] = "",
    classification: Annotated[str, Form(max_length=4)] = "",
    job: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    decision_filter: Annotated[str, Form()] = "",
    case: Annotated[str, Form()] = "",
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> Response:
    wanted = filter_from(job, priority, reason, decision_filter, case)
    entry = await off_loop(
        decide, service.store, file_id, decision, note, who.name, classification or None
    )
    await audit_item(
        service,
        who,
        request,
        "decision",
        file_id,
        decision=entry.decision,
        note=bool(entry.note),
        classification=entry.classification or "",
    )
    _, after = await off_loop(adjacent, service.store, file_id, wanted)
    query = _query(wanted)
    target = f"/item/{after}" if after is not None else "/queue"
    return RedirectResponse(f"{target}?{query}" if query else target, status_code=303)


@router.post("/item/{file_id}/case")
async def item_case(
    request: Request,
    file_id: int,
    name: Annotated[str, Form(max_length=400)],
    action: Annotated[str, Form()] = "add",
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> Response:
    if action == "remove":
        await off_loop(remove_from_case, service.store, name, file_id)
        await audit_item(service, who, request, "case-remove", file_id, case=name.strip()[:200])
    elif action == "add":
        await off_loop(add_to_case, service.store, name, file_id, who.name)
        await audit_item(service, who, request, "case-add", file_id, case=" ".join(name.split()))
    else:
        raise ReviewError("action is add or remove")
    return RedirectResponse(f"/item/{file_id}#cases", status_code=303)


# -- cases ------------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
async def cases_page(
    request: Request, who: Principal = allow("review"), service: Service = Depends(get_service)
) -> Response:
    return render(request, "cases.html", who, cases=await off_loop(cases, service.store))


@router.get("/cases/{name:path}", response_class=HTMLResponse)
async def case_page(
    request: Request,
    name: str,
    who: Principal = allow("review"),
    service: Service = Depends(get_service),
) -> Response:
    items = await off_loop(case_items, service.store, name)
    if not items:
        raise HTTPException(404, f"no case named {name!r}")
    blur = await off_loop(effective_blur, service.store, who.name)
    return render(
        request,
        "case.html",
        who,
        name=name,
        items=items,
        query=_query(QueueFilter(case=name)),
        decisions=DECISIONS,
        classifications=CLASSIFICATIONS,
        blur_class=blur_class(blur),
    )


# -- jobs and banks ---------------------------------------------------------------------------


@router.get("/jobs", response_class=HTMLResponse)
async def jobs_page(
    request: Request,
    offset: int = 0,
    who: Principal = allow("jobs"),
    service: Service = Depends(get_service),
) -> Response:
    offset = max(0, offset)
    listed = await off_loop(jobs, service.store, offset, PAGE_SIZE)
    return render(request, "jobs.html", who, jobs=listed, offset=offset, page_size=PAGE_SIZE)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(
    request: Request,
    job_id: int,
    who: Principal = allow("jobs"),
    service: Service = Depends(get_service),
) -> Response:
    job = await off_loop(job_view, service.store, job_id)
    if job is None:
        raise HTTPException(404, f"no scan job {job_id}")
    try:
        summary = await off_loop(service.store.summary, job_id)
    except StoreError as exc:
        raise HTTPException(404, str(exc)) from None
    return render(
        request,
        "job.html",
        who,
        job=job,
        summary=summary,
        priorities=PRIORITY_ORDER,
        may_review=who.role in roles_for("review"),
    )


@router.get("/banks", response_class=HTMLResponse)
async def banks_page(
    request: Request, who: Principal = allow("banks.read"), service: Service = Depends(get_service)
) -> Response:
    banks = await off_loop(service.store.list_banks)
    return render(
        request,
        "banks.html",
        who,
        banks=banks,
        index=service.index_status(),
        may_write=who.role is Role.ADMIN,
    )


@router.get("/banks/{name:path}", response_class=HTMLResponse)
async def bank_page(
    request: Request,
    name: str,
    offset: int = 0,
    who: Principal = allow("banks.read"),
    service: Service = Depends(get_service),
) -> Response:
    offset = max(0, offset)
    found = [b for b in await off_loop(service.store.list_banks) if b.name == name]
    if not found:
        raise HTTPException(404, str(BankError(f"no bank named {name!r}")))
    entries = await off_loop(bank_entries, service.store, name, offset, 100)
    matched = await off_loop(bank_matches, service.store, name)
    return render(
        request,
        "bank.html",
        who,
        bank=found[0],
        entries=entries,
        matched=matched,
        offset=offset,
        page_size=100,
    )
