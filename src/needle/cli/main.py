"""Entry point of the ``needle`` command.

Each verb lives in its own module and exposes either ``command`` (a function) or ``app``
(a Typer group). Add a verb by adding one line to ``VERBS`` or ``GROUPS``.
"""

from __future__ import annotations

import importlib
import sys

import typer

from needle import __version__
from needle.errors import NeedleError

__all__ = ["app", "main"]

app = typer.Typer(
    name="needle",
    help=(
        "Triage image collections for known and novel abuse material.\n\n"
        "Start with `needle scan FOLDER` to hash every file and match it against your "
        "banks (`needle bank import`). Everything runs locally; nothing is sent anywhere."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: verb name -> module exposing ``command``
VERBS: dict[str, str] = {
    "scan": "needle.cli.scan",
    "hash": "needle.cli.hash",
    "provenance": "needle.cli.provenance",
    "classify": "needle.cli.classify",
    "guard": "needle.cli.guard",
    "serve": "needle.cli.serve",
    "trace": "needle.cli.trace",
}
#: group name -> module exposing ``app`` (a Typer group)
GROUPS: dict[str, str] = {
    "bank": "needle.cli.bank",
    "eval": "needle.cli.evaluate",
    "user": "needle.cli.user",
    "token": "needle.cli.token",
    "audit": "needle.cli.audit",
    "report": "needle.cli.report",
    "ledger": "needle.cli.ledger",
    "genguard": "needle.cli.genguard",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"needle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """needle: find known and novel abuse material, locally."""


for _name, _module in VERBS.items():
    app.command(_name)(importlib.import_module(_module).command)
for _name, _module in GROUPS.items():
    app.add_typer(importlib.import_module(_module).app, name=_name)


def main() -> None:
    """Run the CLI, turning needle's own errors into a one-line message and exit code 3.

    Exit codes: 0 success, 1 and 2 are the verb's own answers (``needle guard``: review,
    block; a usage error is 2), 3 a needle error with its message, 130 interrupted.
    """
    try:
        app()  # standalone: click handles --help, usage errors and the verbs' exit codes
    except NeedleError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(3)
