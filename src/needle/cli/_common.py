"""Options and helpers shared by several verbs."""

from __future__ import annotations

import os

import typer
from rich.console import Console

from needle.store import DEFAULT_DB, Store

__all__ = ["DB_OPTION", "console", "err_console", "open_store"]

console = Console()
err_console = Console(stderr=True)

DB_OPTION = typer.Option(
    None,
    "--db",
    help=(
        "Database URL or SQLite file (default: $NEEDLE_DB or ./needle.db). "
        "PostgreSQL: postgresql://user@host/dbname."
    ),
    show_default=False,
)


def open_store(db: str | None) -> Store:
    return Store(db or os.environ.get("NEEDLE_DB") or DEFAULT_DB)
