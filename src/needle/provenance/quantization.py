"""JPEG quantisation tables: which encoder wrote a JPEG's pixels last.

In: a JPEG's bytes (only the header is read, up to the first scan) and the table list (the
shipped ``data/jpeg_tables.toml`` plus a user's file). Out: ``JpegTables`` (the tables, their
digest and chroma subsampling) and ``TableMatch``, what they say:

* ``camera``: the tables of a known camera or phone (a data-file entry);
* ``software``: the tables of a known program (Photoshop, Lightroom; a data-file entry);
* ``libjpeg``: the Independent JPEG Group's standard tables scaled to a quality 1..100
  (``jpeg_set_quality``: libjpeg, libjpeg-turbo, hence GIMP, Pillow, ImageMagick and most web
  services), written one table per DQT segment as libjpeg writes them;
* ``standard``: those same tables written some other way (several phones' own encoders use
  the standard tables: the Samsung SM-G930V in the shared test data writes quality 96 in one
  DQT segment);
* ``unknown``: none of these. Says nothing either way.

The digest is ExifTool's ``JPEGDigest`` (Image::ExifTool::JPEGDigest): MD5 of the DQT
segments' contents in table-index order, joined by zero bytes, plus the SOF sampling factors
as hex ("221111" is 4:2:0 colour). It depends on how the tables are laid out in segments, so
it tells a phone that writes the standard tables in one segment from libjpeg, and data-file
entries cite ExifTool's database by it. needle's digest gives ExifTool's values for libjpeg
quality 1..100 (tests).

A data-file entry is ``[[table]]`` with ``name``, ``kind`` (``camera`` or ``software``),
``source`` (where the table comes from: every entry must cite one), either ``dqt_md5`` or
``luminance`` (+ ``chrominance``: 64 values each, in natural row order, as Pillow's
``Image.quantization`` gives them), and optionally ``subsampling`` and ``makes`` (EXIF Make
values a camera entry belongs to, matched case-insensitively as substrings).
"""

from __future__ import annotations

import functools
import hashlib
import struct
import tomllib
from dataclasses import dataclass
from importlib import resources

from needle.errors import ConfigError

__all__ = [
    "IJG_CHROMINANCE",
    "IJG_LUMINANCE",
    "TABLES_RESOURCE",
    "JpegTables",
    "KnownTable",
    "TableMatch",
    "identify",
    "ijg_quality",
    "ijg_table",
    "load_tables",
    "read_tables",
]

#: ITU-T T.81 Annex K tables K.1 and K.2 in natural (row) order; libjpeg's
#: ``std_luminance_quant_tbl`` / ``std_chrominance_quant_tbl`` (jcparam.c)
IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
IJG_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip
#: the shipped table list, package data of ``needle.provenance.data``
TABLES_RESOURCE = ("needle.provenance.data", "jpeg_tables.toml")
#: T.81 zig-zag order: position i of a DQT segment holds natural index _ZIGZAG[i]
_ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
#: a header with more segments than this before its first scan is not read further
_MAX_SEGMENTS = 512
_KINDS = ("camera", "software")


def ijg_table(base: tuple[int, ...], quality: int, *, baseline: bool = True) -> tuple[int, ...]:
    """libjpeg's ``jpeg_quality_scaling`` and ``jpeg_add_quant_table``: ``base`` scaled to
    ``quality`` (1..100), clamped to 1..255 (``baseline``, as ``jpeg_set_quality(..., TRUE)``
    does) or 1..32767."""
    quality = min(max(quality, 1), 100)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    top = 255 if baseline else 32767
    return tuple(min(max((value * scale + 50) // 100, 1), top) for value in base)


@functools.cache
def _ijg_by_table() -> dict[tuple[tuple[int, ...], tuple[int, ...]], int]:
    found: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
    for quality in range(100, 0, -1):  # equal tables at several qualities: keep the lowest
        for baseline in (False, True):
            luminance = ijg_table(IJG_LUMINANCE, quality, baseline=baseline)
            chrominance = ijg_table(IJG_CHROMINANCE, quality, baseline=baseline)
            found[(luminance, chrominance)] = quality
            found[(luminance, ())] = quality  # greyscale: one table
    return found


def ijg_quality(luminance: tuple[int, ...], chrominance: tuple[int, ...] = ()) -> int | None:
    """The libjpeg quality whose standard tables these are, or None."""
    return _ijg_by_table().get((tuple(luminance), tuple(chrominance)))


@dataclass(frozen=True)
class JpegTables:
    """A JPEG's quantisation tables as its header declares them.

    ``tables``: index -> 64 values in natural order; ``digest``: ExifTool's JPEGDigest MD5;
    ``subsampling``: the SOF sampling factors as hex per component ("221111"), "" without a
    SOF; ``segments``: DQT segments read; ``one_per_segment``: each segment holds one table,
    in index order, as libjpeg writes them.
    """

    tables: dict[int, tuple[int, ...]]
    digest: str
    subsampling: str
    segments: int
    one_per_segment: bool

    @property
    def luminance(self) -> tuple[int, ...]:
        return self.tables.get(0, ())

    @property
    def chrominance(self) -> tuple[int, ...]:
        return self.tables.get(1, ())


def read_tables(data: bytes, errors: list[str] | None = None) -> JpegTables | None:
    """The quantisation tables of a JPEG header; None when it declares none. Never raises:
    problems go to ``errors``."""
    if not data.startswith(b"\xff\xd8"):
        return None
    bodies: dict[int, bytes] = {}
    tables: dict[int, tuple[int, ...]] = {}
    subsampling, segments, single = "", 0, True
    pos, end = 2, len(data)
    for _ in range(_MAX_SEGMENTS):
        if pos + 4 > end or data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        body = data[pos + 4 : pos + 2 + length]
        if length < 2 or pos + 2 + length > end:
            if errors is not None:
                errors.append(f"JPEG segment 0x{marker:02X} at byte {pos} is truncated")
            break
        if marker == 0xDB and body:
            count = _parse_dqt(body, tables)
            if count == 0 and errors is not None:
                errors.append(f"JPEG DQT segment at byte {pos} holds no valid table")
            bodies[body[0] & 0x0F] = body  # ExifTool keys a segment by its first table
            segments += 1
            single &= count == 1
        elif marker in _SOF and len(body) >= 6 and not subsampling:
            components = body[5]
            factors = body[7 : 6 + 3 * components : 3]
            subsampling = "".join(f"{f:02x}" for f in factors)
        pos += 2 + length
    if not tables:
        return None
    joined = b"\x00".join(bodies[k] for k in sorted(bodies))
    digest = hashlib.md5(joined, usedforsecurity=False).hexdigest()
    ordered = single and list(bodies) == sorted(bodies)
    return JpegTables(tables, digest, subsampling, segments, ordered)


def _parse_dqt(body: bytes, tables: dict[int, tuple[int, ...]]) -> int:
    """Tables of one DQT segment into ``tables``; how many were read."""
    pos, count = 0, 0
    while pos < len(body) and count < 4:
        precision, index = body[pos] >> 4, body[pos] & 0x0F
        size = 128 if precision else 64
        raw = body[pos + 1 : pos + 1 + size]
        if index > 3 or precision > 1 or len(raw) < size:
            break
        values = struct.unpack(">64H", raw) if precision else tuple(raw)
        natural = [0] * 64
        for i, value in enumerate(values):
            natural[_ZIGZAG[i]] = value
        tables[index] = tuple(natural)
        pos += 1 + size
        count += 1
    return count


@dataclass(frozen=True)
class KnownTable:
    """One data-file entry: tables a camera or a program writes, and where that is known from."""

    name: str
    kind: str
    source: str
    dqt_md5: str = ""
    luminance: tuple[int, ...] = ()
    chrominance: tuple[int, ...] = ()
    subsampling: str = ""
    makes: tuple[str, ...] = ()

    def matches(self, found: JpegTables) -> bool:
        if self.subsampling and self.subsampling != found.subsampling:
            return False
        if self.dqt_md5:
            return self.dqt_md5 == found.digest
        if self.luminance != found.luminance:
            return False
        return not self.chrominance or self.chrominance == found.chrominance

    def fits_make(self, make: str) -> bool:
        """Whether EXIF ``make`` is one this camera entry belongs to (True when it names none)."""
        low = make.strip().lower()
        return not (self.makes and low) or any(m.lower() in low for m in self.makes)


@dataclass(frozen=True)
class TableMatch:
    """What a JPEG's tables say. ``kind``: camera, software, libjpeg, standard or unknown;
    ``entries``: the data-file entries matched; ``quality``: the libjpeg quality, when the
    tables are the standard ones."""

    tables: JpegTables
    kind: str
    entries: tuple[KnownTable, ...] = ()
    quality: int | None = None


def identify(found: JpegTables, known: tuple[KnownTable, ...]) -> TableMatch:
    """Match ``found`` against the known tables, then against libjpeg's standard ones."""
    entries = tuple(entry for entry in known if entry.matches(found))
    kinds = {entry.kind for entry in entries}
    if len(kinds) == 1:
        return TableMatch(found, kinds.pop(), entries)
    if kinds:  # a camera and a program share these tables: they say nothing
        return TableMatch(found, "unknown", entries)
    quality = ijg_quality(found.luminance, found.chrominance)
    if quality is not None:
        kind = "libjpeg" if found.one_per_segment else "standard"
        return TableMatch(found, kind, quality=quality)
    return TableMatch(found, "unknown")


def load_tables(path: str | None = None) -> tuple[KnownTable, ...]:
    """The shipped table list, plus the entries of the TOML file at ``path`` (the user's,
    ``ProvenanceOptions.camera_tables``). Raises ``ConfigError`` saying what is wrong."""
    shipped = _shipped()
    return shipped + _user_tables(path) if path else shipped


@functools.cache
def _shipped() -> tuple[KnownTable, ...]:
    # tomllib, not needle.config.read_toml: package data found through importlib.resources; an
    # error here is a broken install, not a user's file to correct
    package, name = TABLES_RESOURCE
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    try:
        return _entries(tomllib.loads(text), f"shipped {name}")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"shipped {name} is not valid TOML: {exc}") from exc


@functools.lru_cache(maxsize=8)
def _user_tables(path: str) -> tuple[KnownTable, ...]:
    from needle.config import read_toml

    return _entries(read_toml(path, "JPEG table list"), f"JPEG table list {path}")


def _entries(data: object, what: str) -> tuple[KnownTable, ...]:
    items = data.get("table", []) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{what}: expected [[table]] entries")
    return tuple(_entry(item, f"{what}, entry {i + 1}") for i, item in enumerate(items))


def _entry(item: object, where: str) -> KnownTable:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: each [[table]] must be a table")
    text = {k: item.get(k) for k in ("name", "kind", "source", "dqt_md5", "subsampling")}
    for key in ("name", "kind", "source"):
        if not isinstance(text[key], str) or not str(text[key]).strip():
            raise ConfigError(f"{where}: '{key}' is required (every entry cites its source)")
    name = str(text["name"])
    if text["kind"] not in _KINDS:
        raise ConfigError(f"{where} ({name}): kind must be 'camera' or 'software'")
    digest = str(text["dqt_md5"] or "").lower()
    if digest and (len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest)):
        raise ConfigError(f"{where} ({name}): dqt_md5 must be 32 hex digits")
    luminance = _table(item.get("luminance"), "luminance", where, name)
    chrominance = _table(item.get("chrominance"), "chrominance", where, name)
    if bool(digest) == bool(luminance):
        raise ConfigError(f"{where} ({name}): give either dqt_md5 or luminance (+ chrominance)")
    quality = ijg_quality(luminance, chrominance) if luminance else None
    if quality is not None:
        raise ConfigError(
            f"{where} ({name}): these are libjpeg's standard tables at quality {quality}, "
            "which needle recognises already; to tell a camera that writes them from "
            "software, give the file's dqt_md5 (it also records how the tables are laid out)"
        )
    makes = item.get("makes", [])
    if not isinstance(makes, list) or not all(isinstance(m, str) for m in makes):
        raise ConfigError(f"{where} ({name}): makes must be a list of strings")
    subsampling = item.get("subsampling", "")
    if not isinstance(subsampling, str):
        raise ConfigError(f"{where} ({name}): subsampling must be a string such as '221111'")
    return KnownTable(
        name=name,
        kind=str(text["kind"]),
        source=str(text["source"]).strip(),
        dqt_md5=digest,
        luminance=luminance,
        chrominance=chrominance,
        subsampling=subsampling.lower(),
        makes=tuple(makes),
    )


def _table(value: object, key: str, where: str, name: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not (
        isinstance(value, list)
        and len(value) == 64
        and all(isinstance(v, int) and 1 <= v <= 65535 for v in value)
    ):
        raise ConfigError(f"{where} ({name}): {key} must be 64 integers from 1 to 65535")
    return tuple(int(v) for v in value)
