"""A resumable scan: walk -> workers compute signals -> parent matches and stores in batches.

In: root paths, an open ``Store``, the banks to match against. Out: a ``ScanResult`` with the
job and its summary; every file becomes one stored record (its signals and matches, or the
reason it could not be read).

Resume: a job is identified by its roots and options. Records are committed in batches;
a scan killed at any moment leaves only whole batches behind, and the next scan of the same
roots skips every path already recorded, so no file is hashed twice and none is lost or
stored twice (the unique (job, path) key backs this up).
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


def _pending(items: Iterable[Item], done: set[str], skipped: list[int]) -> Iterator[Item]:
    # the walker gives every item a path of its own (a repeated archive member is NAME#2):
    # the path's key is what a resumed scan skips by
    for item in items:
        if path_key(item.path) in done:
            skipped[0] += 1
            continue
        yield item


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
) -> ScanResult:
    """Scan ``paths`` into ``store``, resuming an unfinished scan of the same paths.

    ``mp_context`` chooses how worker processes start (default: forkserver); ``policy`` the
    assessment's thresholds (default: ``needle.assess.DEFAULT_POLICY``).
    """
    options = options or ScanOptions()
    workers = default_workers() if workers is None else workers
    roots = sorted(os.path.abspath(p) for p in paths)
    options = replace(options, roots=tuple(roots))
    job_options: JSONObject = {
        "banks": [name for name in sorted(bank.name for bank in banks)],
        "policy": policy.source if policy is not None else "defaults",
        **options.fingerprint(),
    }
    job, resumed = store.open_job(roots, job_options, new=new)
    done = store.done_keys(job.id) if resumed else set()
    matcher = Matcher(banks)

    started = time.monotonic()
    skipped = [0]
    counts = {"found": 0, "done": 0, "errors": 0, "matched": 0}
    walking = [True]

    def counted(items: Iterator[Item]) -> Iterator[Item]:
        for item in items:
            counts["found"] += 1
            yield item
        walking[0] = False

    items = _pending(counted(walk(roots, options.limits)), done, skipped)
    results = (
        _results_inline(items, options)
        if workers <= 1
        else results_pool(items, options, workers, mp_context)
    )

    buffer: list[FileRecord] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        if buffer:
            matches = matcher.match_many([record.signals for record in buffer])
            rows = []
            for record, found in zip(buffer, matches, strict=True):
                rows.append(assess_record(record, found, policy))
                counts["errors"] += record.error is not None
                counts["matched"] += bool(found)
            with stopper.writing():  # a stop asked for meanwhile is raised once this is done
                store.add_records(job.id, rows)
                counts["done"] += len(rows)
                buffer.clear()
        last_flush = time.monotonic()
        if progress is not None:
            progress(
                ScanProgress(
                    counts["found"], counts["done"], skipped[0], counts["errors"],
                    counts["matched"], walking[0],
                )
            )  # fmt: skip

    stopper = _Stopper()
    with stopper.installed(), _heartbeat(store, job.id):
        try:
            for record in results:
                buffer.append(record)
                if len(buffer) >= BATCH_SIZE or time.monotonic() - last_flush >= FLUSH_SECONDS:
                    flush()
        finally:
            # on Ctrl-C, SIGTERM or an error, keep what is finished: the next scan resumes
            # after it; closing the results stops the workers now, not when collected
            try:
                flush()
            finally:
                results.close()
    store.finish_job(job.id)
    return ScanResult(
        job, resumed, skipped[0], counts["done"], time.monotonic() - started, store.summary(job.id)
    )
