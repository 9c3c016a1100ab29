"""``needle scan`` (being written)."""

from __future__ import annotations

import typer

__all__ = ["command"]


def command(paths: list[str] = typer.Argument(...)) -> None:
    """Scan folders and archives (not yet available in this build)."""
    raise typer.Exit(1)
