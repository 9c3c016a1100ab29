"""A scan's per-file work on a Ray cluster: the ``Runner`` behind ``needle scan --ray``.

In: the walk's items (from ``run_scan``, on the driver) and the ``ScanOptions``. Out: one
``FileRecord`` per item, as Ray tasks finish them. Matching, assessment and storage stay on
the driver, in ``run_scan``'s one loop, exactly as in a local scan; Ray workers never touch
the database.

The flow, in order:

1. connect: ``ray.init`` to the cluster (``auto``: the one started on this machine with
   ``ray start``; ``HOST:PORT``: its head), then one probe task, so a node that cannot run
   needle fails the scan at once with a message instead of failing every file;
2. send batches: ``BATCH_FILES`` items per task, a bounded number of tasks in flight (two
   per CPU in the cluster, re-read as nodes come and go, or ``workers``), so the driver holds
   a bounded window of the walk however many millions of files it finds. Items travel as
   paths, never bytes: a file by its path, a zip or plain tar member as its ``MemberRef``
   (the archive's path and where the member is in it), read by the worker from the shared
   filesystem. The exception: members of compressed tars and of nested archives that the
   walk already holds in memory (``Limits.max_held_bytes``) travel with their bytes, because
   reading one again means decompressing the stream up to it;
3. compute: each task loads the models once per worker process (``preload``; Ray reuses its
   worker processes) and runs ``compute_file`` on every item of its batch;
4. collect: records are yielded as tasks finish, in any order.

Failures, and why no file is lost or stored twice:

- a node that dies (or a worker process on it) takes its running tasks with it: Ray runs
  them again elsewhere (``NODE_RETRIES``); a batch that still fails is split and each of its
  files runs again alone (``FILE_RETRIES`` more times);
- a hostile file that kills its worker process fails its batch every time: alone, it kills
  its worker again and is recorded with the reason ``crash``, as ``needle.pipeline.pool``
  does. It costs that one record, never the scan;
- the driver killed (or its node): Ray ends the job's tasks; what was stored is stored, in
  whole batches, and the same command continues the job (``run_scan``'s resume);
- a task's records are yielded once, only when the task has succeeded, and the store keeps
  one record per (job, path) whatever happens, so a task run twice is stored once.

Ray is imported here only, and only when a scan uses it (the ``ray`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from types import ModuleType

from needle._optional import import_optional
from needle.errors import ConfigError, NeedleError
from needle.media import Item
from needle.pipeline.pool import THREAD_VARIABLES, _crashed
from needle.pipeline.worker import FileRecord, ScanOptions, compute_file, preload
from needle.store import Store

__all__ = [
    "BATCH_FILES",
    "FILE_RETRIES",
    "NODE_RETRIES",
    "RayRunner",
    "check_store",
    "cluster_cpus",
]

#: files per Ray task: at tens of ms per file, a task's own cost (about a millisecond to
#: schedule and return) is lost in it, and a batch that must be split stays small
BATCH_FILES = 16
#: tasks in flight per CPU of the cluster: one running, one queued behind it, so a CPU never
#: waits for the driver (which also matches and stores) to send it the next batch
TASKS_PER_CPU = 2
#: how often the cluster's CPUs are counted again (nodes added or lost during a scan)
CAPACITY_SECONDS = 10.0
#: Ray runs a batch again this many times when its worker process or node dies
NODE_RETRIES = 1
#: ... and a file of a batch that failed all the same, alone, this many more times: a node
#: lost while it runs is not its fault; a file that kills every worker it meets is
FILE_RETRIES = 2
#: longest wait for the probe task: a cluster with no free CPU, or one still starting nodes
START_SECONDS = 300.0


def _ray() -> ModuleType:
    return import_optional("ray", "ray")


def check_store(store: Store) -> None:
    """Refuse a SQLite store for a cluster scan.

    The driver writes every record, so SQLite would work while the driver's machine lives;
    but a cluster scan is continued by running it again from whichever node is up (the job's
    owner and heartbeat are made for that), and is reviewed while it runs from other
    machines: both need a database every node reaches. A SQLite file lives on one machine's
    disk, and SQLite on a network filesystem is not safe (its locks are not).
    """
    if store.engine.dialect.name == "sqlite":
        raise ConfigError(
            "--ray needs a PostgreSQL database that every node reaches "
            "(--db postgresql://user@host/dbname): a cluster scan is continued from whichever "
            "node runs it next and reviewed from other machines, and a SQLite file lives on "
            "one machine's disk. Without --ray, SQLite is fine."
        )


def cluster_cpus(ray: ModuleType) -> int:
    """The CPUs the cluster's live nodes offer now (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 0)))


def _compute_batch(items: list[Item], options: ScanOptions) -> list[FileRecord]:
    """One task, on a Ray worker: the records of a batch. The models are loaded once per
    worker process and kept (``preload`` is a no-op after the first call)."""
    preload(options)
    return [compute_file(item, options) for item in items]


def _probe() -> str:
    """A task that proves a worker can import needle and run its code."""
    from needle.pipeline import worker  # noqa: F401  (the import is the test)

    return f"{os.uname().nodename} pid {os.getpid()}"


@dataclass
class _Batch:
    items: list[Item]
    alone: bool  # a file of a failed batch, run again by itself


@dataclass(frozen=True)
class RayRunner:
    """Compute a scan's files on a Ray cluster (a ``needle.pipeline.scan.Runner``).

    ``address``: ``"auto"`` (a cluster started on this machine with ``ray start``), the
    head's ``HOST:PORT``, or None to start a private Ray instance on this machine for this
    scan only (tests and benchmarks). ``workers``: at most this many batches in flight, so at
    most this many of the cluster's CPUs busy with this scan (default: the whole cluster,
    with a batch queued behind each running one). ``batch_files``: files per task.

    Every node needs needle installed with the scan's extras, at the same Python path as the
    driver, and the scanned paths mounted at the same place (a shared filesystem).
    """

    address: str | None = "auto"
    workers: int | None = None
    batch_files: int = BATCH_FILES

    def __post_init__(self) -> None:
        _ray()  # without the extra, fail now, before a job is opened
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"Ray workers must be at least 1, not {self.workers}")
        if self.batch_files < 1:
            raise ConfigError(f"files per Ray task must be at least 1, not {self.batch_files}")

    def __call__(
        self, items: Iterator[Item], options: ScanOptions
    ) -> Generator[FileRecord, None, None]:
        ray = _ray()
        connected_here = _connect(ray, self.address)
        try:
            yield from _Dispatch(ray, self, options).run(items)
        finally:
            if connected_here:
                ray.shutdown()


def _connect(ray: ModuleType, address: str | None) -> bool:
    """Join the cluster (or start a private instance); True when this call did, so the
    runner disconnects when done. A process already connected keeps its connection."""
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=address,
            log_to_driver=False,  # the driver's terminal shows the progress bar
            logging_level=logging.WARNING,
            configure_logging=True,
        )
    except ConnectionError as exc:
        where = "on this machine (ray start --head)" if address == "auto" else f"at {address}"
        cause = str(exc).rstrip(".")
        raise NeedleError(
            f"cannot reach a Ray cluster {where}: {cause}. Start one with `ray start --head` on "
            "the head node and `ray start --address HEAD:PORT` on each other node, then run "
            "the scan again."
        ) from None
    return True


class _Dispatch:
    """One scan's tasks: the window in flight, collecting, splitting failed batches."""

    def __init__(self, ray: ModuleType, runner: RayRunner, options: ScanOptions) -> None:
        self.ray, self.runner, self.options = ray, runner, options
        # one process per CPU: numerical libraries must not start threads of their own
        threads = {"env_vars": {variable: "1" for variable in THREAD_VARIABLES}}
        task = ray.remote(num_cpus=1, max_retries=NODE_RETRIES, runtime_env=threads)
        self.batch_task = task(_compute_batch)
        self.file_task = self.batch_task.options(max_retries=FILE_RETRIES)
        self.probe_task = task(_probe)  # the same environment: its worker serves batches next
        # the failures a worker process or node dying causes; any other error is a bug and
        # stops the scan (what was stored is kept)
        exceptions = ray.exceptions
        self.died: tuple[type[BaseException], ...] = (
            exceptions.WorkerCrashedError,
            exceptions.NodeDiedError,
            exceptions.OutOfMemoryError,
            exceptions.ObjectLostError,
        )
        self.in_flight: dict[object, _Batch] = {}
        self._window = 0
        self._counted = float("-inf")

    def window(self) -> int:
        """Tasks allowed in flight now."""
        if self.runner.workers is not None:
            return self.runner.workers
        if time.monotonic() - self._counted >= CAPACITY_SECONDS:
            self._window = TASKS_PER_CPU * cluster_cpus(self.ray)
            self._counted = time.monotonic()
        return self._window

    def run(self, items: Iterator[Item]) -> Generator[FileRecord, None, None]:
        self.check_workers_start()
        batch: list[Item] = []
        try:
            for item in items:
                if item.error is not None:
                    # nothing to compute: the reason is the record, made here
                    yield compute_file(item, self.options)
                    continue
                batch.append(item)
                if len(batch) >= self.runner.batch_files:
                    self.submit(_Batch(batch, alone=False))
                    batch = []
                    yield from self.drain(self.window() - 1)
            if batch:
                self.submit(_Batch(batch, alone=False))
            yield from self.drain(0)
        finally:
            for ref in self.in_flight:  # stopped or failed: the work in flight is dropped
                with contextlib.suppress(Exception):  # the cluster may be gone as well
                    self.ray.cancel(ref, force=True)
            self.in_flight.clear()

    def check_workers_start(self) -> None:
        """Raise when a worker cannot run needle at all: then no file is to blame."""
        try:
            self.ray.get(self.probe_task.remote(), timeout=START_SECONDS)
        except self.ray.exceptions.GetTimeoutError:
            raise NeedleError(
                f"no Ray worker started within {START_SECONDS:.0f} s: does the cluster have a "
                "free CPU (ray status)? Finished files are stored: run the same scan again to "
                "continue."
            ) from None
        except self.ray.exceptions.RayError as exc:
            raise NeedleError(
                "Ray workers cannot run needle: install it with the same extras, at the same "
                "Python path, on every node. Finished files are stored: run the same scan "
                f"again to continue. ({type(exc).__name__}: {str(exc).splitlines()[0]})"
            ) from None

    def submit(self, batch: _Batch) -> None:
        task = self.file_task if batch.alone else self.batch_task
        self.in_flight[task.remote(batch.items, self.options)] = batch

    def drain(self, keep: int) -> Iterator[FileRecord]:
        """Collect every finished task, then wait until at most ``keep`` are in flight."""
        while self.in_flight:
            block = len(self.in_flight) > keep
            ready, _ = self.ray.wait(
                list(self.in_flight), num_returns=1, timeout=None if block else 0
            )
            if not ready:
                return
            yield from self.collect(ready[0])

    def collect(self, ref: object) -> Iterator[FileRecord]:
        batch = self.in_flight.pop(ref)
        try:
            records: list[FileRecord] = self.ray.get(ref)
        except self.died:
            if batch.alone:  # it killed every worker it was given: a hostile file
                yield _crashed(batch.items[0])
                return
            # which file, if any, is to blame? each runs again alone
            self.check_workers_start()
            for item in batch.items:
                self.submit(_Batch([item], alone=True))
            return
        yield from records
