"""A resumable scan: walk -> a runner computes each file's signals -> the parent matches and
stores in batches.

In: root paths, an open ``Store``, the banks to match against. Out: a ``ScanResult`` with the
job and its summary; every file becomes one stored record (its signals and matches, or the
reason it could not be read).

Who computes the files is a ``Runner``: a callable that turns the walk's items into
``FileRecord``s, one per item, in any order. ``LocalRunner`` runs them in this process or in
a pool of worker processes (``needle.pipeline.pool``); ``needle.pipeline.ray_runner`` on a
Ray cluster. Whatever the runner, the parent's side is this module's one loop: match each
batch against the banks, assess it, store it, report progress.

Resume: a job is identified by its roots and options (not by its runner: a scan started on
one machine may be continued on a cluster). Records are committed in batches; a scan killed
at any moment leaves only whole batches behind, and the next scan of the same roots skips
every path already recorded, so no file is hashed twice and none is lost or stored twice
(the unique (job, path) key backs this up).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.context import BaseContext
from types import FrameType
from typing import Protocol

from needle.assess import AssessmentPolicy, assess
from needle.banks.model import Bank
from needle.jsonvalue import JSONObject
from needle.match import Matcher
from needle.match.model import Match
from needle.media import Item, walk
from needle.pipeline.pool import results_pool
from needle.pipeline.worker import FileRecord, ScanOptions, compute_file
from needle.store import Job, JobSummary, ScanRecord, Store, path_key
from needle.store.owner import HEARTBEAT_SECONDS

__all__ = [
    "LocalRunner",
    "Runner",
    "ScanInterrupted",
    "ScanProgress",
    "ScanResult",
    "assess_record",
    "default_workers",
    "run_scan",
]

#: records written per transaction; small enough that a kill loses little work
BATCH_SIZE = 64
#: longest time completed records wait in memory before they are written
FLUSH_SECONDS = 1.0


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


@dataclass(frozen=True)
class ScanProgress:
    found: int
    done: int
    skipped: int
    errors: int
    matched: int
    walking: bool


@dataclass(frozen=True)
class ScanResult:
    job: Job
    resumed: bool
    skipped: int
    processed: int
    elapsed: float
    summary: JobSummary


class Runner(Protocol):
    """Turns items into records: exactly one ``FileRecord`` per item, in any order.

    The scan pulls items from the walk only as fast as the runner asks for them, so a runner
    that keeps a bounded number in flight keeps the scan's memory bounded. Closing the
    generator (the scan stopped or failed) must stop the work in flight: what was not
    yielded is not stored, and the next scan of the same roots does it again.
    """

    def __call__(
        self, items: Iterator[Item], options: ScanOptions
    ) -> Generator[FileRecord, None, None]: ...


@dataclass(frozen=True)
class LocalRunner:
    """This machine: ``workers`` processes (``needle.pipeline.pool``), or this process when
    ``workers`` is 0 or 1. ``mp_context`` chooses how the processes start (default:
    forkserver)."""

    workers: int
    mp_context: BaseContext | None = None

    def __call__(
        self, items: Iterator[Item], options: ScanOptions
    ) -> Generator[FileRecord, None, None]:
        if self.workers <= 1:
            return _results_inline(items, options)
        return results_pool(items, options, self.workers, self.mp_context)


def assess_record(
    record: FileRecord, matches: Sequence[Match], policy: AssessmentPolicy | None = None
) -> ScanRecord:
    """The parent's share of one file: its matches and its assessment, ready to store."""
    assessment = assess(
        matches=matches,
        classifications=record.classifications,
        provenance=record.provenance,
        guard=[(finding.source, finding.result) for finding in record.guard],
        policy=policy,
    )
    return ScanRecord(record, tuple(matches), assessment)


class ScanInterrupted(KeyboardInterrupt):
    """The scan was asked to stop by a signal (SIGTERM): finished records are stored, and
    running the same scan again continues it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


class _Stopper:
    """SIGTERM (and Ctrl-C) stop a scan through the same clean-up, never mid-write: while
    records are being written (``writing()``) a signal is held and raised once the write is
    done, so the batch is stored whole and the database is not left locked by a half-done
    transaction."""

    def __init__(self) -> None:
        self.pending: int | None = None
        self._writing = False

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        if self._writing:
            self.pending = signum
            return
        raise ScanInterrupted(signum)

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            signum: signal.signal(signum, self._stop) for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextmanager
    def writing(self) -> Iterator[None]:
        self._writing = True
        try:
            yield
        finally:
            self._writing = False
        if self.pending is not None:
            signum, self.pending = self.pending, None
            raise ScanInterrupted(signum)


@contextmanager
def _heartbeat(store: Store, job_id: int) -> Iterator[None]:
    """Tell the store, every ``HEARTBEAT_SECONDS``, that this process still runs the job."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                store.heartbeat(job_id)
            except Exception:  # a missed beat is retried; it must not stop the scan
                continue

    thread = threading.Thread(target=beat, name="needle-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _results_inline(
    items: Iterator[Item], options: ScanOptions
) -> Generator[FileRecord, None, None]:
    for item in items:
        yield compute_file(item, options)


class _Writer:
    """The parent's side of a scan, whatever computed the records: it counts the walk, skips
    what a resumed job holds, and matches, assesses and stores records in batches of
    ``BATCH_SIZE`` (or every ``FLUSH_SECONDS``), reporting progress after each."""

    def __init__(
        self,
        store: Store,
        job_id: int,
        matcher: Matcher,
        policy: AssessmentPolicy | None,
        progress: Callable[[ScanProgress], None] | None,
    ) -> None:
        self.store, self.job_id, self.matcher, self.policy = store, job_id, matcher, policy
        self.progress = progress
        self.stopper = _Stopper()
        self.found = self.done = self.skipped = self.errors = self.matched = 0
        self.walking = True
        self.buffer: list[FileRecord] = []
        self.last_flush = time.monotonic()

    def pending(self, items: Iterable[Item], done: set[str]) -> Iterator[Item]:
        """The walk's items, counted, less those the job holds already."""
        for item in items:
            self.found += 1
            # the walker gives every item a path of its own (a repeated archive member is
            # NAME#2): the path's key is what a resumed scan skips by
            if path_key(item.path) in done:
                self.skipped += 1
                continue
            yield item
        self.walking = False

    def add(self, record: FileRecord) -> None:
        self.buffer.append(record)
        if len(self.buffer) >= BATCH_SIZE or time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            matches = self.matcher.match_many([record.signals for record in self.buffer])
            rows = []
            for record, found in zip(self.buffer, matches, strict=True):
                rows.append(assess_record(record, found, self.policy))
                self.errors += record.error is not None
                self.matched += bool(found)
            with self.stopper.writing():  # a stop asked for meanwhile is raised once done
                self.store.add_records(self.job_id, rows)
                self.done += len(rows)
                self.buffer.clear()
        self.last_flush = time.monotonic()
        if self.progress is not None:
            self.progress(
                ScanProgress(
                    self.found, self.done, self.skipped, self.errors, self.matched, self.walking
                )
            )


def run_scan(
    paths: Sequence[str],
    *,
    store: Store,
    banks: Sequence[Bank] = (),
    workers: int | None = None,
    options: ScanOptions | None = None,
    new: bool = False,
    progress: Callable[[ScanProgress], None] | None = None,
    mp_context: BaseContext | None = None,
    policy: AssessmentPolicy | None = None,
    runner: Runner | None = None,
) -> ScanResult:
    """Scan ``paths`` into ``store``, resuming an unfinished scan of the same paths.

    ``runner`` computes the files (default: ``LocalRunner(workers, mp_context)``, with
    ``workers`` one per core and ``mp_context`` forkserver); ``policy`` the assessment's
    thresholds (default: ``needle.assess.DEFAULT_POLICY``).
    """
    options = options or ScanOptions()
    if runner is None:
        runner = LocalRunner(default_workers() if workers is None else workers, mp_context)
    roots = sorted(os.path.abspath(p) for p in paths)
    options = replace(options, roots=tuple(roots))
    job_options: JSONObject = {
        "banks": [name for name in sorted(bank.name for bank in banks)],
        "policy": policy.source if policy is not None else "defaults",
        **options.fingerprint(),
    }
    job, resumed = store.open_job(roots, job_options, new=new)
    done = store.done_keys(job.id) if resumed else set()
    started = time.monotonic()
    writer = _Writer(store, job.id, Matcher(banks), policy, progress)
    results = runner(writer.pending(walk(roots, options.limits), done), options)
    with writer.stopper.installed(), _heartbeat(store, job.id):
        try:
            for record in results:
                writer.add(record)
        finally:
            # on Ctrl-C, SIGTERM or an error, keep what is finished: the next scan resumes
            # after it; closing the results stops the workers now, not when collected
            try:
                writer.flush()
            finally:
                results.close()
    store.finish_job(job.id)
    elapsed = time.monotonic() - started
    return ScanResult(job, resumed, writer.skipped, writer.done, elapsed, store.summary(job.id))
