"""``needle genguard``: guard an image-generation service over HTTP, list the accounts its
ledger flags, check a fine-tuning set before training."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.table import Column, Table

from needle.cli._common import DB_OPTION, console, err_console, open_store, scan_progress
from needle.cli.ledger import KEY_OPTION
from needle.cli.serve import run_server
from needle.errors import ConfigError
from needle.genguard import Ledger, Signer, load_signer
from needle.genguard.guard import GenerationGuard, GenerationRequest, GuardDecision
from needle.genguard.keys import KEY_FILE_ENV
from needle.genguard.policy import load_generation_policy
from needle.match import Matcher
from needle.pipeline.scan import default_workers
from needle.store import DEFAULT_DB

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Guard an image-generation service: check prompts, uploaded inputs and outputs, stamp "
        "allowed outputs, record every request in the signed ledger (docs/genguard.md)."
    ),
    no_args_is_help=True,
)

POLICY_OPTION = typer.Option(
    None,
    "--policy",
    metavar="FILE",
    exists=True,
    dir_okay=False,
    help="TOML with the [genguard] policy (docs/genguard.md); default: built in.",
)
#: findings listed by name; the scan job holds them all
LISTED = 20


@app.command("serve")
def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on. 0.0.0.0 listens on every interface."
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    db: str | None = DB_OPTION,
    policy: Path | None = POLICY_OPTION,
    key: Path | None = KEY_OPTION,
    c2pa_cert: Path | None = typer.Option(
        None,
        "--c2pa-cert",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        help="C2PA certificate chain (PEM, end-entity first): stamped outputs carry a manifest.",
    ),
    c2pa_key: Path | None = typer.Option(
        None,
        "--c2pa-key",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        help="The certificate's ES256 (P-256) private key, unencrypted PKCS#8 PEM.",
    ),
    workers: int = typer.Option(
        0, "--workers", min=0, help="Worker processes (scans, uploads). 0: one per core, at most 4."
    ),
    scan_root: list[str] = typer.Option(
        [],
        "--scan-root",
        metavar="DIR",
        help="Allow training-set checks of folders under DIR (repeatable). Without: refused.",
    ),
    https: bool = typer.Option(
        False, "--https", help="The service is reached over HTTPS (behind a proxy)."
    ),
    classifier: list[str] = typer.Option(
        [],
        "--classifier",
        metavar="NAME",
        help=(
            "Classifier to run on uploaded inputs and outputs (repeatable; nudenet and age "
            "give explicit x apparent-minor; needs the classify extra). Without: bank matches "
            "and the assessment's rules only."
        ),
    ),
) -> None:
    """Serve the generation guard over HTTP (and everything `needle serve` serves).

    Make the ledger's key first (`needle ledger keygen FILE`) and a token for the generation
    service (`needle token create NAME --role api`, sent as `Authorization: Bearer TOKEN`).
    Per generation request the service calls, in order:

    1. **POST /v1/guard/prompt** `{"account", "prompt", "negative_prompt"}`: generate only
    when the answer says `"proceed": true`; keep its `request_id` for the next calls.

    2. **POST /v1/guard/input** (multipart: each uploaded `image`, `account`, `request_id`):
    every image a user hands the generator (img2img, masks, reference faces).

    3. Generate.

    4. **POST /v1/guard/output** (multipart: `image`, `account`, `request_id`, `prompt`):
    allowed, the answer is the stamped image: hand out those bytes, never the original;
    withheld, JSON with `"proceed": false`.

    Later: **POST /v1/trace** with an image found anywhere names the account and request
    that made it; **GET /v1/guard/accounts** lists accounts whose blocked requests reached
    the policy's flag. Before fine-tuning: **POST /v1/guard/training-set** `{"path",
    "account"}` for a folder under --scan-root. **POST /v1/stamp** stamps without checking,
    for services that check outputs elsewhere.
    """
    from needle.web.settings import ServeSettings

    load_generation_policy(policy)  # a broken policy or key stops here, with its message
    load_signer(key)
    if classifier:  # an unknown name or a missing extra stops here (models load at start)
        from needle.classify import load_classifiers

        load_classifiers(list(classifier))
    if (c2pa_cert is None) != (c2pa_key is None):
        raise ConfigError("C2PA signing needs both --c2pa-cert and --c2pa-key")
    settings = ServeSettings(
        db_url=db or os.environ.get("NEEDLE_DB") or DEFAULT_DB,
        genguard_policy=str(policy) if policy else None,
        ledger_key_file=str(key) if key else None,
        c2pa_cert=str(c2pa_cert) if c2pa_cert else None,
        c2pa_key=str(c2pa_key) if c2pa_key else None,
        scan_roots=tuple(os.path.realpath(root) for root in scan_root),
        https=https,
        genguard_classifiers=tuple(classifier),
    )
    if workers:
        settings = replace(settings, workers=workers)
    run_server(settings, host=host, port=port, name="genguard serve")


@app.command("accounts")
def accounts(
    db: str | None = DB_OPTION,
    policy: Path | None = POLICY_OPTION,
    hours: float | None = typer.Option(
        None, "--hours", min=0.001, help="Window to count in [default: the policy's window]."
    ),
    at_least: int | None = typer.Option(
        None, "--at-least", min=1, help="Blocked requests to list [default: flag_after]."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Accounts whose blocked requests (distinct request ids) reached the flag within the
    window, most first, with the first and last time. Read from the ledger."""
    rules = load_generation_policy(policy)
    window = hours if hours is not None else rules.flag_window_hours
    threshold = at_least if at_least is not None else rules.flag_after
    since = datetime.now(UTC) - timedelta(hours=window)
    with open_store(db) as store:
        found = Ledger(store.engine).blocked_accounts(since, threshold)
    if as_json:
        listed = [activity.to_dict() for activity in found]
        answer = {"since": since.isoformat(timespec="seconds"), "hours": window}
        typer.echo(json.dumps({**answer, "at_least": threshold, "accounts": listed}))
        return
    title = f"accounts with {threshold}+ blocked requests in the last {window:g} h"
    if not found:
        console.print(f"no {title}")
        return
    table = Table(Column("account", overflow="fold"), "blocked", "first", "last", title=title)
    for activity in found:
        table.add_row(
            activity.account,
            str(activity.blocked),
            f"{activity.first:%Y-%m-%d %H:%M:%S}",
            f"{activity.last:%Y-%m-%d %H:%M:%S}",
        )
    console.print(table)


@app.command("check-training-set")
def check_training_set(
    path: Path = typer.Argument(..., exists=True, help="Folder or archive of training images."),
    account: str = typer.Option(..., "--account", help="The account that submitted the set."),
    db: str | None = DB_OPTION,
    policy: Path | None = POLICY_OPTION,
    bank: list[str] = typer.Option(
        None, "--bank", "-b", help="Match against this bank (repeatable). Default: every bank."
    ),
    workers: int = typer.Option(
        default_workers(), "--workers", "-w", min=0, help="Worker processes (0: in-process)."
    ),
    key: Path | None = typer.Option(
        None,
        "--key",
        metavar="FILE",
        help=f"Record the decision in the ledger, signed with FILE (default ${KEY_FILE_ENV} "
        "when set; neither: nothing is recorded).",
    ),
    as_json: bool = typer.Option(False, "--json", help="The decision as one JSON object."),
) -> None:
    """Scan a fine-tuning set before a model is trained on it: refused when any file matches
    a bank or is assessed at or above the policy's training_block.

    The set is scanned as `needle scan` does (archives read in place, stored as a scan job a
    reviewer can open). Exit 0: allowed. Exit 1: refused (each refusing file named).
    """
    rules = load_generation_policy(policy)
    signer: Signer | None = load_signer(key) if key or os.environ.get(KEY_FILE_ENV) else None
    with open_store(db) as store:
        banks = [store.load_bank_columns(name) for name in bank or store.bank_names()]
        if not banks:
            err_console.print("[yellow]no banks: the set is matched against nothing[/]")
        guard = GenerationGuard(
            policy=rules,
            ledger=Ledger(store.engine) if signer else None,
            signer=signer,
            matcher=Matcher(banks),
        )
        request = GenerationRequest.new(account)
        with scan_progress("checking", quiet=as_json) as update:
            decision = guard.check_training_set(
                path, request, store=store, workers=workers, progress=update
            )
    if as_json:
        typer.echo(json.dumps(decision.to_dict(), ensure_ascii=False))
    else:
        _print_report(decision)
    raise typer.Exit(0 if decision.proceed else 1)


def _print_report(decision: GuardDecision) -> None:
    report = decision.training
    if report is None:  # pragma: no cover - a training-set decision always has one
        return
    verdict = "[red]REFUSED[/]" if report.refused else "[green]allowed[/]"
    console.print(
        f"[bold]{report.path}[/]: {report.files} files, {report.unreadable} unreadable: "
        f"{verdict} (scan job {report.job_id})",
        highlight=False,
    )
    if not report.findings:
        return
    table = Table(
        Column("file", overflow="fold", ratio=2),
        "priority",
        "banks",
        Column("first reason", overflow="fold", ratio=2),
        title=f"files at or above {report.block_at.label}",
    )
    for finding in report.findings[:LISTED]:
        first = finding.reasons[0] if finding.reasons else ""
        table.add_row(finding.path, finding.priority.label, ", ".join(finding.banks), first)
    console.print(table)
    more = len(report.findings) + report.more - LISTED
    if more > 0:
        console.print(f"... and {more} more: see scan job {report.job_id}")
