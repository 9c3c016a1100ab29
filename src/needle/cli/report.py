"""``needle report``: reports from reviewed items, one sub-command per kind of report."""

from __future__ import annotations

import importlib

import typer

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Reports from reviewed items: NCMEC CyberTipline reports (preview, then send), a "
        "Project VIC VICS export of decided files, and an offline HTML/CSV/JSONL triage "
        "report of a scan."
    ),
    no_args_is_help=True,
)

for _name, _module in {
    "ncmec": "needle.cli.report_ncmec",
    "vics": "needle.cli.report_vics",
    "html": "needle.cli.report_html",
}.items():
    app.command(_name)(importlib.import_module(_module).command)
