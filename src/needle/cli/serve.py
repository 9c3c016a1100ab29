"""``needle serve``: the matching API, the HMA-compatible API and the review UI."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

import typer

from needle.cli._common import DB_OPTION, console
from needle.store import DEFAULT_DB

if TYPE_CHECKING:  # the web extra loads when the service starts
    from needle.web.settings import ServeSettings

__all__ = ["command", "run_server"]


def command(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on. 0.0.0.0 listens on every interface."
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    db: str = DB_OPTION,
    workers: int = typer.Option(
        0,
        "--workers",
        min=0,
        help="Worker processes examining uploads (hashing, models). 0: one per core, at most 4.",
    ),
    quarantine: str = typer.Option(
        None,
        "--quarantine",
        metavar="DIR",
        help=(
            "Keep uploaded media in DIR, encrypted (AES-256-GCM). Off by default: the service "
            "then keeps hashes and references only. The key comes from $NEEDLE_QUARANTINE_KEY "
            "or --quarantine-key-file, never from the database."
        ),
    ),
    quarantine_key_file: str = typer.Option(
        None, "--quarantine-key-file", metavar="FILE", help="File holding the quarantine key."
    ),
    new_quarantine_key: bool = typer.Option(
        False, "--new-quarantine-key", help="Print a new random quarantine key and exit."
    ),
    fetch_host: list[str] = typer.Option(
        [],
        "--fetch-host",
        metavar="HOST",
        help=(
            "Allow url= parameters (HMA's /h/hash?url=...) to fetch media from HOST. Repeat "
            "for more hosts. Without it nothing is fetched: such requests get 403."
        ),
    ),
    scan_root: list[str] = typer.Option(
        [],
        "--scan-root",
        metavar="DIR",
        help=(
            "Allow scan jobs (POST /v1/jobs) to read files under DIR. Repeat for more folders. "
            "Without it no server-side path is scanned: job requests get 403."
        ),
    ),
    report_config: str = typer.Option(
        None,
        "--report-config",
        metavar="FILE",
        help=(
            "TOML with the [ncmec] and [vics] tables the Reports pages use (docs/reports.md). "
            "Without it analysts can preview CyberTipline reports but not send them."
        ),
    ),
    https: bool = typer.Option(
        False,
        "--https",
        help="The service is reached over HTTPS (e.g. behind a proxy): cookies are Secure.",
    ),
) -> None:
    """Serve the API and the review UI (**http://127.0.0.1:8000** by default).

    Make the first accounts first: `needle user add NAME --role admin` (people, for the
    review UI) and `needle token create NAME --role api` (machine clients, sent as
    `Authorization: Bearer TOKEN`). Banks imported with `needle bank import` while the
    service runs are picked up within 2 seconds, without a restart. Ctrl-C or SIGTERM
    stops it gracefully (requests in flight finish).
    """
    if new_quarantine_key:
        from needle.store.quarantine import new_key

        typer.echo(new_key())
        return
    from needle.web.settings import ServeSettings

    settings = ServeSettings(
        db_url=db or os.environ.get("NEEDLE_DB") or DEFAULT_DB,
        quarantine_dir=quarantine,
        quarantine_key_file=quarantine_key_file,
        fetch_hosts=tuple(h.lower() for h in fetch_host),
        scan_roots=tuple(os.path.realpath(root) for root in scan_root),
        https=https,
        report_config=report_config,
    )
    if workers:
        settings = replace(settings, workers=workers)
    if report_config:
        from needle.report.cybertip import load_config

        load_config(report_config)  # a missing or broken file stops here, with its message
    if quarantine:
        from needle.store.quarantine import load_key

        load_key(quarantine_key_file)  # a missing or bad key stops here, with its message
    run_server(settings, host=host, port=port)


def run_server(settings: ServeSettings, *, host: str, port: int, name: str = "serve") -> None:
    """Run the app of ``settings`` under uvicorn until Ctrl-C or SIGTERM (graceful: requests
    in flight finish); ``needle genguard serve`` starts the same app this way."""
    import uvicorn

    from needle.web.app import create_app

    console.print(
        f"needle {name}: http://{host}:{port} (database {settings.db_url}, "
        f"{settings.workers} worker process(es); API documentation at /docs)"
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=30,
        proxy_headers=settings.https,
    )
