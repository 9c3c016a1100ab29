"""Peak memory of scans of hostile archives, with the default limits (docs/limits.md).

Builds each hostile file in a temporary folder, then scans it with ``run_scan`` in a fresh
child process: with ``--workers 0`` the child's own peak RSS (``resource.getrusage``), with
more workers the peak of the sum of RSS over the child and all its descendants, sampled from
``/proc`` every 20 ms. The baseline, measured in the same run, is the same scan of a folder
holding one small JPEG: what the interpreter, needle and the store cost before any file.

    .venv/bin/python bench/hostile_memory.py [--workers 0 2] [--before SRC] [--no-write]

``--before SRC`` runs every case a second time with another checkout's ``src`` first on the
path, e.g. the code before these limits: ``git archive COMMIT src | tar -x -C /tmp/before``
then ``--before /tmp/before/src``. Results go to the "## Measured" section of docs/limits.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import uptime, write_section

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "limits.md"
SECTION = "## Measured"
MiB = 1024 * 1024

# -- the hostile files ---------------------------------------------------------------------------


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read in pieces: big members without holding them."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def tar_gz_of_big_members(path: Path) -> str:
    with tarfile.open(path, "w:gz", compresslevel=9) as tf:
        for i in range(6):
            info = tarfile.TarInfo(f"member{i}.jpg")
            info.size = 200 * 1000 * 1000
            tf.addfile(info, io.BufferedReader(_Zeros(info.size)))
    return "tar.gz, six members of 200 MB of zeros"


def zip_of_many_small_bombs(path: Path) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zeros = bytes(MiB)
        for i in range(2000):
            zf.writestr(f"{i:04d}.jpg", zeros)
    return "zip, 2000 members of 1 MiB of zeros (each under the old 1 MiB ratio floor)"


def nested_zip_bomb(path: Path) -> str:
    inner_buf = io.BytesIO()
    with zipfile.ZipFile(inner_buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("zeros.jpg", bytes(64 * MiB))
    level = inner_buf.getvalue()
    for _ in range(2):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for i in range(8):
                zf.writestr(f"{i}.zip", level)
        level = buf.getvalue()
    path.write_bytes(level)
    return "zip of 8 zips of 8 zips of 64 MiB of zeros (4 GiB in all)"


def pax_header_bomb(path: Path) -> str:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=9) as tf:
        header = tarfile.TarInfo("././@PaxHeader")
        header.type = tarfile.XHDTYPE
        header.size = 1024 * MiB
        tf.addfile(header, io.BufferedReader(_Zeros(header.size)))
        photo = tarfile.TarInfo("photo.jpg")
        tf.addfile(photo, io.BytesIO())
    return "tar.gz whose pax header claims 1 GiB (of zeros)"


def _tiny_zip(path: Path, count: int) -> None:
    local = struct.Struct("<4s5H3L2H")
    central = struct.Struct("<4s6H3L5H2L")
    crc = zlib.crc32(b"")
    with path.open("wb") as out:
        directory = io.BytesIO()
        offset = 0
        for i in range(count):
            name = f"d{i // 1000:04d}/{i:07d}.jpg".encode()
            out.write(local.pack(b"PK\x03\x04", 20, 0, 0, 0, 0, crc, 0, 0, len(name), 0) + name)
            fields = (20, 20, 0, 0, 0, 0, crc, 0, 0, len(name), 0, 0, 0, 0, 0, offset)
            directory.write(central.pack(b"PK\x01\x02", *fields) + name)
            offset += local.size + len(name)
        cd = directory.getvalue()
        out.write(cd)
        # zip64 end record and locator: a million entries is over the 65535 of the plain one
        out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                              len(cd), offset))  # fmt: skip
        out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + len(cd), 1))
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                              0xFFFFFFFF, 0))  # fmt: skip


def zip_of_a_million_entries(path: Path) -> str:
    _tiny_zip(path, 1_000_000)
    return "zip, 1,000,000 empty members (the members limit)"


def tar_gz_of_a_million_entries(path: Path) -> str:
    with gzip.open(path, "wb", compresslevel=6) as out:
        for i in range(1_000_000):
            info = tarfile.TarInfo(f"d{i // 1000:04d}/{i:07d}.jpg")
            out.write(info.tobuf(tarfile.GNU_FORMAT))
        out.write(bytes(1024))
    return "tar.gz, 1,000,000 empty members (the members limit)"


def baseline(path: Path) -> str:
    from PIL import Image

    Image.new("RGB", (64, 64), (90, 120, 200)).save(path, "JPEG")
    return "baseline: one 64x64 JPEG"


#: (file name, builder, walk only): a million records would measure the store, not the limits,
#: so those cases only walk the archive (``needle.media.walk``), as a scan's parent does
CASES: list[tuple[str, Callable[[Path], str], bool]] = [
    ("baseline.jpg", baseline, False),
    ("six-200MB.tar.gz", tar_gz_of_big_members, False),
    ("many-1MiB.zip", zip_of_many_small_bombs, False),
    ("nested.zip", nested_zip_bomb, False),
    ("pax-header.tar.gz", pax_header_bomb, False),
    ("million.zip", zip_of_a_million_entries, True),
    ("million.tar.gz", tar_gz_of_a_million_entries, True),
]

# -- the measurement, in a child process --------------------------------------------------------

CHILD = r"""
import json, os, resource, sys, tempfile, threading, time

def tree_rss(root):
    # RSS of root and all its descendants, from /proc
    parents, rss = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/statm") as f:
                rss[int(pid)] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            pass
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(pid, 0) for pid in tree)

peak = [0]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], tree_rss(os.getpid()))
        time.sleep(0.02)

path, workers, walk_only = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "walk"
from needle.media import walk
from needle.pipeline.scan import run_scan
from needle.store import Store
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
started = time.monotonic()
with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/n.db") as store:
    error = None
    try:
        if walk_only:
            records, reasons = 0, {}
            for item in walk([path]):
                records += 1
                if item.error is not None:
                    reasons[item.error.reason] = reasons.get(item.error.reason, 0) + 1
        else:
            result = run_scan([path], store=store, workers=workers)
            records, reasons = result.summary.files, result.summary.errors_by_reason
    except BaseException as exc:
        records, reasons, error = 0, {}, f"{type(exc).__name__}: {exc}"[:200]
elapsed = time.monotonic() - started
done.set()
sampler.join()
self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"self": self_peak, "tree": max(peak[0], self_peak), "seconds": elapsed,
                  "records": records, "reasons": reasons, "error": error}))
"""


def measure(path: Path, workers: int, src: Path, walk_only: bool) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(workers), "walk" if walk_only else "scan"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _row(name: str, size: int, workers: int, found: dict[str, object]) -> str:
    if found.get("error") and "self" not in found:
        return f"| {name} | {size / MiB:,.1f} | {workers} | - | - | {found['error']} |"
    peak = int(found["tree" if workers else "self"])  # type: ignore[call-overload]
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(found["reasons"].items()))  # type: ignore[attr-defined]
    outcome = found["error"] or f"{found['records']} records ({reasons or 'no errors'})"
    return (
        f"| {name} | {size / MiB:,.1f} | {workers} | {peak / MiB:,.0f} | "
        f"{found['seconds']:.1f} | {outcome} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--before", type=Path, help="another src tree to measure too")
    parser.add_argument("--only", nargs="*", help="case file names to run")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    runs = [("after", ROOT / "src")] + ([("before", args.before)] if args.before else [])
    load_before = uptime()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build, walk_only in CASES:
            if args.only and name not in args.only and name != "baseline.jpg":
                continue
            folder = Path(tmp) / name.replace(".", "-")
            folder.mkdir()
            path = folder / name
            started = time.monotonic()
            what = build(path)
            print(f"built {name} ({path.stat().st_size:,} bytes) in "
                  f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
            for label, src in runs:
                for workers in [0] if walk_only else args.workers:
                    found = measure(folder, workers, src, walk_only)
                    shown = f"{what} [{label}{', walk only' if walk_only else ''}]"
                    row = _row(shown, path.stat().st_size, workers, found)
                    print(row, flush=True)
                    lines.append(row)
            path.unlink()
    text = "\n".join(
        [
            SECTION,
            "",
            f"Command: `python bench/hostile_memory.py"
            f"{' --before SRC' if args.before else ''}` on {os.cpu_count()} CPUs, "
            f"Python {sys.version.split()[0]}, default `Limits`. Load before: `{load_before}`; "
            f"after: `{uptime()}`. Peak RSS: with 0 workers the scanning process's own "
            "(`getrusage`); with workers, the sum over it and its worker processes (sampled "
            "every 20 ms, so short peaks may be missed). Rows marked [before] ran the `--before` "
            "tree.",
            "",
            "| hostile file | size MiB | workers | peak RSS MiB | seconds | records |",
            "|---|---|---|---|---|---|",
            *lines,
            "",
        ]
    )
    if not args.no_write:
        write_section(DOC, SECTION, text)
    print(text)


if __name__ == "__main__":
    main()
