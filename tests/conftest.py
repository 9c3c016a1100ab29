"""Shared fixtures: the benign test data in ../shared/testdata, synthesised images, databases."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEEDLE_SHARED_TESTDATA", ROOT.parent / "shared" / "testdata"))


@pytest.fixture(scope="session")
def testdata() -> Path:
    """``../shared/testdata``; tests that need it skip when it is absent (CI has it)."""
    if not SHARED.is_dir():
        pytest.skip(f"needs the shared test data at {SHARED} (absent in a bare clone)")
    return SHARED


def synth_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A benign synthetic picture: smooth gradients plus random rectangles, unique per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            127 + 120 * np.sin(x / rng.uniform(8, 40) + rng.uniform(0, 6)),
            127 + 120 * np.cos(y / rng.uniform(8, 40) + rng.uniform(0, 6)),
            127 + 120 * np.sin((x + y) / rng.uniform(8, 40)),
        ],
        axis=-1,
    )
    for _ in range(6):
        x0, y0 = rng.integers(0, w - 10), rng.integers(0, h - 10)
        x1, y1 = x0 + rng.integers(5, w // 2), y0 + rng.integers(5, h // 2)
        base[y0:y1, x0:x1] = rng.uniform(0, 255, size=3)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def photo_like(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A benign picture PDQ sees as a photo (quality 100; a crop's hash lands near the same
    part of it): colour ramps and waves, shapes, a little blur and noise, unique per seed."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        a, b, phase = rng.uniform(-0.3, 0.3, 3)
        wave = 40 * np.sin(x / rng.uniform(30, 90) + phase)
        base[..., c] = 128 + a * (x - w / 2) + b * (y - h / 2) + wave
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        box = (x0, y0, x0 + int(rng.integers(20, w // 3)), y0 + int(rng.integers(20, h // 3)))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    noisy = np.asarray(image.filter(ImageFilter.GaussianBlur(2)), np.float32)
    noisy += rng.normal(0, 6, noisy.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def image_bytes(image: Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def make_images(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write ``n`` distinct synthetic JPEGs under ``tmp_path/name`` and return the folder."""

    def make(n: int, name: str = "images", size: tuple[int, int] = (320, 240)) -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (folder / f"img{i:04d}.jpg").write_bytes(image_bytes(synth_image(i, size)))
        return folder

    return make


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite always, PostgreSQL when NEEDLE_TEST_PG is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'needle.db'}"
        return
    server = os.environ.get("NEEDLE_TEST_PG")
    if not server:
        pytest.skip(
            "PostgreSQL tests need NEEDLE_TEST_PG (make test sets it when a server answers)"
        )
    import uuid

    import sqlalchemy as sa

    name = f"needle_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = server.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``needle ARGS`` in-process as the console script does: (exit code, stdout, stderr)."""
    import sys

    from needle.cli.main import main

    argv = sys.argv
    sys.argv = ["needle", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    return code, out, err


def scan_record(path: str, size: int = 0, *, matches: tuple[object, ...] = (), **fields: object):  # type: ignore[no-untyped-def]
    """A stored-ready record of a file the workers saw (``fields``: ``FileRecord``'s), with
    its matches and an assessment of no priority: what the store's own tests write."""
    from needle.assess import Assessment, Priority
    from needle.signals import Signal
    from needle.store import FileRecord, ScanRecord

    md5 = fields.pop("md5", None)
    signals = {"md5": Signal("md5", str(md5))} if md5 else {}
    record = FileRecord(path, size, signals, **fields)  # type: ignore[arg-type]
    return ScanRecord(record, tuple(matches), Assessment(Priority.NONE))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ProvenanceStub:
    """What the assessment reads of a provenance result (``needle.assess`` ProvenanceLike),
    set by hand in tests."""

    ai_generated: str = "unknown"
    camera_claimed: bool = False
    generator: str | None = None
    model: str | None = None
    evidence: tuple[object, ...] = ()
    text: str = "no provenance evidence"
    camera_original: str = "unknown"
    camera_reason: str = ""

    def summary(self) -> str:
        return self.text
