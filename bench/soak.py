"""Soak test: a folder of normal images mixed with hostile files, a scan killed with SIGKILL at
random moments and resumed each time, compared with one uninterrupted scan of the same folder.

Checks, and writes to docs/reliability.md:

- every file has exactly one record (the same paths and md5s as the uninterrupted scan);
- no process of a killed scan is left behind (its workers, forkserver, resource tracker);
- the peak RSS of the scan process and of its workers.

Hostile files are built here from benign synthetic images: truncated and empty files, a PNG
decompression bomb, a PNG whose text chunk inflates past Pillow's limit, zip and tar archives
with duplicate, non-UTF-8, NUL-carrying, ``../`` and absolute member names, an encrypted zip
member, nested and empty archives, symbolic links out of the folder and in loops, a FIFO.

    .venv/bin/python bench/soak.py [--normal 5000] [--hostile 500] [--kills 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sqlite3
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import uptime, write_section

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"


def _jpeg(rng: np.random.Generator, size: tuple[int, int] = (160, 120)) -> bytes:
    base = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_with_text_bomb(rng: np.random.Generator) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(out, "PNG")
    png = out.getvalue()
    text = b"Comment\x00\x00" + zlib.compress(b"A" * (8 << 20), 9)  # 8 MiB when inflated
    return png[:33] + _png_chunk(b"zTXt", text) + png[33:]


def _png_bomb() -> bytes:
    width = height = 30_000  # 900 Mpx of one colour: a few hundred KB compressed
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    row = b"\x00" + b"\x00" * (width // 8)
    data = zlib.compress(row * height, 9)
    return b"\x89PNG\r\n\x1a\n" + header + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
        warnings.simplefilter("ignore")  # duplicate names are the point
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


def _tar(members: list[tuple[str, bytes]], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode, encoding="utf-8", errors="surrogateescape") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _encrypted_zip(data: bytes) -> bytes:
    """A zip whose one member has the 'encrypted' flag set (its bytes are not really
    encrypted: readers must refuse it all the same)."""
    raw = bytearray(_zip([("secret.jpg", data)]))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        flags = struct.unpack_from("<H", raw, at + offset)[0] | 0x1
        struct.pack_into("<H", raw, at + offset, flags)
    return bytes(raw)


def build(folder: Path, normal: int, hostile: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for i in range(normal):
        sub = folder / f"d{i % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:05d}.jpg").write_bytes(_jpeg(rng))
    bad = folder / "hostile"
    bad.mkdir()
    photo = _jpeg(rng)
    makers = [
        lambda i: (f"truncated{i}.jpg", photo[: len(photo) // 3]),
        lambda i: (f"empty{i}.png", b""),
        lambda i: (f"textbomb{i}.png", _png_with_text_bomb(rng)),
        lambda i: (f"dupnames{i}.zip", _zip([("a.jpg", photo), ("a.jpg", _jpeg(rng))])),
        lambda i: (f"dupnames{i}.tar", _tar([("a.jpg", photo), ("a.jpg", _jpeg(rng))])),
        lambda i: (f"badname{i}.tar", _tar([(f"b\udcff{i}.jpg", photo)])),
        lambda i: (f"escape{i}.zip", _zip([("../up.jpg", photo), ("/abs.jpg", photo)])),
        lambda i: (f"nul{i}.zip", _zip([("x\x00y.jpg", photo)])),
        lambda i: (f"encrypted{i}.zip", _encrypted_zip(photo)),
        lambda i: (
            f"nested{i}.zip",
            _zip([("in.zip", _zip([("in.tar", _tar([("z.jpg", photo)]))]))]),
        ),
        lambda i: (f"emptyarchive{i}.zip", _zip([])),
        lambda i: (f"notimage{i}.jpg", os.urandom(2000)),
    ]
    for i in range(hostile):
        if i % 50 == 0:
            (bad / f"bomb{i}.png").write_bytes(_png_bomb())
            continue
        name, data = makers[i % len(makers)](i)
        (bad / name).write_bytes(data)
    (bad / "passwd.jpg").symlink_to("/etc/passwd")
    (bad / "outside").symlink_to("/usr/share")
    (bad / "loop").symlink_to("..")
    os.mkfifo(bad / "pipe.jpg")


def _scan(folder: Path, db: Path) -> list[str]:
    return [
        sys.executable, "-m", "needle", "scan", str(folder), "--db", str(db), "--no-classify",
        "--workers", "2", "--quiet",
    ]  # fmt: skip


def _members(sid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if fields[0] != "Z" and int(fields[3]) == sid:
                found.append(int(entry))
    return found


def _rss_kb(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[pid] = int(line.split()[1])
        except OSError:
            continue
    return out


def _records(db: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        job = conn.execute("select max(id) from scan_job").fetchone()[0]
        return conn.execute(
            "select path, md5 from file_record where job_id = ? order by path", (job,)
        ).fetchall()


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("select count(*) from file_record").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--normal", type=int, default=5000)
    parser.add_argument("--hostile", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "evidence"
        build(folder, args.normal, args.hostile, args.seed)
        reference_db = Path(tmp) / "reference.db"
        started = time.monotonic()
        subprocess.run(_scan(folder, reference_db), check=True, timeout=3600)
        full = time.monotonic() - started
        reference = _records(reference_db)
        print(f"uninterrupted scan: {len(reference)} records in {full:.1f} s")

        db = Path(tmp) / "soak.db"
        # random moments spread over the work: kill when the stored records pass a target
        targets = sorted(rng.uniform(0.02, 0.95) * len(reference) for _ in range(args.kills))
        left_behind, peak, kills, runs, moments = 0, {}, 0, 0, []
        while True:
            runs += 1
            started = time.monotonic()
            proc = subprocess.Popen(
                _scan(folder, db), start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            target = targets[kills] if kills < len(targets) else None
            while proc.poll() is None and (target is None or _stored(db) < target):
                for pid, kb in _rss_kb(_members(proc.pid)).items():
                    role = "scan" if pid == proc.pid else "worker"
                    peak[role] = max(peak.get(role, 0), kb)
                time.sleep(0.05)
            if proc.poll() is not None:
                break
            proc.kill()  # the scan process alone: its helpers must go by themselves
            proc.wait()
            kills += 1
            gone = time.monotonic() + 30
            while _members(proc.pid) and time.monotonic() < gone:
                time.sleep(0.1)
            left = _members(proc.pid)
            left_behind += len(left)
            for pid in left:
                os.kill(pid, 9)
            moments.append(f"{_stored(db):,} ({time.monotonic() - started:.1f} s)")
            print(f"kill {kills} at {moments[-1]}: {len(left)} processes left behind")
        assert proc.returncode == 0, f"the last run exited {proc.returncode}"
        soaked = _records(db)
    same = soaked == reference
    lines = [
        "## Soak: SIGKILL at random moments, then resume",
        "",
        f"`.venv/bin/python bench/soak.py --normal {args.normal} --hostile {args.hostile} "
        f"--kills {args.kills} --seed {args.seed}` ({uptime()})",
        "",
        f"- folder: {args.normal:,} synthetic JPEGs and {args.hostile} hostile files (plus a",
        "  link to /etc/passwd, a link out of the folder, a link loop and a FIFO)",
        f"- uninterrupted scan: {len(reference):,} records in {full:.1f} s",
        f"- killed {kills} times (SIGKILL to the scan process alone), {runs} runs in all; "
        f"records stored at each kill: {', '.join(moments)}",
        f"- records after resuming: {len(soaked):,}; same paths and md5s as the uninterrupted "
        f"scan: {'yes' if same else 'NO'}",
        f"- processes left behind after the kills: {left_behind}",
        f"- peak RSS: scan process {peak.get('scan', 0) / 1024:.0f} MiB, largest worker "
        f"{peak.get('worker', 0) / 1024:.0f} MiB",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(DOC, lines[0], text)
    if not same or left_behind:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
