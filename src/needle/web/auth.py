"""Route guards: every route of ``needle serve`` declares exactly one.

``allow("permission")`` admits the roles that ``needle.access.PERMISSIONS`` gives that
permission and returns the ``Principal``; ``public()`` admits anyone (the sign-in page, static
files). The authorisation-matrix test reads each route's guard from the app's route table and
drives the route as every role and as nobody, so a route without a guard fails it.

Who is asking: ``Authorization: Bearer TOKEN`` or ``X-API-Key: TOKEN`` (machine clients), or
the session cookie (people). A request by cookie that changes something (POST, PUT, PATCH,
DELETE) must carry the session's CSRF token, as the form field ``csrf`` or the header
``X-CSRF-Token``; token clients need none (a browser does not send their header by itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import Depends, Request

from needle.access import Principal, roles_for
from needle.errors import NeedleError
from needle.web.security import same_token
from needle.web.service import Service, get_service

__all__ = [
    "SESSION_COOKIE",
    "CsrfFailed",
    "Forbidden",
    "NotSignedIn",
    "allow",
    "guard_of",
    "public",
    "who_is_asking",
]

SESSION_COOKIE = "needle_session"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(NeedleError):
    """No valid token or session: 401 (API) or a redirect to the sign-in page (pages)."""


class Forbidden(NeedleError):
    """Signed in, but the role does not hold the permission: 403."""


class CsrfFailed(Forbidden):
    """A cookie-authenticated change without the session's CSRF token: 403."""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


async def who_is_asking(request: Request, service: Service) -> Principal | None:
    """The token's or the session's principal, or None."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    if token is not None:
        principal = service.token_principal(token)
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        principal = await asyncio.to_thread(service.accounts.session, secret) if secret else None
    if principal is not None:
        request.state.principal = principal
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette keeps it: the route reads the same form
        request.state.needle_form = form
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not same_token(given, principal.csrf):
        raise CsrfFailed(
            "this form is out of date or did not come from this site: reload the page and try again"
        )


async def _close_form(request: Request) -> None:
    # a form parsed for its CSRF field holds spooled files; a route without form fields of its
    # own would never close them (closing twice is harmless)
    form = getattr(request.state, "needle_form", None)
    if form is not None:
        await form.close()


Guard = Callable[..., Awaitable[Principal | None]]


def allow(permission: str) -> Principal:
    """A route parameter default (or ``dependencies=[...]`` entry) admitting ``permission``."""
    roles = roles_for(permission)

    async def guard(
        request: Request, service: Service = Depends(get_service)
    ) -> AsyncIterator[Principal]:
        principal = await who_is_asking(request, service)
        if principal is None:
            raise NotSignedIn("sign in, or send an API token (Authorization: Bearer TOKEN)")
        if principal.role not in roles:
            raise Forbidden(f"the {principal.role} role may not do this ({permission})")
        if principal.kind == "user" and request.method not in _SAFE:
            try:
                await _check_csrf(request, principal)
            except CsrfFailed:
                await _close_form(request)
                raise
            try:
                yield principal
            finally:
                await _close_form(request)
            return
        yield principal

    guard.needle_permission = permission  # type: ignore[attr-defined]
    result: Principal = Depends(guard)
    return result


def public() -> Principal | None:
    """A route parameter default admitting anyone; gives the principal when there is one."""

    async def guard(request: Request, service: Service = Depends(get_service)) -> Principal | None:
        return await who_is_asking(request, service)

    guard.needle_permission = None  # type: ignore[attr-defined]
    result: Principal | None = Depends(guard)
    return result


def guard_of(dependant_calls: list[object]) -> tuple[bool, str | None]:
    """(has a guard, its permission) among a route's dependency callables (for the tests)."""
    for call in dependant_calls:
        if hasattr(call, "needle_permission"):
            return True, call.needle_permission
    return False, None
