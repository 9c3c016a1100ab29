"""Whole-scan throughput: ``needle scan``'s pipeline end to end, every stage on.

Headline set: Debian's installed wallpapers exactly as installed (every JPEG of
``mate-backgrounds`` and ``gnome-backgrounds``, progressive ones included), three byte-distinct
copies each (``bench/hash_cli.prepare``). On it: the ``needle scan`` command end to end with
2 workers (start-up, model loading and SQLite writes included), ``run_scan`` in process with 1
and 2 workers, and each stage's time per file (``FileRecord.timings``) in one process, with
baseline-coded and progressive photos broken out. The baseline measured in the same run is the
same pipeline with the classifiers off (the hash-only scan).

Secondary set: ``bench/classify_throughput.make_photos`` (the wallpapers rescaled to 1, 4, 12
and 22 MP and re-encoded as baseline JPEGs, a quarter of them from scikit-image's astronaut
portrait, so faces are aged).

    .venv/bin/python bench/scan_throughput.py [--per-size 12] [--no-write]

Results go to the "## Whole scan throughput" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# as in the scan's workers: one thread per process (set before numpy is imported)
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from _report import uptime, write_section  # noqa: E402
from classify_throughput import make_photos  # noqa: E402
from hash_cli import prepare  # noqa: E402
from needle.media import walk  # noqa: E402
from needle.pipeline.scan import run_scan  # noqa: E402
from needle.pipeline.worker import ScanOptions, compute_file  # noqa: E402
from needle.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Whole scan throughput"
TARGET = 15.0  # images/s on 2 cores with classifiers on (issue 3)


def _scan(folder: Path, workers: int, options: ScanOptions) -> float:
    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/n.db") as store:
        started = time.perf_counter()
        result = run_scan([str(folder)], store=store, workers=workers, options=options)
        elapsed = time.perf_counter() - started
        assert result.summary.files == len(list(folder.iterdir()))
        return result.summary.files / elapsed


def _shares(folder: Path, options: ScanOptions) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    items = list(walk([str(folder)]))
    compute_file(items[0], options)  # load the models outside the timing
    for item in items:
        for stage, seconds in compute_file(item, options).timings.items():
            totals[stage] += seconds
    return {stage: seconds / len(items) for stage, seconds in totals.items()}


def _cli(folder: Path, workers: int, full: bool) -> float:
    """``needle scan`` as a user runs it, into a new SQLite file: images/s, start-up included."""
    flags = [] if full else ["--no-classify", "--no-provenance", "--no-textguard"]
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            str(ROOT / ".venv" / "bin" / "needle"),
            "scan",
            str(folder),
            "--db",
            f"sqlite:///{tmp}/n.db",
            "--workers",
            str(workers),
            "--quiet",
            *flags,
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return len(list(folder.iterdir())) / (time.perf_counter() - started)


def headline(workdir: Path, repeat: int) -> list[str]:
    """The installed wallpapers: CLI and in-process rates, and the stages per kind of JPEG."""
    folders = prepare(workdir)
    full, hashes = ScanOptions(classify=True, provenance=True, textguard=True), ScanOptions()
    files = len(list(folders["all"].iterdir()))
    _cli(folders["all"], 2, True)  # warm the page cache and the models' files
    cli = {
        (w, f): statistics.median(_cli(folders["all"], w, f) for _ in range(repeat))
        for w in (2,)
        for f in (False, True)
    }
    inproc = {
        (w, f): statistics.median(
            _scan(folders["all"], w, full if f else hashes) for _ in range(repeat)
        )
        for w in (1, 2)
        for f in (False, True)
    }
    lines = [
        f"Headline: the {files // 3} JPEGs of Debian's wallpaper packages as installed "
        f"(/usr/share/backgrounds), 3 byte-distinct copies each ({files} files; "
        f"{len(list(folders['progressive'].iterdir())) // 3} progressive), median of {repeat} "
        "runs.",
        "",
        "| how | workers | hash-only scan (images/s) | full scan: classifiers, provenance, "
        "text guard (images/s) |",
        "|---|---|---:|---:|",
        f"| `needle scan` command, end to end (start-up, models, SQLite) | 2 | "
        f"{cli[(2, False)]:.1f} | **{cli[(2, True)]:.1f}** |",
    ]
    lines += [
        f"| `run_scan` in process | {w} | {inproc[(w, False)]:.1f} | {inproc[(w, True)]:.1f} |"
        for w in (1, 2)
    ]
    lines += [
        "",
        "One process, ms per file by stage (full scan):",
        "",
        "| photos | files | read | decode | signals | classify | provenance | text guard | total |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in ("all", "baseline", "progressive"):
        shares = _shares(folders[kind], full)
        cells = [
            f"{shares.get(stage, 0.0) * 1000:.1f}"
            for stage in ("read", "decode", "signals", "classify", "provenance", "textguard")
        ]
        lines.append(
            f"| {kind} | {len(list(folders[kind].iterdir()))} | {' | '.join(cells)} | "
            f"{sum(shares.values()) * 1000:.1f} |"
        )
    met = cli[(2, True)] >= TARGET
    lines += [
        "",
        f"Target: ≥ {TARGET:.0f} images/s for the whole scan with every stage on, 2 workers, "
        f"on these photos: {'met' if met else 'NOT met'} ({cli[(2, True)]:.1f} end to end, "
        f"{inproc[(2, True)]:.1f} in process).",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--per-size", type=int, default=12, help="photos per size (1/4/12/22 MP)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--repeat", type=int, default=3, help="runs per headline row")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/needle-bench-scan"))
    args = parser.parse_args(argv)
    load_first = uptime()
    top = headline(args.workdir, args.repeat)

    photos = make_photos(args.per_size)
    folder = photos[0].parent
    load_before = uptime()
    full = ScanOptions(classify=True, provenance=True, textguard=True)
    hashes = ScanOptions()
    rows = []
    for workers in (1, 2):
        _scan(folder, workers, full)  # warm the page cache and the forkserver
        rows.append((workers, _scan(folder, workers, hashes), _scan(folder, workers, full)))
    with tempfile.TemporaryDirectory() as tmp:
        few = Path(tmp)
        for photo in photos[:2]:
            (few / photo.name).write_bytes(photo.read_bytes())
        startup = {w: 2 / _scan(few, w, full) for w in (1, 2)}
    shares = _shares(folder, full)
    load_after = uptime()

    total = sum(shares.values())
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/scan_throughput.py --per-size {args.per_size} "
        f"--repeat {args.repeat}` ({os.cpu_count()} cores; load at the start `{load_first}`, "
        f"before the secondary set `{load_before}`, at the end `{load_after}`).",
        "",
        *top,
        f"Secondary set: {len(photos)} derived baseline JPEGs, {args.per_size} each of 1, 4, 12 "
        "and 22 MP (`make_photos`), in process:",
        "",
        "| workers | hash-only scan (images/s) | full scan: classifiers, provenance, "
        "text guard (images/s) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {w} | {h:.1f} | {f:.1f} |" for w, h, f in rows]
    lines += [
        "",
        "Fixed cost of a scan (a scan of 2 small photos, dominated by starting worker "
        "processes and loading the models in each): "
        + f"1 worker {startup[1]:.2f} s (in-process, models already loaded by the runs above), "
        + f"2 workers {startup[2]:.2f} s. The rates above include it once.",
        "",
        f"On the derived set, ≥ {TARGET:.0f} images/s with classifiers on 2 cores: "
        f"{'met' if rows[-1][2] >= TARGET else 'NOT met'} ({rows[-1][2]:.1f}).",
        "",
        "Share of one file's time per stage, derived set (one process, mean over the photos):",
        "",
        "| stage | ms/file | share |",
        "|---|---:|---:|",
    ]
    for stage, seconds in sorted(shares.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {stage} | {seconds * 1000:.1f} | {seconds / total:.0%} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(DOC, SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
