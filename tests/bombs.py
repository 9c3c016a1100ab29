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


#: set by a test to its own process id: only that process fails to rebuild a PoisonPath
PARENT_ENV = "NEEDLE_TEST_POISON_PARENT"


def _rebuild_path(value: str) -> PoisonPath:
    if os.environ.get(PARENT_ENV) == str(os.getpid()):
        raise ValueError("this result cannot be rebuilt in the parent")
    return PoisonPath(value)


class PoisonPath(str):
    """A path that crosses to a worker fine but whose result cannot be read back: as a stage
    result that does not unpickle would (a needle bug, not a hostile file)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return _rebuild_path, (str(self),)
