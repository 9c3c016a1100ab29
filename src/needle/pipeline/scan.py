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

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing.context import BaseContext
from typing import Any

from needle.assess import Assessment, AssessmentPolicy, assess
from needle.banks.model import Bank
from needle.errors import NeedleError
from needle.match import Matcher
from needle.match.model import Match
from needle.media import Item, walk
from needle.pipeline.worker import FileRecord, ScanOptions, compute_file
from needle.store import Job, JobSummary, Store, path_key

__all__ = ["ScanProgress", "ScanResult", "default_workers", "run_scan"]

#: environment variables that cap the threads of OpenMP, OpenBLAS and MKL in workers
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
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


#: text-guard fields kept per record (the policy is the same for the whole scan)
GUARD_KEYS = ("decision", "categories", "score", "evidence", "languages")


def _details(record: FileRecord, assessment: Assessment) -> dict[str, Any]:
    """What later stages found, as stored in the record's ``details`` (JSON).

    An embedded prompt is kept under ``_embedded_prompt``: stored for the text guard and for
    reviewers who ask for it, left out of exports unless asked for.
    """
    details: dict[str, Any] = {"reasons": [r.to_dict() for r in assessment.reasons]}
    if record.classifications:
        details["classifications"] = [c.to_dict() for c in record.classifications]
    if record.provenance is not None:
        details["provenance"] = record.provenance.to_dict(include_prompt=False)
        prompt = getattr(record.provenance, "prompt", None)
        if prompt:
            details["_embedded_prompt"] = {
                "prompt": prompt,
                "negative_prompt": getattr(record.provenance, "negative_prompt", None),
            }
    if record.guard:
        details["textguard"] = [
            {"source": source, **{k: v for k, v in result.to_dict().items() if k in GUARD_KEYS}}
            for source, result in record.guard
        ]
    if record.stage_errors:
        details["stage_errors"] = dict(record.stage_errors)
    return details


def _row(
    record: FileRecord, matches: list[Match], policy: AssessmentPolicy | None = None
) -> dict[str, Any]:
    data = record.to_dict()
    assessment = assess(
        matches=matches,
        classifications=record.classifications,
        provenance=record.provenance,
        guard=record.guard,
        policy=policy,
    )
    return {
        "path": record.path,
        "size": record.size,
        "md5": data["md5"],
        "sha1": data["sha1"],
        "sha256": data["sha256"],
        "pdq": data["pdq"],
        "pdq_quality": data["pdq_quality"],
        "format": record.format,
        "width": record.width,
        "height": record.height,
        "error": record.error,
        "error_reason": record.error_reason,
        "priority": assessment.priority.label,
        "details": _details(record, assessment),
        "matches": matches,
    }


def _pending(items: Iterable[Item], done: set[str], skipped: list[int]) -> Iterator[Item]:
    for item in items:
        if path_key(item.path) in done:
            skipped[0] += 1
            continue
        yield item


def _results_inline(items: Iterator[Item], options: ScanOptions) -> Iterator[FileRecord]:
    for item in items:
        yield compute_file(item, options)


def _crashed(item: Item) -> FileRecord:
    return FileRecord(
        item.path,
        item.size,
        error="the decoder crashed on this file (worker process died); it may be hostile",
        error_reason="crash",
    )


def _unreadable(item: Item, cause: BaseException) -> FileRecord:
    """The worker finished but its result could not be read back: needle's fault, not the
    file's (the pool reports it as broken all the same, with the reader's error as cause)."""
    # the cause is the reader's traceback as text, in triple quotes: its last line says it
    lines = [line for line in str(cause).splitlines() if line.strip().strip("'\"")]
    last = lines[-1:] or [type(cause).__name__]
    return FileRecord(
        item.path,
        item.size,
        error=f"needle could not read back this file's result (a bug, please report it): {last[0]}",
        error_reason="internal",
    )


def _ping() -> bool:
    return True


def _check_workers_start(context: BaseContext) -> None:
    """Raise when a worker process cannot even start: then the files are not to blame."""
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as probe:
            probe.submit(_ping).result(timeout=120)
    except (BrokenProcessPool, TimeoutError) as exc:
        raise NeedleError(
            "worker processes die before doing any work, so no file can be blamed; check the "
            "installation (python -m needle scan --workers 0 runs without them). Finished "
            f"files are stored: run the same scan again to continue. ({type(exc).__name__})"
        ) from None


def _isolate(items: list[Item], options: ScanOptions, context: BaseContext) -> Iterator[FileRecord]:
    """After a worker died, run the items that were in flight one at a time to find the culprit."""
    _check_workers_start(context)
    for item in items:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as single:
            try:
                yield single.submit(compute_file, item, options).result()
            except BrokenProcessPool as exc:
                yield _crashed(item) if exc.__cause__ is None else _unreadable(item, exc.__cause__)


def _results_pool(
    items: Iterator[Item],
    options: ScanOptions,
    workers: int,
    context: BaseContext | None = None,
) -> Iterator[FileRecord]:
    """Records as workers finish them, with a bounded number of items in flight.

    A worker that dies (a decoder crashing on a hostile file) does not stop the scan: the
    items in flight are retried one by one and the one that kills its worker again is
    recorded with the reason ``crash``.
    """
    # one process per core: numerical libraries must not start threads of their own, which
    # only contend (PDQ's matrix products ran 10x slower with OpenBLAS threads on 2 cores)
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    # forkserver: workers never inherit the parent's threads (Rich's refresh, onnxruntime)
    context = context or multiprocessing.get_context("forkserver")
    window = workers * 4
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    in_flight: dict[Future[FileRecord], Item] = {}

    def recover(suspects: list[Item]) -> Iterator[FileRecord]:
        """The pool broke: keep finished results, find the culprit, start a new pool."""
        nonlocal pool
        for other, other_item in list(in_flight.items()):
            if other.done() and not other.cancelled() and other.exception() is None:
                yield other.result()
            else:
                suspects.append(other_item)
        in_flight.clear()
        pool.shutdown(wait=False, cancel_futures=True)
        yield from _isolate(suspects, options, context)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def drain(block_until: int) -> Iterator[FileRecord]:
        while len(in_flight) > block_until:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                item = in_flight.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    yield from recover([item])
                    return

    try:
        for item in items:
            if item.error is not None:
                yield compute_file(item, options)  # nothing to compute: record the reason
                continue
            try:
                future = pool.submit(compute_file, item, options)
            except BrokenProcessPool:  # a worker died before this item could be handed over
                yield from recover([item])
                continue
            in_flight[future] = item
            yield from drain(window - 1)
        yield from drain(0)
    finally:
        for future in in_flight:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


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
    job_options = {
        "banks": sorted(bank.name for bank in banks),
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
        else _results_pool(items, options, workers, mp_context)
    )

    buffer: list[FileRecord] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        if buffer:
            matches = matcher.match_many([record.signals for record in buffer])
            rows = []
            for record, found in zip(buffer, matches, strict=True):
                rows.append(_row(record, found, policy))
                counts["errors"] += record.error is not None
                counts["matched"] += bool(found)
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

    try:
        for record in results:
            buffer.append(record)
            if len(buffer) >= BATCH_SIZE or time.monotonic() - last_flush >= FLUSH_SECONDS:
                flush()
    finally:
        # on Ctrl-C or an error, keep what is finished: the next scan resumes after it
        flush()
    store.finish_job(job.id)
    return ScanResult(
        job, resumed, skipped[0], counts["done"], time.monotonic() - started, store.summary(job.id)
    )
