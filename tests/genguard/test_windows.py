"""Window hashes for trace-back: a synthesised output is found again through the index after a
10 % crop from one side or a corner, a halving, a 20-pixel border or JPEG; an unrelated picture
is not; the windows are the PDQ-style hash of the region they name; flat and tiny pictures give
no hashes rather than hashes that match anything.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from needle.genguard.windows import (
    CROP_STEPS,
    STORED_MARGINS,
    WINDOW_DISTANCE,
    _bits,
    _dct_matrix,
    _window_dct,
    query_hashes,
    query_intervals,
    stored_hashes,
)
from needle.match.pdq import PDQIndex, hamming_distances, pdq_array


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A benign synthetic picture: a smooth random colour field with blurred drawn shapes."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(coarse, "RGB").resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    w, h = size
    for _ in range(14):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        x1, y1 = x0 + int(rng.integers(20, w // 3)), y0 + int(rng.integers(20, h // 3))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=fill)
    return image.filter(ImageFilter.GaussianBlur(2))


def jpeg(image: Image.Image, quality: int = 85) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def crop(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
    )


EDITS = {
    "jpeg q85": jpeg,
    "crop 10 % one side": lambda im: crop(im, 0.1, 0, 0, 0),
    "crop 10 % corner": lambda im: crop(im, 0, 0, 0.1, 0.1),
    "crop 10 % area centred + jpeg": lambda im: jpeg(crop(im, *[(1 - 0.9**0.5) / 2] * 4)),
    "half size": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR),
    "20-px border": lambda im: ImageOps.expand(im, 20, fill=(250, 250, 250)),
}


@pytest.fixture(scope="module")
def ledger() -> tuple[PDQIndex, list[int]]:
    """An index over the stored hashes of three outputs; ``owner[row]`` is the output."""
    hashes: list[str] = []
    owner: list[int] = []
    for seed in (1, 2, 3):
        stored = stored_hashes(picture(seed))
        hashes += stored
        owner += [seed] * len(stored)
    return PDQIndex(hashes, threshold=WINDOW_DISTANCE), owner


def traced(ledger: tuple[PDQIndex, list[int]], image: Image.Image) -> set[int]:
    index, owner = ledger
    hits = index.query(query_hashes(image))
    return {owner[row] for row in hits.row.tolist()}


def test_shapes_and_types() -> None:
    stored = stored_hashes(picture(1))
    assert len(stored) == len(STORED_MARGINS)
    assert all(isinstance(h, str) and len(h) == 64 for h in stored)
    assert pdq_array(list(stored)).shape == (2, 32)
    queries = query_hashes(picture(1))
    assert queries.dtype == np.uint8 and queries.ndim == 2 and queries.shape[1] == 32
    most = sum(len(query_intervals(m)) ** 2 for m in STORED_MARGINS)
    assert 0.9 * most <= len(queries) <= most
    # each hash has exactly 128 bits set: coefficients above the median of 256
    assert (np.unpackbits(queries, axis=1).sum(axis=1) == 128).all()


@pytest.mark.parametrize("edit", list(EDITS))
def test_edited_copy_is_traced_to_its_output_only(
    ledger: tuple[PDQIndex, list[int]], edit: str
) -> None:
    assert traced(ledger, EDITS[edit](picture(2))) == {2}


def test_unrelated_picture_is_not_traced(ledger: tuple[PDQIndex, list[int]]) -> None:
    for seed in (11, 12):
        assert traced(ledger, jpeg(picture(seed))) == set()
        nearest = hamming_distances(query_hashes(picture(seed)), stored_hashes(picture(1)))
        assert nearest.min() > WINDOW_DISTANCE + 8  # and not by a hair


def test_a_one_sided_crop_needs_the_non_square_window() -> None:
    """The stored [0.2, 0.8] window of a copy cut 10 % from the left lies at x in
    [0.1/0.9, 0.7/0.9]: a window the grid has, and nearer than the uncut geometry."""
    original = picture(4)
    copy = crop(original, 0.1, 0, 0, 0)
    stored = pdq_array(list(stored_hashes(original)))[:1]
    assert 0.1 in CROP_STEPS and 0.0 in CROP_STEPS
    assert np.isclose(query_intervals(0.2), [0.1 / 0.9, 0.7 / 0.9]).all(axis=1).any()
    luma = np.asarray(copy.convert("L"), dtype=np.float64)
    right = np.array([[0.1 / 0.9, 0.7 / 0.9]])
    naive = np.array([[0.2, 0.8]])
    ys = np.array([[0.2, 0.8]])
    aligned = hamming_distances(_bits(_window_dct(luma, right, ys)[0]), stored)[0, 0]
    unaligned = hamming_distances(_bits(_window_dct(luma, naive, ys)[0]), stored)[0, 0]
    assert aligned <= WINDOW_DISTANCE // 2 < WINDOW_DISTANCE < unaligned


def test_window_dct_is_the_dct_of_cell_means() -> None:
    """The cumulative-sum shortcut gives the same coefficients as averaging each cell."""
    rng = np.random.default_rng(5)
    luma = rng.uniform(0, 255, (300, 400))
    # x from pixel 40 to 360 (cells of 5 pixels), y from 22 to 278 (cells of 4)
    xs, ys = np.array([[40 / 400, 360 / 400]]), np.array([[22 / 300, 278 / 300]])
    coefficients, rms = _window_dct(luma, xs, ys)
    cells = luma[22:278, 40:360].reshape(64, 4, 64, 5).mean(axis=(1, 3))
    dct = _dct_matrix()
    expected = dct @ cells @ dct.T
    np.testing.assert_allclose(coefficients[0] / 20, expected, atol=1e-6)
    assert rms[0] == pytest.approx(np.sqrt((expected**2).sum() / 64**2))


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (512, 512), (120, 130, 140)),
        Image.fromarray(  # flat but for a grey level of noise: its bits would be noise
            (128 + np.random.default_rng(0).integers(-1, 2, (400, 400))).astype(np.uint8), "L"
        ),
        Image.new("RGB", (10, 10), (0, 0, 0)),
        Image.new("L", (1, 300), 7),
    ],
    ids=["flat", "nearly flat", "tiny", "one pixel wide"],
)
def test_flat_or_tiny_pictures_give_no_hashes(image: Image.Image) -> None:
    assert stored_hashes(image) == ()
    queries = query_hashes(image)
    assert queries.shape == (0, 32) and queries.dtype == np.uint8
    index = PDQIndex(pdq_array(list(stored_hashes(picture(1)))), threshold=WINDOW_DISTANCE)
    assert len(index.query(queries)) == 0


@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "CMYK"])
def test_any_mode_is_hashed_like_rgb(mode: str) -> None:
    original = picture(6, (320, 320))
    converted = original.convert(mode)
    expected = stored_hashes(converted.convert("RGB"))
    got = stored_hashes(converted)
    assert len(got) == len(expected) == 2
    assert hamming_distances(list(got), list(expected)).diagonal().max() <= 4
