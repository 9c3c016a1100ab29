"""The authorisation matrix: every route of the app × every role, and nobody, gets exactly the
access ``needle.access.PERMISSIONS`` gives it.

The routes come from the app's own route table and must each have a rule in ``RULES`` below,
written here by hand, independently of the guards in the code: a new route without a rule
fails (``test_every_route_has_a_rule``), a route whose guard names another permission than
its rule fails, and the matrix drives every route as every role by the rule, so a guard that
admits the wrong roles fails too. Requests carry no body: a refused request must be refused
before any work, and an admitted one must not be refused for its role (it may still be 404 or
422 for its input).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount
from tests.web.conftest import sign_in

from needle.access import PERMISSIONS, Role
from needle.web.app import is_api_path
from needle.web.auth import guard_of

#: METHOD PATH PERMISSION (public: anyone) — one line per route of the app
RULES_TEXT = """
GET / public
GET /login public
POST /login public
POST /logout status
GET /account status
GET /docs status
GET /openapi.json status
GET /admin users
POST /admin/users users
POST /admin/users/{name}/disable users
POST /admin/users/{name}/enable users
POST /admin/tokens users
POST /admin/tokens/{name}/revoke users
GET /admin/audit audit
GET /admin/audit/export audit
GET /v1/audit audit
GET /v1/audit/verify audit
GET /admin/settings settings
POST /admin/settings settings
GET /v1/status status
POST /v1/scan scan
GET /v1/lookup scan
GET /v1/banks banks.read
GET /v1/banks/{name} banks.read
POST /v1/banks banks.write
POST /v1/banks/{name}/import banks.write
POST /v1/banks/{name}/entries banks.write
DELETE /v1/banks/{name} banks.write
POST /v1/jobs jobs
GET /v1/jobs jobs
GET /v1/jobs/{job_id} jobs
POST /v1/jobs/{job_id}/cancel jobs
POST /v1/jobs/{job_id}/resume jobs
GET /h/hash hma
POST /h/hash hma
GET /m/raw_lookup hma
GET /m/lookup hma
POST /m/lookup hma
GET /m/index/status hma
POST /m/compare hma
GET /c/banks hma
POST /c/banks hma
GET /c/bank/{bank_name} hma
PUT /c/bank/{bank_name} hma
DELETE /c/bank/{bank_name} hma
POST /c/bank/{bank_name}/content hma
POST /c/bank/{bank_name}/signal hma
GET /c/bank/{bank_name}/content/{content_id} hma
DELETE /c/bank/{bank_name}/content/{content_id} hma
GET /queue review
POST /queue/blur review
GET /item/{file_id} review
GET /item/{file_id}/thumb review
GET /item/{file_id}/media review
POST /item/{file_id}/decision review
POST /item/{file_id}/case review
GET /cases review
GET /cases/{name:path} review
GET /jobs jobs
GET /reports reports
GET /reports/ncmec/case/{name:path} reports
POST /reports/ncmec/case/{name:path}/account reports
POST /reports/ncmec/case/{name:path}/preview reports
POST /reports/ncmec/case/{name:path}/send reports
GET /reports/submissions/{submission_id} reports
GET /reports/vics reports
GET /reports/triage/{job_id}/{kind} reports
GET /jobs/{job_id} jobs
GET /banks banks.read
GET /banks/{name:path} banks.read
GET /v1/review/items review
GET /v1/review/items/{file_id} review
POST /v1/review/items/{file_id}/decision review
POST /v1/guard/prompt genguard
POST /v1/guard/input genguard
POST /v1/guard/output genguard
POST /v1/stamp genguard
POST /v1/guard/training-set genguard
POST /v1/trace genguard
GET /v1/guard/accounts genguard
GET /generation/accounts genguard.accounts
"""
RULES: dict[tuple[str, str], str | None] = {
    (method, path): (None if permission == "public" else permission)
    for method, path, permission in (line.split() for line in RULES_TEXT.strip().splitlines())
}

#: mounts that serve files anyone may read (style sheets, scripts, Swagger UI's files)
PUBLIC_MOUNTS = {"/static", "/static/swagger"}
ROLE_REFUSAL = re.compile(r"role may not do this")


def _routes(app) -> Iterator[tuple[str, str, object]]:  # type: ignore[no-untyped-def]
    """(method, path, route context) for every endpoint of the app."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            continue
        for method in sorted(context.methods or ()):
            if method == "HEAD":
                continue
            yield method, str(context.path), context


def _guard(context) -> tuple[bool, str | None]:  # type: ignore[no-untyped-def]
    calls: list[object] = []

    def walk(dependant) -> None:  # type: ignore[no-untyped-def]
        for sub in dependant.dependencies:
            calls.append(sub.call)
            walk(sub)

    walk(context.dependant)
    return guard_of(calls)


def _rule(method: str, path: str) -> str | None:
    return RULES[(method, path)]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "1" if "id" in m.group(0) else "NO_SUCH_THING", path)


def test_every_route_has_a_guard(app) -> None:  # type: ignore[no-untyped-def]
    unguarded = [f"{m} {p}" for m, p, c in _routes(app) if not _guard(c)[0]]
    assert not unguarded, f"routes without allow(...) or public(): {unguarded}"
    mounts = {r.path for r in app.routes if isinstance(r, Mount)}
    assert mounts <= PUBLIC_MOUNTS, f"mounts nobody reviewed: {mounts - PUBLIC_MOUNTS}"


def test_every_route_has_a_rule(app) -> None:  # type: ignore[no-untyped-def]
    seen = {(m, p) for m, p, _ in _routes(app)}
    assert not seen - RULES.keys(), f"routes without a rule in RULES: {sorted(seen - RULES.keys())}"
    assert not RULES.keys() - seen, f"rules for routes that are gone: {sorted(RULES.keys() - seen)}"
    for permission in RULES.values():
        assert permission is None or permission in PERMISSIONS


def test_each_guard_names_its_rule(app) -> None:  # type: ignore[no-untyped-def]
    wrong = [
        f"{m} {p}: guard {_guard(c)[1]!r}, rule {RULES.get((m, p))!r}"
        for m, p, c in _routes(app)
        if (m, p) in RULES and _guard(c)[1] != RULES[(m, p)]
    ]
    assert not wrong, wrong


def _expect(permission: str | None, role: Role | None) -> str:
    if permission is None:
        return "public"
    if role is None:
        return "anonymous"
    return "allowed" if role in PERMISSIONS[permission] else "refused"


def _check(answer, path: str, expect: str, label: str) -> None:  # type: ignore[no-untyped-def]
    body = answer.text[:300]
    if expect == "anonymous":
        if is_api_path(path):
            assert answer.status_code == 401, f"{label}: {answer.status_code} {body}"
            assert "message" in answer.json()
        else:
            assert answer.status_code == 303, f"{label}: {answer.status_code} {body}"
            assert answer.headers["location"].startswith("/login")
    elif expect == "refused":
        assert answer.status_code == 403, f"{label}: {answer.status_code} {body}"
        assert ROLE_REFUSAL.search(answer.text), f"{label}: {body}"
    else:  # allowed or public: whatever the input earns, never a refusal for who is asking
        assert answer.status_code != 401, f"{label}: {answer.status_code} {body}"
        assert not ROLE_REFUSAL.search(answer.text), f"{label}: {body}"


def _send(client: TestClient, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.request(method, path, headers=headers, follow_redirects=False)


def _ordered(app) -> list[tuple[str, str, object]]:  # type: ignore[no-untyped-def]
    # signing out ends the session the rest of the matrix uses: it goes last
    return sorted(_routes(app), key=lambda r: (r[1] == "/logout", r[1], r[0]))


def test_matrix_for_tokens_and_nobody(
    app, client: TestClient, token_for: Callable[[str], str]
) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for method, path, _context in _ordered(app):
        permission = _rule(method, path)
        url = _concrete(path)
        _check(
            _send(client, method, url, {}),
            url,
            _expect(permission, None),
            f"nobody {method} {path}",
        )
        for role in Role:
            headers = {"Authorization": f"Bearer {token_for(role.value)}"}
            _check(
                _send(client, method, url, headers),
                url,
                _expect(permission, role),
                f"{role} token {method} {path}",
            )
            checked += 1
    assert checked >= 4 * 10


@pytest.mark.parametrize("role", list(Role))
def test_matrix_for_signed_in_people(app, client: TestClient, role: Role, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(f"person-{role}", role)
    csrf = sign_in(client, f"person-{role}")
    assert csrf
    for method, path, _context in _ordered(app):
        permission = _rule(method, path)
        url = _concrete(path)
        headers = {"X-CSRF-Token": csrf}
        _check(
            _send(client, method, url, headers),
            url,
            _expect(permission, role),
            f"{role} session {method} {path}",
        )


def test_api_key_header_works_like_bearer(client: TestClient, token_for) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/v1/audit", headers={"X-API-Key": token_for("admin")}).status_code == 200
    assert client.get("/v1/audit", headers={"X-API-Key": token_for("api")}).status_code == 403
    assert client.get("/v1/audit", headers={"X-API-Key": "ndl_not-a-token"}).status_code == 401
