"""``needle bank``: create, fill, list and export the hash lists scans match against."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from needle.banks import (
    BankEntry,
    ImportResult,
    format_descriptions,
    read_bank_file,
    write_bank_file,
)
from needle.banks._common import make_entry
from needle.cli._common import DB_OPTION, console, err_console, open_store
from needle.errors import (
    BankError,
    BankFormatError,
    MediaError,
    NoEntriesError,
    OptionalDependencyError,
    SignalFormatError,
)
from needle.signals.pdq import PDQ_MATCH_DISTANCE
from needle.store import Store

if TYPE_CHECKING:  # reading and decoding media loads where a file is added
    from needle.banks.from_media import MediaEntries

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
        None, "--type", "-t", help="Signal type of bare hashes (md5, sha1, sha256, pdq, vpdq)."
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
    values: list[str] = typer.Argument(
        ...,
        help="Hash values, or image or video files (an argument naming an existing file is a file).",
    ),
    signal_type: str | None = typer.Option(
        None,
        "--type",
        "-t",
        help="Signal type of the hash values (default: from the length; 64 digits needs it).",
    ),
    label: list[str] = typer.Option(None, "--label", "-l", help="Label for these (repeatable)."),
    no_regions: bool = typer.Option(
        False,
        "--no-regions",
        help="For files: only the whole picture's hashes, not those of the parts that find crops.",
    ),
    seconds_per_hash: float = typer.Option(
        0.0,
        "--seconds-per-hash",
        min=0.0,
        help="Videos: hash one frame every this many seconds (0, the default: every frame, "
        "so that a clip cut anywhere is found).",
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Add hash values, or the hashes of image and video files, to a bank.

    For an image file needle stores what a scan computes for it (md5, sha256 and PDQ) and the
    PDQ of four parts of the picture (the centre 90 % and 80 % of each side, the top 90 % and
    the bottom 90 %), so that a copy with 5 % or 10 % cut off every side, or 10 % off the top
    or the bottom, matches too, reported as transform "crop". Hash lists from elsewhere hold
    one PDQ per picture and cannot find crops. PDQ hashes under the quality floor are left
    out. A video (told by its content, not its name; needs the video extra, PyAV) gives its
    md5 (HMA's video_md5), sha256 and vPDQ: the PDQ of every frame (a scan hashes one a
    second; against every frame of the banked copy, a clip cut anywhere is found), stored as
    one vpdq entry. A file that cannot be read or decoded is reported and nothing of it is stored; the
    other files are (exit status 1).

    Examples: needle bank add known photo1.jpg photo2.png --label series-a;
    needle bank add known d8f8f0cce0f4e84d0e370a22038f67f0b36e2ed596621e1d33e6b39c4e9c9b22 -t pdq
    """
    labels = tuple(label or ())
    files = [value for value in values if os.path.lexists(value)]
    hashes = [value for value in values if not os.path.lexists(value)]
    entries = _hash_entries(hashes, signal_type, labels)  # a bad value stops before any work
    made, failed = _file_entries(files, labels, regions=not no_regions, seconds=seconds_per_hash)
    if not entries and not made:
        err_console.print(f"nothing added to {name!r}: no file could be hashed")
        raise typer.Exit(1)
    store = open_store(db)
    try:
        with store.bank_import(name) as batch:
            hash_added = batch.add(entries)
            file_added = [batch.add(one.entries) for _, one in made]
    finally:
        store.close()
    if batch.created:
        err_console.print(f"created bank {name!r}")
    if hashes:
        console.print(
            f"{hash_added} added to {name!r} ({len(entries) - hash_added} were there already)"
        )
    if files:
        _report_files(name, made, file_added, failed)
    if failed:
        raise typer.Exit(1)


def _hash_entries(
    values: list[str], signal_type: str | None, labels: tuple[str, ...]
) -> list[BankEntry]:
    """Hash values as entries; raises ``BankError`` naming the first value that is not one."""
    entries = []
    for value in values:
        try:
            entries.append(make_entry(signal_type, value, labels))
        except SignalFormatError as exc:
            raise BankError(f"{value!r} is neither a file nor a hash: {exc}") from None
    return entries


def _file_entries(
    files: list[str], labels: tuple[str, ...], *, regions: bool, seconds: float
) -> tuple[list[tuple[str, MediaEntries]], int]:
    """Each file with its entries, and how many files failed (each said on stderr)."""
    from needle.banks.from_media import entries_from_file
    from needle.signals.regions import BANK_REGIONS

    made: list[tuple[str, MediaEntries]] = []
    failed = 0
    for file in files:
        try:
            one = entries_from_file(
                file,
                labels=labels,
                regions=BANK_REGIONS if regions else (),
                seconds_per_hash=seconds,
            )
        except MediaError as exc:
            _say(f"{file}: {exc}: not added", "red")
            failed += 1
            continue
        except OptionalDependencyError as exc:  # a video, and PyAV is not installed
            _say(f"{file}: a video needs the video extra: {exc}: not added", "red")
            failed += 1
            continue
        if one.skipped:
            parts = ", ".join(f"{s.part} ({s.quality})" for s in one.skipped)
            floor = one.skipped[0].floor
            _say(f"{file}: PDQ quality under {floor}, not added for: {parts}", "yellow")
        made.append((file, one))
    return made, failed


def _report_files(
    name: str, made: list[tuple[str, MediaEntries]], added: list[int], failed: int
) -> None:
    """A line per file added (what it gave, how much was new), then the totals."""
    for (file, one), new in zip(made, added, strict=True):
        kinds = ", ".join(e.signal_type for e in one.entries if e.region is None)
        parts = f" + {one.regions} region{'s' * (one.regions != 1)}" if one.regions else ""
        if one.frames is not None:  # a video
            parts = f" ({one.frames} frame hash{'es' * (one.frames != 1)})"
        there = len(one.entries) - new
        console.print(
            f"{file}: {kinds}{parts}: {new} added"
            + (f" ({there} were there already)" if there else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    total = len(made) + failed
    line = f"{total} file{'s' * (total != 1)}: {sum(added)} hashes added to {name!r}"
    if failed:
        line += f"; {failed} could not be read or decoded, nothing of them added"
    console.print(line, markup=False, highlight=False, soft_wrap=True)


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
    no_regions: bool = typer.Option(
        False,
        "--no-regions",
        help="Leave out the PDQ hashes of parts of pictures (bank add FILE): one PDQ a picture.",
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Export a bank to a file, e.g. to share it with a partner or match with another tool.

    Each format is named for what reads it. For python-threatexchange's CLI, export
    te-local-file and add the file with `threatexchange config collab edit local_file NAME
    --create --filename /ABSOLUTE/PATH` (no --signal-type: each line names its type), then
    `threatexchange fetch`. Its types are pdq, video_md5 and video_sha256 (no sha1), and vpdq
    with its vPDQ extension; it matches md5 and sha256 with `match video` only. te-simple-csv
    writes the CSV of its simple.TYPE.te files (CliIndicatorSerialization, HMA), one signal
    type a file: name it simple.HASH_PDQ.te, simple.HASH_MD5.te. What a format cannot hold is
    counted in the summary. A bank built from media (bank add FILE) also holds PDQ hashes of parts of each
    picture, written as plain PDQ hashes (the formats have no place for the part's name);
    --no-regions leaves them out.

    Example: needle bank export known known.txt --format te-local-file
    """
    store = open_store(db)
    try:
        bank = store.load_bank(name)
    finally:
        store.close()
    entries = [e for e in bank.entries if signal_type is None or e.signal_type == signal_type]
    regions = sum(e.region is not None for e in entries) if no_regions else 0
    if regions:
        entries = [e for e in entries if e.region is None]
    result = write_bank_file(entries, file, format=format, signal_type=signal_type)
    console.print(result.summary())
    if regions:
        console.print(f"left out {regions} PDQ hashes of parts of pictures (--no-regions)")


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
    table = Table("bank", "pdq threshold", "video shares", "entries", "by type")
    for bank in banks:
        by_type = ", ".join(f"{k} {v}" for k, v in sorted(bank.counts.items()))
        shares = f"{bank.vpdq_query_percent:g} % / {bank.vpdq_compared_percent:g} %"
        total = str(sum(bank.counts.values()))
        table.add_row(bank.name, str(bank.pdq_threshold), shares, total, by_type)
    console.print(table)


@app.command("set")
def set_(
    name: str = typer.Argument(..., help="Bank to change."),
    threshold: int | None = typer.Option(
        None, "--threshold", min=0, max=256, help="PDQ threshold in bits (also per video frame)."
    ),
    query_percent: float | None = typer.Option(
        None,
        "--vpdq-query-percent",
        min=0.0,
        max=100.0,
        help="Share of a scanned video's frames that must be found in a banked video (80).",
    ),
    compared_percent: float | None = typer.Option(
        None,
        "--vpdq-compared-percent",
        min=0.0,
        max=100.0,
        help="Share of the banked video's frames that must be found in the scanned one (0).",
    ),
    db: str | None = DB_OPTION,
) -> None:
    """Change a bank's thresholds: what counts as a match for its PDQ hashes and videos.

    A scanned video matches a banked one when at least --vpdq-query-percent of its frames are
    each within --threshold bits of a frame of the banked video, and --vpdq-compared-percent
    of the banked video's frames are found in it (the vPDQ reference's defaults, 80 and 0, find
    a short clip cut from a long banked video).

    Example: needle bank set hotline --vpdq-query-percent 60
    """
    if threshold is None and query_percent is None and compared_percent is None:
        raise BankError("nothing to change: give --threshold or a --vpdq-*-percent")
    store = open_store(db)
    try:
        if threshold is not None:
            store.set_bank_threshold(name, threshold)
        if query_percent is not None or compared_percent is not None:
            store.set_bank_video_shares(name, query=query_percent, compared=compared_percent)
        (bank,) = [b for b in store.list_banks() if b.name == name]
    finally:
        store.close()
    console.print(
        f"{name}: PDQ threshold {bank.pdq_threshold}, a video matches with "
        f"{bank.vpdq_query_percent:g} % of its frames and {bank.vpdq_compared_percent:g} % "
        "of the banked video's"
    )


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
