"""Killing a real ``needle scan`` with SIGKILL and running it again loses and repeats nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import image_bytes, synth_image

N_FILES = 900


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("select count(*) from file_record").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet


def _scan(folder: Path, db: Path, *extra: str) -> list[str]:
    # classifiers off: this test is about resuming, and runs faster without models
    return [
        sys.executable, "-m", "needle", "scan", str(folder), "--db", str(db), "--no-classify",
        *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_kill_minus_nine_then_resume(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    for i in range(N_FILES):
        sub = folder / f"d{i % 7}"
        sub.mkdir(exist_ok=True)
        (sub / f"{i:05d}.jpg").write_bytes(image_bytes(synth_image(i, (96, 72)), quality=70))
    (folder / "broken.jpg").write_bytes(image_bytes(synth_image(1))[:300])
    (folder / "empty.png").write_bytes(b"")
    expected = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    db = tmp_path / "needle.db"

    proc = subprocess.Popen(
        _scan(folder, db, "--workers", "2", "--quiet"),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _count(db) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: parent and workers
    proc.wait()
    stored_before = _count(db)
    assert 0 < stored_before < len(expected), (
        f"the kill should land mid-scan: {stored_before} of {len(expected)} stored"
    )

    out = tmp_path / "out.jsonl"
    second = subprocess.run(
        _scan(folder, db, "--workers", "2", "--jsonl", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    resumed = re.search(r"resumed: (\d+) were done before, (\d+) now", second.stdout)
    assert resumed, second.stdout
    assert int(resumed.group(1)) == stored_before
    # every file not stored before was hashed exactly once, in the second run
    assert int(resumed.group(2)) == len(expected) - stored_before

    records = [json.loads(line) for line in out.read_text().splitlines()]
    paths = [r["path"] for r in records]
    assert sorted(paths) == expected  # nothing lost, nothing duplicated
    assert _count(db) == len(expected)
    for record in records:
        if record["error"] is None:
            data = Path(record["path"]).read_bytes()
            assert record["md5"] == hashlib.md5(data).hexdigest()
            assert record["pdq"] and record["pdq_quality"] is not None
    errors = {Path(r["path"]).name: r["error_reason"] for r in records if r["error"]}
    assert errors == {"broken.jpg": "corrupt", "empty.png": "corrupt"}

    with sqlite3.connect(db) as conn:
        jobs = conn.execute("select status from scan_job").fetchall()
    assert jobs == [("complete",)]  # the killed job was resumed, not started afresh
