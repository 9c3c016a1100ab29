"""PDQ, Meta's 256-bit perceptual image hash, through the ``pdqhash`` bindings of the reference C++.

In: a ``DecodedImage`` (RGB pixels, EXIF orientation applied). Out: the hash as 64 hex digits,
its quality (0-100), and the hashes of the 8 dihedral transforms for matching rotated and
flipped copies.

Speed: PDQ reduces every image to 64x64 luminance through Jarosz box filters, so a full-size
decode is wasted work. ``needle.media`` decodes JPEGs in the DCT domain at 1/2-1/8 scale and
the hasher shrinks anything larger than ``PDQ_WORKING_SIZE`` before hashing; the result stays
within the reference's tolerance (distance <= 10 for quality >= 80, tested against the C++
reference hashes in ``expected_pdqhash_cpp.csv``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pdqhash
from PIL import Image

from needle.media.image import DecodedImage
from needle.signals.base import HammingMatchable, ImageHasher, Signal, SignalType

__all__ = [
    "DIHEDRAL_TRANSFORMS",
    "PDQ",
    "PDQ_MATCH_DISTANCE",
    "PDQ_QUALITY_FLOOR",
    "PDQ_WORKING_SIZE",
    "bits_to_hex",
]

PDQ_MATCH_DISTANCE = 31  # ThreatExchange pdq/README: distance <= 31 is a confident match
PDQ_QUALITY_FLOOR = 50  # ThreatExchange pdq/README: hashes below quality 50 are too unreliable to match
PDQ_WORKING_SIZE = 512  # longest side hashed; PDQ keeps only 64x64, 8x oversampling is ample

#: order in which pdqhash.compute_dihedral returns the transforms (pdqhashing.cpp)
DIHEDRAL_TRANSFORMS = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip-plus1",
    "flip-minus1",
)


def bits_to_hex(bits: np.ndarray) -> str:
    """256 bits (most significant first, as pdqhash returns them) to the reference hex string."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def working_pixels(image: Image.Image, size: int = PDQ_WORKING_SIZE) -> np.ndarray:
    """RGB array no larger than ``size`` on its longest side (box-filtered, like PDQ's own)."""
    if max(image.size) > size:
        scale = size / max(image.size)
        target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(target, Image.Resampling.BOX, reducing_gap=2.0)
    return np.asarray(image, dtype=np.uint8)


class PDQ(SignalType, ImageHasher, HammingMatchable):
    name = "pdq"
    hex_length = 64
    bits = 256
    default_threshold = PDQ_MATCH_DISTANCE
    quality_floor = PDQ_QUALITY_FLOOR

    dihedral: ClassVar[bool] = True

    def hash_image(self, image: DecodedImage) -> Signal:
        pixels = working_pixels(image.image)
        if self.dihedral:
            hashes, quality = pdqhash.compute_dihedral(pixels)
            hexes = [bits_to_hex(h) for h in hashes]
            variants = tuple(zip(DIHEDRAL_TRANSFORMS, hexes, strict=True))
            return Signal(self.name, hexes[0], int(quality), variants)
        bits, quality = pdqhash.compute(pixels)
        return Signal(self.name, bits_to_hex(bits), int(quality))
