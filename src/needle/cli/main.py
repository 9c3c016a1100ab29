"""Entry point of the ``needle`` command.

Each verb lives in its own module and exposes either ``command`` (a function) or ``app``
(a Typer group). Add a verb by adding one line to ``VERBS`` or ``GROUPS``: its module and the
one-line summary that ``needle --help`` shows (the first paragraph of the verb's own help;
a test keeps the two equal).

A verb's module is imported only when that verb runs (or shows its own help): ``needle
guard`` loads the text guard and not the database, the image decoders or the web app, and
``needle --help`` lists every verb from the summaries here without importing any of them.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from needle import __version__
from needle.errors import NeedleError

if TYPE_CHECKING:  # typer vendors click: its types are typer's own
    from typer._click import Command, Context, HelpFormatter

__all__ = ["GROUPS", "VERBS", "Verb", "app", "main"]


class Verb(NamedTuple):
    """Where a verb lives, and what ``needle --help`` says about it without importing it."""

    module: str
    summary: str


#: verb name -> module exposing ``command``
VERBS: dict[str, Verb] = {
    "scan": Verb(
        "needle.cli.scan",
        "Scan folders and archives: known material first, then likely new material.",
    ),
    "hash": Verb("needle.cli.hash", "Print the hashes needle computes for each file."),
    "compare": Verb(
        "needle.cli.compare",
        "Compare two videos, vPDQ files or images: how much of each is found in the other.",
    ),
    "provenance": Verb(
        "needle.cli.provenance",
        "Show every provenance signal in each file, with its strength.",
    ),
    "classify": Verb(
        "needle.cli.classify",
        "Score images with the classifiers and show what priority they would get.",
    ),
    "guard": Verb(
        "needle.cli.guard",
        "Check a prompt for requests of sexual content involving minors, in 25+ languages.",
    ),
    "serve": Verb(
        "needle.cli.serve",
        "Serve the API and the review UI (**http://127.0.0.1:8000** by default).",
    ),
    "trace": Verb(
        "needle.cli.trace",
        "Find the ledger entries whose output matches each image, with the evidence.",
    ),
}
#: group name -> module exposing ``app`` (a Typer group)
GROUPS: dict[str, Verb] = {
    "bank": Verb(
        "needle.cli.bank",
        "Manage banks: named hash lists of known material that scans match against.",
    ),
    "eval": Verb(
        "needle.cli.evaluate",
        "Measure needle's detectors on your own labelled data; nothing leaves this machine.",
    ),
    "user": Verb(
        "needle.cli.user",
        "People who sign in to `needle serve`'s review UI (roles: admin, analyst, reviewer).",
    ),
    "token": Verb(
        "needle.cli.token",
        "API tokens for machine clients: sent as `Authorization: Bearer TOKEN` or `X-API-Key`.",
    ),
    "audit": Verb(
        "needle.cli.audit",
        "The audit log of `needle serve`: verify its hash chain, export it.",
    ),
    "report": Verb(
        "needle.cli.report",
        "Reports from reviewed items: NCMEC CyberTipline reports (preview, then send), a "
        "Project VIC VICS export of decided files, and an offline HTML/CSV/JSONL triage "
        "report of a scan.",
    ),
    "ledger": Verb(
        "needle.cli.ledger",
        "The signed ledger of a generation service's guarded requests: make its key, check "
        "that no entry was edited, deleted, inserted, reordered or re-signed, hand out signed "
        "checkpoints, export it.",
    ),
    "genguard": Verb(
        "needle.cli.genguard",
        "Guard an image-generation service: check prompts, uploaded inputs and outputs, stamp "
        "allowed outputs, record every request in the signed ledger (docs/genguard.md).",
    ),
}


class _Unloaded(TyperCommand):
    """A verb whose module is not imported yet: its name and summary, for listings only."""


class LazyVerbs(TyperGroup):
    """The root group: every verb is known by name from the start, and its module is
    imported the first time the verb is looked up to run (or to show its own help).

    Until then the group holds an :class:`_Unloaded` placeholder, which only the listing in
    ``needle --help`` sees; typer's "did you mean" suggestions read the same names.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        for name, verb in {**VERBS, **GROUPS}.items():
            self.commands.setdefault(name, _Unloaded(name, help=verb.summary))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        found = self.commands.get(cmd_name)
        if isinstance(found, _Unloaded) and not self._listing:
            found = self.commands[cmd_name] = self._load(cmd_name)
        return found

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def _load(self, name: str) -> Command:
        """The verb's command, built by typer exactly as if registered on the root app."""
        shell = typer.Typer(
            rich_markup_mode=self.rich_markup_mode, suggest_commands=self.suggest_commands
        )
        if name in VERBS:
            shell.command(name)(importlib.import_module(VERBS[name].module).command)
        else:
            shell.add_typer(importlib.import_module(GROUPS[name].module).app, name=name)
        return typer.main.get_group(shell).commands[name]


app = typer.Typer(
    name="needle",
    cls=LazyVerbs,
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


def main() -> None:
    """Run the CLI, turning needle's own errors into a one-line message and exit code 3.

    Exit codes: 0 success, 1 and 2 are the verb's own answers (``needle guard``: review,
    block; a usage error is 2), 3 a needle error with its message, 130 interrupted.
    """
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        # needle's numpy work is small matrices (PDQ's filters, 64x64 DCTs), where BLAS
        # threads cost more than they give and spin on a busy machine (60 ms instead of 1 ms
        # for one hash); set the variable to use more
        os.environ.setdefault(variable, "1")
    try:
        app()  # standalone: click handles --help, usage errors and the verbs' exit codes
    except NeedleError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(3)
