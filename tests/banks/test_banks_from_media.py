"""Bank entries computed from image files (``needle.banks.from_media``) and the PDQ of parts
of a picture they rest on (``needle.signals.regions``)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PIL import Image

from conftest import image_bytes, photo_like
from needle.banks.from_media import WHOLE_PICTURE, entries_from_bytes, entries_from_file
from needle.errors import CorruptMedia, MediaError
from needle.media import decode_image
from needle.signals.pdq import pdq_hash_pixels
from needle.signals.regions import BANK_REGIONS, Region, crop_region, region_signals


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_entries_of_a_picture_name_their_file_and_part() -> None:
    data = image_bytes(photo_like(5), "PNG")

    made = entries_from_bytes(data, "five.png", labels=("series-a",))

    sha256 = hashlib.sha256(data).hexdigest()
    assert [(e.signal_type, e.region) for e in made.entries] == [
        ("md5", None),
        ("sha256", None),
        ("pdq", None),
        *(("pdq", r.name) for r in BANK_REGIONS),
    ]
    assert made.entries[0].value == hashlib.md5(data).hexdigest()
    assert made.entries[1].value == sha256
    assert made.regions == len(BANK_REGIONS) == 4 and made.skipped == ()
    for entry in made.entries:
        assert entry.labels == ("series-a",) and entry.source == sha256
        assert entry.meta["source_file"] == "five.png"
    assert len({e.value for e in made.entries if e.signal_type == "pdq"}) == 5

    bare = entries_from_bytes(data, "five.png", labels=("series-a",), regions=())
    assert bare.entries == made.entries[:3] and bare.regions == 0


def test_low_quality_hashes_are_left_out_and_said() -> None:
    data = image_bytes(Image.new("RGB", (300, 200), (40, 120, 200)), "PNG")
    made = entries_from_bytes(data, "flat.png")
    assert [e.signal_type for e in made.entries] == ["md5", "sha256"]
    assert [s.part for s in made.skipped] == [WHOLE_PICTURE, *(r.name for r in BANK_REGIONS)]
    assert all(s.quality < s.floor == 50 for s in made.skipped)


def test_files_that_cannot_be_hashed_raise_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(CorruptMedia, match="empty"):
        entries_from_bytes(b"", "empty.jpg")
    with pytest.raises(MediaError, match="not an image"):
        entries_from_bytes(b"plain text, no picture", "notes.jpg")
    with pytest.raises(MediaError, match="cannot open"):
        entries_from_file(tmp_path / "missing.jpg")


def test_a_link_given_by_name_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.jpg"
    target.write_bytes(image_bytes(photo_like(6)))
    link = tmp_path / "link.jpg"
    os.symlink(target, link)
    made = entries_from_file(link)
    assert made.entries[0].meta["source_file"] == "link.jpg"
    assert [e.value for e in made.entries] == [e.value for e in entries_from_file(target).entries]


def test_a_part_of_a_reduced_decode_hashes_as_the_cropped_file() -> None:
    """Regions are cut from the scan's reduced decode; the hash is that of the full-size part."""
    image = photo_like(8, (2048, 1536))
    decoded = decode_image(image_bytes(image, quality=95), draft_size=512)
    assert decoded.scale == 2  # JPEG DCT-domain draft
    for region in BANK_REGIONS:
        part = crop_region(decoded, region)
        assert part is not None and part.upright_size[0] <= 2048
        full = pdq_hash_pixels(image.crop(region.box(*image.size)), dihedral=False)
        (found,) = region_signals(decoded, [region])
        assert distance(found.signal.value, full.value) <= 10  # PDQ_REFERENCE_TOLERANCE


def test_regions_are_rectangles_inside_the_picture() -> None:
    assert Region("centre 90%", 0.05, 0.05, 0.95, 0.95).box(200, 100) == (10, 5, 190, 95)
    with pytest.raises(ValueError, match="not a rectangle"):
        Region("upside down", 0.0, 0.9, 1.0, 0.1)
    tiny = decode_image(image_bytes(Image.new("RGB", (1, 1)), "PNG"))
    (found,) = region_signals(tiny, [BANK_REGIONS[0]])
    assert found.signal.quality == 0
