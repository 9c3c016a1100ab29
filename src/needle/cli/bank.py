"""``needle bank``: create, fill, list and export the hash lists scans match against."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from needle.banks import (
    BankEntry,
    ImportResult,
    format_descriptions,
    read_bank_file,
    write_bank_file,
)
from needle.cli._common import DB_OPTION, console, err_console, open_store
from needle.errors import BankError, BankFormatError, NoEntriesError, SignalFormatError
from needle.signals import infer_type, registry
from needle.signals.pdq import PDQ_MATCH_DISTANCE
from needle.store import Store

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Manage banks: named hash lists of known material that scans match against.\n\n"
        "Import from plain text, CSV, python-threatexchange's local_file lists and "
        "simple.<TYPE>.te files, Project VIC VICS JSON, StopNCII JSON or NCMEC hash-sharing "
        "XML; each bank has its own PDQ distance threshold."
    ),
    no_args_is_help=True,
)

FORMAT_HELP = "File format (default: guessed from the name and content)."
#: problems printed per file; the rest are counted
SHOWN_PROBLEMS = 50


@app.command("import")
def import_(
    name: str = typer.Argument(..., help="Bank to add to (created if it does not exist)."),
    files: list[Path] = typer.Argument(..., help="Hash list files.", exists=True, dir_okay=False),
    format: str | None = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
    signal_type: str | None = typer.Option(
        None, "--type", "-t", help="Signal type of bare hashes (md5, sha1, sha256, pdq)."
    ),
    threshold: int | None = typer.Option(
        None, "--threshold", help=f"PDQ distance threshold of a new bank [{PDQ_MATCH_DISTANCE}]."
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Import hash lists into a bank.

    Lines or records that cannot be read are reported with their line number and skipped;
    everything else in the file is imported. Hashes already in the bank are not added twice.
    Each file is imported in one transaction, read and written a chunk at a time, so a
    file of millions of hashes needs little memory. A file with no entry that can be
    imported is an error (exit status 1) and adds nothing: a new bank is only created once
    a file gives it an entry.

    Example: needle bank import known vics-export.json
    """
    store = open_store(db)
    failed = 0
    try:
        for file in files:
            try:
                _import_file(store, name, file, format, signal_type, threshold)
            except BankFormatError as exc:  # NoEntriesError too: nothing of this file is kept
                _say(str(exc), "red")
                failed += 1
        if failed and not store.has_bank(name):
            err_console.print(f"bank {name!r} was not created: no file gave it an entry")
    finally:
        store.close()
    if failed:
        raise typer.Exit(1)


def _import_file(
    store: Store,
    name: str,
    file: Path,
    format: str | None,
    signal_type: str | None,
    threshold: int | None,
) -> None:
    """One file into the bank, in one transaction; raises ``NoEntriesError`` when the file
    has no entry to import (the transaction, and a bank it would create, are dropped)."""
    with store.bank_import(name, pdq_threshold=threshold) as batch:
        result = read_bank_file(file, format=format, signal_type=signal_type, sink=batch.add)
        for problem in result.problems[:SHOWN_PROBLEMS]:
            _say(f"{file}: {problem}", "yellow")
        if result.problem_count > SHOWN_PROBLEMS:
            _say(f"{file}: … {result.problem_count - SHOWN_PROBLEMS} more", "yellow")
        if result.count == 0:
            raise NoEntriesError(_nothing_imported(file, result))
    if batch.created:
        err_console.print(f"created bank {name!r}")
    console.print(
        f"{file}: {result.format}: {result.count} read, {batch.added} new, "
        f"{result.count - batch.added} already in the bank, {result.problem_count} skipped"
    )


def _say(text: str, style: str) -> None:
    """A line on stderr that quotes the file (values, paths): no markup, no wrapping, so a
    '[' in a hash list is printed as it is and a long path stays whole."""
    err_console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def _nothing_imported(file: Path, result: ImportResult) -> str:
    """Why a file gave no entry: its size in lines, how many were rejected, the first few."""
    lines = _count_lines(file)
    head = f"{file}: nothing imported: no valid entry in {lines} line{'s' * (lines != 1)}"
    if not result.problem_count:
        return f"{head} ({result.format} format): the file holds no hashes"
    first = result.problems[:5]
    where = ", ".join(str(p.line) for p in first)
    reasons = "".join(f"\n  {p}" for p in first)
    return (
        f"{head} ({result.format} format); {result.problem_count} rejected, the first at "
        f"line{'s' * (len(first) != 1)} {where}:{reasons}"
    )


def _count_lines(file: Path) -> int:
    count, last = 0, b"\n"
    with file.open("rb") as stream:
        while block := stream.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Bank to add to (created if it does not exist)."),
    hashes: list[str] = typer.Argument(..., help="Hash values."),
    signal_type: str | None = typer.Option(
        None, "--type", "-t", help="Signal type (default: from the length; 64 digits needs it)."
    ),
    label: list[str] = typer.Option(None, "--label", "-l", help="Label for these (repeatable)."),
    db: str | None = DB_OPTION,
) -> None:
    """Add single hashes to a bank.

    Example: needle bank add known d8f8f0cce0f4e84d0e370a22038f67f0b36e2ed596621e1d33e6b39c4e9c9b22 -t pdq
    """
    entries = []
    for value in hashes:
        kind = signal_type or infer_type(value)
        try:
            entries.append(BankEntry(kind, registry.get(kind).validate(value), tuple(label or ())))
        except SignalFormatError as exc:
            raise BankError(f"{value!r}: {exc}") from None
    store = open_store(db)
    try:
        if not store.has_bank(name):
            store.create_bank(name)
        added = store.add_entries(name, entries)
        console.print(f"{added} added to {name!r} ({len(entries) - added} were there already)")
    finally:
        store.close()


@app.command("export")
def export(
    name: str = typer.Argument(..., help="Bank to export."),
    file: Path = typer.Argument(..., help="File to write."),
    format: str = typer.Option(
        "csv",
        "--format",
        "-f",
        help="; ".join(f"{n}: {d}" if d else n for n, d in format_descriptions().items()),
    ),
    signal_type: str | None = typer.Option(None, "--type", "-t", help="Only this signal type."),
    db: str | None = DB_OPTION,
) -> None:
    """Export a bank to a file, e.g. to share it with a partner or match with another tool.

    Each format is named for what reads it. For python-threatexchange's CLI, export
    te-local-file and add the file with `threatexchange config collab edit local_file NAME
    --create --filename /ABSOLUTE/PATH` (no --signal-type: each line names its type), then
    `threatexchange fetch`. Its types are pdq, video_md5 and video_sha256 (no sha1), and it
    matches md5 and sha256 with `match video` only. te-simple-csv writes the CSV of its
    simple.TYPE.te files (CliIndicatorSerialization, HMA), one signal type a file: name it
    simple.HASH_PDQ.te, simple.HASH_MD5.te. What a format cannot hold is counted in the
    summary.

    Example: needle bank export known known.txt --format te-local-file
    """
    store = open_store(db)
    try:
        bank = store.load_bank(name)
    finally:
        store.close()
    entries = [e for e in bank.entries if signal_type is None or e.signal_type == signal_type]
    result = write_bank_file(entries, file, format=format, signal_type=signal_type)
    console.print(result.summary())


@app.command("list")
def list_(db: str | None = DB_OPTION) -> None:
    """List banks with their PDQ threshold and entry counts."""
    store = open_store(db)
    try:
        banks = store.list_banks()
    finally:
        store.close()
    if not banks:
        console.print("no banks yet: needle bank import NAME FILE")
        return
    table = Table("bank", "pdq threshold", "entries", "by type")
    for bank in banks:
        by_type = ", ".join(f"{k} {v}" for k, v in sorted(bank.counts.items()))
        table.add_row(bank.name, str(bank.pdq_threshold), str(sum(bank.counts.values())), by_type)
    console.print(table)


@app.command("delete")
def delete(
    name: str = typer.Argument(..., help="Bank to delete."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask."),
    db: str | None = DB_OPTION,
) -> None:
    """Delete a bank and its entries (scan records keep their matches)."""
    if not yes:
        typer.confirm(f"delete bank {name!r} and all its entries?", abort=True)
    store = open_store(db)
    try:
        store.delete_bank(name)
    finally:
        store.close()
    console.print(f"deleted {name!r}")
