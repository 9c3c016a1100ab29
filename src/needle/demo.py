"""``make demo``: build a demo bank from benign photos and scan a collection with it.

Everything is built locally from photos that installed packages ship (scikit-image's sample
images) or that are synthesised, plus ``../shared/testdata`` when it is present. The demo
runs the real ``needle`` commands and prints each one, so it doubles as a tutorial:

1. ``needle hash`` the "known" photos and write them to a CSV hash list;
2. ``needle bank import`` that list as the bank ``demo``;
3. ``needle scan`` a collection holding edited copies of the known photos (re-encoded,
   resized, rotated, flipped, inside a zip), unrelated photos, and broken files;
4. the scan's summary shows what matched, through which signal and transform, and why the
   broken files could not be read.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

#: the project's benign test vectors, beside the repository (make demo runs from its root)
SHARED = Path("..") / "shared" / "testdata"
KNOWN = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")
OTHERS = (
    "camera.png", "coins.png", "moon.png", "hubble_deep_field.jpg", "motorcycle_left.png",
    "retina.jpg", "page.png", "grass.png", "brick.png", "ihc.png",
)  # fmt: skip


def _sample_photos() -> dict[str, Image.Image]:
    """scikit-image's bundled sample photos, read from its folder (never downloaded)."""
    try:
        import skimage
    except ImportError:
        return {}
    folder = Path(skimage.__file__).parent / "data"
    photos = {}
    for name in KNOWN + OTHERS:
        path = folder / name
        if path.is_file():
            photos[name.rsplit(".", 1)[0]] = Image.open(path).convert("RGB")
    return photos


def _synthetic(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([127 + 120 * np.sin(x / rng.uniform(10, 50) + c) for c in range(3)], -1)
    img += 60 * np.cos(y[..., None] / rng.uniform(10, 50))
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        img[y0 : y0 + int(rng.integers(10, h // 2)), x0 : x0 + int(rng.integers(10, w // 2))] = (
            rng.uniform(0, 255, 3)
        )
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _save(image: Image.Image, path: Path, **kw: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kw)


def build_inputs(out: Path) -> tuple[Path, Path]:
    """Write the known photos and the collection to scan; return their folders."""
    photos = _sample_photos()
    known_names = [n.rsplit(".", 1)[0] for n in KNOWN if n.rsplit(".", 1)[0] in photos]
    if len(known_names) < 2:  # scikit-image missing: synthesise instead
        photos = {f"synthetic{i}": _synthetic(i) for i in range(10)}
        known_names = list(photos)[:4]
    known_dir, collection = out / "known", out / "collection"
    for name in known_names:
        _save(photos[name], known_dir / f"{name}.png")

    # edited copies of the known photos, as they turn up in the wild
    a, b, c = (photos[n] for n in known_names[:3])
    _save(a, collection / "phone" / "IMG_0001.jpg", quality=80)
    _save(a.resize((a.width // 3, a.height // 3)), collection / "phone" / "thumb_0001.jpg")
    _save(b.transpose(Image.Transpose.ROTATE_90), collection / "chat" / "received_17.jpg")
    _save(b.transpose(Image.Transpose.FLIP_LEFT_RIGHT), collection / "chat" / "mirrored.png")
    _save(c.filter(ImageFilter.GaussianBlur(1.5)), collection / "downloads" / "blurred.webp")
    shutil.copy(
        known_dir / f"{known_names[3 % len(known_names)]}.png",
        collection / "downloads" / "saved.png",
    )
    # unrelated photos: must not match
    for name in [n for n in photos if n not in known_names][:8]:
        _save(photos[name], collection / "camera-roll" / f"{name}.jpg", quality=90)
    # broken files: recorded with a reason, never stopping the scan
    (collection / "downloads" / "empty.jpg").write_bytes(b"")
    buf = io.BytesIO()
    c.save(buf, "JPEG")
    (collection / "downloads" / "truncated.jpg").write_bytes(buf.getvalue()[:2000])
    with zipfile.ZipFile(collection / "archive.zip", "w") as zf:
        zf.writestr("backup/copy.jpg", buf.getvalue())
        zf.writestr("../../outside.jpg", buf.getvalue())
    return known_dir, collection


def _needle(*args: str, capture: bool = False) -> str:
    cmd = [sys.executable, "-m", "needle", *args]
    print(f"\n$ needle {shlex.join(args)}", flush=True)
    done = subprocess.run(cmd, check=False, text=True, capture_output=capture)
    if done.returncode not in (0, 1):
        raise SystemExit(f"needle {args[0]} failed with exit code {done.returncode}")
    return done.stdout if capture else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="work folder")
    parser.add_argument(
        "--shared", type=Path, default=SHARED, help="shared test data, added when present"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    db = f"sqlite:///{out / 'needle.db'}"

    known_dir, collection = build_inputs(out)
    originals = [str(p) for p in sorted(known_dir.iterdir())]
    scan_roots = [str(collection)]
    shared: Path = args.shared.resolve()
    if shared.is_dir():
        print(f"adding the shared test data at {shared}")
        originals += [
            str(shared / "pdq" / "bridge-mods" / "aaa-orig.jpg"),
            str(shared / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg"),
        ]
        scan_roots.append(str(shared))

    print("\n== 1. hash the known photos into a hash list")
    hashes = _needle("hash", "--json", *originals, capture=True)
    bank_file = out / "demo-bank.csv"
    with open(bank_file, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["signal_type", "signal", "label"])
        for line in hashes.splitlines():
            record = json.loads(line)
            label = f"demo:{Path(record['path']).name}"
            writer.writerow(["md5", record["md5"], label])
            writer.writerow(["pdq", record["pdq"], label])
    print(f"wrote {bank_file}")

    print("\n== 2. import it as the bank 'demo'")
    _needle("bank", "import", "demo", str(bank_file), "--db", db)
    _needle("bank", "list", "--db", db)

    print("\n== 3. scan the collection")
    _needle("scan", *scan_roots, "--db", db, "--jsonl", str(out / "scan.jsonl"))
    print(f"\nAll records: {out / 'scan.jsonl'} (one JSON object per file); database: {db}")


if __name__ == "__main__":
    main()
