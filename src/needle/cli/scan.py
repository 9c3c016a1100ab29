"""``needle scan PATH…``: hash every file under PATH and match it against your banks."""

from __future__ import annotations

import signal
from pathlib import Path

import typer
from rich.table import Column, Table

from needle.assess import AssessmentPolicy, load_policy
from needle.banks.model import Bank
from needle.cli._common import DB_OPTION, console, err_console, open_store, scan_progress
from needle.errors import ConfigError
from needle.pipeline.ray_runner import RayRunner, check_store
from needle.pipeline.scan import (
    Runner,
    ScanInterrupted,
    ScanResult,
    default_workers,
    run_scan,
)
from needle.pipeline.worker import ScanOptions, preload
from needle.report import write_jsonl
from needle.store import Store

__all__ = ["command"]


def command(
    paths: list[Path] = typer.Argument(
        ..., help="Folders, files, or zip/tar archives (read in place, never extracted)."
    ),
    bank: list[str] = typer.Option(
        None, "--bank", "-b", help="Match against this bank (repeatable). Default: every bank."
    ),
    db: str | None = DB_OPTION,
    jsonl: Path | None = typer.Option(
        None, "--jsonl", help="Also write one JSON object per file here when the scan ends."
    ),
    workers: int = typer.Option(
        default_workers(), "--workers", "-w", min=0, help="Worker processes (0: in-process)."
    ),
    new: bool = typer.Option(
        False, "--new", help="Start a new scan even if an unfinished one of these paths exists."
    ),
    classify: bool = typer.Option(
        True, "--classify/--no-classify", help="Score new material with the classifiers."
    ),
    classifiers: str | None = typer.Option(
        None,
        "--classifiers",
        help="Comma-separated classifiers to run (default: nudenet,age and any configured).",
    ),
    classifier_config: Path | None = typer.Option(
        None,
        "--classifier-config",
        exists=True,
        dir_okay=False,
        help="TOML file configuring classifiers (e.g. your own ONNX or HTTP model).",
    ),
    provenance: bool = typer.Option(
        True, "--provenance/--no-provenance", help="Read AI-generation and camera evidence."
    ),
    textguard: bool = typer.Option(
        True,
        "--textguard/--no-textguard",
        help="Check file and folder names and embedded prompts with the text guard.",
    ),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        exists=True,
        dir_okay=False,
        help="TOML file with the assessment's thresholds (docs/assessment.md; default: built in).",
    ),
    video_frames: int = typer.Option(
        8,
        "--video-frames",
        min=0,
        help="Frames of each video the classifiers see: this many spread evenly, and as many "
        "scene changes at most (0: none).",
    ),
    seconds_per_hash: float = typer.Option(
        1.0,
        "--seconds-per-hash",
        min=0.0,
        help="Videos: one frame every this many seconds gets a vPDQ hash (0: every frame).",
    ),
    ray: str | None = typer.Option(
        None,
        "--ray",
        metavar="auto|ADDRESS",
        help="Compute the files on a Ray cluster instead of this machine's cores (needs the "
        "`ray` extra and a PostgreSQL --db): `auto` joins the cluster started on this machine "
        "with `ray start --head`, ADDRESS is its head's HOST:PORT. Every node must see the "
        "files at the same path (a shared filesystem). --workers is then unused.",
    ),
    ray_workers: int | None = typer.Option(
        None,
        "--ray-workers",
        min=1,
        help="With --ray: keep at most this many batches of files in flight, so at most this "
        "many of the cluster's CPUs work on this scan (default: all of them).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Scan folders and archives: known material first, then likely new material.

    Every file gets md5, sha1, sha256 and a PDQ perceptual hash (with its 8 rotations and
    flips) and is matched against the banks. Images are scored by the classifiers
    (explicit content, apparent age of faces), checked for AI-generation and camera
    evidence, and their names and embedded prompts go through the text guard. Videos
    (MP4/MOV, MKV/WebM, AVI, FLV, MPEG-TS/PS, WMV; needs the `video` extra) get a vPDQ
    (one frame hash a second) matched against banked videos, a few sampled frames scored
    by the classifiers (reasons cite the frame's time), and C2PA and container tags read. Each file
    gets a priority (critical, high, medium, low, none) with the reasons, and is stored
    as one record in the database. Files that cannot be read are recorded with the
    reason; the scan goes on.

    A scan that is interrupted (Ctrl-C, a crash, kill -9) continues where it stopped when
    you run the same command again: nothing is hashed twice, nothing is lost.

    More files than one machine gets through: start a Ray cluster (`ray start --head` on
    one node, `ray start --address HEAD:6379` on the others, needle installed on each) and
    scan with --ray. This machine walks the folders, matches and writes to PostgreSQL; the
    cluster's CPUs read and examine the files where they are. A node lost mid-scan costs
    nothing: its files are done again elsewhere (docs/scale.md).

    Examples:

      needle bank import known hashes.csv

      needle scan /evidence/case-17 --jsonl case-17.jsonl

      needle scan /mnt/evidence/case-17 --ray auto --db postgresql://needle@db/needle
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"no such file or folder: {', '.join(missing)}")
    if ray_workers is not None and ray is None:
        raise ConfigError("--ray-workers needs --ray (on this machine, use --workers)")
    options = ScanOptions(
        classify=classify,
        classifiers=tuple(classifiers.split(",")) if classifiers else None,
        classify_config=str(classifier_config) if classifier_config else None,
        provenance=provenance,
        textguard=textguard,
        seconds_per_hash=seconds_per_hash,
        video_frames=video_frames,
    )
    # a missing model or extra fails now, not once per file; with worker processes (or a
    # cluster) the models are opened there, so here they are only built
    preload(options, open_models=workers == 0 and ray is None)
    store = open_store(db)
    try:
        runner: Runner | None = None
        if ray is not None:
            check_store(store)
            runner = RayRunner(address=ray, workers=ray_workers)
        names = bank or store.bank_names()
        # values as arrays, labels read for matches only: a 10M-entry bank loads in seconds
        banks = [store.load_bank_columns(name) for name in names]
        if not banks and not quiet:
            err_console.print(
                "[yellow]no banks: files are hashed but matched against nothing "
                "(add one with: needle bank import NAME FILE)[/]"
            )
        rules = load_policy(policy) if policy is not None else None
        result = _run(paths, store, banks, options, rules, workers, runner, new, quiet)
        if jsonl is not None:
            count = write_jsonl(store, result.job.id, jsonl)
            if not quiet:
                err_console.print(f"wrote {count} records to {jsonl}")
        if not quiet:
            _print_summary(result, [b.name for b in banks])
            _print_findings(store, result)
    finally:
        store.close()


def _run(
    paths: list[Path],
    store: Store,
    banks: list[Bank],
    options: ScanOptions,
    policy: AssessmentPolicy | None,
    workers: int,
    runner: Runner | None,
    new: bool,
    quiet: bool,
) -> ScanResult:
    with scan_progress("scanning", quiet=quiet) as update:
        try:
            return run_scan(
                [str(p) for p in paths],
                store=store,
                banks=banks,
                workers=workers,
                options=options,
                policy=policy,
                runner=runner,
                new=new,
                progress=update,
            )
        except KeyboardInterrupt as stop:
            err_console.print(
                "[yellow]interrupted: finished files are stored; run the same command "
                "again to continue[/]"
            )
            # the shell's convention: 128 + the signal's number (SIGINT 2, SIGTERM 15)
            signum = stop.signum if isinstance(stop, ScanInterrupted) else signal.SIGINT
            raise typer.Exit(128 + signum) from None


def _print_summary(result: ScanResult, bank_names: list[str]) -> None:
    s = result.summary
    head = f"scan {s.job_id}: {s.files} files"
    if result.resumed:
        head += f" (resumed: {result.skipped} were done before, {result.processed} now)"
    head += f" in {result.elapsed:.1f}s"
    console.print(f"[bold]{head}[/]")
    table = Table(show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("files", justify="right")
    table.add_row("matched a bank", str(s.matched_files))
    for name in bank_names:
        table.add_row(f"  bank {name}", str(s.matches_by_bank.get(name, 0)))
    for signal_type, n in sorted(s.matches_by_signal.items()):
        table.add_row(f"  by {signal_type}", str(n))
    for priority in ("critical", "high", "medium", "low", "none"):
        if priority in s.priorities:
            table.add_row(f"priority {priority}", str(s.priorities[priority]))
    table.add_row("could not be read", str(s.errors))
    for reason, n in sorted(s.errors_by_reason.items()):
        table.add_row(f"  {reason}", str(n))
    console.print(table)


def _path_column(header: str) -> Column:
    """Paths are what a reader needs whole: wrap them rather than cut them."""
    return Column(header, overflow="fold", ratio=2)


#: files listed by name in each table of the summary; the rest are in --jsonl and the database
LISTED = 10


def _print_findings(store: Store, result: ScanResult) -> None:
    job_id = result.job.id
    matched = Table(
        _path_column("matched file"), "bank", "signal", "distance", "transform",
        title="Known material",
    )  # fmt: skip
    for n, record in enumerate(store.iter_records(job_id, only="matched")):
        if n == LISTED:
            matched.add_row("…", "", "", "", "")
            break
        for i, m in enumerate(record.matches):
            distance = f"{m.distance} ≤ {m.threshold}" if m.signal_type == "pdq" else "exact"
            matched.add_row(record.path if i == 0 else "", m.bank, m.signal_type, distance,
                            m.transform or "")  # fmt: skip
    if matched.row_count:
        console.print(matched)

    review = Table(
        _path_column("file"), "priority", "first reason", title="Review first (new material)"
    )
    shown = 0
    for priority in ("critical", "high", "medium"):
        for record in store.iter_records(job_id, priority=priority):
            if record.matches:
                continue  # listed above
            if shown == LISTED:
                break
            first = record.reasons[0].get("text", "") if record.reasons else ""
            review.add_row(record.path, priority, str(first))
            shown += 1
    if review.row_count:
        console.print(review)

    errors = Table(_path_column("unreadable file"), "reason", "detail", title="Could not be read")
    for n, record in enumerate(store.iter_records(job_id, only="readable-errors")):
        if n == LISTED:
            errors.add_row("…", "", "")
            break
        errors.add_row(record.path, record.error_reason or "", record.error or "")
    if errors.row_count:
        console.print(errors)
    unsupported = result.summary.errors_by_reason.get("unsupported", 0)
    if unsupported:
        console.print(
            f"{unsupported} files are neither images nor videos needle decodes (text, audio, "
            "documents ...); "
            "they are recorded with their hashes (see --jsonl)."
        )
