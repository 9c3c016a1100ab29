"""``needle trace``: which recorded generation made this image?"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from needle.cli._common import DB_OPTION, console, err_console, open_store
from needle.errors import ConfigError
from needle.genguard import Ledger
from needle.genguard.trace import TraceIndex, TraceResult, default_cache, trace_image
from needle.media import DEFAULT_LIMITS

__all__ = ["command"]


def command(
    images: list[Path] = typer.Argument(
        ..., help="Images found in the wild (any format needle decodes).", show_default=False
    ),
    db: str = DB_OPTION,
    index: Path = typer.Option(
        None,
        "--index",
        metavar="FILE",
        help=(
            "Cache of the ledger's perceptual hashes (default: DB.trace-index.npz beside a "
            "SQLite database; none for PostgreSQL). Only entries added since are read again."
        ),
    ),
    hide_prompt: bool = typer.Option(
        False, "--hide-prompt", help="Do not print prompts kept in the ledger."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per image."),
) -> None:
    """Find the ledger entries whose output matches each image, with the evidence.

    Four ways, strongest first: the file's **SHA-256** (the very file handed out); the
    **watermark** payload stamped into the pixels (survives re-encoding); the **whole-image
    PDQ** hash (survives re-encoding and resizing); **sub-region windows** (survive cropping
    and borders). Prints account, time, decision and, when the service kept it, the prompt.

    Exit code: 0 when every image was traced, 1 when one was not, 2 on an error.
    """
    for image in images:
        if not image.is_file():
            raise ConfigError(f"{image} is not a file")
    with open_store(db) as store:
        ledger = Ledger(store.engine)
        cache = index if index is not None else default_cache(store.url)
        with console.status("reading the ledger's hashes"):
            trace_index = TraceIndex.build(ledger, cache)
        untraced = 0
        for image in images:
            result = trace_image(image.read_bytes(), ledger, trace_index, limits=DEFAULT_LIMITS)
            untraced += not result.hits
            if as_json:
                answer = {"image": str(image), **result.to_dict(with_prompt=not hide_prompt)}
                typer.echo(json.dumps(answer, ensure_ascii=False))
            else:
                _show(image, result, hide_prompt)
    raise typer.Exit(1 if untraced else 0)


def _show(image: Path, result: TraceResult, hide_prompt: bool) -> None:
    if result.error:
        err_console.print(f"[red]{image}[/]: {result.error}")
    if not result.hits:
        console.print(f"[bold]{image}[/]: not traced to any recorded output")
        return
    console.print(f"[bold]{image}[/]: traced to {len(result.hits)} recorded output(s)")
    for hit in result.hits:
        record = hit.entry.record
        console.print(
            f"  #{hit.entry.seq}  {hit.entry.at:%Y-%m-%d %H:%M:%S %Z}  account "
            f"[bold]{record.account}[/]  request {record.request_id}  {record.decision}",
            highlight=False,
        )
        if record.prompt is not None and not hide_prompt:
            console.print(f"    prompt: {json.dumps(record.prompt, ensure_ascii=False)}")
        for line in hit.evidence:
            console.print(f"    - {line}", highlight=False)
