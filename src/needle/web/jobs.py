"""Background scan jobs of ``needle serve``: server-side folders scanned as ``needle scan`` does.

In: paths on the server, inside the folders the operator allowed (``needle serve --scan-root
DIR``; none allowed: every job is refused), and the stages to run. Out: a scan job in the
store, its records in the review queue, and live progress while it runs.

A job is ``needle.pipeline.scan.run_scan`` in a thread of the service (its worker processes
do the hashing), so everything the scan guarantees holds: records are committed in batches,
a job stopped at any moment (cancelled, the service stopped or killed) keeps every finished
record, and running it again continues after them. Only one job at a time runs over the
same paths: in this service (checked here) and across processes (the store's job owner).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from needle.banks.model import Bank
from needle.errors import JobRunning, NeedleError
from needle.jsonvalue import JSONObject, JSONValue
from needle.media import Limits
from needle.pipeline.scan import ScanProgress, ScanResult, run_scan
from needle.pipeline.worker import ScanOptions
from needle.store.owner import is_alive, now_utc, this_process
from needle.store.schema import JobRow
from needle.web.auth import Forbidden
from needle.web.service import Service
from needle.web.views import progress_view, when

__all__ = [
    "MAX_RUNNING_JOBS",
    "STAGES",
    "UPLOAD_ROOT",
    "BadRequest",
    "JobCancelled",
    "JobManager",
    "JobState",
    "Stages",
    "check_paths",
    "parse_stages",
]

#: the stages a scan (an upload or a job) may run; ``hash`` always runs
STAGES = ("hash", "classify", "provenance", "textguard")
#: the root of the job that holds uploads recorded through ``POST /v1/scan?record=1``
UPLOAD_ROOT = "upload:"
#: jobs running at once in one service (each has its own worker processes)
MAX_RUNNING_JOBS = 4


class BadRequest(NeedleError):
    """A request the API refuses as malformed (answered 400)."""


class JobCancelled(Exception):
    """Raised inside a cancelled job's scan, at its next batch: the scan keeps what it wrote."""


@dataclass(frozen=True)
class Stages:
    """The stages after hashing that a scan runs (hashing always runs)."""

    classify: bool = False
    provenance: bool = False
    textguard: bool = False

    def names(self) -> list[str]:
        return ["hash", *(stage for stage in STAGES[1:] if getattr(self, stage))]

    def options(self, limits: Limits) -> ScanOptions:
        return ScanOptions(
            limits=limits,
            classify=self.classify,
            provenance=self.provenance,
            textguard=self.textguard,
        )


def parse_stages(names: Iterable[str]) -> Stages:
    """The ``Stages`` named; ``all`` names every stage. An unknown name raises
    ``BadRequest`` naming the known ones."""
    chosen = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(chosen - {*STAGES, "all"})
    if unknown:
        raise BadRequest(
            f"unknown stage{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}: "
            f"choose from {', '.join(STAGES)} (or all)"
        )
    every = "all" in chosen
    return Stages(*(every or stage in chosen for stage in STAGES[1:]))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def check_paths(paths: Sequence[str], scan_roots: Sequence[str]) -> list[str]:
    """``paths`` resolved (symlinks and ``..`` followed), each inside an allowed root.

    No roots allowed: ``Forbidden`` saying how to allow some. A path outside them:
    ``Forbidden`` (checked before its existence, so a refusal says nothing of what is there).
    """
    if not scan_roots:
        raise Forbidden(
            "this service scans no server-side folders: an operator can allow some with "
            "needle serve --scan-root DIR (repeat it for more)"
        )
    roots = [os.path.realpath(root) for root in scan_roots]
    if not paths:
        raise BadRequest("give at least one path to scan")
    resolved = []
    for path in paths:
        if not path or "\x00" in path or not os.path.isabs(path):
            raise BadRequest(f"paths must be absolute: {path[:200]!r}")
        real = os.path.realpath(path)
        if not any(_inside(real, root) for root in roots):
            raise Forbidden(
                f"{path[:200]!r} is outside the folders this service may scan "
                f"({', '.join(roots)}; needle serve --scan-root)"
            )
        if not os.path.exists(real):
            raise BadRequest(f"no such file or folder: {path[:200]!r}")
        resolved.append(real)
    return sorted(set(resolved))


@dataclass
class JobState:
    """A job this service started: its thread, its live progress and how it ended."""

    id: int
    roots: tuple[str, ...]
    stages: list[str]
    resumed: bool
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    state: str = "running"  # running, cancelling, cancelled, complete, failed
    progress: ScanProgress | None = None
    error: str | None = None
    finished_at: datetime | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.state in ("running", "cancelling")

    def live(self) -> JSONObject:
        return {
            "state": self.state,
            "resumed": self.resumed,
            "started_at": when(self.started_at),
            "finished_at": when(self.finished_at),
            "progress": progress_view(self.progress),
            "error": self.error,
        }


#: what runs a job: ``run_scan`` (a test hands in one it controls)
Scanner = Callable[..., ScanResult]


class JobManager:
    """The jobs this service runs. ``start``/``resume`` block briefly (the store claims the
    job): call them from a thread, not the event loop."""

    def __init__(self, service: Service, *, scan: Scanner = run_scan) -> None:
        self.service = service
        self._scan = scan
        self._lock = threading.Lock()
        self._jobs: dict[int, JobState] = {}

    # -- starting ------------------------------------------------------------------------------

    def start(self, paths: Sequence[str], stages: Iterable[str], *, new: bool = False) -> JobState:
        """Scan ``paths`` (resuming an unfinished job over them unless ``new``)."""
        roots = check_paths(paths, self.service.settings.scan_roots)
        chosen = parse_stages(stages)
        return self._launch(roots, chosen, self.service.matcher().banks, new=new)

    def resume(self, job_id: int) -> JobState:
        """Continue a stopped job (cancelled, or its service stopped or killed) where it was."""
        row = self._row(job_id)
        if row.roots == [UPLOAD_ROOT]:
            raise BadRequest(f"job {job_id} holds uploads; it is not a scan to resume")
        if row.status != "running":
            raise JobRunning(f"job {job_id} is {row.status}: there is nothing left to resume")
        roots = check_paths(list(row.roots), self.service.settings.scan_roots)
        options = dict(row.options)
        chosen = Stages(*(bool(options.get(stage)) for stage in STAGES[1:]))
        wanted = options.get("banks")
        names = {str(n) for n in wanted} if isinstance(wanted, list) else set()
        banks = [bank for bank in self.service.matcher().banks if bank.name in names]
        missing = sorted(names - {bank.name for bank in banks})
        if missing:
            raise JobRunning(
                f"job {job_id} matched against bank(s) {', '.join(missing)}, which are gone: "
                "start a new job over these paths instead"
            )
        with Session(self.service.store.engine) as session:
            latest = session.scalar(
                sa.select(sa.func.max(JobRow.id)).where(
                    JobRow.fingerprint == row.fingerprint, JobRow.status == "running"
                )
            )
        if latest != job_id:
            raise JobRunning(
                f"job {latest} is a later unfinished scan of the same paths: resume that one"
            )
        return self._launch(roots, chosen, banks, new=False, expect=job_id)

    def _launch(
        self,
        roots: list[str],
        chosen: Stages,
        banks: Sequence[Bank],
        *,
        new: bool,
        expect: int | None = None,
    ) -> JobState:
        settings = self.service.settings
        options = chosen.options(settings.limits)
        # what run_scan fingerprints a job by: claiming the job here first gives its id to
        # the caller at once, and run_scan then finds this same job and resumes it
        job_options: JSONObject = {
            "banks": list[JSONValue](sorted(bank.name for bank in banks)),
            "policy": "defaults",
            **options.fingerprint(),
        }
        key = tuple(roots)
        with self._lock:
            running = [job for job in self._jobs.values() if job.active]
            clash = next((job for job in running if job.roots == key), None)
            if clash is not None:
                raise JobRunning(f"job {clash.id} over these paths is running: wait for it")
            if len(running) >= MAX_RUNNING_JOBS:
                raise JobRunning(f"{len(running)} jobs are running: wait for one to finish")
            job, resumed = self.service.store.open_job(roots, job_options, new=new)
            if expect is not None and job.id != expect:  # pragma: no cover - a race
                raise JobRunning(f"job {expect} could not be claimed (got {job.id})")
            state = JobState(job.id, key, chosen.names(), resumed)
            self._jobs[job.id] = state
        thread = threading.Thread(
            target=self._run,
            args=(state, roots, banks, options),
            name=f"needle-job-{job.id}",
            daemon=True,
        )
        state.thread = thread
        thread.start()
        return state

    def _run(
        self, state: JobState, roots: list[str], banks: Sequence[Bank], options: ScanOptions
    ) -> None:
        def progress(now: ScanProgress) -> None:
            state.progress = now
            if state.cancel.is_set():
                raise JobCancelled

        try:
            self._scan(
                roots,
                store=self.service.store,
                banks=banks,
                workers=self.service.settings.workers,
                options=options,
                progress=progress,
            )
        except JobCancelled:
            state.state = "cancelled"
        except BaseException as exc:  # the job stays resumable; the error is shown
            state.state = "failed"
            state.error = f"{type(exc).__name__}: {exc}"
        else:
            state.state = "complete"
        state.finished_at = datetime.now(UTC)

    # -- stopping ------------------------------------------------------------------------------

    def cancel(self, job_id: int) -> JobState:
        """Ask a running job to stop after its current batch (it stays resumable)."""
        with self._lock:
            state = self._jobs.get(job_id)
        if state is None or not state.active:
            self._row(job_id)  # unknown: 404
            raise JobRunning(f"job {job_id} is not running in this service")
        state.state = "cancelling"
        state.cancel.set()
        return state

    def stop_all(self, timeout: float = 30.0) -> None:
        """Cancel every running job and wait for them (the service is stopping)."""
        with self._lock:
            running = [job for job in self._jobs.values() if job.active]
        for job in running:
            job.cancel.set()
        deadline = time.monotonic() + timeout
        for job in running:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))

    # -- reading -------------------------------------------------------------------------------

    def running(self) -> int:
        with self._lock:
            return sum(job.active for job in self._jobs.values())

    def tracked(self, job_id: int) -> JobState | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _row(self, job_id: int) -> JobRow:
        with Session(self.service.store.engine) as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise NoSuchJob(f"no job {job_id}")
            session.expunge(row)
            return row

    def describe(self, row: JobRow) -> JSONObject:
        """A job as the API shows it: the stored job and, when this service runs it, its
        live state; otherwise a state read from the store (``interrupted`` jobs can be
        resumed)."""
        options = dict(row.options)
        uploads = list(row.roots) == [UPLOAD_ROOT]
        tracked = self.tracked(row.id)
        if tracked is not None:
            live = tracked.live()
            if not tracked.active:
                # the scan finished after ``row`` was read: what it stored at its end (status,
                # finish time) is in the store now, so read the row again to agree with it
                row = self._row(row.id)
        else:
            live = {"state": _stored_state(row, uploads), "progress": None}
        stages = [stage for stage in STAGES if stage == "hash" or options.get(stage)]
        banks: JSONValue = options.get("banks", [])
        return {
            "id": row.id,
            "kind": "uploads" if uploads else "scan",
            "roots": list(row.roots),
            "stages": list[JSONValue](stages),
            "banks": banks,
            "status": row.status,
            "created_at": when(row.created_at),
            "finished_at": when(row.finished_at),
            **live,
        }

    def rows(self, limit: int) -> list[JobRow]:
        with Session(self.service.store.engine) as session:
            rows = list(session.scalars(sa.select(JobRow).order_by(JobRow.id.desc()).limit(limit)))
            session.expunge_all()
            return rows

    def row(self, job_id: int) -> JobRow:
        return self._row(job_id)


class NoSuchJob(NeedleError):
    """No job with that id (answered 404)."""


def _stored_state(row: JobRow, uploads: bool) -> str:
    if uploads:
        return "open"
    if row.status != "running":
        return row.status
    if row.owner != this_process() and is_alive(row.owner, row.heartbeat_at, now_utc()):
        return "running-elsewhere"
    return "interrupted"
