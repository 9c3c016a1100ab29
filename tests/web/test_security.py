"""CSRF, sign-in limits and lock-out, token revocation, session expiry, cookies, headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, sign_in

from needle.access import LOCKOUT_FAILURES, SESSION_IDLE_SECONDS
from needle.errors import LoginRefused
from needle.store.schema import SessionRow
from needle.web.app import create_app
from needle.web.service import Service
from needle.web.settings import ServeSettings

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "needle" / "web" / "templates"


def _login_token(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert found
    return found.group(1)


# -- CSRF ---------------------------------------------------------------------------------------


def test_a_form_without_the_sessions_csrf_token_is_refused(
    client: TestClient, login, service: Service
) -> None:  # type: ignore[no-untyped-def]
    csrf = login(client, "admin")
    form = {"name": "new-person", "role": "reviewer", "password": PASSWORD}
    missing = client.post("/admin/users", data=form, follow_redirects=False)
    wrong = client.post("/admin/users", data={**form, "csrf": "x" * 43}, follow_redirects=False)
    assert missing.status_code == wrong.status_code == 403
    assert "new-person" not in {u.name for u in service.accounts.users()}
    right = client.post("/admin/users", data={**form, "csrf": csrf}, follow_redirects=False)
    assert right.status_code == 303
    assert "new-person" in {u.name for u in service.accounts.users()}


def test_csrf_header_serves_script_requests_and_tokens_need_none(
    client: TestClient, login, token_for
) -> None:  # type: ignore[no-untyped-def]
    csrf = login(client, "admin")
    assert client.post("/admin/tokens/nope/revoke", follow_redirects=False).status_code == 403
    # with the header the request gets past the guard (and fails on its input: no such token)
    answer = client.post(
        "/admin/tokens/nope/revoke", headers={"X-CSRF-Token": csrf}, follow_redirects=False
    )
    assert answer.status_code == 400 and "no token named" in answer.text
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token_for('admin')}"}
    answer = client.post("/admin/tokens/nope/revoke", headers=bearer, follow_redirects=False)
    assert answer.status_code == 400


def test_the_sign_in_form_has_its_own_csrf_check(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("carol", "reviewer")
    client.get("/login")
    forged = client.post(
        "/login",
        data={"name": "carol", "password": PASSWORD, "csrf": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "needle_session" not in forged.cookies


# -- sign-in limits -----------------------------------------------------------------------------


def test_sign_ins_from_one_address_are_rate_limited(client: TestClient, service: Service) -> None:
    token = _login_token(client)
    codes = [
        client.post(
            "/login",
            data={"name": f"who{i}", "password": "wrong password!", "csrf": token},
            follow_redirects=False,
        ).status_code
        for i in range(service.login_limiter.attempts + 2)
    ]
    assert codes[: service.login_limiter.attempts] == [401] * service.login_limiter.attempts
    assert codes[-1] == 429
    throttled = client.post(
        "/login", data={"name": "x", "password": "y", "csrf": token}, follow_redirects=False
    )
    assert int(throttled.headers["retry-after"]) >= 1
    assert [e.action for e in service.audit.entries(action="login-throttled")]


def test_an_account_locks_after_repeated_failures_and_opens_later(
    service: Service, make_user
) -> None:  # type: ignore[no-untyped-def]
    make_user("dave", "analyst")
    now = datetime.now(UTC)
    for _ in range(LOCKOUT_FAILURES):
        with pytest.raises(LoginRefused):
            service.accounts.authenticate("dave", "not the password", now=now)
    with pytest.raises(LoginRefused) as locked:
        service.accounts.authenticate("dave", PASSWORD, now=now + timedelta(minutes=1))
    assert locked.value.reason == "locked"
    # the same public message whatever the cause: nothing tells a guesser the account exists
    assert str(locked.value) == LoginRefused.PUBLIC_MESSAGE
    assert (
        service.accounts.authenticate("dave", PASSWORD, now=now + timedelta(hours=1)).name == "dave"
    )


def test_failed_and_good_sign_ins_are_audited(
    client: TestClient, service: Service, make_user
) -> None:  # type: ignore[no-untyped-def]
    make_user("erin", "reviewer")
    token = _login_token(client)
    client.post("/login", data={"name": "erin", "password": "wrong password!", "csrf": token})
    assert sign_in(client, "erin")
    actions = [(e.action, e.target, e.detail.get("reason")) for e in service.audit.entries()]
    assert ("login-failed", "erin", "bad-credentials") in actions
    assert ("login", "erin", None) in actions


def test_next_never_leads_off_site(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("fay", "reviewer")
    for target in ("//evil.example/x", "https://evil.example/", "/account"):
        token = _login_token(client)
        answer = client.post(
            "/login",
            data={"name": "fay", "password": PASSWORD, "csrf": token, "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == ("/account" if target == "/account" else "/queue")


# -- tokens and sessions ------------------------------------------------------------------------


def test_a_token_revoked_on_the_admin_page_is_refused_at_once(
    client: TestClient, login, service: Service
) -> None:  # type: ignore[no-untyped-def]
    secret = service.accounts.create_token("pipeline", "admin")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/audit", headers=bearer).status_code == 200
    csrf = login(client, "admin")
    assert (
        client.post(
            "/admin/tokens/pipeline/revoke", data={"csrf": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    client.cookies.clear()
    assert client.get("/v1/audit", headers=bearer).status_code == 401
    (token,) = [t for t in service.accounts.tokens() if t.prefix == secret[:10]]
    assert token.revoked_at is not None and token.last_used_at is not None


def test_a_token_revoked_elsewhere_is_refused_once_the_cache_has_lapsed(
    web_settings: ServeSettings,
) -> None:
    from dataclasses import replace

    settings = replace(web_settings, token_cache_seconds=0.0)
    service = Service(settings)
    service.start()
    try:
        with TestClient(create_app(settings, service=service)) as client:
            secret = service.accounts.create_token("cli-made", "api")
            assert client.get("/openapi.json", headers={"X-API-Key": secret}).status_code == 200
            service.accounts.revoke_token("cli-made")  # what `needle token revoke` does
            assert client.get("/openapi.json", headers={"X-API-Key": secret}).status_code == 401
    finally:
        service.stop()


def test_an_idle_session_expires(client: TestClient, login, service: Service) -> None:  # type: ignore[no-untyped-def]
    login(client, "reviewer")
    assert client.get("/account").status_code == 200
    with service.store.engine.begin() as connection:
        connection.execute(
            sa.update(SessionRow).values(
                last_seen_at=datetime.now(UTC) - timedelta(seconds=SESSION_IDLE_SECONDS + 5)
            )
        )
    answer = client.get("/account", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    with service.store.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(SessionRow)) == 0


def test_a_session_ends_at_its_maximum_age_and_at_sign_out(service: Service, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("gus", "reviewer")
    secret, who = service.accounts.open_session("gus")
    assert service.accounts.session(secret) == who
    later = datetime.now(UTC) + timedelta(hours=13)
    assert service.accounts.session(secret, now=later) is None
    secret, who = service.accounts.open_session("gus")
    assert who.session_id
    service.accounts.close_session(who.session_id)
    assert service.accounts.session(secret) is None


def test_disabling_a_person_ends_their_sessions(service: Service, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("hal", "reviewer")
    secret, _ = service.accounts.open_session("hal")
    service.accounts.set_disabled("hal", True)
    assert service.accounts.session(secret) is None
    with pytest.raises(LoginRefused):
        service.accounts.authenticate("hal", PASSWORD)


def test_secrets_are_not_stored(service: Service, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ivy", "reviewer")
    secret = service.accounts.create_token("t", "api")
    session_secret, _ = service.accounts.open_session("ivy")
    with service.store.engine.connect() as connection:
        dump = " ".join(
            str(row)
            for table in ("app_user", "api_token", "web_session")
            for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
        )
    assert PASSWORD not in dump and secret not in dump and session_secret not in dump
    assert "$argon2id$" in dump


# -- cookies and headers ------------------------------------------------------------------------


def test_session_cookie_flags(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("jo", "reviewer")
    token = _login_token(client)
    answer = client.post(
        "/login", data={"name": "jo", "password": PASSWORD, "csrf": token}, follow_redirects=False
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "needle_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie.replace("needle_session", "")


def test_cookies_are_secure_behind_https(
    web_settings: ServeSettings, service: Service, make_user
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    settings = replace(web_settings, https=True)
    make_user("kim", "reviewer")
    with TestClient(create_app(settings, service=service), base_url="https://testserver") as client:
        token = _login_token(client)
        answer = client.post(
            "/login",
            data={"name": "kim", "password": PASSWORD, "csrf": token},
            follow_redirects=False,
        )
        assert "secure" in answer.headers["set-cookie"].lower()
        assert "max-age" in answer.headers["strict-transport-security"]


@pytest.mark.parametrize("path", ["/login", "/v1/audit", "/static/needle.css"])
def test_security_headers_on_every_answer(client: TestClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-content-type-options"] == "nosniff"
    if not path.startswith("/static/"):
        assert answer.headers["cache-control"] == "no-store"


def test_templates_hold_no_inline_script_or_style() -> None:
    offenders = []
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{template.name}: inline <script>")
        if re.search(r"<style\b|\sstyle=", text):
            offenders.append(f"{template.name}: inline style")
        if re.search(r"\son[a-z]+=", text):
            offenders.append(f"{template.name}: inline event handler")
    assert not offenders, offenders


def test_errors_on_api_paths_are_json_with_a_message(client: TestClient, token_for) -> None:  # type: ignore[no-untyped-def]
    answer = client.get(
        "/v1/audit?limit=0", headers={"Authorization": f"Bearer {token_for('admin')}"}
    )
    assert answer.status_code == 422 and "limit" in answer.json()["message"]
    assert client.get("/v1/no-such-route").json() == {"message": "Not Found"}


def test_the_organisation_blur_is_set_by_admins_and_audited(
    client: TestClient, login, service: Service
) -> None:  # type: ignore[no-untyped-def]
    from needle.review import org_blur

    csrf = login(client, "admin")
    assert 'name="strength_px"' in client.get("/admin/settings").text
    answer = client.post(
        "/admin/settings",
        data={"csrf": csrf, "strength_px": "40", "greyscale": "true"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert org_blur(service.store).strength_px == 40
    too_weak = client.post(
        "/admin/settings", data={"csrf": csrf, "strength_px": "1"}, follow_redirects=False
    )
    assert too_weak.status_code == 400 and org_blur(service.store).strength_px == 40
    assert [e.detail for e in service.audit.entries(action="settings")] == [
        {"strength_px": "40", "greyscale": "True"}
    ]
