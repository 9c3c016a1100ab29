"""Hostile files for tests, made on the fly: small on disk, huge or broken when decoded."""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass

from conftest import image_bytes, synth_image
from needle.media import DEFAULT_LIMITS, Item, Limits


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A valid-looking PNG whose header claims ``width`` x ``height`` pixels."""
    png = bytearray(image_bytes(synth_image(0, (16, 16)), "PNG"))
    # IHDR data starts at byte 16: width, height (big-endian), then depth, colour type ...
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])) & 0xFFFFFFFF)
    return bytes(png)


def truncated_jpeg() -> bytes:
    data = image_bytes(synth_image(3, (320, 240)))
    return data[: len(data) // 2]


@dataclass(frozen=True)
class CrashingItem(Item):
    """An item whose reading kills the worker process, as a crashing native decoder would."""

    def read(self, limits: Limits = DEFAULT_LIMITS) -> bytes:
        os._exit(70)
