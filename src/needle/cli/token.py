"""``needle token``: API tokens for machine clients (HMA clients, upload pipelines)."""

from __future__ import annotations

import typer

from needle.access import Accounts, Role
from needle.audit import AuditLog
from needle.cli._common import DB_OPTION, console, open_store

__all__ = ["app"]

app = typer.Typer(
    help="API tokens for machine clients: sent as `Authorization: Bearer TOKEN` or `X-API-Key`.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="What the token is for, e.g. upload-service."),
    role: Role = typer.Option(
        Role.API, "--role", help="Usually api (scan, lookup, HMA endpoints)."
    ),
    db: str = DB_OPTION,
) -> None:
    """Make a token and print it **once**: only its hash is kept."""
    with open_store(db) as store:
        secret = Accounts(store.engine).create_token(name, role)
        AuditLog(store.engine).append(
            "cli", "admin", "token-create", name, "", {"role": role.value}
        )
    typer.echo(secret)
    typer.echo(f"# token {name!r} ({role.value}): shown once, keep it safe", err=True)


@app.command("revoke")
def revoke(name: str = typer.Argument(...), db: str = DB_OPTION) -> None:
    """Revoke a token: refused from now on (a running service within 2 seconds)."""
    with open_store(db) as store:
        Accounts(store.engine).revoke_token(name)
        AuditLog(store.engine).append("cli", "admin", "token-revoke", name)
    console.print(f"token {name!r} revoked")


@app.command("list")
def list_tokens(db: str = DB_OPTION) -> None:
    """Every token: name, role, first characters, created, last used, revoked."""
    with open_store(db) as store:
        for token in Accounts(store.engine).tokens():
            used = (
                token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never"
            )
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            console.print(f"{token.name}\t{token.role}\t{token.prefix}…\tlast used {used}\t{state}")
