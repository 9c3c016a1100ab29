"""Worker processes for a scan: a bounded window of items in flight, crash isolation, and
no process left behind.

In: items and the ``ScanOptions``. Out: one ``FileRecord`` per item, as workers finish them.
A worker killed by a hostile file costs that file alone (recorded as ``crash``); workers stop
by themselves when the scan process is gone (``kill -9`` included), so none is left behind.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext

from needle.errors import NeedleError
from needle.media import Item
from needle.pipeline.worker import FileRecord, ScanOptions, compute_file
from needle.store.owner import is_alive, now_utc, this_process

__all__ = ["THREAD_VARIABLES", "results_pool"]

#: environment variables that cap the threads of OpenMP, OpenBLAS and MKL in workers
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: how often a worker checks that the scan process that started it is still there
WATCH_SECONDS = 1.0


def _watch(owner: str) -> None:
    """Worker initializer: end this worker when the scan process is gone. A worker blocked
    on its task queue would otherwise outlive a killed scan for good."""

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if not is_alive(owner, None, now_utc()):
                os._exit(0)

    threading.Thread(target=watch, name="needle-watch-scan", daemon=True).start()


def _pool(workers: int, context: BaseContext) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_watch, initargs=(this_process(),)
    )


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
        with _pool(1, context) as probe:
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
        with _pool(1, context) as single:
            try:
                yield single.submit(compute_file, item, options).result()
            except BrokenProcessPool as exc:
                yield _crashed(item) if exc.__cause__ is None else _unreadable(item, exc.__cause__)


def results_pool(
    items: Iterator[Item],
    options: ScanOptions,
    workers: int,
    context: BaseContext | None = None,
) -> Generator[FileRecord, None, None]:
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
    pool = _pool(workers, context)
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
        pool = _pool(workers, context)

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
