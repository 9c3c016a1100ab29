"""Fuzzing campaign: every harness in fuzz/ for N executions or a time budget, whichever comes
first, with the numbers that say how far it got and what it found.

Per harness: executions, executions per second, coverage (libFuzzer's ``cov:`` edges and
``ft:`` features at the end), crashes (distinct by exception and innermost frame, with the
inputs), hangs (an input over ``--timeout`` seconds, 10 by default), out-of-memory stops (RSS
over ``--rss-limit-mb``) and peak RSS. A harness that stops on a finding is started again
from its corpus with what is left of its budget, up to ``--max-restarts`` times, so one crash
does not end its campaign.

Parallel-safe: harnesses run ``--jobs`` at a time, each process with its own corpus folder,
artifact prefix and temporary folder (fuzz/runner.py). The corpus and the inputs found are
kept under ``--work`` (bench/out/fuzz by default) and a later campaign continues from them.
Results go into docs/reliability.md ("Fuzzing campaign") unless ``--no-doc``.

    .venv/bin/python bench/fuzz_campaign.py                         # 1M runs or 30 min each
    .venv/bin/python bench/fuzz_campaign.py --runs 2000 --seconds 20 --no-doc   # a check
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "fuzz"))

import runner  # noqa: E402
import seeds  # noqa: E402
from _report import uptime, write_section  # noqa: E402

DOC = ROOT / "docs" / "reliability.md"
SECTION = "## Fuzzing campaign"


@dataclass
class Campaign:
    """One harness's campaign, summed over its restarts."""

    harness: str
    executions: int = 0
    seconds: float = 0.0
    cov: int = 0
    ft: int = 0
    peak_rss_mb: int = 0
    restarts: int = 0
    #: stopped twice on the same input from its corpus: it cannot go further until fixed
    blocked: bool = False
    #: signature -> (reason, first input saved for it)
    crashes: dict[str, tuple[str, str]] = field(default_factory=dict)
    hangs: list[str] = field(default_factory=list)
    ooms: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def exec_per_s(self) -> float:
        return self.executions / self.seconds if self.seconds else 0.0

    def add(self, run: runner.Run) -> None:
        self.executions += run.executions
        self.seconds += run.seconds
        self.cov, self.ft = max(self.cov, run.cov), max(self.ft, run.ft)
        self.peak_rss_mb = max(self.peak_rss_mb, run.peak_rss_mb)
        artifact = run.artifact or "(no input saved)"
        if run.kind == "crash":
            self.crashes.setdefault(run.signature, (run.reason, artifact))
        elif run.kind == "timeout":
            self.hangs.append(artifact)
        elif run.kind == "oom":
            self.ooms.append(artifact)
        elif run.kind == "error":
            self.errors.append(run.reason + "\n" + run.output[-2000:])


def run_campaign(harness: str, args: argparse.Namespace, seed_folder: Path) -> Campaign:
    result = Campaign(harness)
    work: Path = args.work
    last_artifact: str | None = None
    while result.executions < args.runs and result.seconds < args.seconds:
        run = runner.run_harness(
            harness,
            corpus=work / "corpus" / harness,
            seeds=[seed_folder],
            artifacts=work / "crashes",
            seconds=max(1.0, args.seconds - result.seconds),
            runs=max(1, args.runs - result.executions),
            timeout=args.timeout,
            rss_limit_mb=args.rss_limit_mb,
        )
        result.add(run)
        print(
            f"  {harness}: {run.kind} after {run.executions:,} runs in {run.seconds:.0f} s"
            + (f" ({run.reason})" if not run.ok else ""),
            flush=True,
        )
        if run.ok or run.kind == "error" or result.restarts >= args.max_restarts:
            break
        if run.artifact is not None and run.artifact == last_artifact:
            # the same input again (a seed or a corpus entry that fails): the harness cannot
            # get past it until the bug is fixed
            result.blocked = True
            break
        last_artifact = run.artifact
        result.restarts += 1
    return result


def _table(results: list[Campaign]) -> list[str]:
    lines = [
        "| harness | executions | exec/s | cov | ft | crashes | hangs | out of memory "
        "| restarts | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        blocked = " (blocked)" if r.blocked else ""
        lines.append(
            f"| {r.harness}{blocked} | {r.executions:,} | {r.exec_per_s:,.0f} | {r.cov:,} "
            f"| {r.ft:,} | {len(r.crashes)} | {len(r.hangs)} | {len(r.ooms)} | {r.restarts} "
            f"| {r.peak_rss_mb:,} |"
        )
    return lines


def _findings(results: list[Campaign], work: Path) -> list[str]:
    lines: list[str] = []
    for r in results:
        for signature, (reason, artifact) in r.crashes.items():
            lines.append(f"- `{r.harness}` crash: {reason} [{signature}], input `{artifact}`")
        for artifact in r.hangs:
            lines.append(f"- `{r.harness}` hang (over the per-input timeout), input `{artifact}`")
        for artifact in r.ooms:
            lines.append(f"- `{r.harness}` out of memory, input `{artifact}`")
        for error in r.errors:
            lines.append(f"- `{r.harness}` did not run: {error.splitlines()[0]}")
    if not lines:
        return ["Nothing found: no crash, hang or out-of-memory stop."]
    try:
        shown = work.relative_to(ROOT)
    except ValueError:
        shown = work
    return [
        f"Found (inputs under `{shown}/crashes`; replay one with "
        "`.venv/bin/python fuzz/<harness>.py <input>`):",
        "",
        *lines,
    ]


def render(results: list[Campaign], args: argparse.Namespace, before: str, wall: float) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        SECTION,
        "",
        "Command: `python bench/fuzz_campaign.py "
        f"--runs {args.runs} --seconds {args.seconds:g} --jobs {args.jobs}` "
        f"({', '.join(args.harnesses) if args.harnesses else 'every harness'}), "
        f"{wall / 60:.0f} min in all, {datetime.date.today().isoformat()}.",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"atheris {metadata.version('atheris')}. Limits: "
        f"`-timeout={args.timeout}` s per input, `-rss_limit_mb={args.rss_limit_mb}`. "
        f"Load before: `{before}`; after: `{uptime()}`.",
        "",
        "Each harness ran until its executions or its time were spent; a harness that stopped "
        "on a finding was restarted from its corpus, and is marked blocked when it stopped "
        "twice on the same input (a seed that shows a known bug). Crashes count distinct "
        "bugs (exception and innermost frame in needle); cov and ft are libFuzzer's coverage "
        "counts at the end: edges and features of the instrumented Python code (needle and "
        "the pure-Python parsers it relies on).",
        "",
        *_table(results),
        "",
        *_findings(results, args.work),
        "",
    ]
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("harnesses", nargs="*", help="default: every harness")
    parser.add_argument("--runs", type=int, default=1_000_000, help="executions per harness")
    parser.add_argument(
        "--seconds", type=float, default=1800, help="time per harness (the issue: 30 minutes)"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=int, default=runner.TIMEOUT_S)
    parser.add_argument("--rss-limit-mb", type=int, default=runner.RSS_LIMIT_MB)
    parser.add_argument("--max-restarts", type=int, default=20)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "fuzz")
    parser.add_argument("--no-doc", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args(argv)
    names = args.harnesses or list(runner.HARNESSES)
    unknown = sorted(set(names) - set(runner.HARNESSES))
    if unknown:
        parser.error(f"unknown harness {', '.join(unknown)}; known: {', '.join(runner.HARNESSES)}")
    args.work = args.work.resolve()
    folders = seeds.write(args.work / "seeds", only=lambda h: h in names)
    before, started = uptime(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda h: run_campaign(h, args, folders[h]), names))
    text = render(results, args, before, time.perf_counter() - started)
    print("\n" + text)
    if not args.no_doc:
        write_section(DOC, SECTION, text)
        print(f"written to {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
