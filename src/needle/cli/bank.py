"""``needle bank`` (being written)."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="Manage hash banks (not yet available in this build).")


@app.command("list")
def list_banks() -> None:
    """List banks."""
