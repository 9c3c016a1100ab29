"""A scan's processes: none is left behind when the scan is killed, SIGTERM stops it cleanly,
and a second scan of the same job refuses to join a live one (and takes over a dead one)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import image_bytes, synth_image
from needle.errors import JobRunning
from needle.store import Store
from needle.store.owner import _start_time

N_FILES = 400


def _session_members(sid: int) -> list[int]:
    """Processes of session ``sid`` (the scan was started as the leader of a new session)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            found.append(int(entry))
    return found


def _wait_until(condition, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("select count(*) from file_record").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _start_scan(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, Path]:
    folder = tmp_path / "evidence"
    folder.mkdir()
    for i in range(N_FILES):
        (folder / f"{i:05d}.jpg").write_bytes(image_bytes(synth_image(i, (96, 72)), quality=70))
    db = tmp_path / "needle.db"
    command = [
        sys.executable, "-m", "needle", "scan", str(folder), "--db", str(db), "--no-classify",
        "--workers", "2", "--quiet",
    ]  # fmt: skip
    # output to files: a pipe would stay open in any process left behind, and hang the test
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr
        )
    assert _wait_until(lambda: _count(db) > 0 or proc.poll() is not None, 120)
    assert proc.poll() is None, "the scan should still be running"
    assert len(_session_members(proc.pid)) > 2, "the scan runs worker processes"
    return proc, folder, db


@pytest.mark.slow
def test_no_process_is_left_behind_after_kill_minus_nine(tmp_path: Path) -> None:
    proc, _, _ = _start_scan(tmp_path)
    proc.kill()  # the scan process alone, as an out-of-memory killer would
    proc.wait()
    assert _wait_until(lambda: not _session_members(proc.pid)), (
        f"left behind: {_session_members(proc.pid)}"
    )


@pytest.mark.slow
def test_sigterm_stops_cleanly_and_the_scan_resumes(tmp_path: Path) -> None:
    proc, folder, db = _start_scan(tmp_path)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    err = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted" in err
    assert _wait_until(lambda: not _session_members(proc.pid))
    stored = _count(db)
    assert 0 < stored < N_FILES
    again = subprocess.run(
        [sys.executable, "-m", "needle", "scan", str(folder), "--db", str(db), "--no-classify",
         "--workers", "0", "--quiet"],
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert _count(db) == N_FILES


def test_a_second_scan_does_not_join_a_live_one_and_takes_over_a_dead_one(
    db_url: str,
) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        owner = f"{socket.gethostname()} {other.pid} {_start_time(other.pid)}"
        with Store(db_url) as store:
            job, _ = store.open_job(["/evidence"], {"banks": []})
            with store.engine.begin() as conn:
                conn.execute(
                    sa.text("UPDATE scan_job SET owner = :owner WHERE id = :id"),
                    {"owner": owner, "id": job.id},
                )
            with pytest.raises(JobRunning, match=f"pid {other.pid}"):
                store.open_job(["/evidence"], {"banks": []})
            other.kill()
            other.wait()
            again, resumed = store.open_job(["/evidence"], {"banks": []})
            assert resumed and again.id == job.id
    finally:
        other.kill()
        other.wait()
