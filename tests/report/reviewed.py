"""Reviewed records for report tests: benign synthesised content, decisions recorded on them.

What makes an item "abuse" here is the decision written for it (``decide``), never what the
picture shows: every picture is a gradient-and-rectangles image from ``conftest.synth_image``
or a black-and-white checkerboard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import image_bytes, synth_image
from needle.assess import Assessment, Priority, Reason
from needle.match import Match
from needle.provenance.model import ProvenanceResult
from needle.signals import Signal
from needle.store import FileRecord, ScanRecord, Store
from review.flagged import file_ids, store_flagged

#: the pictures' size (benign synthesised gradients and rectangles)
SIZE = (200, 150)


def record(
    path: str,
    seed: int,
    *,
    priority: str = "high",
    bank: str | None = None,
    ai: str | None = None,
    error_reason: str | None = None,
    picture: Image.Image | None = None,
) -> tuple[ScanRecord, bytes]:
    data = image_bytes(picture or synth_image(seed, SIZE))
    signals = {
        "md5": Signal("md5", hashlib.md5(data).hexdigest()),
        "sha1": Signal("sha1", hashlib.sha1(data).hexdigest()),
        "sha256": Signal("sha256", hashlib.sha256(data).hexdigest()),
        "pdq": Signal("pdq", hashlib.sha256(data + b"pdq").hexdigest(), quality=90),
    }
    level = Priority.parse(priority)
    reasons: tuple[Reason, ...] = ()
    matches: tuple[Match, ...] = ()
    if bank is not None:
        matches = (Match(bank, "md5", signals["md5"].value, 0, 0, None, ("test",)),)
        reasons += (Reason(f"known material: md5 matches bank {bank}", "match", level, {}),)
    elif level is not Priority.NONE:
        reasons += (Reason("explicit 0.9 (test-detector)", "visual", level, {}),)
    provenance = None
    if ai is not None:
        provenance = ProvenanceResult(ai_generated=ai, generator="test-generator")
        reasons += (
            Reason("AI-generated: metadata names test-generator", "provenance", Priority.NONE, {}),
        )
    file = FileRecord(
        path, len(data), signals, format="JPEG", width=SIZE[0], height=SIZE[1], provenance=provenance,
        error="cannot decode" if error_reason else None, error_reason=error_reason,
    )  # fmt: skip
    return ScanRecord(file, matches, Assessment(level, reasons)), data


def store_job(
    store: Store, root: Path, records: Sequence[tuple[ScanRecord, bytes]]
) -> dict[str, int]:
    """Write the pictures under ``root`` and their records as one finished job: path -> id."""
    root.mkdir(parents=True, exist_ok=True)
    for scan, data in records:
        Path(scan.file.path).write_bytes(data)
    job = store_flagged(store, [str(root)], [scan for scan, _ in records])
    return file_ids(store, job)


def checkerboard(square: int = 4) -> Image.Image:
    """Black and white squares of ``square`` pixels at ``SIZE``: all sharp edges, so a
    blur's effect is plain to measure."""
    w, h = SIZE
    y, x = np.mgrid[0:h, 0:w]
    return Image.fromarray(((x // square + y // square) % 2 * 255).astype(np.uint8), "L").convert(
        "RGB"
    )
