"""``needle audit``: check and export the review service's audit log."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from needle.audit import AuditLog
from needle.cli._common import DB_OPTION, console, err_console, open_store

__all__ = ["app"]

app = typer.Typer(
    help="The audit log of `needle serve`: verify its hash chain, export it.", no_args_is_help=True
)


@app.command("verify")
def verify(
    db: str = DB_OPTION,
    head: str = typer.Option(
        None, "--head", help="The last hash of an earlier export: the log must still hold it."
    ),
) -> None:
    """Check every row of the chain; names each edited, deleted or reordered row.

    Exit 0: intact. Exit 1: broken (each break on its own line).
    """
    with open_store(db) as store:
        log = AuditLog(store.engine)
        breaks = log.verify(head=head)
        count = len(log.entries(limit=None)) if not breaks else None
    if breaks:
        for found in breaks:
            err_console.print(f"row {found.seq}: {found.kind}: {found.message}")
        raise typer.Exit(1)
    console.print(f"audit log intact ({count} rows)")


@app.command("export")
def export(
    out: Path = typer.Option(
        None, "--out", "-o", help="File to write (JSON lines); default stdout."
    ),
    db: str = DB_OPTION,
) -> None:
    """Write the log as JSON lines; prints the chain's head hash (keep it: verify --head)."""
    with open_store(db) as store:
        log = AuditLog(store.engine)
        if out is None:
            head = log.export_jsonl(sys.stdout)
        else:
            with out.open("w") as fh:
                head = log.export_jsonl(fh)
        log.append("cli", "admin", "audit-export", str(out or "stdout"), "", {"head": head})
    err_console.print(f"head {head}")
