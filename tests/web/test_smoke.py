from __future__ import annotations

from fastapi.testclient import TestClient


def test_login_and_account(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    csrf = login(client, "reviewer")
    page = client.get("/account")
    assert page.status_code == 200 and "reviewer-user" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303
