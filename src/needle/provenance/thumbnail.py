"""The EXIF thumbnail against the picture: does the small copy a camera wrote at capture still
show the same picture?

In: the EXIF block and its directories, the file's bytes, the caller's decoded image (or none)
and the ``Limits`` of any decode. Out: one ``ProvenanceEvidence`` (kind ``thumbnail``), or None
when the file has no JPEG thumbnail; problems go to ``errors``.

How: the JPEG in IFD1 (``JPEGInterchangeFormat`` / ``…Length``) is decoded under its own
limits (``MAX_THUMBNAIL_BYTES``, ``MAX_THUMBNAIL_PIXELS``, ``MAX_THUMBNAIL_SCANS``), turned by
the picture's EXIF orientation (a thumbnail is stored the way the picture is), and its PDQ is
compared with the PDQ of the picture as the scan decoded it (reduced: PDQ allows for that).
When the caller has no decoded image, the picture is decoded once at PDQ's draft size. The
thumbnail's PDQ includes the picture inside a uniform border (``trimmed``), since some cameras
pad thumbnails to 4:3.

* distance <= ``THUMBNAIL_MATCH_DISTANCE`` (31, PDQ's confident match): the thumbnail shows
  the picture: moderate evidence of an untouched capture (an editor that rewrites the
  thumbnail, as Photoshop does, also gives a match; the other checks catch most of those);
* over it, same shape: the picture changed after the thumbnail was written: moderate
  evidence of editing;
* over it, another shape: cropped after capture, or a camera that pads its thumbnails: weak;
* a featureless picture or thumbnail (PDQ quality under 50) is not compared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from needle.provenance.exif import ExifDirectories
from needle.provenance.model import ProvenanceEvidence

if TYPE_CHECKING:
    from needle.media import DecodedImage, Limits

__all__ = [
    "MAX_THUMBNAIL_BYTES",
    "MAX_THUMBNAIL_PIXELS",
    "MAX_THUMBNAIL_SCANS",
    "THUMBNAIL_MATCH_DISTANCE",
    "compare_thumbnail",
]

#: 256 KiB. A thumbnail in a JPEG's EXIF segment is under 64 KiB (the segment's own limit);
#: other containers allow more, and a larger "thumbnail" is not decoded
MAX_THUMBNAIL_BYTES = 256 * 1024
#: 1,048,576 pixels (1024 x 1024). EXIF thumbnails are 160 x 120 by the standard, phones write
#: up to about 512 x 384; a larger one is not decoded (a 1 MP decode costs about 5 ms)
MAX_THUMBNAIL_PIXELS = 1024 * 1024
#: 20 scans. Thumbnails are baseline JPEGs; a progressive one with more scans is refused
#: (each scan is a pass over the whole thumbnail)
MAX_THUMBNAIL_SCANS = 20
#: ThreatExchange pdq/README: distance <= 31 is a confident match
THUMBNAIL_MATCH_DISTANCE = 31
#: thumbnails whose width/height ratio differs from the picture's by more than this are
#: "another shape"
SHAPE_TOLERANCE = 0.05
_QUALITY_FLOOR = 50  # PDQ's quality floor (pdq/README): under it a hash says little
_FIELD = "EXIF thumbnail (IFD1)"
_OFFSET, _LENGTH = 0x0201, 0x0202


def compare_thumbnail(
    block: bytes,
    dirs: ExifDirectories,
    data: bytes,
    image: DecodedImage | None,
    limits: Limits | None,
    errors: list[str],
) -> ProvenanceEvidence | None:
    """Compare the EXIF thumbnail with the picture; never raises for bad input."""
    thumb = _thumbnail_bytes(block, dirs, errors)
    if thumb is None:
        return None
    try:
        return _compare(thumb, data, image, limits, errors)
    except ImportError as exc:  # numpy/Pillow are core dependencies; a broken install says so
        errors.append(f"EXIF thumbnail not compared: {exc}")
        return None


def _thumbnail_bytes(block: bytes, dirs: ExifDirectories, errors: list[str]) -> bytes | None:
    offset = dirs.number(dirs.ifd1, _OFFSET)
    length = dirs.number(dirs.ifd1, _LENGTH)
    if offset is None or not length:
        return None
    if length > MAX_THUMBNAIL_BYTES:
        errors.append(
            f"EXIF thumbnail is {length:,} bytes, over the {MAX_THUMBNAIL_BYTES // 1024} KiB "
            "limit of a thumbnail; not decoded"
        )
        return None
    if offset < 8 or offset + length > len(block):
        errors.append("EXIF thumbnail points outside the EXIF block; not compared")
        return None
    thumb = block[offset : offset + length]
    if not thumb.startswith(b"\xff\xd8"):
        errors.append("EXIF thumbnail is not a JPEG; not compared")
        return None
    return thumb


def _compare(
    thumb: bytes,
    data: bytes,
    image: DecodedImage | None,
    limits: Limits | None,
    errors: list[str],
) -> ProvenanceEvidence | None:
    from needle.media import DEFAULT_LIMITS, Limits, decode_image
    from needle.media.image import ORIENTATION_TRANSPOSE
    from needle.signals.pdq import PDQ_DRAFT_SIZE, TRIMMED, pdq_hash, pdq_hash_pixels

    small = Limits(
        max_file_bytes=MAX_THUMBNAIL_BYTES,
        max_pixels=MAX_THUMBNAIL_PIXELS,
        max_jpeg_scans=MAX_THUMBNAIL_SCANS,
        max_decode_seconds=(limits or DEFAULT_LIMITS).max_decode_seconds,
    )
    try:
        decoded = decode_image(thumb, limits=small)
    except Exception as exc:  # a MediaError says why; anything else is this file's own problem
        errors.append(f"EXIF thumbnail could not be decoded: {exc}")
        return None
    if image is None:
        try:
            image = decode_image(data, limits=limits or DEFAULT_LIMITS, draft_size=PDQ_DRAFT_SIZE)
        except Exception as exc:
            errors.append(f"EXIF thumbnail not compared: the picture could not be decoded: {exc}")
            return None
    picture = decoded.image
    if image.orientation in ORIENTATION_TRANSPOSE:  # the turn the picture's decode applied
        picture = picture.transpose(ORIENTATION_TRANSPOSE[image.orientation])
    main = pdq_hash(image, dihedral=False, trim=False)
    small_hash = pdq_hash_pixels(picture, dihedral=False, trim=True)
    tw, th = picture.size
    pw, ph = image.upright_size
    if main.quality is not None and main.quality < _QUALITY_FLOOR:
        return _item(f"not compared: the picture is featureless (PDQ quality {main.quality})")
    if small_hash.quality is not None and small_hash.quality < _QUALITY_FLOOR:
        return _item(f"not compared: the {tw}x{th} thumbnail is featureless")
    padded = [v for name, v in small_hash.variants if name == TRIMMED]
    distance = min(_hamming(main.value, c) for c in [small_hash.value, *padded])
    # a border (padding to 4:3) explains another shape; without one, the shape is compared
    shape = 0.0 if padded or not (th and ph) else abs((tw / th) / (pw / ph) - 1)
    if distance <= THUMBNAIL_MATCH_DISTANCE:
        return ProvenanceEvidence(
            "thumbnail",
            f"the {tw}x{th} EXIF thumbnail shows the same picture (PDQ distance {distance} "
            f"<= {THUMBNAIL_MATCH_DISTANCE}): consistent with an untouched capture; editors "
            "that rewrite the thumbnail also give a match",
            "moderate",
            "camera",
            _FIELD,
        )
    if shape > SHAPE_TOLERANCE:
        return ProvenanceEvidence(
            "thumbnail",
            f"the {tw}x{th} EXIF thumbnail has another shape than the {pw}x{ph} picture and "
            f"differs from it (PDQ distance {distance}): cropped after capture, or a camera "
            "that pads its thumbnails",
            "weak",
            "edited",
            _FIELD,
        )
    return ProvenanceEvidence(
        "thumbnail",
        f"the {tw}x{th} EXIF thumbnail shows a different picture (PDQ distance {distance} > "
        f"{THUMBNAIL_MATCH_DISTANCE}): the picture was changed after the thumbnail was "
        "written, or the metadata came from another file",
        "moderate",
        "edited",
        _FIELD,
    )


def _item(reason: str) -> ProvenanceEvidence:
    return ProvenanceEvidence("thumbnail", f"EXIF thumbnail {reason}", "weak", "info", _FIELD)


def _hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
