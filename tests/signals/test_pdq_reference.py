"""PDQ on the ThreatExchange reference images (../shared/testdata/pdq), through the fast path.

Every image is decoded the way ``needle scan`` decodes it (``draft_size=PDQ_DRAFT_SIZE``);
correctness is the reference's own: within distance 10 of the C++ hash for quality >= 80.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from needle.media import decode_image
from needle.signals import Signal
from needle.signals.pdq import (
    PDQ,
    PDQ_DRAFT_SIZE,
    PDQ_MATCH_DISTANCE,
    PDQ_REFERENCE_TOLERANCE,
    pdq_hash,
    pdq_hash_pixels,
)

distance = PDQ.distance

# the reference hashes are of the stored pixels; needle turns EXIF-rotated photos upright, so
# these match through the variant that names how the stored file is turned
_EXIF_VARIANT = {
    "exif-rotn-1.jpg": "original",
    "exif-rotn-3.jpg": "rotate180",
    "exif-rotn-6.jpg": "rotate270",  # stored a quarter turn left of upright
    "exif-rotn-8.jpg": "rotate90",
}


def _hash(path: Path) -> Signal:
    return pdq_hash(decode_image(path.read_bytes(), draft_size=PDQ_DRAFT_SIZE))


def _reference_rows(testdata: Path) -> list[dict[str, str]]:
    with open(testdata / "pdq" / "expected_pdqhash_cpp.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _closest(signal: Signal, target: str) -> tuple[str, int]:
    name, value = min(signal.variants, key=lambda v: distance(v[1], target))
    return name, distance(value, target)


def test_fast_path_is_within_reference_tolerance(testdata: Path) -> None:
    rows = [row for row in _reference_rows(testdata) if int(row["quality"]) >= 80]
    assert len(rows) >= 45
    for row in rows:
        path = testdata / "pdq" / row["path"]
        signal = _hash(path)
        expected = _EXIF_VARIANT.get(path.name, "original")
        variant = dict(signal.variants)[expected]
        assert distance(variant, row["pdq_hex"]) <= PDQ_REFERENCE_TOLERANCE, row["path"]
        assert _closest(signal, row["pdq_hex"])[0] == expected, row["path"]
        assert signal.quality is not None and signal.quality >= 80, row["path"]


@pytest.mark.slow
def test_full_resolution_is_bit_exact(testdata: Path) -> None:
    """On the stored pixels, as the reference saw them, needle's PDQ is the reference's."""
    for row in _reference_rows(testdata):
        with Image.open(testdata / "pdq" / row["path"]) as image:
            signal = pdq_hash_pixels(image.convert("RGB"))
        assert signal.quality == int(row["quality"]), row["path"]
        if int(row["quality"]) >= 50:
            assert signal.value == row["pdq_hex"], row["path"]


def test_bridge_edits_match_the_original(testdata: Path) -> None:
    folder = testdata / "pdq" / "bridge-mods"
    original = _hash(folder / "aaa-orig.jpg").value
    edits = sorted(folder.glob("*.jpg"))
    assert len(edits) == 12
    for path in edits:
        name, dist = _closest(_hash(path), original)
        assert dist <= PDQ_MATCH_DISTANCE, path.name
        assert name == "original", path.name


_DIH = {
    "bridge-1-original.jpg": "original",
    "bridge-2-rotate-90.jpg": "rotate90",
    "bridge-3-rotate-180.jpg": "rotate180",
    "bridge-4-rotate-270.jpg": "rotate270",
    "bridge-5-flipx.jpg": "flipx",
    "bridge-6-flipy.jpg": "flipy",
    "bridge-7-flip-plus-1.jpg": "flip-plus1",
    "bridge-8-flip-minus-1.jpg": "flip-minus1",
}


def test_rotated_and_flipped_copies_match_through_their_transform(testdata: Path) -> None:
    folder = testdata / "pdq" / "reg-test-input" / "dih"
    original = _hash(folder / "bridge-1-original.jpg").value
    assert sorted(p.name for p in folder.glob("*.jpg")) == sorted(_DIH)
    for filename, transform in _DIH.items():
        signal = _hash(folder / filename)
        name, dist = _closest(signal, original)
        assert name == transform, filename
        assert dist <= PDQ_MATCH_DISTANCE, filename
        if transform != "original":  # and only through it: the plain hash does not match
            assert distance(signal.value, original) > PDQ_MATCH_DISTANCE, filename


def test_unrelated_photos_match_neither_original(testdata: Path) -> None:
    pdq = testdata / "pdq"
    originals = [
        _hash(pdq / "bridge-mods" / "aaa-orig.jpg").value,
        _hash(pdq / "reg-test-input" / "dih" / "bridge-1-original.jpg").value,
    ]
    photos = sorted((pdq / "reg-test-input" / "labelme-subset").glob("*.jpg"))
    assert len(photos) == 7
    for path in photos:
        signal = _hash(path)
        for original in originals:
            nearest = min(distance(value, original) for _, value in signal.variants)
            assert nearest > PDQ_MATCH_DISTANCE, path.name


def test_exif_orientation_is_applied_to_camera_photos(testdata: Path) -> None:
    """Four shots of one desk, the camera held four ways and the EXIF tag saying so.

    They are separate photographs (differently framed, 110-136 bits apart however they are
    turned), so they do not hash alike; what shows that orientation was applied is that each
    upright hash matches the reference hash of its own stored pixels only through the variant
    naming how the stored picture is turned.
    """
    folder = testdata / "pdq" / "reg-test-input" / "exif-rotn"
    reference = {Path(row["path"]).name: row["pdq_hex"] for row in _reference_rows(testdata)}
    sizes = {1: (4032, 3024), 3: (4032, 3024), 6: (3024, 4032), 8: (3024, 4032)}
    for name, transform in _EXIF_VARIANT.items():
        decoded = decode_image((folder / name).read_bytes(), draft_size=PDQ_DRAFT_SIZE)
        orientation = int(name[-5])
        assert decoded.orientation == orientation, name
        assert (decoded.width, decoded.height) == (4032, 3024), name
        assert decoded.upright_size == sizes[orientation], name
        signal = pdq_hash(decoded)
        assert _closest(signal, reference[name]) == (
            transform,
            _closest(signal, reference[name])[1],
        )
        assert (
            distance(dict(signal.variants)[transform], reference[name]) <= PDQ_REFERENCE_TOLERANCE
        )
        if transform != "original":
            assert distance(signal.value, reference[name]) > PDQ_MATCH_DISTANCE, name


def test_every_pillow_mode_decodes_and_hashes_like_the_original(testdata: Path) -> None:
    folder = testdata / "pdq" / "misc-images" / "modes"
    original = _hash(folder / "original.jpg").value
    files = sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg", ".webp"))
    stored_modes = set()
    for path in files:
        with Image.open(path) as image:
            stored_modes.add(image.mode)
        decoded = decode_image(path.read_bytes(), draft_size=PDQ_DRAFT_SIZE)
        assert decoded.image.mode == "RGB", path.name
        assert np.asarray(decoded.image).std() > 20, path.name
        signal = pdq_hash(decoded)
        assert signal.quality == 100, path.name
        # every mode keeps the picture's luminance, so all stay within the reference tolerance
        assert distance(signal.value, original) <= PDQ_REFERENCE_TOLERANCE, path.name
    assert {"1", "L", "LA", "P", "RGBA", "CMYK", "RGB"} <= stored_modes


@pytest.mark.parametrize("name", ["q0003.jpg", "q0004.jpg"])
def test_low_quality_photos_are_hashed_with_their_quality(testdata: Path, name: str) -> None:
    signal = _hash(testdata / "pdq" / "reg-test-input" / "labelme-subset" / name)
    assert signal.quality is not None and signal.quality < 50
    assert len(signal.value) == 64 and int(signal.value, 16) != 0
