"""The generation guard's cost per generation, and trace-back on a ledger of a million entries.

Inputs: the wallpapers (JPEG, PNG, WebP) of Debian's packages exactly as installed (``apt-get install
mate-backgrounds``); each is centre-cropped and resized to 1024x1024, standing for a
generator's output (the guard sees pixels handed over in memory, as a pipeline returns them).

Part 1, overhead (one core: every model and numpy thread pool at 1): per output, the prompt
check, the output check (bank match, and the explicit and age models when the classify extra
is installed), the stamp (watermark, PNG encode, hashes) and the ledger append (SQLite),
next to the baseline in the same run: the PNG encode a service pays without needle.

Part 2, trace-back: a SQLite ledger of ``--entries`` (default 1,000,000) signed, chained
entries: the stamped wallpapers among fillers whose hashes are random. Then each stamped
output is traced after (a) JPEG re-encode at quality 85, (b) a 10 % crop (of the area,
centred; from a corner; 10 % of the width from one side), (c) half size, (d) PNG with a
20-pixel border, plus unrelated wallpapers (not in the ledger) for false traces. Reported:
recall per edit and by which evidence, false traces, trace latency, and the time to build the
hash index from the ledger (cold) and from its cache.

    .venv/bin/python bench/genguard.py                 # writes "## Generation guard" in docs
    .venv/bin/python bench/genguard.py --entries 100000 --no-write

Memory: the index of 1M entries holds their hashes (32 bytes each, whole image and windows).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _report import real_photos, uptime, write_section  # noqa: E402
from needle.genguard import Ledger, LedgerRecord, Signer, text_digest  # noqa: E402
from needle.genguard.guard import GenerationGuard, GenerationRequest  # noqa: E402
from needle.genguard.ledger import _signed, entry_hash  # noqa: E402
from needle.genguard.stamp import Stamped, stamp_image  # noqa: E402
from needle.genguard.trace import TraceIndex, trace_image  # noqa: E402
from needle.genguard.windows import stored_hashes  # noqa: E402
from needle.match import Matcher  # noqa: E402
from needle.store import Store  # noqa: E402
from needle.store.chain import GENESIS  # noqa: E402
from needle.store.schema import LedgerRow  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
SECTION = "## Generation guard: overhead and trace-back"
SIDE = 1024
PROMPTS = ("a lighthouse at dusk, oil painting", "a red bicycle against a brick wall")


def output_of(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    return ImageOps.fit(image, (SIDE, SIDE), Image.Resampling.LANCZOS)


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{1000 * statistics.median(ordered):.1f} | {1000 * p95:.1f}"


def overhead(photos: list[Path], tmp: Path) -> list[str]:
    classifiers = []
    try:
        from needle.classify import load_classifiers

        classifiers = load_classifiers(["nudenet", "age"], threads=1, load=True)
    except Exception as exc:  # the classify extra is optional: say so in the table
        print(f"classifiers not loaded ({exc}); output check without models")
    with Store(f"sqlite:///{tmp / 'overhead.db'}") as store:
        ledger, signer = Ledger(store.engine), Signer.generate()
        guard = GenerationGuard(
            ledger=ledger, signer=signer, matcher=Matcher([]), classifiers=classifiers
        )
        steps: dict[str, list[float]] = {k: [] for k in ("encode", "prompt", "output", "stamp")}
        for i, path in enumerate(photos):
            image = output_of(path)
            request = GenerationRequest.new("bench", PROMPTS[i % 2])
            t0 = time.perf_counter()
            image.save(io.BytesIO(), "PNG")
            t1 = time.perf_counter()
            guard.check_prompt(request)
            t2 = time.perf_counter()
            guard.check_output(image, request)
            t3 = time.perf_counter()
            guard.stamp(image, request)
            t4 = time.perf_counter()
            for name, took in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                steps[name].append(took)
    models = "explicit + age models" if classifiers else "no models installed"
    total = [sum(v) for v in zip(steps["prompt"], steps["output"], steps["stamp"], strict=True)]
    own = [t - e for t, e in zip(total, steps["encode"], strict=True)]
    return [
        "| step (1024x1024 output, one core) | median ms | p95 ms |",
        "|---|---:|---:|",
        f"| baseline: PNG encode only (no needle) | {_ms(steps['encode'])} |",
        f"| prompt check (text guard) + ledger entry | {_ms(steps['prompt'])} |",
        f"| output check (bank match, {models}) | {_ms(steps['output'])} |",
        f"| stamp (watermark, PNG encode, hashes) + ledger entry | {_ms(steps['stamp'])} |",
        f"| **guard total** (prompt + output + stamp + record) | {_ms(total)} |",
        f"| guard total less the PNG encode a service pays anyway | {_ms(own)} |",
    ]


def build_ledger(url: str, real: list[Stamped], entries: int, windows: int) -> dict[str, int]:
    """A ledger of ``entries`` signed, chained entries; the real outputs spread among them.
    Returns each real output's sha256 -> its seq."""
    rng = np.random.default_rng(17)
    signer = Signer.generate()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    slots = {int(s): k for k, s in enumerate(np.linspace(1, entries, len(real) + 2)[1:-1])}
    placed: dict[str, int] = {}
    prev, rows = GENESIS, []
    with Store(url) as store:
        for seq in range(1, entries + 1):
            if seq in slots:
                out = real[slots[seq]]
                hashes, sha, payload = out.hashes, out.sha256, out.payload
                placed[out.sha256] = seq
            else:
                raw = rng.integers(0, 256, size=(windows + 1, 32), dtype=np.uint8)
                hashes = tuple(bytes(h).hex() for h in raw)
                sha, payload = bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex(), None
            record = LedgerRecord(
                f"req-{seq}",
                f"acct-{seq % 5000}",
                "output",
                "allow",
                prompt_sha256=text_digest(PROMPTS[seq % 2]),
                output_sha256=sha,
                pdq=hashes,
                payload=payload,
            )
            moment = at + timedelta(seconds=seq)
            digest = entry_hash(moment, record, signer.key_id, prev)
            rows.append(_row(seq, moment, record, signer, prev, digest))
            prev = digest
            if len(rows) == 20_000 or seq == entries:
                with store.engine.begin() as connection:
                    connection.execute(sa.insert(LedgerRow), rows)
                rows = []
                if seq % 200_000 == 0:
                    print(f"  ledger: {seq:,} entries", flush=True)
    return placed


def _row(
    seq: int, at: datetime, r: LedgerRecord, signer: Signer, prev: str, digest: str
) -> dict[str, object]:
    return {
        "seq": seq,
        "at": at,
        "request_id": r.request_id,
        "account": r.account,
        "kind": r.kind,
        "decision": r.decision,
        "reasons": [],
        "prompt_sha256": r.prompt_sha256,
        "prompt": None,
        "output_sha256": r.output_sha256,
        "pdq": list(r.pdq),
        "payload": r.payload,
        "detail": {},
        "prev_hash": prev,
        "hash": digest,
        "key_id": signer.key_id,
        "signature": signer.sign(_signed(digest)),
    }


def _encoded(image: Image.Image, fmt: str, **options: int) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _crop(keep_w: float, keep_h: float, where: str) -> Callable[[Image.Image], bytes]:
    def edit(image: Image.Image) -> bytes:
        w, h = round(image.width * keep_w), round(image.height * keep_h)
        left, top = (
            ((image.width - w) // 2, (image.height - h) // 2) if where == "centred" else (0, 0)
        )
        return _encoded(image.crop((left, top, left + w, top + h)), "PNG")

    return edit


AREA_90 = 0.9**0.5
EDITS: dict[str, Callable[[Image.Image], bytes]] = {
    "(a) JPEG quality 85": lambda im: _encoded(im, "JPEG", quality=85),
    "(b) 10 % crop, centred": _crop(AREA_90, AREA_90, "centred"),
    "(b) 10 % crop, from a corner": _crop(AREA_90, AREA_90, "corner"),
    "(b) 10 % crop, one side": _crop(0.9, 1.0, "corner"),
    "(c) half size": lambda im: _encoded(im.resize((im.width // 2, im.height // 2)), "PNG"),
    "(d) PNG with a 20-px border": lambda im: _encoded(
        ImageOps.expand(im, 20, (240, 240, 240)), "PNG"
    ),
    "(b)+(a) 10 % corner crop, then JPEG 85": lambda im: _encoded(
        Image.open(io.BytesIO(_crop(AREA_90, AREA_90, "corner")(im))).convert("RGB"),
        "JPEG",
        quality=85,
    ),
}


def trace_part(photos: list[Path], unrelated: list[Path], tmp: Path, entries: int) -> list[str]:
    real = [stamp_image(output_of(p)) for p in photos]
    url = f"sqlite:///{tmp / 'ledger.db'}"
    t0 = time.perf_counter()
    placed = build_ledger(url, real, entries, len(stored_hashes(output_of(photos[0]))))
    built = time.perf_counter() - t0
    cache = tmp / "trace-index.npz"
    detailed = sum(len(out.hashes) > 1 for out in real)
    lines = []
    with Store(url) as store:
        ledger = Ledger(store.engine)
        t0 = time.perf_counter()
        index = TraceIndex.build(ledger, cache)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        index = TraceIndex.build(ledger, cache)
        warm = time.perf_counter() - t0
        lines += [
            f"Ledger: {entries:,} entries written in {built:.0f} s; hash index built from it in "
            f"{cold:.1f} s (cold), {warm:.2f} s from its cache "
            f"({(index.whole.nbytes + index.windows.nbytes) / 2**20:.0f} MiB of hashes).",
            "",
            f"{detailed} of the {len(real)} outputs store sub-region hashes; the others are flat "
            "designs (both windows under the contrast floor), traced only by SHA-256, watermark "
            "or whole-image PDQ.",
            "",
            "| edit | traced to the right entry | of those with sub-region hashes | by | wrong "
            "entries | median ms | p95 ms |",
            "|---|---:|---:|---|---:|---:|---:|",
        ]
        for name, edit in EDITS.items():
            found, found_detailed, wrong, took, methods = 0, 0, 0, [], {}
            for out in real:
                data = edit(Image.open(io.BytesIO(out.data)).convert("RGB"))
                t0 = time.perf_counter()
                result = trace_image(data, ledger, index)
                took.append(time.perf_counter() - t0)
                right = [h for h in result.hits if h.entry.seq == placed[out.sha256]]
                wrong += len(result.hits) - len(right)
                if right:
                    found += 1
                    found_detailed += len(out.hashes) > 1
                    for m in right[0].methods:
                        methods[m] = methods.get(m, 0) + 1
            by = ", ".join(f"{m} {n}" for m, n in methods.items()) or "-"
            lines.append(
                f"| {name} | {found}/{len(real)} | {found_detailed}/{detailed} | {by} | {wrong} "
                f"| {_ms(took)} |"
            )
        false, took = 0, []
        for path in unrelated:
            data = _encoded(output_of(path), "PNG")
            t0 = time.perf_counter()
            false += bool(trace_image(data, ledger, index).hits)
            took.append(time.perf_counter() - t0)
        lines.append(
            f"| unrelated wallpapers (not in the ledger) | {false}/{len(unrelated)} traced "
            f"(false) | | | | {_ms(took)} |"
        )
    return lines


def distinct_pictures(photos: list[Path], wanted: int) -> list[Path]:
    """Photos whose 1024x1024 outputs are different pictures: the packages ship some
    pictures at several sizes, which would trace to each other (rightly)."""
    from needle.match.pdq import hamming_distances
    from needle.signals.pdq import pdq_hash_pixels

    kept: list[Path] = []
    hashes: list[str] = []
    for path in photos:
        value = pdq_hash_pixels(output_of(path), dihedral=False).value
        if hashes and int(hamming_distances([value], hashes).min()) <= 2 * 31:
            continue
        kept.append(path)
        hashes.append(value)
        if len(kept) == wanted:
            break
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--outputs", type=int, default=20, help="wallpapers stamped and traced")
    parser.add_argument("--unrelated", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args(argv)
    photos = real_photos((".jpg", ".jpeg", ".png", ".webp"))
    if len(photos) < args.outputs + args.unrelated:
        print("not enough wallpapers installed: apt-get install mate-backgrounds")
        return 1
    chosen = distinct_pictures(photos, args.outputs + args.unrelated)
    if len(chosen) < args.outputs + args.unrelated:
        print(f"only {len(chosen)} distinct pictures installed")
        return 1
    outputs, unrelated = chosen[: args.outputs], chosen[args.outputs :]
    load = uptime()
    with tempfile.TemporaryDirectory() as tmp:
        lines = overhead(outputs, Path(tmp))
        lines += ["", *trace_part(outputs, unrelated, Path(tmp), args.entries)]
    text = "\n".join(
        [
            SECTION,
            "",
            f"Command: `.venv/bin/python bench/genguard.py --entries {args.entries}` "
            f"({len(outputs)} wallpapers (JPEG, PNG, WebP) as installed, distinct pictures, centre-cropped to 1024x1024 as "
            f"generator outputs; {len(unrelated)} others as unrelated images; load before: "
            f"`{load}`).",
            "",
            *lines,
            "",
        ]
    )
    print(text)
    if not args.no_write:
        write_section(DOC, SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
