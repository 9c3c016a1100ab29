"""``needle report ncmec``: preview or send CyberTipline reports of reviewed items."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from needle.cli._common import DB_OPTION, console, err_console, open_store
from needle.errors import ConfigError

if TYPE_CHECKING:
    from needle.report.cybertip import Preview

__all__ = ["command"]

ACTOR_ROLE = "admin"


def command(
    items: list[int] = typer.Argument(
        None, help="Item ids (decided as abuse). Or use --case / --account.", show_default=False
    ),
    case: str = typer.Option(None, "--case", help="Report every abuse-decided item of a case."),
    account: str = typer.Option(
        None, "--account", help="Report the case whose account details have this esp_user_id."
    ),
    send: bool = typer.Option(
        False, "--send/--preview", help="Send to NCMEC (default: preview only, nothing sent)."
    ),
    config: Path = typer.Option(
        None, "--config", help="TOML file with an [ncmec] table: reporter, environment."
    ),
    out: Path = typer.Option(
        None, "--out", help="Folder for the XML (default: print it).", file_okay=False
    ),
    quarantine: Path = typer.Option(
        None,
        "--quarantine",
        metavar="DIR",
        file_okay=False,
        help="The quarantine of `needle serve --quarantine DIR`: uploads it kept can be sent.",
    ),
    quarantine_key_file: Path = typer.Option(
        None,
        "--quarantine-key-file",
        metavar="FILE",
        help="File holding the quarantine key (else $NEEDLE_QUARANTINE_KEY).",
    ),
    db: str = DB_OPTION,
) -> None:
    """Build NCMEC CyberTipline reports from reviewed items: one per reported account.

    Without --send the report and each file's fileDetails are built, checked against the
    schema and written to --out (or printed); a `previewed` submission is kept. With --send
    the report goes to the environment of --config (test unless it says production), with the
    login from NEEDLE_NCMEC_USERNAME / NEEDLE_NCMEC_PASSWORD or the config's credentials_file.
    """
    from needle.report.cybertip import (
        how_to_configure,
        load_config,
        load_credentials,
        plan_reports,
        preview_report,
        send_report,
    )

    settings = load_config(config)
    credentials = load_credentials(settings) if send else None
    if send and credentials is None:
        raise ConfigError(f"--send needs the NCMEC login: {how_to_configure()}")
    held = None
    if send and quarantine is not None:
        from needle.store.quarantine import Quarantine, load_key

        key = load_key(str(quarantine_key_file) if quarantine_key_file else None)
        held = Quarantine(str(quarantine), key)
    actor = f"cli:{getpass.getuser()}"
    with open_store(db) as store:
        plans = plan_reports(store, items=items or None, case=case, account=account)
        if not plans:
            err_console.print("nothing to report: no item is decided as abuse")
            raise typer.Exit(1)
        for plan in plans:
            who = plan.case_name or "(no case)"
            if not send:
                preview = preview_report(store, plan, settings, actor, role=ACTOR_ROLE)
                _show(preview, out)
                err_console.print(
                    f"previewed submission {preview.submission_id}: {who}, "
                    f"{len(plan.files)} file(s); nothing sent"
                )
                continue
            assert credentials is not None
            done = send_report(
                store, plan, settings, credentials, actor, quarantine=held, role=ACTOR_ROLE
            )
            console.print(
                f"submission {done.id}: report {done.report_id} sent to {settings.environment} "
                f"({who}, {len(plan.files)} file(s))"
            )


def _show(preview: Preview, out: Path | None) -> None:
    if out is None:
        console.print(preview.xml, markup=False, highlight=False, soft_wrap=True)
        for file in preview.files:
            console.print(file.xml, markup=False, highlight=False, soft_wrap=True)
        return
    out.mkdir(parents=True, exist_ok=True)
    stem = f"ncmec-{preview.submission_id}"
    (out / f"{stem}-report.xml").write_text(preview.xml, encoding="utf-8")
    for file in preview.files:
        (out / f"{stem}-file-{file.file_id}.xml").write_text(file.xml, encoding="utf-8")
