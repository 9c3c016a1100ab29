"""Provenance throughput: files/s of ``needle.provenance.examine`` on photos and generator PNGs,
and its share of the scan's per-file time, measured against that baseline in the same run.

Data (written once under bench/out/provenance/ and reused):

* photos: JPEG (quality 90) derived from the free photographs of Debian's ``mate-backgrounds``
  / ``gnome-backgrounds`` packages (when installed) and the ThreatExchange PDQ photos in
  ../shared/testdata, at 12 MP (4000x3000), 4 MP (2304x1728), 2 MP (1600x1200), a web size
  (1200x800), a portrait web size (1080x1350) and 2048x1536 (both sides multiples of 64, so
  ``watermark="auto"`` decodes it in full for the watermark check: the worst case for photos);
* generator PNGs: synthetic pictures at 512x512, 1024x1024 and 832x1216 carrying an
  AUTOMATIC1111 ``parameters`` chunk, a ComfyUI ``prompt`` graph, the SDXL invisible
  watermark (embedded with needle's encoder), an alpha channel with nothing hidden, or a
  stealth AUTOMATIC1111 record in the alpha low bits, plus every file in
  ../shared/testdata/provenance (generator records and C2PA manifests).

Measured in one process, one file at a time, each set three times (best run kept):

1. baseline: the scan's per-file work today, ``needle.pipeline.worker.compute_file`` (read,
   md5/sha1/sha256, decode with a JPEG draft at PDQ's 256-pixel short side, PDQ with dihedrals);
2. provenance as the scan would call it: ``examine(data, image=<the scan's decoded image>)``;
3. provenance alone as ``needle provenance`` calls it: ``examine(data)``;
4. the pieces: watermark check per size, a C2PA read, metadata only (``watermark="never"``);
5. false watermarks: every unmarked photo found (wallpapers, PDQ photos) at its own size and
   rescaled to 1024x1024, 832x1216 and 512x512, read all six ways: how many readings reach
   *likely*, and the best chance count per message.

Share = (2) / ((1) + (2)). Run (results also go into docs/provenance.md, "Benchmark")::

    .venv/bin/python bench/provenance_throughput.py
    .venv/bin/python bench/provenance_throughput.py --quick --no-doc
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from PIL import Image, PngImagePlugin  # noqa: E402

from _report import uptime  # noqa: E402
from needle.media import Item, decode_image  # noqa: E402
from needle.pipeline.worker import DRAFT_SIZE, compute_file  # noqa: E402
from needle.provenance import ProvenanceOptions, examine, stealth  # noqa: E402
from needle.provenance import watermark as wm  # noqa: E402

DOC = ROOT / "docs" / "provenance.md"
START, END = "<!-- bench:provenance:start -->", "<!-- bench:provenance:end -->"
OUT = ROOT / "bench" / "out" / "provenance"
SHARED = Path(os.environ.get("NEEDLE_SHARED_TESTDATA", ROOT.parent / "shared" / "testdata"))
PHOTO_DIRS = (Path("/usr/share/backgrounds"), Path("/usr/share/wallpapers"))
PHOTO_SIZES = {
    "12 MP 4000x3000": (4000, 3000),
    "4 MP 2304x1728": (2304, 1728),
    "2 MP 1600x1200": (1600, 1200),
    "1 MP 1200x800": (1200, 800),
    "1.5 MP 1080x1350": (1080, 1350),
    "3 MP 2048x1536": (2048, 1536),
}
A1111 = (
    "a lighthouse on a cliff at dusk, oil painting\nNegative prompt: blurry, lowres\n"
    "Steps: 25, Sampler: DPM++ 2M, CFG scale: 6, Seed: 1234, Size: {w}x{h}, "
    "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.10.1"
)


def _sources() -> list[Path]:
    found: list[Path] = []
    for folder in PHOTO_DIRS:
        if folder.is_dir():
            found += sorted(p for p in folder.rglob("*.jpg") if p.stat().st_size > 200_000)
    found += sorted((SHARED / "pdq" / "bridge-mods").glob("*.jpg"))[:2]
    return found


def _synth(seed: int, w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [127 + 120 * np.sin(x / rng.uniform(8, 40)), 127 + 120 * np.cos(y / rng.uniform(8, 40)),
         127 + 120 * np.sin((x + y) / rng.uniform(8, 40))], -1)  # fmt: skip
    noise = rng.normal(0, 6, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _png(pixels: np.ndarray, texts: dict[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def build(quick: bool) -> dict[str, list[Path]]:
    """Write the data sets once; return name -> files."""
    sets: dict[str, list[Path]] = {}
    per_size = 3 if quick else 8
    sources = _sources()
    if not sources:
        raise SystemExit("no photos found: install mate-backgrounds or provide ../shared/testdata")
    for label, (w, h) in PHOTO_SIZES.items():
        folder = OUT / "photos" / f"{w}x{h}"
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for i in range(per_size):
            path = folder / f"photo{i:02d}.jpg"
            if not path.exists():
                with Image.open(sources[i % len(sources)]) as image:
                    rgb = image.convert("RGB")
                left = (i * 37) % max(1, rgb.width // 10)
                crop = rgb.crop((left, 0, rgb.width - left, rgb.height)).resize((w, h))
                crop.save(path, "JPEG", quality=90)
            files.append(path)
        sets[f"photo JPEG {label}"] = files
    gen = OUT / "generators"
    gen.mkdir(parents=True, exist_ok=True)
    n = 3 if quick else 6
    specs = [("A1111 PNG 512x512", 512, 512, "a1111"), ("A1111 PNG 1024x1024", 1024, 1024, "a1111"),
             ("ComfyUI PNG 832x1216", 832, 1216, "comfy"),
             ("SDXL-watermarked PNG 1024x1024", 1024, 1024, "wm"),
             ("RGBA PNG 1024x1024, nothing hidden", 1024, 1024, "rgba"),
             ("RGBA PNG 512x512, stealth A1111 record", 512, 512, "stealth")]  # fmt: skip
    for label, w, h, kind in specs:
        files = []
        for i in range(n):
            path = gen / f"{kind}-{w}x{h}-{i}.png"
            if not path.exists():
                pixels = _synth(i, w, h)
                texts: dict[str, str] = {}
                if kind == "a1111":
                    texts["parameters"] = A1111.format(w=w, h=h)
                elif kind == "comfy":
                    graph = {
                        "3": {"class_type": "KSampler", "inputs": {
                            "seed": i, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                            "positive": ["6", 0], "negative": ["7", 0], "model": ["4", 0]}},
                        "4": {"class_type": "CheckpointLoaderSimple",
                              "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
                        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red barn"}},
                        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry"}},
                    }  # fmt: skip
                    texts["prompt"] = json.dumps(graph)
                elif kind == "wm":
                    pixels = wm.embed(pixels, wm.SDXL.bits)
                else:
                    alpha = np.full((*pixels.shape[:2], 1), 255, np.uint8)
                    pixels = np.concatenate([pixels, alpha], axis=2)
                    if kind == "stealth":
                        pixels = stealth.encode(pixels, A1111.format(w=w, h=h))
                path.write_bytes(_png(pixels, texts))
            files.append(path)
        sets[label] = files
    shared = sorted(p for p in (SHARED / "provenance").rglob("*") if p.suffix in (".png", ".jpg"))
    if shared:
        sets["shared provenance files (generators + C2PA)"] = shared
    return sets


def _best(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(files: Sequence[Path], repeat: int) -> dict[str, float]:
    blobs = [p.read_bytes() for p in files]
    items = [Item(str(p), len(b), data=b) for p, b in zip(files, blobs, strict=True)]
    decoded = []
    for blob in blobs:
        try:
            decoded.append(decode_image(blob, draft_size=DRAFT_SIZE))
        except Exception:
            decoded.append(None)

    def baseline() -> None:
        for item in items:
            compute_file(item)

    def with_image() -> None:
        for blob, image in zip(blobs, decoded, strict=True):
            examine(blob, image=image)

    def alone() -> None:
        for blob in blobs:
            examine(blob)

    examine(blobs[0])  # warm imports and the C2PA context
    n = len(blobs)
    t_base = _best(baseline, repeat) / n
    t_prov = _best(with_image, repeat) / n
    t_alone = _best(alone, repeat) / n
    attempted = sum(1 for b, i in zip(blobs, decoded, strict=True)
                    if (r := examine(b, image=i).watermark) is not None and r.attempted)  # fmt: skip
    return {"files": n, "base_ms": t_base * 1e3, "prov_ms": t_prov * 1e3,
            "alone_ms": t_alone * 1e3, "wm_attempted": attempted}  # fmt: skip


def pieces(repeat: int) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    for w, h in ((512, 512), (1024, 1024), (2048, 2048), (4000, 3000)):
        rgb = _synth(1, w, h)
        rows.append((f"watermark check {w}x{h} (window {wm.WINDOW})",
                     _best(lambda rgb=rgb: wm.check(rgb), repeat) * 1e3))  # fmt: skip
    rgb = _synth(1, 4000, 3000)
    rows.append(("watermark check 4000x3000, whole image (reference behaviour)",
                 _best(lambda: wm.check(rgb, window=None), 1) * 1e3))  # fmt: skip
    ocsp = SHARED / "provenance" / "c2pa" / "ocsp.jpg"
    if ocsp.exists():
        data = ocsp.read_bytes()
        opts = ProvenanceOptions(watermark="never")
        examine(data, options=opts)
        rows.append(("C2PA read + verify (ocsp.jpg, 2 manifests)",
                     _best(lambda: examine(data, options=opts), repeat) * 1e3))  # fmt: skip
    photo = next(iter(sorted((OUT / "photos" / "4000x3000").glob("*.jpg"))), None)
    if photo:
        data = photo.read_bytes()
        opts = ProvenanceOptions(watermark="never")
        rows.append(("metadata only, 12 MP JPEG (watermark='never')",
                     _best(lambda: examine(data, options=opts), repeat) * 1e3))  # fmt: skip
    return rows


def false_positives() -> tuple[int, int, dict[str, int]]:
    """(images, readings at likely or above, best count per message) on unmarked photos."""
    paths: list[Path] = []
    for folder in PHOTO_DIRS:
        if folder.is_dir():
            paths += sorted(p for p in folder.rglob("*") if p.suffix in (".jpg", ".png", ".webp"))
    paths += sorted((SHARED / "pdq").rglob("*.jpg"))
    images = 0
    hits = 0
    best: dict[str, int] = {}
    for path in paths:
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except OSError:
            continue
        variants = [rgb]
        if rgb.width * rgb.height >= 2_000_000:
            variants += [rgb.resize(size) for size in ((1024, 1024), (832, 1216), (512, 512))]
        for variant in variants:
            if variant.width * variant.height < wm.MIN_PIXELS:
                continue
            images += 1
            for reading in wm.check(np.asarray(variant)).readings:
                hits += reading.level in ("likely", "very_likely")
                key = f"{reading.message} ({reading.bits_total} bits)"
                best[key] = max(best.get(key, 0), reading.bits_matched)
    return images, hits, best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer files, one repeat")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/provenance.md")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else 3
    load_before = uptime()
    sets = build(args.quick)
    lines = [
        "| set | files | scan baseline ms/file | + provenance ms/file | provenance files/s | "
        "share of scan | provenance alone ms/file | watermark decoded |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, files in sets.items():
        r = measure(files, repeat)
        share = r["prov_ms"] / (r["base_ms"] + r["prov_ms"])
        lines.append(
            f"| {name} | {r['files']:.0f} | {r['base_ms']:.1f} | {r['prov_ms']:.1f} | "
            f"{1000 / r['prov_ms']:.0f} | {share:.0%} | {r['alone_ms']:.1f} | "
            f"{r['wm_attempted']:.0f}/{r['files']:.0f} |"
        )
        print(lines[-1], flush=True)
    piece_lines = ["| piece | ms |", "|---|---:|"]
    for label, ms in pieces(repeat):
        piece_lines.append(f"| {label} | {ms:.1f} |")
        print(piece_lines[-1], flush=True)
    images, hits, best = false_positives()
    counts = ", ".join(f"{k}: {v}" for k, v in best.items())
    fp_line = (
        f"False watermarks: {images} unmarked photos and rescales read 6 ways each, "
        f"{hits} readings at *likely* or above; best chance counts: {counts}."
    )
    print(fp_line, flush=True)
    load_after = uptime()
    command = "bench/provenance_throughput.py" + (" --quick" if args.quick else "")
    header = [
        f"Command: `.venv/bin/python {command}` — one process, one file at a time, best of "
        f"{repeat}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        f"Machine load (`uptime`) before: `{load_before}`; after: `{load_after}`. Other "
        "jobs shared the CPU during the run, so absolute times are noisy; the baseline was "
        "measured in the same run on the same files.",
        "",
    ]
    text = "\n".join([*header, *lines, "", *piece_lines, "", fp_line])
    print()
    print("\n".join(header))
    if not args.no_doc and DOC.exists():
        doc = DOC.read_text()
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
        if pattern.search(doc):
            DOC.write_text(pattern.sub(f"{START}\n{text}\n{END}", doc))
            print(f"results written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
