"""The text guard's adversarial harness, in full: every base line of the development set and of
the held-out splits rewritten by every evasion transform, recall and false blocks counted.

Run: ``.venv/bin/python bench/textguard_evasion.py`` (``--variants K``, ``--seed N``,
``--out WORST.jsonl``, ``--no-write``).

What it runs is ``needle eval guard LABELS --perturb`` (:mod:`needle.eval.perturb`, the
transforms in :mod:`needle.eval.transforms`) on:

- the development set's base lines (``evasion`` none: the evasions of the set itself are
  left to the plain evaluation), every language;
- the held-out splits (``tests/data/textguard/heldout/*.jsonl``) as they are, and rewritten,
  reported apart: they were written before the code and the lexicons they measure, and are
  never tuned on.

Prints the tables and writes them into docs/textguard.md (section "## Adversarial harness:
results") with the command, the date and the machine's load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import uptime, write_section  # noqa: E402
from needle.eval.guard import evaluate, format_report, read_labels  # noqa: E402
from needle.eval.perturb import format_perturb_report, perturb, write_worst  # noqa: E402
from needle.textguard import IMPLEMENTATION, Guard  # noqa: E402

DATA = ROOT / "tests" / "data" / "textguard"
DOC = ROOT / "docs" / "textguard.md"
SECTION = "## Adversarial harness: results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=3, help="rewrites per line and transform")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the worst rewrites of the dev set here")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/textguard.md")
    args = parser.parse_args()
    guard = Guard()
    started = time.perf_counter()
    dev = [r for r in read_labels(DATA / "dev.jsonl") if r.evasion in (None, "none")]
    report = perturb(dev, guard, seed=args.seed, variants=args.variants)
    if args.out is not None:
        write_worst(report, args.out)
    heldout_files = sorted((DATA / "heldout").glob("*.jsonl"))
    heldout = [row for path in heldout_files for row in read_labels(path)]
    plain = evaluate(heldout, guard) if heldout else None
    rewritten = perturb(heldout, guard, seed=args.seed, variants=args.variants) if heldout else None
    seconds = time.perf_counter() - started
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/textguard_evasion.py --variants {args.variants} "
        f"--seed {args.seed}` ({time.strftime('%Y-%m-%d')}, {IMPLEMENTATION}, {seconds:.0f} s); "
        f"load at the end: `{uptime()}`",
        "",
        f"### Development set, base lines ({len(dev)} lines), rewritten",
        "",
        format_perturb_report(report, worst=15),
    ]
    if plain is not None and rewritten is not None:
        lines += [
            "",
            f"### Held-out splits ({len(heldout)} lines in {len(heldout_files)} files), as written",
            "",
            format_report(plain, errors=30),
            "",
            "### Held-out splits, rewritten",
            "",
            format_perturb_report(rewritten, worst=15),
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_section(DOC, SECTION, text)
        print(f"written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
