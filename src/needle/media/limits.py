"""Limits that keep a hostile file from exhausting memory or disk."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True)
class Limits:
    #: largest file read into memory; evidence photos are rarely over 100 MB
    max_file_bytes: int = 256 * 1024 * 1024
    #: largest decoded image; 178 MP is Pillow's own bomb-warning level (MAX_IMAGE_PIXELS*2)
    max_pixels: int = 178_956_970
    #: total uncompressed bytes read out of one archive (zip-bomb guard)
    max_archive_bytes: int = 8 * 1024 * 1024 * 1024
    #: members read from one archive
    max_archive_members: int = 1_000_000
    #: largest compression ratio accepted for one member (zip-bomb guard; real images < 20)
    max_compression_ratio: int = 200
    #: archives inside archives are opened this deep
    max_archive_depth: int = 3


DEFAULT_LIMITS = Limits()
