"""Examining single files on request (``needle serve``): a pool of worker processes that a
hostile upload cannot take down for everyone.

In: bytes and a name. Out: a ``FileRecord``, as a scan would make it. A worker killed by one
upload costs that upload alone: it is answered as ``crash`` (the same record a scan writes),
the pool is replaced, and requests in flight with it are tried again once, each on its own.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from needle.media import Item
from needle.pipeline.pool import _crashed, _watch
from needle.pipeline.worker import FileRecord, ScanOptions, compute_file
from needle.store.owner import this_process

__all__ = ["OneFilePool"]


class OneFilePool:
    """``await``-able examinations: ``run(data, name, options)`` in a worker process."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._context = multiprocessing.get_context("forkserver")
        self._lock = threading.Lock()
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_watch,
            initargs=(this_process(),),
        )

    def _submit(
        self, item: Item, options: ScanOptions
    ) -> tuple[ProcessPoolExecutor, Future[FileRecord]]:
        with self._lock:
            pool = self._pool
            return pool, pool.submit(compute_file, item, options)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = self._new()
                broken.shutdown(wait=False, cancel_futures=True)

    def run(self, data: bytes, name: str, options: ScanOptions) -> FileRecord:
        """Examine one file (blocking: call it from a thread, not the event loop)."""
        item = Item(path=name, size=len(data), data=data)
        pool, future = self._submit(item, options)
        try:
            return future.result()
        except BrokenProcessPool:
            self._replace(pool)
        # the pool died with this file in it: was it this file? alone in a fresh process
        with ProcessPoolExecutor(1, mp_context=self._context) as single:
            try:
                return single.submit(compute_file, item, options).result()
            except BrokenProcessPool:
                return _crashed(item)

    def warm(self) -> None:
        """Start every worker now, so the first requests do not pay for process start-up."""
        with self._lock:
            pool = self._pool
        futures = [pool.submit(_noop) for _ in range(self.workers * 2)]
        for future in futures:
            future.result()

    def close(self) -> None:
        with self._lock:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _noop() -> None:
    from needle.pipeline import worker  # noqa: F401  (imported, so the first request is warm)
