"""What ``examine`` does per file: which readers run, and when pixels are worth decoding.

In: nothing (the defaults) or the caller's choices. Out: a frozen ``ProvenanceOptions``.
"""

from __future__ import annotations

from dataclasses import dataclass

from needle.provenance.watermark import MIN_PIXELS, WINDOW

__all__ = [
    "DECODE_MAX_PIXELS",
    "DECODE_SIDE_MULTIPLE",
    "DEFAULT_OPTIONS",
    "STEALTH_MAX_PIXELS",
    "ProvenanceOptions",
]

#: in ``watermark="auto"`` mode the check runs only on images whose sides are multiples of
#: ``DECODE_SIDE_MULTIPLE``; when the caller's pixels are not at full resolution, the file is
#: decoded again for it only when it has at most this many pixels (2048 x 2048: SDXL native
#: sizes and a 2x hires pass) and does not already declare AI generation. Other files report
#: ``not_attempted`` with the reason (costs in bench/provenance_throughput.py).
DECODE_MAX_PIXELS = 2048 * 2048
#: Stable Diffusion 1.x/2.x/XL sizes are multiples of 64 (the UNet's native granularity; every
#: UI default and SDXL training bucket); few photos are (1200x800, 1920x1080, 4032x3024 are not)
DECODE_SIDE_MULTIPLE = 64
#: PNG/WebP files with alpha are decoded for stealth metadata up to this size (4096 x 4096;
#: generators write far smaller images, and a decode costs about 1 s per 10 MP)
STEALTH_MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class ProvenanceOptions:
    """What ``examine`` does per file.

    ``watermark``: ``auto`` (only Stable Diffusion output sizes, and a second decode only when
    cheap and useful, see ``DECODE_MAX_PIXELS``), ``always`` or ``never``.
    ``watermark_window``: side of the centred window read on large images (``None``: the whole
    image, as the reference does). ``c2pa_trust_anchors``: PEM text of trust anchors; without
    it every C2PA signer is ``untrusted``. The size and pixel limits of any decode are
    ``examine``'s ``limits``, the same ``needle.media.Limits`` as the scan's.
    ``camera``: read camera-original evidence (EXIF consistency, maker notes, JPEG tables,
    the EXIF thumbnail; ``needle.provenance.camera``). ``camera_tables``: path of a TOML file
    of JPEG quantisation tables to add to the shipped ones (the format of
    ``needle/provenance/data/jpeg_tables.toml``; every entry cites its source).
    """

    c2pa: bool = True
    c2pa_trust_anchors: str | None = None
    stealth: bool = True
    watermark: str = "auto"
    watermark_window: int | None = WINDOW
    decode_max_pixels: int = DECODE_MAX_PIXELS
    decode_side_multiple: int = DECODE_SIDE_MULTIPLE
    stealth_max_pixels: int = STEALTH_MAX_PIXELS
    camera: bool = True
    camera_tables: str | None = None

    def keeps_pixels(self, fmt: str, width: int, height: int) -> bool:
        """Whether a scan should keep this file's full-resolution pixels from its one decode
        (``needle.media.decode_image(keep_stored=...)``): the watermark check will read them
        (``always``; ``auto`` on a generator's output size it would decode anyway), and a
        second decode would cost more than reducing the first."""
        pixels = width * height
        if self.watermark == "never" or pixels < MIN_PIXELS:
            return False
        if self.watermark == "always":
            return True
        multiple = self.decode_side_multiple
        return not (width % multiple or height % multiple) and pixels <= self.decode_max_pixels


DEFAULT_OPTIONS = ProvenanceOptions()
