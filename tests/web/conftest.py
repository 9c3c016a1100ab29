"""Fixtures for ``needle serve``: a service over a fresh database, a test client, accounts.

``client`` talks to the app in-process (``fastapi.testclient``); ``login(client, role)`` signs
a person of that role in and returns the session's CSRF token; ``token_for(role)`` makes an
API token. Worker processes start on first use (``warm_workers=False``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip(
    "fastapi", reason="needle serve needs the web extra: pip install needle-triage[web]"
)

from fastapi.testclient import TestClient

from needle.access import Role
from needle.web.app import create_app
from needle.web.service import Service
from needle.web.settings import ServeSettings

PASSWORD = "correct horse battery staple"


@pytest.fixture
def web_settings(tmp_path: Path, db_url: str) -> ServeSettings:
    return ServeSettings(db_url=db_url, workers=1, warm_workers=False, index_refresh_seconds=0.2)


@pytest.fixture
def service(web_settings: ServeSettings) -> Iterator[Service]:
    running = Service(web_settings)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def app(web_settings: ServeSettings, service: Service):  # type: ignore[no-untyped-def]
    return create_app(web_settings, service=service)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def make_user(service: Service) -> Callable[..., str]:
    def make(name: str, role: str | Role, password: str = PASSWORD) -> str:
        service.accounts.add_user(name, role, password)
        return name

    return make


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str | None:
    """Sign ``name`` in on ``client``; the session's CSRF token, or None when refused."""
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    answer = client.post(
        "/login",
        data={"name": name, "password": password, "csrf": token.group(1)},
        follow_redirects=False,
    )
    if answer.status_code != 303:
        return None
    page = client.get("/account")
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    return found.group(1) if found else None


@pytest.fixture
def login(service: Service) -> Callable[[TestClient, str], str]:
    """Make a user named after ``role`` (once) and sign them in; returns the CSRF token."""

    def do(client: TestClient, role: str) -> str:
        name = f"{role}-user"
        if name not in {user.name for user in service.accounts.users()}:
            service.accounts.add_user(name, role, PASSWORD)
        csrf = sign_in(client, name)
        assert csrf, f"could not sign in as {name}"
        return csrf

    return do


@pytest.fixture
def token_for(service: Service) -> Callable[[str], str]:
    made: dict[str, str] = {}

    def make(role: str) -> str:
        if role not in made:
            made[role] = service.accounts.create_token(f"{role}-token", role)
        return made[role]

    return make
