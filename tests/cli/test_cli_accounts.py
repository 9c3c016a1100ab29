"""needle user / token: accounts from the command line, each change audited."""

from __future__ import annotations

import io

import pytest

from conftest import run_cli
from needle.access import Accounts
from needle.audit import AuditLog
from needle.store import Store


def test_user_add_list_and_token_lifecycle(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "n.db")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code, out, _ = run_cli(
        capsys, "user", "add", "ann", "--role", "reviewer", "--password-stdin", "--db", db
    )
    assert code == 0 and "added ann (reviewer)" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run_cli(
        capsys, "user", "add", "bob", "--role", "admin", "--password-stdin", "--db", db
    )
    assert code == 3 and "at least 12" in err
    code, _, err = run_cli(
        capsys, "user", "add", "cy", "--role", "boss", "--password-stdin", "--db", db
    )
    assert code == 2 and "boss" in err
    code, out, _ = run_cli(capsys, "token", "create", "uploads", "--db", db)
    secret = out.strip()
    assert code == 0 and secret.startswith("ndl_")
    with Store(db) as store:
        assert Accounts(store.engine).verify_token(secret) is not None
    code, _, _ = run_cli(capsys, "token", "revoke", "uploads", "--db", db)
    assert code == 0
    code, out, _ = run_cli(capsys, "token", "list", "--db", db)
    assert "revoked" in out and secret not in out
    with Store(db) as store:
        assert Accounts(store.engine).verify_token(secret) is None
        actions = [e.action for e in AuditLog(store.engine).entries()]
    assert actions == ["user-add", "token-create", "token-revoke"]
    code, out, _ = run_cli(capsys, "user", "list", "--db", db)
    assert "ann" in out and "reviewer" in out and "never" in out


def test_serve_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "serve", "--help")
    text = " ".join(out.split())
    assert (
        code == 0
        and "needle user add" in text
        and "--quarantine" in text
        and "--fetch-host" in text
    )
