"""``needle report``: reports from reviewed items, one module per kind of report."""

from __future__ import annotations

import importlib

import typer

__all__ = ["app"]

app = typer.Typer(
    help="Reports from reviewed items: NCMEC CyberTipline reports.", no_args_is_help=True
)
for _name, _module in {"ncmec": "needle.cli.report_ncmec"}.items():
    app.command(_name)(importlib.import_module(_module).command)
