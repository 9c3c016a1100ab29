"""Reading media safely: folders, archives, and image decoding with limits.

Knows nothing about hashes or verdicts.
"""

from __future__ import annotations

from needle.media.image import DecodedImage, decode_full, decode_image, image_size, to_rgb
from needle.media.item import Item
from needle.media.limits import DEFAULT_LIMITS, Limits
from needle.media.names import ARCHIVE_SEPARATOR
from needle.media.source import walk

__all__ = [
    "ARCHIVE_SEPARATOR",
    "DEFAULT_LIMITS",
    "DecodedImage",
    "Item",
    "Limits",
    "decode_full",
    "decode_image",
    "image_size",
    "to_rgb",
    "walk",
]
