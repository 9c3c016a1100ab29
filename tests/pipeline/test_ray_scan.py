"""``needle scan --ray`` on a real Ray cluster: a head and a second node on loopback.

The acceptance test of the Ray runner (``needle.pipeline.ray_runner``): the scan's driver is
killed mid-run and started again, and the second node is killed mid-run while it holds work;
the job still completes with every file stored exactly once, each record equal to a local
scan's of the same folder (hashes, matches against a small bank, priorities). A file that
kills its Ray worker costs its own record and nothing else, as with the local pool.

The cluster runs with Ray's token authentication on (a token made for the test, in the
environment of the nodes and of each driver), so it answers nobody else, and a token or an
authentication mode the user has set for Ray does not change what the test does. Every driver
(``needle scan``, and the script that feeds the hostile file) runs as a process of its own:
Ray reads its authentication settings when it is first imported.

Each node is started in a session of its own (``start_new_session``), so killing "the node"
is killing every process of that session: its raylet, its agents and its worker processes
(which Ray puts in process groups of their own, but never in another session). The cluster
is torn down the same way, not with ``ray stop``, which would stop every Ray process on the
machine, a cluster this test did not start included.

Skipped without the ``ray`` extra; the acceptance test also without NEEDLE_TEST_PG.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, image_bytes, synth_image
from needle.banks.model import Bank, BankEntry
from needle.media import Item
from needle.pipeline.scan import run_scan
from needle.pipeline.worker import ScanOptions, compute_file
from needle.store import Store

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="needs the ray extra: pip install 'needle-triage[ray]'",
)


BIN = Path(sys.executable).parent
#: files in the scanned folder, and their size: a few seconds of work on two CPUs, so the
#: kills land while work is in flight
FILES = 400
SIZE = (640, 480)
#: the stages a scan runs besides hashing and matching: provenance; not the classifiers,
#: whose models loaded in every Ray worker would take most of the test's time, nor the text
#: guard, which reads only the names, as it does in a local scan
OPTIONS = ["--no-classify", "--provenance", "--no-textguard"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _sessions() -> Iterator[tuple[int, int, str]]:
    """(pid, session id, command line) of every process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        yield int(entry), int(fields[3]), command


def _kill_session(session: int) -> None:
    for pid, sid, _ in _sessions():
        if sid == session:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _busy(session: int) -> bool:
    """Whether a Ray worker of this session is computing a batch of files."""
    return any(sid == session and "_compute_batch" in cmd for _, sid, cmd in _sessions())


@dataclass
class Cluster:
    address: str
    head: int  # session ids
    node: int
    env: dict[str, str]  # for the nodes and every driver: the token


def _environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token")
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    return env


def _ray_start(args: list[str], log: Path, env: dict[str, str], sessions: list[int]) -> None:
    """``ray start ARGS`` in a new session, added to ``sessions`` (to be killed) at once."""
    with log.open("wb") as out:
        started = subprocess.Popen(
            [str(BIN / "ray"), "start", "--disable-usage-stats", "--num-cpus", "1", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # the node's processes stay in this session
        )
    sessions.append(started.pid)  # a session's id is its first process's
    if started.wait(timeout=120) != 0:
        raise RuntimeError(f"ray start failed: {log.read_text()[-2000:]}")


def _node_ports(*names: str) -> list[str]:
    return [arg for name in names for arg in (name, str(_free_port()))]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head and a second node, one CPU each, on loopback; torn down whatever happens."""
    # short: Ray's unix sockets live under it, and their paths are limited to 107 bytes
    temp = Path(tempfile.mkdtemp(prefix="nr", dir="/tmp"))
    port = _free_port()
    sessions: list[int] = []
    env = _environment()
    agents = ("--dashboard-agent-listen-port", "--dashboard-agent-grpc-port")
    ports = ("--node-manager-port", "--object-manager-port", "--runtime-env-agent-port")
    try:
        head_args = [
            "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
            "--temp-dir", str(temp / "h"), "--include-dashboard=false",
            *_node_ports("--dashboard-port", "--ray-client-server-port",
                         "--metrics-export-port", *agents, *ports),
        ]  # fmt: skip
        _ray_start(head_args, temp / "head.log", env, sessions)
        node_args = [
            "--address", f"127.0.0.1:{port}", "--node-ip-address", "127.0.0.1",
            "--temp-dir", str(temp / "n"),
            *_node_ports("--metrics-export-port", *agents, *ports),
        ]  # fmt: skip
        _ray_start(node_args, temp / "node.log", env, sessions)
        yield Cluster(f"127.0.0.1:{port}", sessions[0], sessions[1], env)
    finally:
        for session in reversed(sessions):
            _kill_session(session)
        shutil.rmtree(temp, ignore_errors=True)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    for i in range(FILES):
        (folder / f"img{i:04d}.jpg").write_bytes(image_bytes(synth_image(i, SIZE)))
    return folder


def _bank(folder: Path) -> Bank:
    """PDQ hashes of two of the files and the MD5 of a third: matches and priorities."""

    def signal(name: str, signal_type: str) -> str:
        path = folder / name
        item = Item(str(path), path.stat().st_size, fs_path=str(path))
        return compute_file(item).signals[signal_type].value

    entries = [BankEntry("pdq", signal(f"img{i:04d}.jpg", "pdq")) for i in (3, 150)]
    entries.append(BankEntry("md5", signal("img0299.jpg", "md5")))
    return Bank("known", entries)


def _scan_command(folder: Path, db: str, address: str) -> list[str]:
    return [str(BIN / "needle"), "scan", str(folder), "--db", db, "--ray", address,
            "--quiet", *OPTIONS]  # fmt: skip


def _stored(store: Store) -> int:
    job = store.latest_job()
    return store.summary(job.id).files if job is not None else 0


def _start(command: list[str], cluster: Cluster, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=cluster.env)


def _run_until(
    command: list[str], cluster: Cluster, store: Store, stop: int, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``command``; return once ``stop`` records are stored (or it ended)."""
    process = _start(command, cluster, log)
    while process.poll() is None and _stored(store) < stop:
        time.sleep(0.1)
    return process


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_cluster_scan_survives_a_lost_node_and_driver(
    db_url: str, cluster: Cluster, tmp_path: Path
) -> None:
    folder = _folder(tmp_path)
    bank = _bank(folder)
    options = ScanOptions(provenance=True)
    with Store(f"sqlite:///{tmp_path / 'local.db'}") as local:
        reference = run_scan([str(folder)], store=local, banks=[bank], workers=2, options=options)
        expected = {record.path: record for record in local.iter_records(reference.job.id)}
    command = _scan_command(folder, db_url, cluster.address)
    log = tmp_path / "scan.log"
    with Store(db_url) as store:
        store.create_bank("known")
        store.add_entries("known", bank.entries)

        # the driver, killed mid-run: finished batches are stored, the rest is not
        first = _run_until(command, cluster, store, FILES // 5, log)
        first.kill()
        first.wait()
        interrupted_at = _stored(store)
        assert 0 < interrupted_at < FILES, log.read_text()
        job = store.latest_job()

        # run again: it resumes; the second node is killed while it computes a batch
        second = _start(command, cluster, log)
        while second.poll() is None and not _busy(cluster.node):
            time.sleep(0.02)
        _kill_session(cluster.node)
        still_running = second.poll() is None
        assert still_running, f"the scan ended before the node was killed\n{log.read_text()}"
        assert second.wait(timeout=300) == 0, log.read_text()

        resumed = store.latest_job()
        assert job is not None and resumed is not None
        assert resumed.id == job.id and resumed.status == "complete"
        records = list(store.iter_records(job.id))
        summary = store.summary(job.id)
    paths = [record.path for record in records]
    assert len(paths) == len(set(paths)) == summary.files == FILES  # every file exactly once
    assert {record.path: record for record in records} == expected
    assert summary.matched_files == 3 and summary.errors == 0


#: the driver that feeds a file killing its worker to the Ray runner: ``CrashingItem`` is
#: a test helper the workers cannot import, so its module travels by value
HOSTILE = """
import json, sys
from pathlib import Path
import ray.cloudpickle
import bombs
from needle.media import Item
from needle.pipeline.ray_runner import RayRunner
from needle.pipeline.worker import ScanOptions

ray.cloudpickle.register_pickle_by_value(bombs)
folder, address = Path(sys.argv[1]), sys.argv[2]
items = [Item(str(p), p.stat().st_size, fs_path=str(p)) for p in sorted(folder.iterdir())]
hostile = bombs.CrashingItem(str(folder / "hostile.jpg"), 10, fs_path="/nonexistent")
items.insert(len(items) // 2, hostile)
records = RayRunner(address=address, batch_files=8)(iter(items), ScanOptions())
print(json.dumps([[Path(r.path).name, r.error_reason] for r in records]))
"""


@pytest.mark.slow
def test_a_file_that_kills_its_worker_costs_its_record_alone(
    cluster: Cluster, tmp_path: Path
) -> None:
    for i in range(40):
        (tmp_path / f"{i}.jpg").write_bytes(image_bytes(synth_image(i, (64, 64))))
    env = {**cluster.env, "PYTHONPATH": str(ROOT / "tests")}
    done = subprocess.run(
        [sys.executable, "-c", HOSTILE, str(tmp_path), cluster.address],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    records = json.loads(done.stdout.splitlines()[-1])
    names = [name for name, _ in records]
    assert sorted(names) == sorted([f"{i}.jpg" for i in range(40)] + ["hostile.jpg"])
    assert dict(records) == {name: "crash" if name == "hostile.jpg" else None for name in names}


def test_the_cli_refuses_sqlite_for_a_cluster_scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import run_cli

    (tmp_path / "a.jpg").write_bytes(image_bytes(synth_image(1, (64, 64))))
    db = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = run_cli(capsys, "scan", str(tmp_path), "--db", db, "--ray", "auto")
    assert code != 0 and "PostgreSQL" in err and "--ray" in err
    code, _, err = run_cli(capsys, "scan", str(tmp_path), "--db", db, "--ray-workers", "2")
    assert code != 0 and "--ray-workers needs --ray" in err
