from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bombs import png_bomb, truncated_jpeg
from conftest import image_bytes, synth_image
from needle.errors import MediaError, MediaTooLarge, OutsideRoot
from needle.review import (
    BlurSettings,
    MediaUnavailable,
    media_bytes,
    revealed_image,
    review_item,
    thumbnail,
)
from needle.store import Store
from needle.store.quarantine import Quarantine, new_key
from review.flagged import file_ids, flagged, store_flagged


def _variance(data: bytes, size: tuple[int, int]) -> float:
    image = Image.open(io.BytesIO(data)).convert("L").resize(size)
    return float(np.asarray(image, dtype=np.float32).var())


def test_thumbnail_is_small_grey_and_blurred() -> None:
    original = image_bytes(synth_image(3, (800, 600)))
    thumb = thumbnail(original, BlurSettings(24, True))
    image = Image.open(io.BytesIO(thumb))
    assert image.format == "JPEG" and max(image.size) <= 256 and image.mode == "L"
    # blurring removes detail: far less variance than the original at the same size
    reference = Image.open(io.BytesIO(original)).convert("L").resize(image.size)
    sharp = np.asarray(reference, dtype=np.float32)
    blurred = np.asarray(image, dtype=np.float32)
    detail = lambda a: float(np.abs(np.diff(a, axis=1)).mean())  # noqa: E731
    assert detail(blurred) < detail(sharp) / 4
    colour = Image.open(io.BytesIO(thumbnail(original, BlurSettings(8, False))))
    assert colour.mode == "RGB"
    weaker = thumbnail(original, BlurSettings(8, True))
    assert _variance(thumb, (64, 48)) < _variance(weaker, (64, 48))


def test_revealed_image_is_a_fresh_jpeg_without_metadata() -> None:
    source = synth_image(4, (3000, 200))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    shown = revealed_image(image_bytes(source, exif=exif.tobytes()))
    image = Image.open(io.BytesIO(shown))
    assert image.format == "JPEG" and max(image.size) <= 2048
    assert not image.getexif()


@pytest.mark.parametrize(
    "data", [b"", b"not an image at all", truncated_jpeg(), png_bomb()], ids=lambda d: str(len(d))
)
def test_hostile_media_is_an_error_not_a_crash(data: bytes) -> None:
    with pytest.raises(MediaError):
        thumbnail(data, BlurSettings())
    with pytest.raises(MediaError):
        revealed_image(data)


def test_a_bomb_says_so() -> None:
    with pytest.raises(MediaTooLarge):
        thumbnail(png_bomb(), BlurSettings())


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    (root / "sub").mkdir(parents=True)
    return root


def _item(store: Store, root: Path, path: str, data: bytes | None):  # type: ignore[no-untyped-def]
    ids = file_ids(store, store_flagged(store, [str(root)], [flagged(path, "high", data=data)]))
    return review_item(store, ids[path])


def test_a_scanned_file_is_read_inside_its_roots(store: Store, evidence: Path) -> None:
    data = image_bytes(synth_image(1))
    (evidence / "sub" / "a.jpg").write_bytes(data)
    item = _item(store, evidence, f"{evidence}/sub/a.jpg", data)
    assert media_bytes(store, item, None) == data
    (evidence / "sub" / "a.jpg").write_bytes(image_bytes(synth_image(2)))
    with pytest.raises(MediaUnavailable, match="changed since it was scanned"):
        media_bytes(store, item, None)
    os.remove(evidence / "sub" / "a.jpg")
    with pytest.raises(MediaUnavailable, match="no longer on disk"):
        media_bytes(store, item, None)


def test_nothing_outside_the_roots_is_read(store: Store, evidence: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(image_bytes(synth_image(5)))
    outside = _item(store, evidence, str(secret), None)
    with pytest.raises(OutsideRoot):
        media_bytes(store, outside, None)
    climbing = _item(store, evidence, f"{evidence}/../secret.jpg", None)
    with pytest.raises(OutsideRoot):
        media_bytes(store, climbing, None)
    (evidence / "link.jpg").symlink_to(secret)
    linked = _item(store, evidence, f"{evidence}/link.jpg", None)
    with pytest.raises(OutsideRoot):
        media_bytes(store, linked, None)
    relative = _item(store, evidence, "secret.jpg", None)
    with pytest.raises(MediaUnavailable):
        media_bytes(store, relative, None)


def test_archive_members(store: Store, evidence: Path) -> None:
    data = image_bytes(synth_image(6))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("deep/b.jpg", data)
    with zipfile.ZipFile(evidence / "case.zip", "w") as z:
        z.writestr("dir/a.jpg", data)
        z.writestr("inner.zip", inner.getvalue())
    for member in ("dir/a.jpg", "inner.zip!deep/b.jpg"):
        item = _item(store, evidence, f"{evidence}/case.zip!{member}", data)
        assert media_bytes(store, item, None) == data
    gone = _item(store, evidence, f"{evidence}/case.zip!dir/missing.jpg", None)
    with pytest.raises(MediaUnavailable, match="no longer holds"):
        media_bytes(store, gone, None)
    (evidence / "plain.jpg").write_bytes(data)
    not_archive = _item(store, evidence, f"{evidence}/plain.jpg!x.jpg", None)
    with pytest.raises(MediaUnavailable, match="no archive"):
        media_bytes(store, not_archive, None)


def test_uploads_come_from_the_quarantine(store: Store, tmp_path: Path) -> None:
    data = image_bytes(synth_image(7))
    quarantine = Quarantine(tmp_path / "q", __import__("base64").b64decode(new_key()))
    ref = quarantine.put(data)
    item = _item(store, tmp_path / "none", f"upload:{ref}/photo.jpg", data)
    with pytest.raises(MediaUnavailable, match="not kept"):
        media_bytes(store, item, None)
    assert media_bytes(store, item, quarantine) == data
    other = _item(store, tmp_path / "none", f"upload:{'0' * 64}/x.jpg", None)
    with pytest.raises(MediaUnavailable, match="not kept"):
        media_bytes(store, other, quarantine)
    (tmp_path / "q" / ref[:2] / f"{ref}.sealed").write_bytes(b"NDLQ1" + b"\0" * 40)
    with pytest.raises(MediaUnavailable, match="authentication"):
        media_bytes(store, item, quarantine)
