"""Progressive JPEGs decoded at 1/8 from their DC scans: same luminance, same PDQ, hostile
bytes cost nothing but the shortcut."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import image_bytes, synth_image
from needle.errors import MediaError
from needle.media import decode_image
from needle.media.progressive import dc_only
from needle.signals.pdq import pdq_hash

LUMA = np.array([0.299, 0.587, 0.114])
WALLPAPERS = Path("/usr/share/backgrounds")


def _whole_file_at_eighth(data: bytes) -> Image.Image:
    """What Pillow gives for the whole file at 1/8 scale: the reference."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (image.width // 8, image.height // 8))
    image.load()
    return image.convert("RGB")


def _progressive(
    seed: int, size: tuple[int, int], subsampling: int, mode: str = "RGB", quality: int = 90
) -> bytes:
    picture = synth_image(seed, size).convert(mode)
    return image_bytes(picture, "JPEG", progressive=True, subsampling=subsampling, quality=quality)


@pytest.mark.parametrize(
    ("size", "subsampling"),
    [((2048, 1536), 0), ((2050, 1539), 1), ((2048, 1536), 2), ((2101, 1603), 2)],
    ids=["444", "422-odd", "420", "420-odd"],
)
def test_a_dc_decode_has_the_whole_files_luminance(size: tuple[int, int], subsampling: int) -> None:
    data = _progressive(3, size, subsampling)
    cut = dc_only(data)
    assert cut is not None and len(cut) < len(data) // 2
    reference = np.asarray(_whole_file_at_eighth(data), float)
    quick = np.asarray(_whole_file_at_eighth(cut), float)
    assert quick.shape == reference.shape
    luma_gap = np.abs(quick @ LUMA - reference @ LUMA)
    assert luma_gap.mean() < 0.5 and np.percentile(luma_gap, 99) < 4
    if subsampling != 2:  # chroma at full resolution or 4:2:2 is decoded from DC alone too
        assert np.array_equal(quick, reference)


def test_decode_image_takes_the_dc_path_and_the_hash_does_not_move() -> None:
    data = _progressive(5, (2400, 2048), 2)
    decoded = decode_image(data, draft_size=256)
    assert decoded.scale == 8 and decoded.image.size == (300, 256)
    assert decoded.width == 2400 and decoded.height == 2048
    whole = _whole_file_at_eighth(data)
    from needle.media.image import DecodedImage

    reference = DecodedImage(whole, "JPEG", 2400, 2048, 1, 8, 1)
    assert pdq_hash(decoded).value == pdq_hash(reference).value


def test_greyscale_and_exif_orientation_survive_the_cut() -> None:
    grey = _progressive(7, (2048, 2048), 0, mode="L")
    assert dc_only(grey) is not None
    assert decode_image(grey, draft_size=256).image.size == (256, 256)
    upright = synth_image(8, (2400, 1600))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown after a quarter turn clockwise
    turned = image_bytes(upright, "JPEG", progressive=True, exif=exif.tobytes())
    decoded = decode_image(turned, draft_size=200)
    assert decoded.orientation == 6 and decoded.image.size == (200, 300)


def test_files_it_does_not_apply_to_are_left_alone() -> None:
    baseline = image_bytes(synth_image(1, (1024, 1024)), "JPEG")
    assert dc_only(baseline) is None
    assert dc_only(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40) is None
    assert dc_only(b"") is None
    restart = image_bytes(
        synth_image(2, (1024, 1024)), "JPEG", progressive=True, restart_marker_blocks=4
    )
    assert dc_only(restart) is None  # restart intervals: decoded as the file is
    assert decode_image(restart, draft_size=128).scale == 8


def test_hostile_bytes_cost_only_the_shortcut() -> None:
    data = _progressive(9, (1600, 1280), 2)
    rng = np.random.default_rng(0)
    for trial in range(300):
        damaged = bytearray(data)
        if trial % 3 == 0:
            damaged = damaged[: int(rng.integers(2, len(data)))]
        else:
            for at in rng.integers(2, min(len(data), 2000), size=int(rng.integers(1, 6))):
                damaged[int(at)] = int(rng.integers(0, 256))
        cut = dc_only(bytes(damaged))  # never raises
        assert cut is None or len(cut) <= len(damaged) + 4 * 64  # a table and scan a component
        with contextlib.suppress(MediaError):
            decode_image(bytes(damaged), draft_size=128)


def test_a_huge_declared_size_makes_a_small_stream() -> None:
    data = bytearray(_progressive(4, (1024, 768), 0))
    sof = data.index(b"\xff\xc2")
    data[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") + (60000).to_bytes(2, "big")
    cut = dc_only(bytes(data))
    assert cut is not None and len(cut) < len(data) + 3 * 64 * 1024 // 8


@pytest.mark.skipif(
    not WALLPAPERS.is_dir(),
    reason="Debian's wallpapers are not installed (apt-get install mate-backgrounds)",
)
def test_installed_progressive_wallpapers_hash_the_same() -> None:
    progressive = []
    for path in sorted(WALLPAPERS.rglob("*.jp*g")):
        with Image.open(path) as image:
            if not path.is_symlink() and image.info.get("progressive"):
                progressive.append(path)
    if not progressive:
        pytest.skip("no progressive JPEG among the installed wallpapers")
    for path in progressive:
        data = path.read_bytes()
        cut = dc_only(data)
        assert cut is not None, path
        whole = np.asarray(_whole_file_at_eighth(data), float) @ LUMA
        quick = np.asarray(_whole_file_at_eighth(cut), float) @ LUMA
        assert np.abs(whole - quick).mean() < 0.5, path
