"""Camera-original evidence: what a file still carries of the camera that made it, what says
it was changed since, and the ``camera_original`` verdict.

In: the file's bytes, its container metadata (``ImageMetadata``: format, size, EXIF block),
the caller's decoded image (only for the thumbnail), the ``Limits`` of any decode and the
known JPEG tables. Out: ``ProvenanceEvidence`` items (``read_camera``), and from the whole
evidence list of a file, the verdict (``camera_verdict``). The checks, each cheap (header and
EXIF parsing; pixels only for a thumbnail, which is small):

1. EXIF maker note (``MakerNote``, 0x927C): present; parseable when it starts with a known
   maker's header whose directory reads, or is itself a valid IFD (Canon, Nikon type 3,
   Samsung, Sony and others write a bare IFD);
2. dates: ``DateTime`` (set by whatever saved the file last) later than ``DateTimeOriginal``
   (the capture) by more than ``DATETIME_TOLERANCE_S`` means a later save;
3. ``Software``: a value that names no editor or generator and looks like a firmware version
   (editor names are reported by ``generators.software`` as editing evidence);
4. a GPS position;
5. EXIF ``PixelXDimension``/``PixelYDimension`` against the picture's own size;
6. JPEG quantisation tables (``needle.provenance.quantization``);
7. the EXIF thumbnail against the picture (``needle.provenance.thumbnail``);
8. an image size typical of generators: weak AI evidence, never decisive alone.

Every item can be forged by someone who knows it is checked: EXIF, maker notes and thumbnails
can be copied from a real photo into any file, and a JPEG can be saved with a camera's tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from needle.provenance.exif import ExifDirectories, read_directories
from needle.provenance.model import CAMERA_VERDICTS, ProvenanceEvidence
from needle.provenance.quantization import KnownTable, TableMatch, identify, read_tables

if TYPE_CHECKING:
    from needle.media import DecodedImage, Limits
    from needle.provenance.container import ImageMetadata

__all__ = [
    "CAMERA_VERDICTS",
    "CAPTURE_KINDS",
    "DATETIME_TOLERANCE_S",
    "GENERATOR_SIZES",
    "camera_verdict",
    "read_camera",
]

#: evidence kinds only a capture leaves behind: a parseable maker note, a thumbnail that shows
#: the picture, a camera's quantisation tables (each ``moderate`` when it holds)
CAPTURE_KINDS = ("makernote", "thumbnail", "quantization")
#: 60 s. A camera writes DateTime and DateTimeOriginal together; some a second or two apart
#: (long exposures, processing). A later DateTime means a later save.
DATETIME_TOLERANCE_S = 60
#: native output sizes of common generators: Stable Diffusion 1.x/2.x, the SDXL training
#: buckets every SDXL front end offers (Podell et al. 2023, SDXL, appendix), DALL·E 3's
#: sizes (OpenAI image API). Both orientations are checked.
GENERATOR_SIZES: dict[tuple[int, int], str] = {
    (512, 512): "Stable Diffusion 1.x's native size",
    (768, 768): "Stable Diffusion 2.x's native size",
    (1024, 1024): "SDXL's native size (also DALL·E 3's square)",
    (1152, 896): "an SDXL size (training bucket)",
    (1216, 832): "an SDXL size (training bucket)",
    (1344, 768): "an SDXL size (training bucket)",
    (1536, 640): "an SDXL size (training bucket)",
    (1792, 1024): "a DALL·E 3 size",
}
#: Stable Diffusion works in 64-pixel steps, from 512 up to 2048 (a 2x upscale of SDXL);
#: larger sizes that are multiples of 64 are common camera sizes (2560x1920, 4096x3072)
_MULTIPLE, _MIN_SIDE, _MAX_SIDE = 64, 512, 2048

_MAKE, _MODEL, _SOFTWARE, _DATETIME = 0x010F, 0x0110, 0x0131, 0x0132
_DATETIME_ORIGINAL, _MAKERNOTE = 0x9003, 0x927C
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
_GPS_LATITUDE, _GPS_LONGITUDE = 0x0002, 0x0004
#: maker-note headers (ExifTool lib/Image/ExifTool/MakerNotes.pm) -> maker and where the IFD
#: starts after the header (None: a format that is not an IFD; -1: Fujifilm's, whose IFD
#: offset is a little-endian number at byte 8)
_HEADERS: tuple[tuple[bytes, str, int | None], ...] = (
    (b"Apple iOS\x00", "Apple", 14),
    (b"Nikon\x00\x02", "Nikon", 18),
    (b"Nikon\x00\x01", "Nikon", 8),
    (b"OLYMPUS\x00", "Olympus", 12),
    (b"OLYMP\x00", "Olympus", 8),
    (b"EPSON\x00", "Epson", 8),
    (b"OM SYSTEM\x00", "OM System", None),
    (b"FUJIFILM", "Fujifilm", -1),
    (b"GENERALE", "GE (Fujifilm)", -1),
    (b"Panasonic\x00", "Panasonic", 12),
    (b"LEICA CAMERA AG\x00", "Leica", 18),
    (b"LEICA", "Leica", 8),
    (b"SONY DSC ", "Sony", 12),
    (b"SONY CAM ", "Sony", 12),
    (b"SONY MOBILE", "Sony", 12),
    (b"\x00\x00SONY PIC\x00", "Sony", 12),
    (b"SONY PI\x00", "Sony", 12),
    (b"PREMI\x00", "Sony", 8),
    (b"VHAB     \x00", "Hasselblad", 12),
    (b"SEMC MS\x00", "Sony Ericsson", 20),
    (b"PENTAX \x00", "Pentax", 10),
    (b"AOC\x00", "Pentax", 6),
    (b"RICOH\x00II", "Ricoh", 8),
    (b"RICOH\x00MM", "Ricoh", 8),
    (b"SIGMA\x00", "Sigma", 10),
    (b"FOVEON\x00", "Sigma", 10),
    (b"QVC\x00", "Casio", 6),
    (b"DCI\x00", "Concord", 6),
    (b"SANYO\x00", "Sanyo", 8),
    (b"KYOCERA", "Kyocera", 22),
    (b"MOT\x00", "Motorola", 8),
    (b"MINOL\x00", "Minolta", 8),
    (b"CAMER\x00", "Minolta", 8),
    (b"ISLMAKERNOTE000\x00", "Samsung", 24),
    (b"JVC ", "JVC", 4),
    (b"GE\x00\x00", "GE", 18),
    (b"GENIC\x00", "GE", 18),
    (b"STMN", "Samsung", None),
    (b"KDK", "Kodak", None),
)
_TRACE_WORDS = {
    "makernote": "parseable maker note",
    "thumbnail": "thumbnail shows the picture",
    "quantization": "a camera's JPEG tables",
}
#: a maker-note IFD with more entries than this is not taken as one
_MAX_NOTE_ENTRIES = 512
#: words of programs, not firmware, in a Software value no editor list names
_PROGRAM_WORDS = re.compile(
    r"edit|photo|paint|image|studio|windows|mac ?os|convert|viewer|picasa|acdsee|exif|gimp|"
    r"http|www\.",
    re.IGNORECASE,
)


def read_camera(
    data: bytes,
    meta: ImageMetadata,
    *,
    image: DecodedImage | None,
    limits: Limits | None,
    tables: tuple[KnownTable, ...],
    errors: list[str],
) -> list[ProvenanceEvidence]:
    """Camera-original evidence of one file, in report order; never raises for bad input."""
    from needle.provenance.thumbnail import compare_thumbnail

    evidence: list[ProvenanceEvidence] = []
    dirs = read_directories(meta.exif, meta.exif_where) if meta.exif else ExifDirectories()
    make = dirs.text(dirs.ifd0, _MAKE) or ""
    model = dirs.text(dirs.ifd0, _MODEL) or ""
    camera_named = bool(make or model) and not make.startswith(("prompt:", "workflow:"))
    note = _maker_note(dirs)
    if note is not None:
        evidence.append(note)
    evidence += _dates(dirs)
    software = _firmware(dirs, camera_named)
    if software is not None:
        evidence.append(software)
    if dirs.gps.get(_GPS_LATITUDE) and dirs.gps.get(_GPS_LONGITUDE):
        evidence.append(
            ProvenanceEvidence(
                "exif",
                "EXIF records a GPS position (phones and some cameras write one; generators "
                "do not; easily copied or removed)",
                "weak",
                "camera",
                "EXIF GPS",
            )
        )
    size = _size_check(dirs, meta)
    if size is not None:
        evidence.append(size)
    if meta.format == "JPEG":
        found = read_tables(data)
        if found is not None:
            named = " ".join(dict.fromkeys(p for p in (make, model) if p)) if camera_named else ""
            evidence.append(_tables_item(identify(found, tables), make, named))
    if meta.exif and dirs.ifd1:
        thumb = compare_thumbnail(meta.exif, dirs, data, image, limits, errors)
        if thumb is not None:
            evidence.append(thumb)
    shape = _geometry(meta, image)
    if shape is not None:
        evidence.append(shape)
    return evidence


def camera_verdict(evidence: Sequence[ProvenanceEvidence]) -> tuple[str, str]:
    """``camera_original`` (likely / possible / unknown) and the reason, from a file's evidence.

    * ``likely``: no AI evidence above weak; EXIF names a camera (Make/Model); its maker note
      parses; the EXIF thumbnail shows the picture or the JPEG tables are a known camera's;
      and no editing trace of any strength.
    * ``possible``: no AI evidence above weak; no editing trace above weak; and a camera's
      JPEG tables, or EXIF naming a camera with a parseable maker note or a thumbnail that
      shows the picture (a thumbnail alone proves little: editors write new ones).
    * ``unknown``: everything else.

    Neither absence means anything. No camera evidence is not evidence of generation: every
    re-save, screenshot and upload strips it. No AI evidence is not evidence of a camera:
    most generators write no metadata, and it is stripped as easily. Weak AI evidence (an
    image size typical of generators) is reported but does not decide.
    """
    ai = [e for e in evidence if e.indicates == "ai" and e.strength != "weak"]
    if ai:
        return "unknown", f"AI evidence rules it out ({ai[0].kind}: {_cut(ai[0].detail)})"
    traces = [
        e
        for e in evidence
        if e.indicates == "camera" and e.kind in CAPTURE_KINDS and e.strength != "weak"
    ]
    kinds = {e.kind for e in traces}
    edits = [e for e in evidence if e.indicates == "edited"]
    heavy = [e for e in edits if e.strength != "weak"]
    named = any(e.indicates == "camera" and e.field == "EXIF Make/Model" for e in evidence)
    held = ", ".join(_TRACE_WORDS[k] for k in CAPTURE_KINDS if k in kinds)
    if not traces:
        return "unknown", (
            "no capture trace (maker note, thumbnail, camera tables): which says nothing "
            "about whether the picture is real"
        )
    if not named and "quantization" not in kinds:
        return "unknown", f"{held}, but EXIF names no camera"
    if heavy:
        return "unknown", f"{held}, but edited since ({heavy[0].kind}: {_cut(heavy[0].detail)})"
    missing = []
    if not named:
        missing.append("EXIF names no camera")
    if "makernote" not in kinds:
        missing.append("no parseable maker note")
    if not kinds & {"thumbnail", "quantization"}:
        missing.append("no matching thumbnail or camera tables")
    if edits:
        missing.append(f"weak editing trace ({edits[0].kind}: {_cut(edits[0].detail, 80)})")
    if not missing:
        return "likely", f"EXIF names a camera; {held}; no editing trace"
    return "possible", f"{held}; not likely: {'; '.join(missing)}"


def _cut(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _maker_note(dirs: ExifDirectories) -> ProvenanceEvidence | None:
    entry = dirs.exif.get(_MAKERNOTE)
    if entry is None or entry.count == 0:
        return None
    field = "EXIF MakerNote"
    note = entry.raw
    if not note:
        return ProvenanceEvidence(
            "makernote",
            f"a {entry.count:,}-byte maker note that points outside the EXIF block: damaged, "
            "or cut when the metadata was rewritten",
            "weak",
            "info",
            field,
        )
    parsed, what = _parse_note(note, dirs.order)
    if not parsed:
        return ProvenanceEvidence(
            "makernote",
            f"a {len(note):,}-byte maker note that does not parse ({what}): damaged, or not "
            "written by a camera",
            "weak",
            "info",
            field,
        )
    return ProvenanceEvidence(
        "makernote",
        f"a {len(note):,}-byte maker note that parses ({what}): cameras write these in "
        "their makers' own formats; editors drop or carry them unread and generators write "
        "none, but a tool can copy one from another photo",
        "moderate",
        "camera",
        field,
    )


def _parse_note(note: bytes, order: str) -> tuple[bool, str]:
    """Whether a maker note parses, and how (a few words)."""
    orders = (order, ">" if order == "<" else "<")
    for header, maker, start in _HEADERS:
        if not note.startswith(header):
            continue
        if start is None:
            return True, f"{maker} header"
        if start == -1:
            start = int.from_bytes(note[8:12], "little") if len(note) >= 12 else len(note)
        entries = _ifd_entries(note, start, orders)
        if entries:
            return True, f"{maker} header and a {entries}-entry directory"
        return False, f"{maker}'s header, but no readable directory after it"
    entries = _ifd_entries(note, 0, orders)
    if entries:
        return True, f"a {entries}-entry directory with no header"
    return False, "no known maker's header, and not a directory"


def _ifd_entries(note: bytes, start: int, orders: tuple[str, ...]) -> int:
    """Entries of a valid IFD at ``start`` (every entry inside the note, every type a TIFF
    type); 0 when there is none."""
    for order in orders:
        if start < 0 or start + 2 > len(note):
            return 0
        count = int.from_bytes(note[start : start + 2], "little" if order == "<" else "big")
        if not 1 <= count <= _MAX_NOTE_ENTRIES or start + 2 + 12 * count > len(note):
            continue
        types = (
            int.from_bytes(note[e + 2 : e + 4], "little" if order == "<" else "big")
            for e in range(start + 2, start + 2 + 12 * count, 12)
        )
        if all(1 <= t <= 13 for t in types):
            return count
    return 0


def _dates(dirs: ExifDirectories) -> list[ProvenanceEvidence]:
    saved_text = dirs.text(dirs.ifd0, _DATETIME)
    taken_text = dirs.text(dirs.exif, _DATETIME_ORIGINAL)
    saved, taken = _when(saved_text), _when(taken_text)
    if saved is None or taken is None:
        return []
    field = "EXIF DateTime/DateTimeOriginal"
    gap = (saved - taken).total_seconds()
    if gap > DATETIME_TOLERANCE_S:
        return [
            ProvenanceEvidence(
                "exif",
                f"EXIF DateTime {saved_text} is {_duration(gap)} after DateTimeOriginal "
                f"{taken_text}: whatever saved the file last did so after the capture",
                "moderate",
                "edited",
                field,
            )
        ]
    if gap < -DATETIME_TOLERANCE_S:
        return [
            ProvenanceEvidence(
                "exif",
                f"EXIF DateTime {saved_text} is before DateTimeOriginal {taken_text}: the dates "
                "disagree (a reset clock, or rewritten metadata)",
                "weak",
                "info",
                field,
            )
        ]
    return [
        ProvenanceEvidence(
            "exif",
            f"EXIF DateTime equals DateTimeOriginal ({taken_text}): nothing that updates "
            "DateTime has saved the file since the capture (most editors do)",
            "weak",
            "camera",
            field,
        )
    ]


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.0f} minutes"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} hours"
    return f"{minutes / 1440:.0f} days"


def _firmware(dirs: ExifDirectories, camera_named: bool) -> ProvenanceEvidence | None:
    """Weak camera evidence when ``Software`` looks like a firmware version (a camera is
    named, no known editor or generator, no program words, a digit)."""
    from needle.provenance.generators.software import match_name

    value = dirs.text(dirs.ifd0, _SOFTWARE)
    if not (camera_named and value) or len(value) > 40 or not any(c.isdigit() for c in value):
        return None
    if match_name(value) is not None or _PROGRAM_WORDS.search(value):
        return None
    return ProvenanceEvidence(
        "exif",
        f"EXIF Software {value!r} looks like a camera's firmware version and names no known "
        "editor or generator",
        "weak",
        "camera",
        "EXIF Software",
    )


def _size_check(dirs: ExifDirectories, meta: ImageMetadata) -> ProvenanceEvidence | None:
    width, height = dirs.number(dirs.exif, _PIXEL_X), dirs.number(dirs.exif, _PIXEL_Y)
    if not (width and height and meta.width and meta.height):
        return None
    if {width, height} == {meta.width, meta.height}:
        return None
    return ProvenanceEvidence(
        "exif",
        f"EXIF records the capture as {width}x{height} but the picture is "
        f"{meta.width}x{meta.height}: resized or cropped after capture (a camera writes the "
        "size it saves)",
        "moderate",
        "edited",
        "EXIF PixelXDimension/PixelYDimension",
    )


def _tables_item(match: TableMatch, make: str, camera: str) -> ProvenanceEvidence:
    """The tables' item; ``camera``: the camera EXIF names ("" when none)."""
    tables, field = match.tables, "JPEG DQT"
    names = "; ".join(e.name for e in match.entries)
    resaved = (
        f" EXIF names a camera ({camera[:80]}), so the picture was re-encoded after capture: "
        "it has been JPEG-compressed at least twice."
        if camera
        else ""
    )
    if match.kind == "camera":
        wrong = [e for e in match.entries if not e.fits_make(make)]
        if wrong and len(wrong) == len(match.entries):
            return ProvenanceEvidence(
                "quantization",
                f"JPEG quantisation tables are those of {names}, but EXIF Make is {make!r}: "
                "the pixels or the metadata came from elsewhere (or another maker uses the "
                "same tables)",
                "weak",
                "edited",
                field,
            )
        return ProvenanceEvidence(
            "quantization",
            f"JPEG quantisation tables are those of {names} ({_source(match)}): the pixels "
            "were last encoded the way that camera encodes them. Software seldom uses camera "
            "tables, but an editor can keep a file's own tables (GIMP's 'use quality settings "
            "from original image')",
            "moderate",
            "camera",
            field,
        )
    if match.kind == "software":
        return ProvenanceEvidence(
            "quantization",
            f"JPEG quantisation tables are those of {names} ({_source(match)}): the file was "
            f"last saved by that software, not by a camera.{resaved}",
            "moderate",
            "edited",
            field,
        )
    if match.kind == "libjpeg":
        return ProvenanceEvidence(
            "quantization",
            f"JPEG quantisation tables are libjpeg's standard tables at quality "
            f"{match.quality}, one table per DQT segment as libjpeg writes them: the usual "
            "sign of a file saved by software (GIMP, Pillow, ImageMagick, web services); a "
            f"few cameras use libjpeg too.{resaved}",
            "weak",
            "edited",
            field,
        )
    if match.kind == "standard":
        return ProvenanceEvidence(
            "quantization",
            f"JPEG quantisation tables are the standard tables at quality {match.quality}, "
            f"but in {tables.segments} DQT segment(s) laid out as libjpeg never writes them: "
            "a camera's or phone's own encoder (some use the standard tables)",
            "weak",
            "info",
            field,
        )
    known = f" (they match both {names})" if names else ""
    return ProvenanceEvidence(
        "quantization",
        f"JPEG quantisation tables match no known camera or program{known}: neutral. "
        f"Digest {tables.digest}, subsampling {tables.subsampling or '-'} (add them with "
        "--camera-tables when their source is known)",
        "weak",
        "info",
        field,
    )


def _source(match: TableMatch) -> str:
    source = match.entries[0].source
    return "source: " + _cut(" ".join(source.split()), 100)


def _geometry(meta: ImageMetadata, image: DecodedImage | None) -> ProvenanceEvidence | None:
    width, height = meta.width, meta.height
    if not (width and height) and image is not None:
        width, height = image.width, image.height
    if not (width and height):
        return None
    known = GENERATOR_SIZES.get((width, height)) or GENERATOR_SIZES.get((height, width))
    if known:
        detail = (
            f"{width}x{height} is {known}; cameras seldom save this size, but a crop or a "
            "resize can give any size"
        )
    elif (
        width % _MULTIPLE == 0
        and height % _MULTIPLE == 0
        and min(width, height) >= _MIN_SIDE
        and max(width, height) <= _MAX_SIDE
    ):
        detail = (
            f"{width}x{height}: both sides are multiples of 64, as Stable Diffusion outputs "
            "are; so are many resized photos (1024x768, 1280x960)"
        )
    else:
        return None
    return ProvenanceEvidence("geometry", detail, "weak", "ai", "image size")
