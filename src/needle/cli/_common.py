"""Options and helpers shared by several verbs.

Every verb that touches the database imports this module, and some only print: the store
(SQLAlchemy, Alembic) and the progress bar load inside the helpers that use them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:  # every verb imports this module: the store and pipeline load where they run
    from needle.pipeline.scan import ScanProgress
    from needle.store import Store

__all__ = ["DB_OPTION", "console", "err_console", "open_store", "scan_progress"]

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
    from needle.store import DEFAULT_DB, Store

    return Store(db or os.environ.get("NEEDLE_DB") or DEFAULT_DB)


@contextmanager
def scan_progress(description: str, *, quiet: bool) -> Iterator[Callable[[ScanProgress], None]]:
    """A scan's progress bar on stderr, as a ``progress=`` callback for ``run_scan``: files
    done of those found (counting while the folders are walked), matches, errors, time."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, disable=quiet, transient=False) as bar:
        task = bar.add_task(description, total=None, status="")

        def update(p: ScanProgress) -> None:
            total = None if p.walking else p.found - p.skipped
            status = f"{p.matched} matched, {p.errors} errors"
            if p.skipped:
                status += f", {p.skipped} done before"
            bar.update(task, completed=p.done, total=total, status=status)

        yield update
