"""Administration pages: people and API tokens, the audit log (read, verify, export).

Every change made here is itself written to the audit log. A new token's secret is shown once,
on the page that answers its creation, and never again.
"""

from __future__ import annotations

import asyncio
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from needle.access import Principal, Role
from needle.web.auth import allow
from needle.web.pages import render
from needle.web.service import Service, audit, get_service

__all__ = ["router"]

router = APIRouter()
_PAGE = 200


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
async def admin_home(
    request: Request,
    who: Principal = allow("users"),
    service: Service = Depends(get_service),
) -> Response:
    users = await asyncio.to_thread(service.accounts.users)
    tokens = await asyncio.to_thread(service.accounts.tokens)
    return render(
        request, "admin.html", who, users=users, tokens=tokens, roles=list(Role), secret=None
    )


@router.post("/admin/users", include_in_schema=False)
async def add_user(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    role: Annotated[Role, Form()],
    password: Annotated[str, Form(max_length=1000)],
    who: Principal = allow("users"),
    service: Service = Depends(get_service),
) -> Response:
    await asyncio.to_thread(service.accounts.add_user, name, role, password)
    await audit(service, who, request, "user-add", name, role=role.value)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users/{name}/disable", include_in_schema=False)
async def disable_user(
    request: Request,
    name: str,
    who: Principal = allow("users"),
    service: Service = Depends(get_service),
) -> Response:
    await asyncio.to_thread(service.accounts.set_disabled, name, True)
    await audit(service, who, request, "user-disable", name)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users/{name}/enable", include_in_schema=False)
async def enable_user(
    request: Request,
    name: str,
    who: Principal = allow("users"),
    service: Service = Depends(get_service),
) -> Response:
    await asyncio.to_thread(service.accounts.set_disabled, name, False)
    await audit(service, who, request, "user-enable", name)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/tokens", response_class=HTMLResponse, include_in_schema=False)
async def create_token(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    role: Annotated[Role, Form()] = Role.API,
    who: Principal = allow("users"),
    service: Service = Depends(get_service),
) -> Response:
    secret = await asyncio.to_thread(service.accounts.create_token, name, role)
    await audit(service, who, request, "token-create", name, role=role.value)
    users = await asyncio.to_thread(service.accounts.users)
    tokens = await asyncio.to_thread(service.accounts.tokens)
    return render(
        request,
        "admin.html",
        who,
        users=users,
        tokens=tokens,
        roles=list(Role),
        secret=(name, secret),
    )


@router.post("/admin/tokens/{name}/revoke", include_in_schema=False)
async def revoke_token(
    request: Request,
    name: str,
    who: Principal = allow("users"),
    service: Service = Depends(get_service),
) -> Response:
    await asyncio.to_thread(service.accounts.revoke_token, name)
    service.forget_tokens()
    await audit(service, who, request, "token-revoke", name)
    return RedirectResponse("/admin", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
async def audit_page(
    request: Request,
    action: Annotated[str | None, Query(max_length=60)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    who: Principal = allow("audit"),
    service: Service = Depends(get_service),
) -> Response:
    entries = await asyncio.to_thread(
        service.audit.entries,
        action=action or None,
        actor=actor or None,
        limit=_PAGE,
        newest_first=True,
    )
    breaks = await asyncio.to_thread(service.audit.verify)
    await audit(service, who, request, "audit-read", "audit")
    return render(
        request,
        "audit.html",
        who,
        entries=entries,
        breaks=breaks,
        action=action or "",
        actor=actor or "",
    )


@router.get("/admin/audit/export", include_in_schema=False)
async def audit_export(
    request: Request, who: Principal = allow("audit"), service: Service = Depends(get_service)
) -> Response:
    out = io.StringIO()
    head = await asyncio.to_thread(service.audit.export_jsonl, out)
    await audit(service, who, request, "audit-export", "audit", head=head)
    return Response(
        out.getvalue(),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": 'attachment; filename="needle-audit.jsonl"',
            "X-Audit-Head": head,
        },
    )


@router.get("/v1/audit")
async def audit_json(
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    who: Principal = allow("audit"),
    service: Service = Depends(get_service),
) -> Response:
    """Audit rows after ``after`` (a ``seq``), oldest first, and whether the chain verifies."""
    entries = await asyncio.to_thread(service.audit.entries, after=after, limit=limit)
    await audit(service, who, request, "audit-export", "audit", after=str(after))
    return JSONResponse({"entries": [entry.to_dict() for entry in entries]})


@router.get("/v1/audit/verify")
async def audit_verify(
    who: Principal = allow("audit"), service: Service = Depends(get_service)
) -> Response:
    breaks = await asyncio.to_thread(service.audit.verify)
    return JSONResponse(
        {
            "intact": not breaks,
            "breaks": [{"seq": b.seq, "kind": b.kind, "message": b.message} for b in breaks],
        }
    )


@router.get("/admin/settings", response_class=HTMLResponse, include_in_schema=False)
async def settings_page(
    request: Request, who: Principal = allow("settings"), service: Service = Depends(get_service)
) -> Response:
    from needle.review import org_blur
    from needle.review.blur import MAX_STRENGTH, MIN_STRENGTH

    blur = await asyncio.to_thread(org_blur, service.store)
    return render(
        request,
        "settings.html",
        who,
        blur=blur,
        min_strength=MIN_STRENGTH,
        max_strength=MAX_STRENGTH,
    )


@router.post("/admin/settings", include_in_schema=False)
async def save_settings(
    request: Request,
    strength_px: Annotated[int, Form()],
    greyscale: Annotated[bool, Form()] = False,
    who: Principal = allow("settings"),
    service: Service = Depends(get_service),
) -> Response:
    """The organisation's blur: reviewers may make their own stronger, never weaker."""
    from needle.review import set_org_blur

    blur = await asyncio.to_thread(set_org_blur, service.store, strength_px, greyscale)
    await audit(
        service,
        who,
        request,
        "settings",
        "review.blur",
        strength_px=str(blur.strength_px),
        greyscale=str(blur.greyscale),
    )
    return RedirectResponse("/admin/settings", status_code=303)


@router.get("/generation/accounts", response_class=HTMLResponse, include_in_schema=False)
async def flagged_accounts(
    request: Request,
    hours: Annotated[float | None, Query(gt=0, le=24 * 365)] = None,
    who: Principal = allow("genguard.accounts"),
    service: Service = Depends(get_service),
) -> Response:
    """Accounts of a generation service with repeated blocked requests (``needle.genguard``)."""
    flagged = await asyncio.to_thread(service.flagged_accounts, hours)
    return render(request, "generation_accounts.html", who, flagged=flagged)
