"""Limits that keep a hostile file from costing more than its own record.

Every limit needle.media applies is a field here, with its default and the reason for it;
``docs/limits.md`` has them as a table with the memory bound they add up to. A file over a
limit becomes one record saying which limit, never a crash, a lost record or a stalled run.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]

_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one file, one archive and one walk may cost. Raise a limit only for files you trust."""

    # -- one file or archive member -------------------------------------------------------------
    #: 256 MiB. Largest file or archive member read into memory. Evidence photos are rarely
    #: over 100 MB; a worker holds about three copies of one file while it hashes and decodes.
    max_file_bytes: int = 256 * _MiB
    #: 178,956,970 pixels: Pillow's own bomb-error level (``Image.MAX_IMAGE_PIXELS * 2``),
    #: checked from the header before any pixel is decoded. RGB at this size is 537 MB.
    max_pixels: int = 178_956_970
    #: 1,024 pixels a byte, checked on images over ``pixels_per_byte_above`` pixels: deflate
    #: (PNG) expands at most 1032:1, about 344 RGB pixels a byte; a JPEG needs a few bits per
    #: 8 x 8 block. A 516-byte animated WebP whose canvas is 6,488,096 x 24 (300,000 pixels a
    #: byte) took Pillow 30 s and 2.5 GB to decode (found by fuzz/image_signals.py). Only blank
    #: pages in 1-bit or lossless formats come near this, and their PDQ carries nothing.
    max_pixels_per_byte: int = 1024
    #: 32 MP. Images up to this size decode in about a second whatever their ratio.
    pixels_per_byte_above: int = 32 * 1024 * 1024
    #: 30 s. Decoding one image may take this long; past it the file is ``too-large``. Checked
    #: between Pillow's decoding steps (a timer in the process's main thread; not armed where
    #: the program has a SIGALRM handler of its own). 178 MP decode in about 3 s.
    max_decode_seconds: float = 30.0
    #: 500 scans. A progressive JPEG with more is refused before decoding: each scan is a pass
    #: over every block, and one C call decodes many, so the timer cannot stop them. 500 is
    #: libjpeg-turbo's ``TJFLAG_LIMITSCANS`` level; real encoders write about 10.
    max_jpeg_scans: int = 500

    # -- one video (needle.media.video) ---------------------------------------------------------
    #: 6 hours. A video whose container declares a longer duration is refused before a frame
    #: is decoded; one that does not say is stopped when a frame's time passes it. Films and
    #: recorded streams run 1-3 hours; a 2-byte header can declare years.
    max_video_seconds: float = 6 * 3600.0
    #: 40,000,000 pixels a frame (8K UHD is 33.2 MP), from the stream's header before
    #: decoding, and again for every decoded frame (the size may change mid-stream); the
    #: decoder itself is told the same limit (FFmpeg ``max_pixels``). RGB at this size: 120 MB.
    max_video_pixels: int = 40_000_000
    #: 1,000,000 frames (9 h 15 min at 30 frames a second) decoded from one video; a
    #: container that declares more is refused before decoding. A 16 x 16 video at 10,000
    #: frames a second packs a million frames into 100 s and a few megabytes.
    max_video_frames: int = 1_000_000
    #: 15 minutes. Decoding (and hashing) one video may take this long; past it the video is
    #: ``too-large``. Checked after every decoded frame: one frame of at most
    #: ``max_video_pixels`` decodes in well under a second. One core decodes 1080p H.264 at
    #: 200-500 frames a second, so this covers 1-2 hours of HD video.
    max_video_decode_seconds: float = 900.0

    # -- one archive on disk, with the archives nested in it -----------------------------------
    #: 200:1. Bytes read out of an archive (nested ones included) may be at most this many
    #: times the archive file's size, and one zip member at most this many times its
    #: compressed size. Photos and videos hardly compress (< 2:1), documents about 5-20:1;
    #: zip and gzip bombs are 1000:1 and more. Over it, a zip member is refused before it is
    #: inflated; a tar stream stops there (a record for the archive says how far it got).
    max_compression_ratio: int = 200
    #: 1 MiB. Expansion up to this is allowed whatever the ratio (a tiny zip of one blank
    #: image or text file compresses far past 200:1 and costs nothing).
    ratio_free_bytes: int = 1 * _MiB
    #: 1 TiB. Bytes read out of one archive in all, whatever its size: a backstop on time for
    #: huge archives. The ratio stops bombs; phone extractions reach a few hundred GB.
    max_archive_bytes: int = 1024 * 1024 * _MiB
    #: 1,000,000 entries (folders included) per archive on disk, nested ones included. The
    #: walker keeps one small record per zip entry to sort them (335 MiB at the limit,
    #: measured: docs/limits.md); a tar member costs it about 80 bytes.
    max_archive_members: int = 1_000_000
    #: 3. Archives are opened this many levels deep (the archive on disk is level 1); one
    #: deeper is recorded as ``too-deep``. Each open level holds its archive in memory.
    max_archive_depth: int = 3
    #: 1 MiB. Largest tar pax or GNU long-name header. Python's tarfile reads one whole into
    #: memory, and a gzip stream of zeros can claim gigabytes; real ones are a few hundred bytes.
    max_tar_header_bytes: int = 1 * _MiB
    #: 256 MiB. Memory an xz/LZMA decoder may allocate (its dictionary). ``xz -9`` needs 65 MiB;
    #: a 100-byte header may ask for 4 GiB.
    max_decompressor_memory: int = 256 * _MiB

    # -- one walk ------------------------------------------------------------------------------
    #: 512 MiB. Archive members that cannot be re-read cheaply (members of compressed tars and
    #: of nested archives) are handed over with their bytes; this bounds those bytes while
    #: they wait to be processed. Past it, a member is handed over as a way to read it, and
    #: is re-read from its archive when processed: slower, never more memory.
    max_held_bytes: int = 512 * _MiB


DEFAULT_LIMITS = Limits()
