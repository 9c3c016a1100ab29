"""Running the harnesses: one libFuzzer process per harness, with limits, read back as numbers.

In: harness names, a time or execution budget, folders. Out: a ``Run`` per harness process:
executions, exec/s, coverage (libFuzzer's ``cov:`` edges and ``ft:`` features), peak RSS, and
what stopped it: ``done``, ``crash`` (an exception escaped, or a native crash), ``timeout``
(one input ran past ``timeout`` seconds), ``oom`` (RSS past ``rss_limit_mb``), with the
input libFuzzer saved for it (``artifact``). Used by ``make fuzz`` (this module's command
line), the test suite's short runs (tests/fuzz) and ``bench/fuzz_campaign.py``.

Each process gets its own working corpus folder (new inputs are written there; the seed
folders are only read), its own artifact prefix and its own ``TMPDIR``, removed afterwards,
so any number of runs can share a machine. Replay a crash with
``.venv/bin/python fuzz/<harness>.py <artifact>``.

    .venv/bin/python fuzz/runner.py                         # every harness, 60 s each
    .venv/bin/python fuzz/runner.py --seconds 300 image_signals archive_walk
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent

#: every harness, by module name in this folder
HARNESSES = (
    "image_signals",
    "archive_walk",
    "bank_text",
    "bank_csv",
    "bank_te_simple_csv",
    "bank_te_local_file",
    "bank_vics",
    "bank_stopncii",
    "bank_ncmec",
    "bank_guess",
    "provenance_examine",
    "textguard_check",
    "guard_file",
    "guard_labels",
    "classify_labels",
)
#: a per-input time limit: an input that takes longer is a hang (libFuzzer ``-timeout``)
TIMEOUT_S = 10
#: RSS limit of one harness process: a scan worker decoding an image at the default
#: ``Limits`` stays well under it (libFuzzer's own default is 2048)
RSS_LIMIT_MB = 2560
#: libFuzzer's exit codes for the ways a run stops early (its defaults)
_EXIT_KIND = {70: "timeout", 71: "oom", 77: "crash"}
_STATUS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+)", re.M)
_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_EXCEPTION = re.compile(r"=== Uncaught Python exception: ===\n(.*)")
_ERROR = re.compile(r"ERROR: libFuzzer: (.*)")
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass
class Run:
    """One harness process, read back from libFuzzer's output."""

    harness: str
    kind: str = "done"  # done, crash, timeout, oom, error
    executions: int = 0
    exec_per_s: float = 0.0
    cov: int = 0
    ft: int = 0
    peak_rss_mb: int = 0
    seconds: float = 0.0
    artifact: str | None = None
    returncode: int = 0
    output: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.kind == "done"

    @property
    def reason(self) -> str:
        """One line: the exception that escaped, or libFuzzer's word for the stop."""
        exception = _EXCEPTION.search(self.output)
        if exception:
            return exception.group(1).strip()[:200]
        error = _ERROR.findall(self.output)
        return error[-1].strip() if error else self.kind

    @property
    def signature(self) -> str:
        """What tells two findings apart: the exception type and the innermost frame in needle
        (two inputs that fail there are one bug), or the kind of stop for hangs and memory."""
        if self.kind != "crash":
            return self.kind
        frames = _FRAME.findall(self.output)
        # the innermost frame in needle's own code, else the innermost of all
        ours = [f for f in frames if "/needle/" in f[0]] or frames
        where = f" at {ours[-1][0].rsplit('/', 1)[-1]}:{ours[-1][1]}" if ours else ""
        return f"{self.reason.split(':', 1)[0]}{where}"

    def problem(self) -> str:
        """A line for a person: what happened and how to replay it."""
        where = f"; input saved as {self.artifact}" if self.artifact else ""
        replay = (
            f" (replay: .venv/bin/python fuzz/{self.harness}.py {self.artifact})"
            if self.artifact
            else ""
        )
        tail = "\n".join(self.output.strip().splitlines()[-25:])
        return f"{self.harness}: {self.kind} (exit {self.returncode}){where}{replay}\n{tail}"


def parse(harness: str, output: str, returncode: int, seconds: float) -> Run:
    """A ``Run`` from a libFuzzer process's combined output and exit code."""
    run = Run(harness, returncode=returncode, seconds=seconds, output=output)
    statuses = _STATUS.findall(output)
    if statuses:
        last = statuses[-1]
        run.executions, run.cov, run.ft = int(last[0]), int(last[2]), int(last[3])
    stats = {k: int(v) for k, v in _STAT.findall(output)}
    run.executions = max(run.executions, stats.get("number_of_executed_units", 0))
    run.peak_rss_mb = stats.get("peak_rss_mb", 0)
    run.exec_per_s = run.executions / seconds if seconds > 0 else 0.0
    artifacts = _ARTIFACT.findall(output)
    run.artifact = artifacts[-1] if artifacts else None
    if returncode != 0:
        run.kind = _EXIT_KIND.get(returncode, "crash" if run.artifact else "error")
    return run


def run_harness(
    harness: str,
    *,
    corpus: Path,
    seeds: Sequence[Path] = (),
    artifacts: Path,
    seconds: float | None = None,
    runs: int | None = None,
    timeout: int = TIMEOUT_S,
    rss_limit_mb: int = RSS_LIMIT_MB,
    max_len: int | None = None,
    extra: Sequence[str] = (),
    python: str = sys.executable,
) -> Run:
    """Fuzz ``harness`` from ``corpus`` (written to) and ``seeds`` (read only) until
    ``seconds`` or ``runs`` is spent or it stops on a crash, hang or out-of-memory."""
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    argv = [
        python,
        str(FUZZ / f"{harness}.py"),
        f"-timeout={timeout}",
        f"-rss_limit_mb={rss_limit_mb}",
        f"-artifact_prefix={artifacts}{os.sep}{harness}-",
        "-print_final_stats=1",
        "-print_pcs=0",
    ]
    if seconds is not None:
        argv.append(f"-max_total_time={max(1, round(seconds))}")
    if runs is not None:
        argv.append(f"-runs={runs}")
    if max_len is not None:
        argv.append(f"-max_len={max_len}")
    argv += [*extra, str(corpus), *(str(s) for s in seeds if s.is_dir())]
    scratch = Path(tempfile.mkdtemp(prefix=f"needle-fuzz-{harness}-"))
    env = {**os.environ, "TMPDIR": str(scratch)}
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = proc.stdout.decode("utf-8", "replace")
    return parse(harness, output, proc.returncode, time.perf_counter() - started)


def run_many(harnesses: list[str], jobs: int, **kwargs: object) -> list[Run]:
    """``run_harness`` for each of ``harnesses``, ``jobs`` at a time, in the order given.

    ``kwargs`` with a ``{harness}`` placeholder in a path (``corpus``, ``seeds``) are filled in
    per harness."""

    def one(name: str) -> Run:
        filled = {k: _fill(v, name) for k, v in kwargs.items()}
        return run_harness(name, **filled)  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, harnesses))


def _fill(value: object, name: str) -> object:
    if isinstance(value, Path) and "{harness}" in str(value):
        return Path(str(value).replace("{harness}", name))
    if isinstance(value, list):
        return [_fill(v, name) for v in value]
    return value


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Run the fuzz harnesses (make fuzz).",
        epilog="New inputs go to fuzz/corpus/<harness>, crashes to fuzz/crashes/.",
    )
    parser.add_argument("harnesses", nargs="*", help=f"default: all ({', '.join(HARNESSES)})")
    parser.add_argument("--seconds", type=float, default=60, help="per harness (default 60)")
    parser.add_argument("--jobs", type=int, default=1, help="harnesses run at once (default 1)")
    parser.add_argument("--rss-limit-mb", type=int, default=RSS_LIMIT_MB)
    parser.add_argument("--timeout", type=int, default=TIMEOUT_S, help="per input, seconds")
    args = parser.parse_args(argv)
    names = args.harnesses or list(HARNESSES)
    unknown = sorted(set(names) - set(HARNESSES))
    if unknown:
        parser.error(f"unknown harness {', '.join(unknown)}; known: {', '.join(HARNESSES)}")
    sys.path.insert(0, str(ROOT / "src"))
    import seeds

    seeds.write(FUZZ / "seeds", only=lambda h: h in names)
    runs = run_many(
        names,
        args.jobs,
        corpus=FUZZ / "corpus" / "{harness}",
        seeds=[FUZZ / "seeds" / "{harness}"],
        artifacts=FUZZ / "crashes",
        seconds=args.seconds,
        timeout=args.timeout,
        rss_limit_mb=args.rss_limit_mb,
    )
    print(
        f"{'harness':22} {'result':8} {'execs':>9} {'exec/s':>8} {'cov':>6} {'ft':>7} {'RSS MB':>7}"
    )
    for r in runs:
        print(
            f"{r.harness:22} {r.kind:8} {r.executions:9,} {r.exec_per_s:8.0f} {r.cov:6} "
            f"{r.ft:7} {r.peak_rss_mb:7}"
        )
    failed = [r for r in runs if not r.ok]
    for r in failed:
        print("\n" + r.problem(), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
