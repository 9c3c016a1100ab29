"""The ``needle serve`` application: routers, guards, error answers, headers.

``create_app(settings)`` builds it; the lifespan opens the ``Service`` (database migrated,
bank index built, worker processes started) before the first request and closes it after the
last one (uvicorn waits for requests in flight on SIGTERM/Ctrl-C: a graceful stop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from needle.errors import AccessError, BankError, MediaError, NeedleError, StoreError
from needle.web.auth import Forbidden, NotSignedIn
from needle.web.pages import STATIC, render_error
from needle.web.security import SecurityHeaders
from needle.web.service import FetchRefused, GuardNotConfigured, Overloaded, Service
from needle.web.settings import ServeSettings

__all__ = ["API_PREFIXES", "create_app", "is_api_path"]

#: paths answered in JSON (machine clients); everything else is a page for people
API_PREFIXES = ("/v1/", "/h/", "/m/", "/c/", "/openapi.json")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def _status_of(exc: NeedleError) -> int:
    if isinstance(exc, NotSignedIn):
        return 401
    if isinstance(exc, Forbidden | FetchRefused):
        return 403
    if isinstance(exc, Overloaded | GuardNotConfigured):
        return 503
    if isinstance(exc, MediaError):
        return 422
    if isinstance(exc, BankError | AccessError | StoreError):
        return 404 if "no bank named" in str(exc) or "no user named" in str(exc) else 400
    return 400


def _answer(request: Request, status: int, message: str, *, retry: bool = True) -> Response:
    if is_api_path(request.url.path):
        headers = {"Retry-After": "1"} if status == 503 and retry else None
        return JSONResponse({"message": message}, status_code=status, headers=headers)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return render_error(request, status, message)


def create_app(settings: ServeSettings | None = None, *, service: Service | None = None) -> FastAPI:
    """The app; ``service`` lets a test hand in one it has opened already."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = service is None
        running = service or Service(settings)
        if own:
            running.start()
        app.state.service = running
        try:
            yield
        finally:
            if own:
                running.stop()

    app = FastAPI(
        title="needle",
        summary="Match media against hash lists, score novel content, review and audit.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    if service is not None:
        app.state.service = service

    @app.exception_handler(NeedleError)
    async def needle_error(request: Request, exc: NeedleError) -> Response:
        # a guard that is not configured stays so until an operator acts: no Retry-After
        retry = not isinstance(exc, GuardNotConfigured)
        return _answer(request, _status_of(exc), str(exc), retry=retry)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = _answer(request, exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in exc.errors()
        )
        return _answer(request, 422, f"invalid request: {problems}")

    from needle.web import admin, api, genguard, hma, pages, reports, review_api, ui

    # the generation guard's routes are always there (answering 503 while no ledger key is
    # configured): the API documentation and the authorisation matrix see one route table
    for module in (pages, api, hma, review_api, ui, admin, reports, genguard):
        app.include_router(module.router)
    _mount_swagger(app)  # before /static, which would otherwise answer for it
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders, https=settings.https)
    return app


def _mount_swagger(app: FastAPI) -> None:
    try:
        import swagger_ui_bundle
    except ImportError:  # the API documentation page says so instead
        return
    app.mount(
        "/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger"
    )
