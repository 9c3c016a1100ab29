"""Which process runs a scan job, and whether it is still alive.

A job's owner is written as ``host pid start-time``: on the same host a live process with that
pid *and* that start time is the owner (a reused pid is not); on another host only the job's
heartbeat can tell, so an owner elsewhere counts as alive while its heartbeat is recent.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

__all__ = ["HEARTBEAT_SECONDS", "STALE_AFTER", "is_alive", "now_utc", "this_process"]

#: how often a running scan says it is alive
HEARTBEAT_SECONDS = 10.0
#: an owner on another host whose heartbeat is older than this is taken to be gone
STALE_AFTER = timedelta(seconds=60)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count from its end
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()} {pid} {_start_time(pid) or '-'}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_alive(owner: str | None, heartbeat_at: datetime | None, now: datetime) -> bool:
    """Whether the process named by ``owner`` may still be running its job."""
    if not owner:
        return False
    host, pid_text, started = [*owner.split(" "), "", "", ""][:3]
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if not _pid_alive(pid):
            return False
        current = _start_time(pid)
        return current is None or started in ("-", current)
    return heartbeat_at is not None and now - _aware(heartbeat_at) < STALE_AFTER


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)
