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
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: verb name -> module exposing ``command``
VERBS: dict[str, str] = {
    "scan": "needle.cli.scan",
    "hash": "needle.cli.hash",
}
#: group name -> module exposing ``app`` (a Typer group)
GROUPS: dict[str, str] = {
    "bank": "needle.cli.bank",
    "eval": "needle.cli.evaluate",
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
    block; click: usage error is 2), 3 a needle error with its message, 130 interrupted.
    """
    try:
        app(standalone_mode=False)
    except NeedleError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(3)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
