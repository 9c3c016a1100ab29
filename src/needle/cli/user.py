"""``needle user``: people who sign in to the review UI."""

from __future__ import annotations

import sys

import typer

from needle.access import Accounts, Role
from needle.audit import AuditLog
from needle.cli._common import DB_OPTION, console, open_store

__all__ = ["app"]

app = typer.Typer(
    help="People who sign in to `needle serve`'s review UI (roles: admin, analyst, reviewer).",
    no_args_is_help=True,
)

ROLE_OPTION = typer.Option(
    ...,
    "--role",
    help="admin (users, banks, settings, audit), analyst (jobs, reports, banks read), "
    "reviewer (queue, decisions), api (machine clients: prefer `needle token create`).",
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(
        typer.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True)
    )


@app.command("add")
def add(
    name: str = typer.Argument(..., help="The name the person signs in with."),
    role: Role = ROLE_OPTION,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input."
    ),
    db: str = DB_OPTION,
) -> None:
    """Add a person; asks for their password twice (or reads it with --password-stdin)."""
    with open_store(db) as store:
        user = Accounts(store.engine).add_user(name, role, _password(password_stdin))
        AuditLog(store.engine).append("cli", "admin", "user-add", name, "", {"role": role.value})
    console.print(f"added {user.name} ({user.role})")


@app.command("password")
def password(
    name: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
    db: str = DB_OPTION,
) -> None:
    """Set a new password (unlocks the account and ends its sessions)."""
    with open_store(db) as store:
        Accounts(store.engine).set_password(name, _password(password_stdin))
        AuditLog(store.engine).append("cli", "admin", "user-password", name)
    console.print(f"password of {name} changed; its sessions are ended")


@app.command("disable")
def disable(name: str = typer.Argument(...), db: str = DB_OPTION) -> None:
    """Stop a person from signing in (their sessions end now)."""
    with open_store(db) as store:
        Accounts(store.engine).set_disabled(name, True)
        AuditLog(store.engine).append("cli", "admin", "user-disable", name)
    console.print(f"{name} is disabled")


@app.command("list")
def list_users(db: str = DB_OPTION) -> None:
    """Everyone, with role, state and last sign-in."""
    with open_store(db) as store:
        for user in Accounts(store.engine).users():
            state = "disabled" if user.disabled else ("locked" if user.locked_until else "active")
            last = (
                user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
            )
            console.print(f"{user.name}\t{user.role}\t{state}\tlast sign-in {last}")
