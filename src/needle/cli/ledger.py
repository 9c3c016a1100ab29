"""``needle ledger``: the generation ledger's keys, checks, checkpoints and exports."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import typer

from needle.cli._common import DB_OPTION, console, err_console, open_store
from needle.genguard import (
    Checkpoint,
    Ledger,
    LedgerBreak,
    generate_key,
    load_signer,
    load_verifier,
    read_export,
    verify_entries,
)

__all__ = ["app"]

app = typer.Typer(
    help=(
        "The signed ledger of a generation service's guarded requests: make its key, check "
        "that no entry was edited, deleted, inserted, reordered or re-signed, hand out signed "
        "checkpoints, export it."
    ),
    no_args_is_help=True,
)

KEY_OPTION = typer.Option(
    None,
    "--key",
    metavar="FILE",
    help="The ledger's private key (PEM); default $NEEDLE_LEDGER_KEY_FILE.",
)
SHOWN = 50


@app.command("keygen")
def keygen(
    path: Path = typer.Argument(..., help="Private key file to write (FILE.pub beside it)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing key."),
) -> None:
    """Make the ledger's Ed25519 key: FILE (private, mode 0600) and FILE.pub (public).

    Keep FILE with the service only; give FILE.pub to whoever will check the ledger or its
    checkpoints.
    """
    signer = generate_key(path, overwrite=force)
    console.print(f"key {signer.key_id}: private {path}, public {path}.pub")


@app.command("verify")
def verify(
    public_key: Path = typer.Option(
        ...,
        "--public-key",
        metavar="FILE",
        help="The ledger's public key (FILE.pub of keygen; a private key file works too).",
    ),
    checkpoint: list[Path] = typer.Option(
        [],
        "--checkpoint",
        metavar="FILE",
        help="A checkpoint the ledger must still hold (repeatable).",
    ),
    export: Path = typer.Option(
        None,
        "--export",
        metavar="FILE",
        help="Check an exported ledger (needle ledger export) instead of the database.",
    ),
    db: str = DB_OPTION,
) -> None:
    """Check every entry's hash, link and signature with the public key alone; names each
    edited, deleted, inserted, reordered or re-signed entry, and a ledger rewritten or
    truncated since a checkpoint.

    Exit 0: intact. Exit 1: tampered with (each finding on its own line).
    """
    verifier = load_verifier(public_key)
    checkpoints = [Checkpoint.read(path) for path in checkpoint]
    if export is not None:
        check = verify_entries(read_export(export), verifier, checkpoints=checkpoints)
    else:
        with open_store(db) as store:
            check = Ledger(store.engine).verify(verifier, checkpoints=checkpoints)
    if not check.intact:
        _print_breaks(check.breaks)
        raise typer.Exit(1)
    held = f", {len(checkpoints)} checkpoint(s) held" if checkpoints else ""
    console.print(f"ledger intact: {check.entries} entries signed by key {verifier.key_id}{held}")


def _print_breaks(breaks: Sequence[LedgerBreak]) -> None:
    for found in breaks[:SHOWN]:
        err_console.print(f"entry {found.seq}: {found.kind}: {found.message}", highlight=False)
    if len(breaks) > SHOWN:
        err_console.print(f"... and {len(breaks) - SHOWN} more")


@app.command("checkpoint")
def checkpoint(
    out: Path = typer.Option(
        None, "--out", "-o", metavar="FILE", help="File to write (JSON); default stdout."
    ),
    key: Path = KEY_OPTION,
    db: str = DB_OPTION,
) -> None:
    """Sign the ledger's current size and head hash. Hand the file to a third party: with the
    public key alone it can later show that the ledger still holds this history
    (`needle ledger verify --checkpoint FILE`)."""
    signer = load_signer(key)
    with open_store(db) as store:
        made = Ledger(store.engine).checkpoint(signer)
    text = json.dumps(made.to_dict(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
    err_console.print(f"checkpoint: {made.count} entries, head {made.head}")


@app.command("export")
def export(
    out: Path = typer.Option(
        None, "--out", "-o", metavar="FILE", help="File to write (JSON lines); default stdout."
    ),
    db: str = DB_OPTION,
) -> None:
    """Write every entry (with its hash and signature) as JSON lines, for `verify --export`.
    Holds prompt texts where the policy kept them: treat the file as the ledger itself."""
    with open_store(db) as store:
        ledger = Ledger(store.engine)
        if out is None:
            head = ledger.export_jsonl(sys.stdout)
        else:
            with out.open("w", encoding="utf-8") as handle:
                head = ledger.export_jsonl(handle)
    err_console.print(f"head {head}")
