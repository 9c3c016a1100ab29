"""The worker decodes a file once: what it hashes and classifies is reduced from the same
decode that the watermark check reads at full resolution, and only what the stages need."""

from __future__ import annotations

from pathlib import Path

import pytest

import needle.media
from conftest import image_bytes, synth_image
from needle.media import Item, decode_image
from needle.pipeline.worker import ScanOptions, compute_file
from needle.provenance.options import ProvenanceOptions
from needle.signals.pdq import pdq_hash


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_keep_stored_gives_full_pixels_and_the_same_hash() -> None:
    data = image_bytes(synth_image(1, (1024, 768)), "PNG")
    plain = decode_image(data, draft_size=256)
    kept = decode_image(data, draft_size=256, keep_stored=lambda fmt, w, h: fmt == "PNG")
    assert kept.stored is not None and kept.stored.size == (1024, 768)
    assert plain.stored is None and kept.image.size == plain.image.size == (342, 256)
    assert _distance(pdq_hash(kept).value, pdq_hash(plain).value) <= 2
    jpeg = image_bytes(synth_image(2, (2048, 1536)), "JPEG", quality=92)
    kept_jpeg = decode_image(jpeg, draft_size=256, keep_stored=lambda fmt, w, h: True)
    drafted = decode_image(jpeg, draft_size=256)
    assert drafted.scale == 4 and kept_jpeg.scale == 6  # drafted in the DCT, or reduced by 6
    assert kept_jpeg.stored is not None and kept_jpeg.stored.size == (2048, 1536)
    assert _distance(pdq_hash(kept_jpeg).value, pdq_hash(drafted).value) <= 4


def test_a_generator_sized_file_is_decoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "render.png"
    path.write_bytes(image_bytes(synth_image(3, (768, 512)), "PNG"))

    def second_decode(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the watermark check decoded the file a second time")

    monkeypatch.setattr(needle.media, "decode_full", second_decode)
    record = compute_file(Item(str(path), 0, fs_path=str(path)), ScanOptions(provenance=True))
    assert record.error is None and record.provenance is not None
    check = record.provenance.watermark
    assert check is not None and check.attempted and check.level != "not_attempted"


def test_the_decode_size_follows_the_stages(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes(synth_image(4, (4096, 2048)), "JPEG"))
    item = Item(str(path), 0, fs_path=str(path))
    hashed = decode_image(path.read_bytes(), draft_size=256)
    assert hashed.scale == 8  # PDQ alone: a 256-pixel short side
    modelled = decode_image(path.read_bytes(), draft_size=256, draft_long=512)
    assert modelled.scale == 8 and modelled.image.size == (512, 256)
    wider = decode_image(path.read_bytes(), draft_size=256, draft_long=1024)
    assert wider.scale == 4 and wider.image.size == (1024, 512)
    assert compute_file(item, ScanOptions()).error is None


def test_keeps_pixels_follows_the_watermark_mode() -> None:
    auto = ProvenanceOptions()
    assert auto.keeps_pixels("PNG", 1024, 1024) and auto.keeps_pixels("JPEG", 832, 1216)
    assert not auto.keeps_pixels("JPEG", 1200, 800)  # not a generator's output size
    assert not auto.keeps_pixels("PNG", 4096, 4096)  # over decode_max_pixels
    assert not auto.keeps_pixels("PNG", 128, 128)  # under the algorithm's minimum
    assert ProvenanceOptions(watermark="always").keeps_pixels("JPEG", 1200, 800)
    assert not ProvenanceOptions(watermark="never").keeps_pixels("PNG", 1024, 1024)
