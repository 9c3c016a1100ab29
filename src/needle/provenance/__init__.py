"""Provenance: evidence that an image was made by an AI generator, or by a camera.

In: a file's bytes (and, from a scan, its already-decoded RGB image). Out: a
``ProvenanceResult``: ``ai_generated`` (``claimed`` / ``likely`` / ``unknown``),
``camera_claimed``, generator, model, the embedded prompt (kept for the text guard, shown to
reviewers only on demand), and every evidence item with its kind, detail and strength.

What is read, one module each:

* ``c2pa_manifest``: C2PA manifests (active and ingredients'), claims and signature state,
  remote manifests recorded, never fetched;
* ``xmp``: IPTC ``DigitalSourceType`` and the C2PA reference in XMP;
* ``generators``: AUTOMATIC1111/Forge, ComfyUI, NovelAI, InvokeAI, Fooocus and Midjourney
  records, and known generator/editor names in EXIF/XMP software fields;
* ``stealth``: generation metadata hidden in the alpha (or RGB) low bits;
* ``watermark``: the dwtDct invisible watermark of Stable Diffusion 1.x, 2.x and SDXL.

The flow of ``examine``: container metadata (no pixels) -> EXIF/XMP fields -> C2PA only when
a JUMBF store is embedded -> stealth bits only for PNG/WebP with alpha -> generator readers ->
watermark on full-resolution pixels -> verdict. Nothing goes to the network. Bad input never
raises: problems are listed in ``errors`` and whatever could be read is kept.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from needle.provenance.container import ImageMetadata, png_first_column, read_metadata
from needle.provenance.exif import ExifText, read_exif_text
from needle.provenance.model import (
    AI_VERDICTS,
    STRENGTHS,
    C2paAction,
    C2paInfo,
    GeneratorFinding,
    ProvenanceEvidence,
    ProvenanceResult,
)
from needle.provenance.stealth import HEAD_ROWS, StealthPayload, has_signature, read_stealth
from needle.provenance.watermark import WINDOW, WatermarkCheck
from needle.provenance.xmp import XmpFields, classify_source_type, read_xmp

if TYPE_CHECKING:
    from needle.media import DecodedImage, Limits

__all__ = [
    "AI_VERDICTS",
    "DECODE_MAX_PIXELS",
    "DECODE_SIDE_MULTIPLE",
    "STEALTH_MAX_PIXELS",
    "STRENGTHS",
    "C2paAction",
    "C2paInfo",
    "GeneratorFinding",
    "ProvenanceEvidence",
    "ProvenanceOptions",
    "ProvenanceResult",
    "examine",
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
    cheap and useful, see ``DECODE_MAX_PIXELS``), ``always`` or ``never``. ``watermark_window``: side of the
    centred window read on large images (``None``: the whole image, as the reference does).
    ``c2pa_trust_anchors``: PEM text of trust anchors; without it every C2PA signer is
    ``untrusted``.
    """

    c2pa: bool = True
    c2pa_trust_anchors: str | None = None
    stealth: bool = True
    watermark: str = "auto"
    watermark_window: int | None = WINDOW
    decode_max_pixels: int = DECODE_MAX_PIXELS
    decode_side_multiple: int = DECODE_SIDE_MULTIPLE
    stealth_max_pixels: int = STEALTH_MAX_PIXELS
    limits: Limits | None = None


DEFAULT_OPTIONS = ProvenanceOptions()


class _Pixels:
    """Pixels of the file, decoded at most once, in stored orientation."""

    def __init__(
        self,
        data: bytes,
        meta: ImageMetadata,
        image: DecodedImage | None,
        limits: Limits | None,
        errors: list[str],
    ) -> None:
        self.data, self.meta, self.image, self.limits, self.errors = (
            data,
            meta,
            image,
            limits,
            errors,
        )
        self._stored: np.ndarray | None = None
        self._failed = False

    def given_full_resolution(self) -> bool:
        """Whether the caller's pixels are the stored ones: not reduced, not rotated."""
        img = self.image
        return (
            img is not None
            and img.image.size == (img.width, img.height)
            and getattr(img, "scale", 1) == 1
            and getattr(img, "orientation", 1) == 1
        )

    def stored(self) -> np.ndarray | None:
        """The file's own pixels (RGBA when it has alpha, else RGB), decoded here."""
        if self._stored is None and not self._failed:
            from PIL import Image

            from needle.media import DEFAULT_LIMITS, to_rgb

            limits = self.limits or DEFAULT_LIMITS
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    opened = Image.open(io.BytesIO(self.data))
                    if opened.width * opened.height > limits.max_pixels:
                        raise ValueError(f"{opened.width}x{opened.height} is over the pixel limit")
                    opened.seek(0)
                    opened.load()
                has_alpha = opened.mode in ("RGBA", "LA", "PA") or (
                    opened.mode == "P" and "transparency" in opened.info
                )
                im = opened.convert("RGBA") if has_alpha else to_rgb(opened)
                self._stored = np.asarray(im)
            except Exception as exc:  # Pillow raises many types for broken files
                self._failed = True
                self.errors.append(f"pixels could not be decoded: {type(exc).__name__}: {exc}")
        return self._stored

    def header_size(self) -> tuple[int | None, int | None]:
        """Stored width and height from the caller's image or the file header (no pixels)."""
        if self.image is not None:
            return self.image.width, self.image.height
        from PIL import Image

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(self.data)) as opened:
                    return opened.size
        except Exception:  # an unreadable or bomb-sized header: the decode will say why
            return None, None

    def rgb(self) -> np.ndarray | None:
        if self.given_full_resolution():
            assert self.image is not None
            img = self.image.image
            return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
        stored = self.stored()
        if stored is None:
            return None
        return stored[:, :, :3] if stored.shape[2] == 4 else stored


def _stealth(
    pixels: _Pixels, meta: ImageMetadata, options: ProvenanceOptions
) -> StealthPayload | None:
    if meta.format not in ("PNG", "WEBP"):
        return None
    if (meta.width or 0) * (meta.height or 0) > options.stealth_max_pixels:
        return None
    rows = HEAD_ROWS[4 if meta.has_alpha else 3]
    if meta.format == "PNG" and (meta.height or 0) >= rows:
        column = png_first_column(pixels.data, rows)
        if column is not None and not has_signature(column):
            return None  # the common case: no signature, and no decode spent on finding out
        if column is not None:
            stored = pixels.stored()
            return read_stealth(stored) if stored is not None else None
    if meta.has_alpha:  # WebP keeps alpha lossless even when its colour is lossy
        stored = pixels.stored()
        return read_stealth(stored) if stored is not None else None
    if not meta.lossy and pixels.given_full_resolution():
        rgb = pixels.rgb()
        return read_stealth(rgb) if rgb is not None else None
    return None


def _watermark(
    pixels: _Pixels,
    meta: ImageMetadata,
    options: ProvenanceOptions,
    errors: list[str],
    declared: bool,
) -> WatermarkCheck | None:
    from needle.provenance import watermark

    if options.watermark == "never":
        return None
    width, height = meta.width, meta.height
    if not (width and height):
        width, height = pixels.header_size()
    have = pixels.given_full_resolution() or pixels._stored is not None
    if width and height and width * height < watermark.MIN_PIXELS:
        return WatermarkCheck(
            attempted=False,
            level="not_attempted",
            reason=f"{width}x{height} is under 256x256 pixels, the algorithm's minimum",
        )
    if options.watermark == "auto" and width and height:
        multiple = options.decode_side_multiple
        why = ""
        if width % multiple or height % multiple:
            why = (
                f"{width}x{height} is not a Stable Diffusion output size (sides not multiples "
                f"of {multiple})"
            )
        elif not have and declared:
            why = "the file already declares AI generation and its pixels were not at hand"
        elif not have and width * height > options.decode_max_pixels:
            why = (
                f"{width}x{height} is over {options.decode_max_pixels:,} pixels and its "
                "pixels were not at hand"
            )
        if why:
            return WatermarkCheck(
                attempted=False,
                level="not_attempted",
                reason=f"{why}; skipped to save time (--watermark always forces it)",
            )
    rgb = pixels.rgb()
    if rgb is None:
        return WatermarkCheck(
            attempted=False, level="not_attempted", reason="pixels could not be decoded"
        )
    try:
        return watermark.check(rgb, lossy=meta.lossy, window=options.watermark_window)
    except ImportError as exc:
        errors.append(str(exc))
        return WatermarkCheck(attempted=False, level="not_attempted", reason=str(exc))


def _declares_ai(c2pa: C2paInfo | None, xmp: XmpFields | None) -> bool:
    values = [a.digital_source_type for a in c2pa.actions] if c2pa else []
    values += xmp.digital_source_types if xmp else []
    return any(classify_source_type(v)[1] == "ai" for v in values)


def examine(
    data: bytes,
    *,
    filename: str = "",
    image: DecodedImage | None = None,
    options: ProvenanceOptions | None = None,
) -> ProvenanceResult:
    """Read every provenance signal of one file. Never raises for bad input.

    ``data`` is the whole file; ``image`` the already-decoded RGB image when the caller has
    one (used for the watermark when it is at full resolution; stealth bits in alpha are read
    from ``data``). ``filename`` only labels messages.
    """
    from needle.provenance.c2pa_manifest import read_c2pa
    from needle.provenance.generators import Sources, read_all
    from needle.provenance.verdict import Findings, assemble

    options = options or DEFAULT_OPTIONS
    found = Findings()
    errors = found.errors
    try:
        meta = read_metadata(data)
        found.format = meta.format
        errors += meta.errors
        exif = read_exif_text(meta.exif, meta.exif_where) if meta.exif else ExifText()
        errors += exif.errors
        found.exif = exif
        xmp = read_xmp(meta.xmp) if meta.xmp else None
        found.xmp = xmp
        if meta.jumbf and options.c2pa:
            found.c2pa = read_c2pa(data, meta.format, trust_anchors=options.c2pa_trust_anchors)
            if found.c2pa is not None and found.c2pa.error:
                errors.append(f"C2PA: {found.c2pa.error}")
        provenance = xmp.provenance if xmp else None
        if provenance and found.c2pa is None:
            if provenance.startswith(("http://", "https://")):
                found.c2pa = C2paInfo(state="remote_not_fetched", remote_url=provenance)
            elif "jumbf" in provenance:
                found.jumbf_missing_reference = provenance
        pixels = _Pixels(data, meta, image, options.limits, errors)
        stealth = _stealth(pixels, meta, options) if options.stealth else None
        if stealth is not None and stealth.error:
            errors.append(f"stealth metadata ({stealth.signature}): {stealth.error}")
        sources = Sources(meta=meta, exif=exif, xmp=xmp, stealth=stealth)
        found.generators = read_all(sources)
        errors += sources.errors
        if not data:
            errors.append("empty file (0 bytes)")
        elif meta.format == "unknown" and image is None and pixels.header_size()[0] is None:
            name = f"{filename!r} is " if filename else ""
            errors.append(f"{name}not an image format needle reads provenance from")
        else:
            declared = any(
                g.strength == "claimed" and g.indicates == "ai" for g in found.generators
            )
            declared |= _declares_ai(found.c2pa, xmp)
            found.watermark = _watermark(pixels, meta, options, errors, declared)
    except Exception as exc:  # last line of defence: a bug must not stop a scan
        errors.append(f"provenance stopped early: {type(exc).__name__}: {exc}")
    return assemble(found)
