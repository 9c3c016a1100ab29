"""Bank scale: importing a bank of 1M and 10M hashes, and loading it for a scan, old and new.

For each size and signal type (md5, pdq) a text file of random hashes (random bytes: benign
by construction) is written, then each step runs in a process of its own, so its time and
peak resident memory (``VmHWM``) are its own:

- import, new: what ``needle bank import`` does now: ``read_bank_file(sink=...)`` into
  ``Store.bank_import``, 20,000 entries a chunk, ``INSERT … ON CONFLICT DO NOTHING``.
- import, old (BASELINE): a copy, below, of the code before this change: the whole file read
  into one ``ImportResult``, every (type, value) already in the bank loaded into a set, one
  dict per row, inserted 5,000 at a time.
- load, new: what ``needle scan`` does before its first file: ``Store.load_bank_columns``
  and ``Matcher``.
- load, old (BASELINE): copies of ``Store.load_bank`` (an ORM object, then a ``BankEntry``,
  per row) and of the ``Matcher`` constructor (per-type lists, a dict of str per exact type,
  PDQ hex strings to an array) as they were.

After a load, 1,000 hashes of the bank (and 100 that are not in it) are matched, labels
looked up, to check both ways find the same (the "hits" column); that is not in the load
time. The exact index's memory is measured on its own too (md5 only): needle's sorted byte
array against a dict of str (the old index) and a dict of 16-byte ``bytes``.

The old way runs at 1M only by default: at 10M it would need about 8 GB to import and 16 GB
to load, on a machine shared with other work (``--old-sizes`` runs it anyway).

    .venv/bin/python bench/bank_scale.py                          # about 30 min
    .venv/bin/python bench/bank_scale.py --sizes 100000 --no-doc  # a minute

Results go to the "## Bank scale" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _report import uptime, write_section

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Bank scale"
BANK = "scale"
WIDTH = {"md5": 16, "pdq": 32}
CHECKS = 1000


# --------------------------------------------------------------------------- data


def write_bank_text(path: Path, kind: str, n: int, seed: int) -> None:
    """``n`` distinct random hashes of ``kind``, one a line, under a ``# signal_type`` line."""
    rng = np.random.default_rng(seed)
    with path.open("w") as out:
        out.write(f"# signal_type: {kind}\n")
        step = 1 << 18
        for start in range(0, n, step):
            raw = rng.integers(0, 256, size=(min(step, n - start), WIDTH[kind]), dtype=np.uint8)
            text = raw.tobytes().hex()
            digits = 2 * WIDTH[kind]
            out.write("".join(text[i : i + digits] + "\n" for i in range(0, len(text), digits)))


def sample_values(path: Path, n: int) -> list[str]:
    """The first ``n`` hashes of a bank file: values the bank holds, for the match check."""
    values: list[str] = []
    with path.open() as lines:
        for line in lines:
            if not line.startswith("#"):
                values.append(line.strip())
                if len(values) == n:
                    break
    return values


# --------------------------------------------------------------------------- baseline


def old_import(path: Path, db: str) -> int:
    """BASELINE: ``needle bank import`` before this change (needle 54526b9): the bank created
    first, the file read whole, then ``Store.add_entries`` as it was."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from needle.banks import read_bank_file
    from needle.store import Store
    from needle.store.schema import BankEntryRow, BankRow

    store = Store(db)
    store.create_bank(BANK)
    result = read_bank_file(path)
    with Session(store.engine) as session, session.begin():
        bank = session.scalar(sa.select(BankRow).where(BankRow.name == BANK))
        assert bank is not None
        existing: set[tuple[str, str]] = set(
            session.execute(  # type: ignore[arg-type]
                sa.select(BankEntryRow.signal_type, BankEntryRow.value).where(
                    BankEntryRow.bank_id == bank.id
                )
            )
        )
        rows = []
        for entry in result.entries:
            key = (entry.signal_type, entry.value)
            if key in existing:
                continue
            existing.add(key)
            rows.append(
                {
                    "bank_id": bank.id,
                    "signal_type": entry.signal_type,
                    "value": entry.value,
                    "labels": list(entry.labels),
                    "meta": dict(entry.meta),
                }
            )
        for start in range(0, len(rows), 5000):
            session.execute(sa.insert(BankEntryRow), rows[start : start + 5000])
    store.close()
    return len(rows)


class OldExactIndex:
    """BASELINE: ``needle.match.exact.ExactIndex`` before this change: a dict of str."""

    def __init__(self, values: list[str]) -> None:
        self._first: dict[str, int] = {}
        self._more: dict[str, list[int]] = {}
        for row, value in enumerate(values):
            key = value.strip().lower()
            if self._first.setdefault(key, row) != row:
                self._more.setdefault(key, []).append(row)

    def query(self, value: str) -> tuple[int, ...]:
        key = value.strip().lower()
        first = self._first.get(key)
        if first is None:
            return ()
        more = self._more.get(key)
        return (first, *more) if more else (first,)


def old_load(db: str) -> tuple[Any, Any, Any]:
    """BASELINE: ``Store.load_bank`` and the ``Matcher`` constructor before this change
    (needle 54526b9), for one bank: a ``BankEntry`` per row, then the indexes."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from needle.banks.model import Bank, BankEntry
    from needle.match.pdq import PDQIndex, pdq_array
    from needle.store import Store
    from needle.store.schema import BankEntryRow, BankRow

    store = Store(db)
    with Session(store.engine) as session:
        row = session.scalar(sa.select(BankRow).where(BankRow.name == BANK))
        assert row is not None
        entries = [
            BankEntry(e.signal_type, e.value, tuple(e.labels), dict(e.meta))
            for e in session.scalars(
                sa.select(BankEntryRow)
                .where(BankEntryRow.bank_id == row.id)
                .order_by(BankEntryRow.id)
            )
        ]
        bank = Bank(row.name, entries, row.pdq_threshold, row.description)
    exact_rows: dict[str, tuple[list[int], list[int], list[str]]] = {}
    pdq_rows: dict[int, tuple[list[int], list[int], list[str]]] = {}
    for b, one in enumerate([bank]):
        for e, entry in enumerate(one.entries):
            if entry.signal_type == "pdq":
                group = pdq_rows.setdefault(one.pdq_threshold, ([], [], []))
            else:
                group = exact_rows.setdefault(entry.signal_type, ([], [], []))
            group[0].append(b)
            group[1].append(e)
            group[2].append(entry.value)
    exact = {
        kind: (OldExactIndex(values), np.asarray(banks_, np.int32), np.asarray(rows_, np.int64))
        for kind, (banks_, rows_, values) in exact_rows.items()
    }
    pdq = [
        (PDQIndex(pdq_array(values), threshold), np.asarray(b_, np.int32), np.asarray(r_, np.int64))
        for threshold, (b_, r_, values) in sorted(pdq_rows.items())
    ]
    store.close()
    return bank, exact, pdq


def old_hits(loaded: tuple[Any, Any, Any], kind: str, queries: list[str]) -> int:
    """Entries the old indexes find for ``queries`` (labels read from the entries)."""
    bank, exact, pdq = loaded
    found = 0
    if kind == "pdq":
        for index, _, rows in pdq:
            hits = index.query(queries)
            found += sum(bool(bank.entries[int(rows[r])].value) for r in hits.row.tolist())
    else:
        index, _, rows = exact[kind]
        for value in queries:
            found += sum(bool(bank.entries[int(rows[r])].value) for r in index.query(value))
    return found


# --------------------------------------------------------------------------- workers


def _status(field: str) -> int | None:
    """A ``/proc/self/status`` memory field in bytes (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_rss() -> int:
    """This process's peak resident memory. ``VmHWM`` rather than ``ru_maxrss``: on Linux
    the latter keeps the parent's peak across exec, so a small worker would report the
    bench's own memory."""
    hwm = _status("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def new_import(path: Path, db: str) -> int:
    from needle.banks import read_bank_file
    from needle.store import Store

    store = Store(db)
    with store.bank_import(BANK) as batch:
        read_bank_file(path, sink=batch.add)
    store.close()
    return batch.added


def worker(step: str, path: Path, db: str, kind: str) -> dict[str, Any]:
    """One step, in this process: its seconds, peak RSS, and what it found."""
    # what every way imports, paid before the clock starts
    import needle.banks
    import needle.match
    import needle.store  # noqa: F401

    start_rss = rss_now()
    queries = sample_values(path, CHECKS) if step.startswith("load") else []
    rng = np.random.default_rng(99)
    queries += [rng.bytes(WIDTH[kind]).hex() for _ in range(100)]  # in no bank
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    if step == "import-old":
        out["added"] = old_import(path, db)
    elif step == "import-new":
        out["added"] = new_import(path, db)
    elif step == "load-old":
        loaded = old_load(db)
        seconds = time.perf_counter() - t0
        out["hits"] = old_hits(loaded, kind, queries)
        return {"seconds": seconds, "peak_rss": peak_rss(), "start_rss": start_rss, **out}
    elif step == "load-new":
        from needle.match import Matcher
        from needle.signals.base import Signal
        from needle.store import Store

        store = Store(db)
        matcher = Matcher([store.load_bank_columns(BANK)])
        seconds = time.perf_counter() - t0
        found = matcher.match_many([[Signal(kind, v, 100)] for v in queries])
        out["hits"] = sum(len(f) for f in found)
        store.close()
        return {"seconds": seconds, "peak_rss": peak_rss(), "start_rss": start_rss, **out}
    elif step.startswith("exact-"):
        out.update(exact_index(step, path))
    return {
        "seconds": time.perf_counter() - t0,
        "peak_rss": peak_rss(),
        "start_rss": start_rss,
        **out,
    }


def exact_index(step: str, path: Path) -> dict[str, Any]:
    """One exact-index representation of the md5 values in ``path``: memory it holds."""
    from needle.banks.columns import hex_bytes
    from needle.match.exact import ExactIndex

    values = sample_values(path, 10**9)
    if step == "exact-sorted":
        raw = np.concatenate(
            [hex_bytes(values[i : i + 65536]) for i in range(0, len(values), 65536)]  # type: ignore[misc]
        )
        del values
        before = rss_now()
        index: object = ExactIndex(raw)
        held = rss_now() - before + raw.nbytes
    elif step == "exact-bytes":
        before = rss_now()
        index = {bytes.fromhex(v): row for row, v in enumerate(values)}
        held = rss_now() - before
    else:
        before = rss_now()
        index = OldExactIndex(values)
        held = rss_now() - before
    return {"held": held, "size": len(index) if hasattr(index, "__len__") else 0}


def rss_now() -> int:
    now = _status("VmRSS")
    return now if now is not None else peak_rss()


def run_worker(step: str, path: Path, db: str, kind: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", step, "--file", str(path), "--db", db]
    command += ["--kind", kind]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{step} worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- report


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| entries | type | step | way | seconds | peak RSS MB | RSS before MB | check |\n"
        "|---:|---|---|---|---:|---:|---:|---|\n"
    )
    lines = []
    for r in rows:
        check = f"{r['hits']:,} hits" if "hits" in r else f"{r.get('added', 0):,} added"
        if "held" in r:
            check = f"holds {mb(r['held'])} MB"
        lines.append(
            f"| {r['size']:,} | {r['kind']} | {r['step']} | {r['way']} | {r['seconds']:.1f} "
            f"| {mb(r['peak_rss'])} | {mb(r['start_rss'])} | {check} |"
        )
    return head + "\n".join(lines) + "\n"


WAYS = {
    "import-old": ("import", "old (baseline copy)"),
    "import-new": ("import", "new: chunks, ON CONFLICT"),
    "load-old": ("scan load", "old (baseline copy)"),
    "load-new": ("scan load", "new: arrays"),
    "exact-dict": ("exact index", "dict of str (old)"),
    "exact-bytes": ("exact index", "dict of bytes"),
    "exact-sorted": ("exact index", "sorted bytes (new)"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated sizes")
    parser.add_argument("--kinds", default="md5,pdq")
    parser.add_argument(
        "--old-sizes", default="1000000", help="sizes the old way runs at (it needs GBs)"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--seed", type=int, default=20241201)
    parser.add_argument("--worker", choices=sorted(WAYS), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.file, args.db, args.kind)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    old_sizes = {int(s) for s in args.old_sizes.split(",") if s}
    load_before = uptime()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        for kind in args.kinds.split(","):
            with tempfile.TemporaryDirectory(dir=out) as tmp:
                folder = Path(tmp)
                path = folder / f"{kind}.txt"
                write_bank_text(path, kind, size, args.seed + size)
                steps = ["import-new", "load-new"]
                if size in old_sizes:
                    steps = ["import-old", "import-new", "load-old", "load-new"]
                if kind == "md5":
                    steps += ["exact-dict", "exact-bytes", "exact-sorted"]
                for step in steps:
                    db = f"sqlite:///{folder / ('old.db' if step == 'import-old' else 'new.db')}"
                    result = run_worker(step, path, db, kind)
                    result.update(size=size, kind=kind, step=WAYS[step][0], way=WAYS[step][1])
                    rows.append(result)
                    print(
                        f"{size:,} {kind} {step}: {result['seconds']:.1f} s, peak RSS "
                        f"{mb(result['peak_rss'])} MB {result.get('hits', '')}",
                        flush=True,
                    )
    load_after = uptime()
    command = "python bench/bank_scale.py " + " ".join(argv or sys.argv[1:])
    body = table(rows)
    print("\n" + body)
    text = (
        f"{SECTION}\n\n"
        "Importing a bank of random hashes from a text file and loading it for a scan "
        "(`bench/bank_scale.py`), SQLite. **import**: `needle bank import`'s work; **scan "
        "load**: what `needle scan` does before its first file (read the bank, build the "
        "matcher). The old way is a copy of the code before the change, kept in the bench as "
        "the baseline and run in the same session; it runs at 1M only (at 10M it would need "
        "about 8 GB to import and 16 GB to load). Each step is a process of its own: peak "
        "RSS is that process's, RSS before is its resident memory once needle is imported. "
        f"Check: after a load, {CHECKS:,} hashes of the bank and 100 others are matched (not "
        "timed); both ways must find the same entries. **exact index**: memory one index "
        "over the md5 values holds (the values included for sorted bytes). Most of a 10M PDQ "
        "load's memory is the multi-index tables of `PDQIndex` (an offset table of up to "
        "2^24 entries per chunk; see Match throughput), not the bank's 32 bytes a hash. The "
        "exact-index rows' peak RSS includes the strings the worker reads first; "
        '"holds" is the index.\n\n'
        f"Command: `{command.strip()}` — {time.perf_counter() - started:.0f} s in all, "
        f"{time.strftime('%Y-%m-%d')}.\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}. Load (`uptime`) before: "
        f"`{load_before}`; after: `{load_after}` (other work shared the CPU and disk).\n\n" + body
    )
    if not args.no_doc:
        write_section(DOC, SECTION, text)
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
