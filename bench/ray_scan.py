"""Scans on a Ray cluster: what the Ray path costs against the local process pool, and a
projection for N nodes from the per-file costs measured.

Sets: the generated folder of the acceptance test (``tests/pipeline/test_ray_scan.py``: 400
synthetic 640x480 JPEGs, ``conftest.synth_image``) and, when installed, the headline set for
scans: Debian's wallpapers as installed (``_report.real_photos``), ``--copies`` byte-distinct
copies each. On each, ``run_scan`` into PostgreSQL (SQLite when no server answers) through:

- the local process pool (``needle.pipeline.pool.results_pool``) with 1 and 2 workers;
- Ray (``needle.pipeline.ray_runner.RayRunner``) on a one-node Ray cluster started with
  ``ray start --head --num-cpus N`` (N = 1, 2), each scan joining it as ``needle scan --ray``
  does: a new Ray job, whose worker processes start (and load the models) in each scan, as a
  local pool's do.

Hash-only scans (the cheapest files, so the Ray path's own costs show most) with 1 and 2
workers; the full scan (classifiers, provenance, text guard) with 2, on the wallpapers. Each
configuration: a warm-up scan (page cache), then ``--repeat`` times a one-file scan (its time
is the fixed cost: the job, starting workers, the first file) and the whole folder's; the
rates are medians. Then, in one process, the per-file costs of a worker and of the driver
(walk, match, assess, PostgreSQL write), from which the projection for N nodes is computed.

    .venv/bin/python bench/ray_scan.py [--repeat 3] [--copies 12] [--no-write]

Results go to the "## Scans on a Ray cluster" section of docs/scale.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
# as in the scan's workers: one thread per process (set before numpy is imported)
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
# the benchmark's Ray cluster and its drivers (this process) share a token of their own,
# whatever the user has set for Ray; Ray reads these when it is first imported
for _variable in [name for name in os.environ if name.startswith("RAY_")]:
    del os.environ[_variable]
os.environ.update(
    RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), RAY_USAGE_STATS_ENABLED="0"
)

import sqlalchemy as sa  # noqa: E402

from _report import real_photos, uptime, write_section  # noqa: E402
from conftest import image_bytes, synth_image  # noqa: E402
from needle.banks.model import Bank, BankEntry  # noqa: E402
from needle.match import Matcher  # noqa: E402
from needle.media import Item, walk  # noqa: E402
from needle.pipeline.pool import results_pool  # noqa: E402
from needle.pipeline.ray_runner import RayRunner  # noqa: E402
from needle.pipeline.scan import Runner, assess_record, run_scan  # noqa: E402
from needle.pipeline.worker import FileRecord, ScanOptions, compute_file  # noqa: E402
from needle.store import Store  # noqa: E402

DOC = ROOT / "docs" / "scale.md"
TITLE = "# Scaling needle beyond one machine"
SECTION = "## Scans on a Ray cluster"
GENERATED = 400
SIZE = (640, 480)
#: the projection's nodes: cores per node, and node counts
NODE_CORES = 16
NODE_COUNTS = (1, 4, 16, 64)
HASH_ONLY = ScanOptions()
FULL = ScanOptions(classify=True, provenance=True, textguard=True)


@dataclass(frozen=True)
class _Pool:
    """The local process pool with ``workers`` processes, even for one (``LocalRunner``
    runs a single worker in the scanning process itself)."""

    workers: int

    def __call__(
        self, items: Iterator[Item], options: ScanOptions
    ) -> Generator[FileRecord, None, None]:
        return results_pool(items, options, self.workers)


def _bank() -> Bank:
    """1,000 random PDQ hashes: a bank to match against that matches nothing."""
    return Bank("random", [BankEntry("pdq", secrets.token_hex(32)) for _ in range(1000)])


@contextmanager
def _database(server: str) -> Iterator[str]:
    """A fresh PostgreSQL database on ``server`` (dropped after), or a SQLite file."""
    name = f"needle_bench_ray_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: the same runs into SQLite
        print(f"PostgreSQL at {server} does not answer ({type(exc).__name__}): using SQLite")
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


#: files in the small scan whose time is the fixed cost subtracted from the whole folder's
SMALL = 1


@dataclass(frozen=True)
class _Rate:
    """One configuration: end to end (the folder's files over the scan's time, as a user
    times it), at the margin (the files beyond the first over the time beyond a one-file
    scan's: the rate a scan of millions of files runs at), and the one-file scan's time."""

    end_to_end: float
    marginal: float
    fixed: float


def _seconds(folder: Path, store: Store, bank: Bank, runner: Runner, options: ScanOptions) -> float:
    started = time.perf_counter()
    result = run_scan(
        [str(folder)], store=store, banks=[bank], runner=runner, options=options, new=True
    )
    elapsed = time.perf_counter() - started
    assert result.summary.files == result.processed > 0
    return elapsed


def _rate(
    folder: Path, store: Store, bank: Bank, runner: Runner, options: ScanOptions, repeat: int
) -> _Rate:
    files = len(list(folder.iterdir()))
    small = folder.parent / f"{folder.name}-small"
    if not small.exists():
        small.mkdir()
        for path in sorted(folder.iterdir())[:SMALL]:
            (small / path.name).write_bytes(path.read_bytes())
    _seconds(folder, store, bank, runner, options)  # warm-up: the page cache
    whole, margins, fixed = [], [], []
    for _ in range(repeat):
        fixed.append(_seconds(small, store, bank, runner, options))
        seconds = _seconds(folder, store, bank, runner, options)
        whole.append(files / seconds)
        margins.append((files - SMALL) / (seconds - fixed[-1]))
    return _Rate(*(statistics.median(values) for values in (whole, margins, fixed)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _kill_session(session: int) -> None:
    """Every process of a session: the Ray node started in it, its workers included."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2 :].split()[3]) == session:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)


@contextmanager
def _cluster(cpus: int) -> Iterator[tuple[str, float]]:
    """A one-node Ray cluster of ``cpus`` CPUs on loopback, in a session of its own (so it
    is stopped without touching any other Ray on the machine); yields its address and how
    long ``ray start`` took."""
    temp = Path(tempfile.mkdtemp(prefix="nb", dir="/tmp"))  # short: Ray's socket paths
    port = _free_port()
    ports = [
        arg
        for name in ("--dashboard-port", "--ray-client-server-port", "--metrics-export-port",
                     "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
                     "--node-manager-port", "--object-manager-port", "--runtime-env-agent-port")
        for arg in (name, str(_free_port()))
    ]  # fmt: skip
    command = [
        str(Path(sys.executable).parent / "ray"), "start", "--head", "--disable-usage-stats",
        "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", str(cpus),
        "--temp-dir", str(temp), "--include-dashboard=false", *ports,
    ]  # fmt: skip
    started = time.perf_counter()
    head = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        if head.wait(timeout=180) != 0:
            raise RuntimeError(f"ray start failed: {' '.join(command)}")
        yield f"127.0.0.1:{port}", time.perf_counter() - started
    finally:
        _kill_session(head.pid)
        shutil.rmtree(temp, ignore_errors=True)


def _generated(workdir: Path) -> Path:
    folder = workdir / "generated"
    folder.mkdir(parents=True)
    for i in range(GENERATED):
        (folder / f"img{i:04d}.jpg").write_bytes(image_bytes(synth_image(i, SIZE)))
    return folder


def _wallpapers(workdir: Path, copies: int) -> Path | None:
    photos = real_photos()
    if not photos:
        return None
    folder = workdir / "wallpapers"
    folder.mkdir(parents=True)
    for index, photo in enumerate(photos):
        data = photo.read_bytes()
        for copy in range(copies):  # after EOI: the same pixels, other bytes
            (folder / f"{index:02d}-{copy}-{photo.name}").write_bytes(data + b"\0" * (copy + 1))
    return folder


@dataclass(frozen=True)
class _Costs:
    """Seconds per file, measured in one process."""

    worker: float  # compute_file
    walk: float
    driver: float  # match, assess, store (batches of 64)
    file_bytes: float


def _costs(folder: Path, store: Store, bank: Bank, options: ScanOptions) -> _Costs:
    started = time.perf_counter()
    items = list(walk([str(folder)]))
    walked = (time.perf_counter() - started) / len(items)
    compute_file(items[0], options)  # models loaded outside the timing
    started = time.perf_counter()
    records = [compute_file(item, options) for item in items]
    worker = (time.perf_counter() - started) / len(items)
    matcher = Matcher([bank])
    job, _ = store.open_job([f"/bench/{uuid.uuid4().hex}"], {"bench": True})
    started = time.perf_counter()
    for start in range(0, len(records), 64):
        batch = records[start : start + 64]
        found = matcher.match_many([record.signals for record in batch])
        rows = [
            assess_record(record, matches) for record, matches in zip(batch, found, strict=True)
        ]
        store.add_records(job.id, rows)
    driver = (time.perf_counter() - started) / len(records)
    store.finish_job(job.id)
    size = sum(item.size for item in items) / len(items)
    return _Costs(worker, walked, driver, size)


def _measure(
    name: str,
    folder: Path,
    store: Store,
    bank: Bank,
    repeat: int,
    full: bool,
) -> tuple[list[str], dict[str, _Rate], dict[str, float]]:
    """The table rows for one set: local pool and Ray, 1 and 2 workers (and 2, full scan);
    the rates by configuration; the clusters' start times."""
    files = len(list(folder.iterdir()))
    rates: dict[str, _Rate] = {}
    started: dict[str, float] = {}
    for workers in (1, 2):
        rates[f"local {workers}"] = _rate(folder, store, bank, _Pool(workers), HASH_ONLY, repeat)
    if full:
        rates["local full 2"] = _rate(folder, store, bank, _Pool(2), FULL, repeat)
    for cpus in (1, 2):
        with _cluster(cpus) as (address, seconds):
            started[f"start {cpus}"] = seconds
            runner = RayRunner(address=address)
            rates[f"ray {cpus}"] = _rate(folder, store, bank, runner, HASH_ONLY, repeat)
            if full and cpus == 2:
                rates["ray full 2"] = _rate(folder, store, bank, runner, FULL, repeat)
    rows = []
    scans = [("hash-only", workers, "") for workers in (1, 2)]
    if full:
        scans.append(("full: classifiers, provenance, text guard", 2, "full "))
    for scan, workers, key in scans:
        local, on_ray = rates[f"local {key}{workers}"], rates[f"ray {key}{workers}"]
        rows.append(
            f"| {name} ({files} files) | {scan} | {workers} | {local.end_to_end:.1f} | "
            f"{on_ray.end_to_end:.1f} | {local.marginal:.1f} | {on_ray.marginal:.1f} | "
            f"{on_ray.marginal / local.marginal - 1:+.0%} | {local.fixed:.1f} | "
            f"{on_ray.fixed:.1f} |"
        )
    return rows, rates, started


def _projection(costs: dict[str, _Costs], per_file_ray: dict[str, float]) -> list[str]:
    """files/s ~ min(nodes x cores / t_worker, 1 / t_driver): a projection, not a measure."""
    lines = [
        "| per-file costs | worker, one process (ms) | worker on Ray, measured above (ms) | "
        "driver: walk + match + assess + write (ms) | mean file (KB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, cost in costs.items():
        lines.append(
            f"| {name} | {cost.worker * 1000:.1f} | {per_file_ray[name] * 1000:.1f} | "
            f"{(cost.walk + cost.driver) * 1000:.2f} | {cost.file_bytes / 1024:.0f} |"
        )
    header = " | ".join(f"{n} × {NODE_CORES} cores" for n in NODE_COUNTS)
    lines += [
        "",
        f"Projection (computed, not measured) for nodes of {NODE_CORES} cores: files/s = "
        "min(nodes × cores / worker time on Ray, 1 / driver time), and the shared "
        "filesystem's read rate that takes (files/s × mean file size). The worker time on Ray "
        "is 1 / the marginal Ray rate with 1 CPU (hash-only) or 2 / the marginal Ray rate "
        "with 2 CPUs (full scan): it includes Ray's dispatch and, on this 2-core machine, the driver's share of "
        "the cores, so it is pessimistic for dedicated worker nodes.",
        "",
        f"| set | {header} |",
        "|---|" + "---:|" * len(NODE_COUNTS),
    ]
    for name, cost in costs.items():
        cells = []
        for nodes in NODE_COUNTS:
            cap = 1 / (cost.walk + cost.driver)
            rate = min(nodes * NODE_CORES / per_file_ray[name], cap)
            bound = " (driver-bound)" if rate == cap else ""
            cells.append(f"{rate:,.0f}{bound}, {rate * cost.file_bytes / 2**20:,.0f} MiB/s")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (median)")
    parser.add_argument("--copies", type=int, default=12, help="copies of each wallpaper")
    parser.add_argument(
        "--pg",
        default=os.environ.get("NEEDLE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="PostgreSQL server to create a scratch database on",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    load_first = uptime()
    bank = _bank()
    rows: list[str] = []
    costs: dict[str, _Costs] = {}
    per_file_ray: dict[str, float] = {}
    fixed: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, _database(args.pg) as db, Store(db) as store:
        kind = store.engine.dialect.name
        sets: list[tuple[str, Path, bool]] = [("generated", _generated(Path(tmp)), False)]
        wallpapers = _wallpapers(Path(tmp), args.copies)
        if wallpapers is not None:
            sets.append(("wallpapers", wallpapers, True))
        for name, folder, full in sets:
            found, rates, started = _measure(name, folder, store, bank, args.repeat, full)
            rows += found
            fixed.update({f"{name} {key}": value for key, value in started.items()})
            costs[f"{name}, hash-only"] = _costs(folder, store, bank, HASH_ONLY)
            per_file_ray[f"{name}, hash-only"] = 1 / rates["ray 1"].marginal
            if full:
                costs[f"{name}, full scan"] = _costs(folder, store, bank, FULL)
                per_file_ray[f"{name}, full scan"] = 2 / rates["ray full 2"].marginal
    load_after = uptime()
    text = _section(args, kind, rows, fixed, costs, per_file_ray, load_first, load_after)
    print(text)
    if not args.no_write:
        if not DOC.exists():
            DOC.write_text(f"{TITLE}\n")
        write_section(DOC, SECTION, text)
    return 0


def _section(
    args: argparse.Namespace,
    kind: str,
    rows: list[str],
    fixed: dict[str, float],
    costs: dict[str, _Costs],
    per_file_ray: dict[str, float],
    load_first: str,
    load_after: str,
) -> str:
    first = next(iter(costs)).split(",")[0]
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/ray_scan.py --repeat {args.repeat} --copies "
        f"{args.copies}` ({os.cpu_count()} cores; load at the start `{load_first}`, at the end "
        f"`{load_after}`). Store: {kind}. Each rate is `run_scan` (walk, compute, match "
        f"against a 1,000-entry bank, assess, write), the median of {args.repeat} runs after "
        "a warm-up run. End to end: the folder's files over the scan's time. At the margin: "
        "the files beyond the first over the time beyond a one-file scan's, the rate a scan "
        "of millions of files runs at. Fixed: the one-file scan's time (the job, starting "
        "the workers and loading their models, the first file). Ray: a one-node cluster "
        "started with `ray start --head --num-cpus N`, each scan joining it as "
        "`needle scan --ray` does (a new Ray job, whose workers start in each scan as a local "
        "pool's do); the driver in the scanning process on the same 2 cores.",
        "",
        "| set | scan | workers (local processes / Ray CPUs) | local pool, end to end "
        "(files/s) | Ray, end to end (files/s) | local pool, at the margin (files/s) | Ray, at "
        "the margin (files/s) | Ray vs local, at the margin | local pool, fixed (s) | Ray, "
        "fixed (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Ray sends 16 files a task: in a folder of a few hundred files the last tasks leave a "
        "CPU idle, which the rates count against Ray; a scan of millions does not see it. "
        f"Starting the one-node cluster (`ray start --head`) took {fixed[f'{first} start 1']:.1f} s "
        f"(1 CPU) and {fixed[f'{first} start 2']:.1f} s (2 CPUs), once, not per scan.",
        "",
        *_projection(costs, per_file_ray),
        "",
        "Reading the projection: the driver (one process: walk, match, assess, write) is "
        "the ceiling once the cluster is large; below it, throughput grows with the cluster's "
        "cores. The shared filesystem must deliver the bytes the workers read, and PostgreSQL "
        "takes one transaction per 64 records from the driver. Matching against a large bank "
        "(see the 100-million-hash index section) adds to the driver's time per file.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
