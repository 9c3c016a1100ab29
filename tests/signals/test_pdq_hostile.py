"""PDQ on pictures shaped to exhaust memory (found by fuzz/image_signals.py): a WebP of a few
hundred bytes declared a 6,488,096 x 24 canvas, and the 64 x side filter matrices took 14 GB.

Sides longer than ``PDQ_MAX_SIDE`` are averaged down first; large pictures are turned into
luminance a band of rows at a time. Both are checked here against what they must equal.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pdqhash
from PIL import Image

from conftest import synth_image
from needle.media import DecodedImage
from needle.signals.pdq import PDQ, PDQ_MAX_SIDE, bits_to_hex, pdq_hash, pdq_hash_pixels


def _waves(width: int, height: int) -> Image.Image:
    """Smooth waves across both axes (PDQ keeps no coefficient of a picture that is the same
    on every row), built a row at a time."""
    t = np.linspace(0, 1, width, dtype=np.float32)
    rows = [
        np.stack([np.sin(9 * t + y), np.cos(5 * t - 2 * y), np.sin(23 * t * (1 + y / 4))], -1)
        for y in np.linspace(0, 3, height, dtype=np.float32)
    ]
    return Image.fromarray((np.stack(rows) * 120 + 128).astype(np.uint8))


def test_very_wide_picture_is_hashed_in_bounded_memory() -> None:
    width, height = 1_000_000, 16
    picture = _waves(width, height)
    tracemalloc.start()
    try:
        signal = pdq_hash(DecodedImage(picture, "PNG", width, height))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # before: 64 x 1,000,001 float64 matrices, 512 MB each, several at once
    assert peak < 200 * 1024 * 1024, f"{peak / 2**20:.0f} MB"
    # the hash is documented as that of the copy averaged down to at most PDQ_MAX_SIDE
    factor = -(-width // PDQ_MAX_SIDE)
    reduced = picture.reduce((factor, 1))
    assert reduced.width <= PDQ_MAX_SIDE
    assert signal.value == pdq_hash_pixels(reduced).value
    # the same picture as an array (the luminance path), and turned on its side
    pixels = np.asarray(picture)
    assert PDQ.distance(pdq_hash_pixels(pixels).value, signal.value) <= 2
    tall = pdq_hash_pixels(pixels.transpose(1, 0, 2))
    assert PDQ.distance(tall.value, dict(signal.variants)["flip-plus1"]) <= 2


def test_large_picture_hashed_in_bands_matches_the_reference() -> None:
    """Over 16.7 megapixels the luminance is made a band at a time (no 200 MB float copy)."""
    picture = synth_image(11, (4200, 4000))
    ours = pdq_hash_pixels(picture)
    bits, quality = pdqhash.compute(np.asarray(picture))
    assert PDQ.distance(ours.value, bits_to_hex(bits)) <= 2
    assert ours.quality == quality
