"""``examine``: every provenance reader run over one file, in order, into one result.

In: a file's bytes, optionally the caller's decoded image, ``ProvenanceOptions`` and the
``Limits`` any decode runs under. Out: a ``ProvenanceResult``. The steps:

1. container metadata (no pixels): format, size, EXIF, XMP, JUMBF, text chunks;
2. EXIF/XMP fields, then C2PA only when a JUMBF store is embedded (``_metadata``);
3. stealth bits, only for PNG/WebP and without a decode when the first column shows no
   signature (``_stealth``);
4. generator readers over everything above;
5. camera-original evidence (``needle.provenance.camera``): maker notes, EXIF dates and
   sizes, JPEG quantisation tables, and the EXIF thumbnail against the picture (the caller's
   decoded image; decoded here at PDQ's draft size only when a thumbnail exists and no image
   was given);
6. the watermark on full-resolution pixels, only when worth it (``_watermark``);
7. the verdict (``needle.provenance.verdict.assemble``).

Pixels are decoded at most once, lazily, through ``needle.media`` (``FilePixels``); the
thumbnail check's reduced decode, when the caller gave no image, is the one exception. Nothing
goes to the network. Bad input never raises: problems are listed in ``errors`` and whatever
could be read is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from needle.provenance.container import ImageMetadata, png_first_column, read_metadata
from needle.provenance.exif import ExifText, read_exif_text
from needle.provenance.model import C2paInfo, ProvenanceEvidence, ProvenanceResult
from needle.provenance.options import DEFAULT_OPTIONS, ProvenanceOptions
from needle.provenance.pixels import FilePixels
from needle.provenance.stealth import HEAD_ROWS, StealthPayload, has_signature, read_stealth
from needle.provenance.watermark import WatermarkCheck
from needle.provenance.xmp import XmpFields, classify_source_type, read_xmp

if TYPE_CHECKING:
    from needle.media import DecodedImage, Limits
    from needle.provenance.verdict import Findings

__all__ = ["examine"]


def examine(
    data: bytes,
    *,
    filename: str = "",
    image: DecodedImage | None = None,
    options: ProvenanceOptions | None = None,
    limits: Limits | None = None,
) -> ProvenanceResult:
    """Read every provenance signal of one file. Never raises for bad input.

    ``data`` is the whole file; ``image`` the already-decoded RGB image when the caller has
    one (used for the watermark when it is at full resolution; stealth bits in alpha are read
    from ``data``). ``limits``: the file-size and pixel limits of any decode done here (None:
    ``needle.media.DEFAULT_LIMITS``); a scan passes its own. ``filename`` only labels messages.
    """
    from needle.provenance.generators import Sources, read_all
    from needle.provenance.verdict import Findings, assemble

    options = options or DEFAULT_OPTIONS
    found = Findings()
    errors = found.errors
    try:
        meta = read_metadata(data)
        found.format = meta.format
        errors += meta.errors
        exif, xmp = _metadata(data, meta, options, found)
        pixels = FilePixels(data, image, limits, errors)
        stealth = _stealth(pixels, meta, options) if options.stealth else None
        if stealth is not None and stealth.error:
            errors.append(f"stealth metadata ({stealth.signature}): {stealth.error}")
        sources = Sources(meta=meta, exif=exif, xmp=xmp, stealth=stealth)
        found.generators = read_all(sources)
        errors += sources.errors
        if options.camera:
            found.camera = _camera(data, meta, image, limits, options, errors)
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


def _metadata(
    data: bytes, meta: ImageMetadata, options: ProvenanceOptions, found: Findings
) -> tuple[ExifText, XmpFields | None]:
    """EXIF and XMP fields into ``found``, and the C2PA manifest when one is embedded or
    referenced; returns the fields for the generator readers."""
    from needle.provenance.c2pa_manifest import read_c2pa

    errors = found.errors
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
    return exif, xmp


def _camera(
    data: bytes,
    meta: ImageMetadata,
    image: DecodedImage | None,
    limits: Limits | None,
    options: ProvenanceOptions,
    errors: list[str],
) -> list[ProvenanceEvidence]:
    """Camera-original evidence, with the shipped JPEG tables and the user's, if any."""
    from needle.errors import ConfigError
    from needle.provenance.camera import read_camera
    from needle.provenance.quantization import load_tables

    try:
        tables = load_tables(options.camera_tables)
    except ConfigError as exc:
        errors.append(f"camera tables: {exc}; the shipped tables were used")
        tables = load_tables()
    return read_camera(data, meta, image=image, limits=limits, tables=tables, errors=errors)


def _stealth(
    pixels: FilePixels, meta: ImageMetadata, options: ProvenanceOptions
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
    pixels: FilePixels,
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
    if width and height and width * height < watermark.MIN_PIXELS:
        return WatermarkCheck(
            attempted=False,
            level="not_attempted",
            reason=f"{width}x{height} is under 256x256 pixels, the algorithm's minimum",
        )
    if options.watermark == "auto" and width and height:
        have = pixels.given_full_resolution() or pixels.decoded
        why = _not_worth_it(width, height, options, have=have, declared=declared)
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


def _not_worth_it(
    width: int, height: int, options: ProvenanceOptions, *, have: bool, declared: bool
) -> str:
    """Why ``auto`` mode skips the watermark check (empty: it runs). ``have``: full-resolution
    pixels are at hand already; ``declared``: the file already declares AI generation."""
    multiple = options.decode_side_multiple
    if width % multiple or height % multiple:
        return (
            f"{width}x{height} is not a Stable Diffusion output size (sides not multiples "
            f"of {multiple})"
        )
    if not have and declared:
        return "the file already declares AI generation and its pixels were not at hand"
    if not have and width * height > options.decode_max_pixels:
        return (
            f"{width}x{height} is over {options.decode_max_pixels:,} pixels and its "
            "pixels were not at hand"
        )
    return ""


def _declares_ai(c2pa: C2paInfo | None, xmp: XmpFields | None) -> bool:
    values = [a.digital_source_type for a in c2pa.actions] if c2pa else []
    values += xmp.digital_source_types if xmp else []
    return any(classify_source_type(v)[1] == "ai" for v in values)
