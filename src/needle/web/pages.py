"""The pages every role shares: sign-in and sign-out, one's account, the API documentation,
and the error page. Templates live in ``needle/web/templates`` (Jinja2, autoescaped; no inline
script or style: the CSP forbids them), static files in ``needle/web/static``.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from needle.access import Principal, Role
from needle.errors import LoginRefused
from needle.web.auth import SESSION_COOKIE, allow, public
from needle.web.security import same_token
from needle.web.service import Service, client_ip, get_service

__all__ = ["STATIC", "TEMPLATES", "home_of", "render", "render_error", "router"]

STATIC = Path(__file__).with_name("static")
TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
LOGIN_CSRF_COOKIE = "needle_login_csrf"

router = APIRouter(include_in_schema=False)


def home_of(role: Role) -> str:
    """Where a role lands after signing in."""
    return {
        Role.REVIEWER: "/queue",
        Role.ANALYST: "/jobs",
        Role.ADMIN: "/admin",
        Role.API: "/account",
    }[role]


def render(
    request: Request, template: str, who: Principal | None, status: int = 200, **context: object
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "who": who,
            "csrf": who.csrf if who else None,
            "home": home_of(who.role) if who else "/login",
            **context,
        },
        status_code=status,
    )


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    who: Principal | None = getattr(request.state, "principal", None)
    return render(request, "error.html", who, status=status, status_code=status, message=message)


def _local(target: str | None) -> str | None:
    """``next=`` only ever leads to a path on this site (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@router.get("/", response_class=HTMLResponse)
async def index(who: Principal | None = public()) -> Response:
    return RedirectResponse(home_of(who.role) if who else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, next: str | None = None, who: Principal | None = public()
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, login_csrf=token, next=_local(next) or "", error=None
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.https,
        path="/login",
        max_age=3600,
    )
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    service: Service = Depends(get_service),
    _who: Principal | None = public(),
) -> Response:
    ip = client_ip(request)
    wait = service.login_limiter.hit(ip)
    if wait:
        await asyncio.to_thread(
            service.audit.append,
            name,
            "",
            "login-throttled",
            name,
            ip,
            {"retry_after": round(wait)},
        )
        response = render(
            request,
            "login.html",
            None,
            status=429,
            login_csrf=csrf,
            next=_local(next) or "",
            error=f"too many sign-in attempts from this address: wait {max(1, round(wait))} s",
        )
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response
    if not same_token(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return render(
            request,
            "login.html",
            None,
            status=403,
            login_csrf=csrf,
            next=_local(next) or "",
            error="the sign-in form was out of date: try again",
        )
    try:
        user = await asyncio.to_thread(service.accounts.authenticate, name, password)
    except LoginRefused as refused:
        await asyncio.to_thread(
            service.audit.append, name, "", "login-failed", name, ip, {"reason": refused.reason}
        )
        return render(
            request,
            "login.html",
            None,
            status=401,
            login_csrf=csrf,
            next=_local(next) or "",
            error=str(refused),
        )
    secret, _session = await asyncio.to_thread(service.accounts.open_session, user.name, ip=ip)
    await asyncio.to_thread(
        service.audit.append, user.name, user.role.value, "login", user.name, ip
    )
    done = RedirectResponse(_local(next) or home_of(user.role), status_code=303)
    done.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.https,
        path="/",
    )
    done.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return done


@router.post("/logout")
async def logout(
    request: Request, who: Principal = allow("status"), service: Service = Depends(get_service)
) -> Response:
    if who.session_id:
        await asyncio.to_thread(service.accounts.close_session, who.session_id)
        await asyncio.to_thread(
            service.audit.append, who.name, who.role.value, "logout", who.name, client_ip(request)
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, who: Principal = allow("status")) -> Response:
    return render(request, "account.html", who)


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request, who: Principal = allow("status")) -> Response:
    return render(request, "docs.html", who)


@router.get("/openapi.json")
async def openapi(request: Request, who: Principal = allow("status")) -> Response:
    return JSONResponse(request.app.openapi())
