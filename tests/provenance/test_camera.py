"""Camera-original evidence: JPEG quantisation tables, EXIF maker notes, dates and sizes, the
EXIF thumbnail against the picture, generator-typical sizes, and the ``camera_original``
verdict built from them.

Every picture here is synthesised (``conftest.photo_like``) or comes from the shared test data
and Debian's installed wallpapers. EXIF blocks are written by ``exif_block`` below (Pillow
does not write IFD1, where a thumbnail lives).
"""

from __future__ import annotations

import io
import json
import random
import struct
from pathlib import Path

import pytest
from PIL import Image

from conftest import photo_like, run_cli
from needle.errors import ConfigError
from needle.media import decode_image
from needle.provenance import ProvenanceOptions, ProvenanceResult, examine
from needle.provenance.camera import camera_verdict
from needle.provenance.model import ProvenanceEvidence
from needle.provenance.quantization import (
    IJG_CHROMINANCE,
    IJG_LUMINANCE,
    identify,
    ijg_table,
    load_tables,
    read_tables,
)
from needle.provenance.thumbnail import MAX_THUMBNAIL_BYTES

WALLPAPERS = Path("/usr/share/backgrounds")
EXIF_ROTATION = Path("pdq") / "reg-test-input" / "exif-rotn"
GENERATORS = Path("provenance") / "generators"

#: a Samsung-style maker note: a bare little-endian IFD of two entries (the exif-rotn photos'
#: starts the same way)
MAKER_NOTE = (
    struct.pack("<H", 2)
    + struct.pack("<HHI4s", 0x0001, 7, 4, b"0100")
    + struct.pack("<HHII", 0x0002, 4, 1, 0x1000)
    + struct.pack("<I", 0)
)
#: tables no library computes (not libjpeg's at any quality), standing in for a camera's
CAMERA_LUMA = [2 + (i % 8) + (i // 8) for i in range(64)]
CAMERA_CHROMA = [3 + (i % 8) * 2 + (i // 8) for i in range(64)]

# --- building test files ---------------------------------------------------------------------


def _value(value: object) -> tuple[int, int, bytes]:
    """TIFF type, count and little-endian bytes of a Python value."""
    if isinstance(value, str):
        raw = value.encode() + b"\x00"
        return 2, len(raw), raw
    if isinstance(value, bytes):
        return 7, len(value), value
    if isinstance(value, int):
        return 4, 1, struct.pack("<I", value)
    if isinstance(value, tuple):  # rationals
        return 5, len(value), b"".join(struct.pack("<II", n, d) for n, d in value)
    raise TypeError(value)


def exif_block(
    ifd0: dict[int, object],
    exif: dict[int, object] | None = None,
    gps: dict[int, object] | None = None,
    thumbnail: bytes | None = None,
) -> bytes:
    """A little-endian TIFF block: IFD0, the Exif and GPS IFDs, and IFD1 with a JPEG
    thumbnail, values after the directories, the thumbnail last."""
    ifd0 = dict(ifd0)
    if exif is not None:
        ifd0[0x8769] = 0
    if gps is not None:
        ifd0[0x8825] = 0
    ifd1 = {0x0103: 6, 0x0201: 0, 0x0202: len(thumbnail)} if thumbnail is not None else None
    dirs = [d for d in (ifd0, exif, gps, ifd1) if d is not None]
    offsets, at = [], 8
    for d in dirs:
        offsets.append(at)
        at += 2 + 12 * len(d) + 4
    data_at = at
    values = [{tag: _value(v) for tag, v in d.items()} for d in dirs]
    blobs = b"".join(
        raw for vs in values for _, _, raw in (vs[t] for t in sorted(vs)) if len(raw) > 4
    )
    thumb_at = data_at + len(blobs)
    where = dict(zip([id(d) for d in dirs], offsets, strict=True))
    if exif is not None:
        values[0][0x8769] = _value(where[id(exif)])
    if gps is not None:
        values[0][0x8825] = _value(where[id(gps)])
    if ifd1 is not None:
        values[-1][0x0201] = _value(thumb_at)
    out, blob_at = b"II*\x00" + struct.pack("<I", 8), data_at
    for i, vs in enumerate(values):
        next_ifd = offsets[-1] if (i == 0 and ifd1 is not None) else 0
        out += struct.pack("<H", len(vs))
        for tag in sorted(vs):
            typ, count, raw = vs[tag]
            if len(raw) <= 4:
                out += struct.pack("<HHI", tag, typ, count) + raw.ljust(4, b"\x00")
            else:
                out += struct.pack("<HHII", tag, typ, count, blob_at)
                blob_at += len(raw)
        out += struct.pack("<I", next_ifd)
    return out + blobs + (thumbnail or b"")


def jpeg(image: Image.Image, *, exif: bytes | None = None, **save: object) -> bytes:
    buf = io.BytesIO()
    if exif is not None:
        save["exif"] = b"Exif\x00\x00" + exif
    image.save(buf, "JPEG", **save)
    return buf.getvalue()


def one_dqt_segment(data: bytes) -> bytes:
    """The JPEG with its DQT segments merged into one, as some phones write them."""
    pos, parts, tables, first = 2, [data[:2]], b"", None
    while data[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos : pos + 2 + length]
        if data[pos + 1] == 0xDB:
            tables += segment[4:]
            first = len(parts) if first is None else first
        else:
            parts.append(segment)
        pos += 2 + length
    assert first is not None
    parts.insert(first, b"\xff\xdb" + struct.pack(">H", len(tables) + 2) + tables)
    return b"".join(parts) + data[pos:]


def capture(
    *,
    picture: Image.Image | None = None,
    thumb_of: Image.Image | None = None,
    make: str | None = "samsung",
    maker_note: bytes | None = MAKER_NOTE,
    saved: str = "2024:05:01 10:00:00",
    software: str | None = "G930VVRS4BQI1",
    orientation: int | None = None,
    exif_size: tuple[int, int] | None = None,
    user_comment: bytes | None = None,
    **save: object,
) -> bytes:
    """A camera-like JPEG of ``picture``: EXIF naming a camera (``make``), a maker note,
    capture and save dates, GPS, and a 160x120 thumbnail of ``thumb_of`` when given; saved
    with ``save`` (Pillow's JPEG options: ``quality``, ``qtables`` ...)."""
    picture = picture or photo_like(7)
    ifd0: dict[int, object] = {0x0132: saved}
    if make:
        ifd0 |= {0x010F: make, 0x0110: "SM-G930V"}
    if software:
        ifd0[0x0131] = software
    if orientation:
        ifd0[0x0112] = orientation
    width, height = exif_size or picture.size
    exif: dict[int, object] = {0x9003: "2024:05:01 10:00:00", 0xA002: width, 0xA003: height}
    if maker_note is not None:
        exif[0x927C] = maker_note
    if user_comment is not None:
        exif[0x9286] = user_comment
    gps: dict[int, object] = {
        0x0002: ((38, 1), (58, 1), (40, 1)),
        0x0004: ((77, 1), (1, 1), (23, 1)),
    }
    thumb = None
    if thumb_of is not None:
        small = thumb_of.resize((160, 120))
        thumb = jpeg(small, quality=80)
    block = exif_block(ifd0, exif, gps, thumb)
    return jpeg(picture, exif=block, **save)


def kinds(result: ProvenanceResult) -> dict[str, ProvenanceEvidence]:
    return {e.kind: e for e in result.camera_evidence}


def user_tables(tmp_path: Path, *, kind: str = "camera", makes: str = '["samsung"]') -> str:
    path = tmp_path / "tables.toml"
    path.write_text(
        f"""
[[table]]
name = "Test camera"
kind = "{kind}"
makes = {makes}
source = "synthesised in tests/provenance/test_camera.py"
luminance = {CAMERA_LUMA}
chrominance = {CAMERA_CHROMA}
""",
        encoding="utf-8",
    )
    return str(path)


# --- quantisation tables ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quality", "exiftool"),
    [  # ExifTool lib/Image/ExifTool/JPEGDigest.pm, 'Independent JPEG Group library ...'
        (1, "f83c5bc303fa1f74265863c2c6844edf"),
        (50, "ffcd5eab8daeced571d59d4cdcc002c4"),
        (75, "2851eea5e15f1b977c1496a77c884b4f"),
        (90, "50325a7b6e0a9b7f9aea8f5a6f7f31aa"),
        (100, "a97591462e9b2339efd4f88ca97bb471"),
    ],
)
def test_digest_is_exiftools(quality: int, exiftool: str) -> None:
    found = read_tables(jpeg(photo_like(1, (64, 64)), quality=quality))
    assert found is not None
    assert found.digest == exiftool
    assert found.subsampling == "221111"


def test_every_libjpeg_quality_is_recognised() -> None:
    picture = photo_like(2, (64, 64))
    for quality in range(1, 101):
        found = read_tables(jpeg(picture, quality=quality))
        assert found is not None
        assert found.luminance == ijg_table(IJG_LUMINANCE, quality)
        assert found.chrominance == ijg_table(IJG_CHROMINANCE, quality)
        match = identify(found, load_tables())
        assert (match.kind, match.quality) == ("libjpeg", quality)


def test_layout_tells_a_phone_from_libjpeg() -> None:
    """The same standard tables at quality 96: libjpeg writes one DQT segment per table, the
    Samsung SM-G930V one segment for both (its entry in the shipped list)."""
    saved = jpeg(photo_like(3), quality=96)
    libjpeg = read_tables(saved)
    assert libjpeg is not None and identify(libjpeg, load_tables()).kind == "libjpeg"
    phone = read_tables(one_dqt_segment(saved))
    assert phone is not None and phone.digest == "35686967efa5fb333fb8f4844efc33a3"
    match = identify(phone, load_tables())
    assert match.kind == "camera" and "SM-G930V" in match.entries[0].name


def test_photoshop_tables_in_the_shared_files(testdata: Path) -> None:
    for name in ("pdq/misc-images/wee.jpg", "provenance/c2pa/cloud.jpg"):
        result = examine((testdata / name).read_bytes())
        item = kinds(result)["quantization"]
        assert (item.strength, item.indicates) == ("moderate", "edited")
        assert "Photoshop" in item.detail


def test_table_file_rules(tmp_path: Path) -> None:
    assert all(t.source for t in load_tables())
    bad = tmp_path / "bad.toml"
    bad.write_text('[[table]]\nname = "x"\nkind = "camera"\ndqt_md5 = "' + "0" * 32 + '"\n')
    with pytest.raises(ConfigError, match="source"):
        load_tables(str(bad))
    libjpeg = list(ijg_table(IJG_LUMINANCE, 90))
    bad.write_text(f'[[table]]\nname = "x"\nkind = "camera"\nsource = "s"\nluminance = {libjpeg}\n')
    with pytest.raises(ConfigError, match="standard tables at quality 90"):
        load_tables(str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        load_tables(str(tmp_path / "missing.toml"))


# --- the verdict on synthesised captures ----------------------------------------------------


def test_untouched_capture_with_a_phones_tables_is_likely() -> None:
    picture = photo_like(11)
    data = one_dqt_segment(capture(picture=picture, thumb_of=picture, quality=96))
    result = examine(data)
    assert result.ai_generated == "unknown"
    assert result.camera_original == "likely", result.camera_reason
    found = kinds(result)
    for kind in ("makernote", "thumbnail", "quantization"):
        assert (found[kind].strength, found[kind].indicates) == ("moderate", "camera")
    assert "camera original likely" in result.summary()
    assert result.to_dict()["camera_original"] == "likely"
    assert result.to_dict()["camera_evidence"]


def test_thumbnail_match_with_libjpeg_tables_is_possible_not_likely() -> None:
    picture = photo_like(12)
    result = examine(capture(picture=picture, thumb_of=picture, quality=90))
    assert kinds(result)["thumbnail"].indicates == "camera"
    assert kinds(result)["quantization"].strength == "weak"
    assert "compressed at least twice" in kinds(result)["quantization"].detail
    assert result.camera_original == "possible"
    assert "weak editing trace" in result.camera_reason


def test_unknown_tables_are_neutral() -> None:
    picture = photo_like(16)
    data = capture(picture=picture, thumb_of=picture, qtables=[CAMERA_LUMA, CAMERA_CHROMA])
    result = examine(data)
    assert kinds(result)["quantization"].indicates == "info"
    assert result.camera_original == "likely", result.camera_reason  # the thumbnail suffices


def test_user_camera_tables_make_it_likely(tmp_path: Path) -> None:
    data = capture(qtables=[CAMERA_LUMA, CAMERA_CHROMA])  # no thumbnail
    assert examine(data).camera_original == "possible"  # unknown tables: neutral
    options = ProvenanceOptions(camera_tables=user_tables(tmp_path))
    result = examine(data, options=options)
    assert kinds(result)["quantization"].indicates == "camera"
    assert result.camera_original == "likely", result.camera_reason


def test_camera_tables_alone_are_possible(tmp_path: Path) -> None:
    data = jpeg(photo_like(14), qtables=[CAMERA_LUMA, CAMERA_CHROMA])
    options = ProvenanceOptions(camera_tables=user_tables(tmp_path))
    assert examine(data, options=options).camera_original == "possible"


def test_camera_tables_of_another_make_are_an_inconsistency(tmp_path: Path) -> None:
    picture = photo_like(15)
    data = capture(picture=picture, thumb_of=picture, qtables=[CAMERA_LUMA, CAMERA_CHROMA])
    options = ProvenanceOptions(camera_tables=user_tables(tmp_path, makes='["Nikon"]'))
    item = kinds(examine(data, options=options))["quantization"]
    assert (item.strength, item.indicates) == ("weak", "edited")


def test_mismatching_thumbnail_is_editing() -> None:
    data = one_dqt_segment(capture(picture=photo_like(21), thumb_of=photo_like(22), quality=96))
    result = examine(data)
    thumb = kinds(result)["thumbnail"]
    assert (thumb.strength, thumb.indicates) == ("moderate", "edited")
    assert result.camera_original == "unknown"
    assert "edited since" in result.camera_reason


def test_no_maker_note_and_no_thumbnail() -> None:
    result = examine(capture(maker_note=None, quality=90))
    assert "makernote" not in kinds(result) and "thumbnail" not in kinds(result)
    assert result.camera_original == "unknown"
    assert "says nothing" in result.camera_reason


def test_maker_note_without_thumbnail_is_possible() -> None:
    result = examine(capture(quality=90))
    assert kinds(result)["makernote"].indicates == "camera"
    assert result.camera_original == "possible"


def test_later_save_date_is_editing() -> None:
    picture = photo_like(23)
    data = one_dqt_segment(
        capture(picture=picture, thumb_of=picture, saved="2024:06:01 09:00:00", quality=96)
    )
    result = examine(data)
    dates = [e for e in result.camera_evidence if e.field.startswith("EXIF DateTime")]
    assert (dates[0].strength, dates[0].indicates) == ("moderate", "edited")
    assert "31 days" in dates[0].detail
    assert result.camera_original == "unknown"


def test_editor_in_software_blocks_likely() -> None:
    picture = photo_like(24)
    data = one_dqt_segment(
        capture(picture=picture, thumb_of=picture, software="GIMP 2.10.34", quality=96)
    )
    result = examine(data)
    assert any(e.kind == "software" and e.indicates == "edited" for e in result.evidence)
    assert result.camera_original == "possible"


def test_resized_after_capture_is_editing() -> None:
    picture = photo_like(25)
    data = capture(picture=picture, thumb_of=picture, exif_size=(4032, 3024), quality=96)
    item = next(e for e in examine(data).camera_evidence if "PixelXDimension" in e.field)
    assert (item.strength, item.indicates) == ("moderate", "edited")


def test_ai_evidence_prevents_a_camera_verdict() -> None:
    picture = photo_like(26)
    params = b"ASCII\x00\x00\x00a teapot\nSteps: 20, Sampler: Euler a, Seed: 1, Model: m1"
    data = one_dqt_segment(
        capture(picture=picture, thumb_of=picture, user_comment=params, quality=96)
    )
    result = examine(data)
    assert result.ai_generated == "claimed"
    assert result.camera_original == "unknown"
    assert "AI evidence" in result.camera_reason


def test_rule_weak_ai_evidence_does_not_decide() -> None:
    traces = [
        ProvenanceEvidence("exif", "c", "weak", "camera", "EXIF Make/Model"),
        ProvenanceEvidence("makernote", "m", "moderate", "camera", "EXIF MakerNote"),
        ProvenanceEvidence("thumbnail", "t", "moderate", "camera", "EXIF thumbnail (IFD1)"),
    ]
    assert camera_verdict(traces)[0] == "likely"
    weak_ai = ProvenanceEvidence("geometry", "g", "weak", "ai", "image size")
    assert camera_verdict([*traces, weak_ai])[0] == "likely"
    watermark = ProvenanceEvidence("watermark", "w", "moderate", "ai", "pixels")
    assert camera_verdict([*traces, watermark])[0] == "unknown"
    assert camera_verdict([])[0] == "unknown"  # no evidence at all: nothing either way


def test_thumbnail_follows_the_pictures_orientation() -> None:
    """The thumbnail is stored the way the picture is; both are turned by the same tag."""
    picture = photo_like(27)
    data = capture(picture=picture, thumb_of=picture, orientation=6, quality=90)
    assert kinds(examine(data))["thumbnail"].indicates == "camera"


def test_the_callers_decoded_image_is_used() -> None:
    """Given the scan's decoded image, the thumbnail is compared with it (no second decode):
    the decoded image of another picture makes the same file read as a mismatch."""
    picture = photo_like(28)
    data = capture(picture=picture, thumb_of=picture, quality=90)
    own = decode_image(data, draft_size=256)
    assert kinds(examine(data, image=own))["thumbnail"].indicates == "camera"
    other = decode_image(jpeg(photo_like(29)), draft_size=256)
    assert kinds(examine(data, image=other))["thumbnail"].indicates == "edited"


@pytest.mark.parametrize(
    ("size", "words"),
    [((1024, 1024), "SDXL"), ((832, 1216), "SDXL"), ((768, 1280), "multiples of 64")],
)
def test_generator_sizes_are_weak_ai_evidence(size: tuple[int, int], words: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 100, 110)).save(buf, "PNG")
    result = examine(buf.getvalue(), options=ProvenanceOptions(watermark="never"))
    item = kinds(result)["geometry"]
    assert (item.strength, item.indicates) == ("weak", "ai") and words in item.detail
    assert result.ai_generated == "unknown"


# --- hostile EXIF ----------------------------------------------------------------------------


def _hostile(thumbnail: bytes | None = None, maker_note: bytes = MAKER_NOTE) -> bytes:
    block = exif_block(
        {0x010F: "samsung", 0x0110: "SM-G930V"},
        {0x927C: maker_note},
        None,
        thumbnail,
    )
    return jpeg(photo_like(31, (320, 240)), exif=block)


def _never_raised(result: ProvenanceResult) -> None:
    assert not any("stopped early" in e for e in result.errors), result.errors


@pytest.mark.parametrize(
    ("note", "words"),
    [
        (bytes(random.Random(1).randrange(256) for _ in range(300)), "not a directory"),
        (b"Nikon\x00\x02\x10\x00\x00" + b"\xff" * 60, "no readable directory"),
        (b"\xff\xff" + b"\x00" * 40, "not a directory"),
        (b"\x01\x00" + struct.pack("<HHI", 1, 99, 1) + b"\x00" * 8, "not a directory"),
    ],
)
def test_bogus_maker_notes_do_not_parse(note: bytes, words: str) -> None:
    result = examine(_hostile(maker_note=note))
    item = kinds(result)["makernote"]
    assert (item.indicates, item.strength) == ("info", "weak") and words in item.detail
    assert result.camera_original == "unknown"
    _never_raised(result)


def test_oversized_thumbnail_is_not_decoded() -> None:
    big = b"\xff\xd8" + b"\x00" * (MAX_THUMBNAIL_BYTES + 10)
    block = exif_block({0x010F: "samsung"}, {}, None, big)
    # too big for a JPEG APP1 segment: carried in a WebP EXIF chunk instead
    webp = io.BytesIO()
    photo_like(32, (64, 64)).save(webp, "WEBP", exif=b"Exif\x00\x00" + block)
    result = examine(webp.getvalue())
    assert any("256 KiB" in e for e in result.errors), result.errors
    _never_raised(result)


@pytest.mark.parametrize(
    "thumbnail",
    [
        b"not a jpeg at all",
        jpeg(photo_like(33, (160, 120)))[:200],  # truncated
        jpeg(Image.new("RGB", (8, 8)))[:-2],
        # a header claiming 30000 x 30000 pixels: refused before decoding
        b"\xff\xd8\xff\xc0"
        + struct.pack(">HBHHBBBB", 11, 8, 30000, 30000, 1, 1, 0x11, 0)
        + b"\xff\xd9",
    ],
)
def test_broken_thumbnails_are_noted_not_raised(thumbnail: bytes) -> None:
    result = examine(_hostile(thumbnail))
    _never_raised(result)
    assert "thumbnail" not in kinds(result) or kinds(result)["thumbnail"].indicates != "camera"


def test_thumbnail_pointing_outside_the_block() -> None:
    block = bytearray(exif_block({0x010F: "samsung"}, None, None, b"\xff\xd8\xff\xd9"))
    at = block.find(struct.pack("<HHI", 0x0201, 4, 1))
    block[at + 8 : at + 12] = struct.pack("<I", 60_000)
    result = examine(jpeg(photo_like(34, (64, 64)), exif=bytes(block)))
    assert any("outside the EXIF block" in e for e in result.errors)


def test_mutated_exif_never_raises() -> None:
    picture = photo_like(35, (256, 192))
    good = capture(picture=picture, thumb_of=picture, quality=90)
    start = good.index(b"Exif\x00\x00") + 6
    end = start + struct.unpack(">H", good[start - 8 : start - 6])[0] - 8
    rng = random.Random(7)
    for _ in range(150):
        data = bytearray(good)
        for _ in range(rng.randrange(1, 12)):
            data[rng.randrange(start, end)] = rng.randrange(256)
        _never_raised(examine(bytes(data), options=ProvenanceOptions(watermark="never")))


# --- shared photos, generator files, wallpapers ----------------------------------------------


def test_phone_captures_read_likely(testdata: Path) -> None:
    photos = sorted((testdata / EXIF_ROTATION).glob("*.jpg"))
    assert len(photos) == 4
    for path in photos:
        result = examine(path.read_bytes(), filename=path.name)
        assert result.camera_original == "likely", (path.name, result.camera_reason)
        assert {"makernote", "thumbnail", "quantization"} <= set(kinds(result))


def test_generator_files_are_never_camera_originals(testdata: Path) -> None:
    files = [p for p in sorted((testdata / GENERATORS).rglob("*")) if p.is_file()]
    files = [p for p in files if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp")]
    assert files
    for path in files:
        result = examine(path.read_bytes(), filename=path.name)
        assert result.camera_original == "unknown", (path.name, result.camera_reason)


#: Wood.jpg (mate-backgrounds) is an untouched camera file: Konica Minolta DiMAGE Z5 at its
#: native 2560x1920, EXIF written first with no JFIF segment, Software 'DiMAGE Z5 v1.01',
#: DateTime equal to DateTimeOriginal, a Minolta maker note, both quantisation tables in one
#: DQT segment (not libjpeg's) and a 160x120 thumbnail of the same picture. It reads likely,
#: correctly; every other wallpaper was re-saved by software and must not.
UNTOUCHED_WALLPAPERS = {"Wood.jpg"}


def test_no_edited_wallpaper_reads_likely_and_none_reads_ai() -> None:
    files = sorted(WALLPAPERS.rglob("*.jpg")) if WALLPAPERS.is_dir() else []
    if not files:
        pytest.skip(f"needs Debian's wallpapers under {WALLPAPERS} (mate-backgrounds ...)")
    likely = set()
    for path in files:
        result = examine(path.read_bytes(), filename=path.name)
        _never_raised(result)
        assert result.ai_generated not in ("claimed", "likely"), path.name  # nor AI
        if result.camera_original == "likely":
            likely.add(path.name)
            assert not any(e.indicates == "edited" for e in result.camera_evidence)
    assert likely <= UNTOUCHED_WALLPAPERS


# --- the command -----------------------------------------------------------------------------


def test_cli_prints_the_camera_verdict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    picture = photo_like(41)
    path = tmp_path / "capture.jpg"
    path.write_bytes(one_dqt_segment(capture(picture=picture, thumb_of=picture, quality=96)))
    code, out, _ = run_cli(capsys, "provenance", str(path))
    assert code == 0
    assert "ai-generated: unknown" in out
    assert "camera original: likely" in out
    assert "camera-original evidence:" in out and "maker note" in out
    code, out, _ = run_cli(capsys, "provenance", "--json", str(path))
    row = json.loads(out)
    assert row["camera_original"] == "likely" and row["camera_evidence"]


def test_cli_camera_tables_option(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    picture = photo_like(42)
    path = tmp_path / "capture.jpg"
    path.write_bytes(
        capture(picture=picture, thumb_of=picture, qtables=[CAMERA_LUMA, CAMERA_CHROMA])
    )
    tables = user_tables(tmp_path)
    code, out, _ = run_cli(capsys, "provenance", "--camera-tables", tables, str(path))
    assert code == 0 and "camera original: likely" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[[table]]\nname = 1\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "provenance", "--camera-tables", str(bad), str(path))
    assert code != 0 and "name" in (out + err)


def test_samsung_entry_is_the_shared_photos_tables(testdata: Path) -> None:
    """The shipped Samsung entry: libjpeg's standard quality-96 tables in one DQT segment."""
    found = read_tables((testdata / EXIF_ROTATION / "exif-rotn-1.jpg").read_bytes())
    assert found is not None
    assert found.digest == "35686967efa5fb333fb8f4844efc33a3"
    assert found.luminance == ijg_table(IJG_LUMINANCE, 96)
    assert found.chrominance == ijg_table(IJG_CHROMINANCE, 96)
    assert (found.segments, found.one_per_segment) == (1, False)
