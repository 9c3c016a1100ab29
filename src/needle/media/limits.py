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
    #: most pixels an image may declare per byte of its file, checked on images over
    #: ``pixels_per_byte_above`` pixels: deflate (PNG) expands at most 1032:1, about 344 RGB
    #: pixels a byte; a JPEG needs a few bits per 8 x 8 block. A 516-byte animated WebP whose
    #: canvas is 6,488,096 x 24 (300,000 pixels a byte) took Pillow 30 s and 2.5 GB to decode
    #: (found by fuzz/image_signals.py). Only blank pages in 1-bit or lossless formats come
    #: near this, and their perceptual hash would carry nothing (quality 0).
    max_pixels_per_byte: int = 1024
    #: images up to this many pixels (32 MP) decode in about a second whatever their ratio
    pixels_per_byte_above: int = 32 * 1024 * 1024
    #: total uncompressed bytes read out of one archive (zip-bomb guard)
    max_archive_bytes: int = 8 * 1024 * 1024 * 1024
    #: members read from one archive
    max_archive_members: int = 1_000_000
    #: largest compression ratio accepted for one member (zip-bomb guard; real images < 20)
    max_compression_ratio: int = 200
    #: archives inside archives are opened this deep
    max_archive_depth: int = 3


DEFAULT_LIMITS = Limits()
