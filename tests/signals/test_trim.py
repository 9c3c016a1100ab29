"""Borders and caption bands: the ``trimmed`` PDQ variant finds the listed picture inside them.

Pictures are made here (``synth_image``: gradients and rectangles), given the everyday edits
(white padding, a black frame, a caption bar with a line of text drawn by Pillow, above or
below), saved as JPEG and decoded as a scan decodes them. The listed hash is the picture's
own PDQ at full resolution, as a hash list would hold it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import image_bytes, synth_image
from needle.banks.model import Bank, BankEntry
from needle.match import Matcher
from needle.media import decode_image
from needle.media.image import ORIENTATION_TRANSPOSE
from needle.signals import compute_signals
from needle.signals.pdq import (
    DIHEDRAL_DESCRIPTIONS,
    DIHEDRAL_TRANSFORMS,
    PDQ,
    PDQ_DRAFT_SIZE,
    PDQ_MATCH_DISTANCE,
    PDQ_REFERENCE_TOLERANCE,
    TRIMMED,
    pdq_hash,
    pdq_hash_pixels,
)
from needle.signals.trim import Trim, find_trim

distance = PDQ.distance
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
Edit = Callable[[Image.Image], Image.Image]


def padded(share: float, colour: tuple[int, int, int]) -> Edit:
    """The picture on a canvas ``share`` of each side larger on every side."""

    def edit(picture: Image.Image) -> Image.Image:
        dx, dy = round(picture.width * share), round(picture.height * share)
        canvas = Image.new("RGB", (picture.width + 2 * dx, picture.height + 2 * dy), colour)
        canvas.paste(picture, (dx, dy))
        return canvas

    return edit


def captioned(where: str, band: tuple[int, int, int], ink: tuple[int, int, int]) -> Edit:
    """A bar of 12 % of the height above or below the picture, with a line of text in it."""

    def edit(picture: Image.Image) -> Image.Image:
        height = round(picture.height * 0.12)
        canvas = Image.new("RGB", (picture.width, picture.height + height), band)
        canvas.paste(picture, (0, height if where == "top" else 0))
        middle = height // 2 if where == "top" else picture.height + height // 2
        font = ImageFont.load_default(size=max(8, round(height * 0.55)))
        draw = ImageDraw.Draw(canvas)
        draw.text((picture.width // 2, middle), "me when the build is green", ink, font, "mm")
        return canvas

    return edit


def scanned(picture: Image.Image, draft: int | None = PDQ_DRAFT_SIZE) -> dict[str, str]:
    """The PDQ variants of ``picture`` saved as JPEG and decoded for hashing."""
    decoded = decode_image(image_bytes(picture, quality=85), draft_size=draft)
    signal = pdq_hash(decoded)
    return {DIHEDRAL_TRANSFORMS[0]: signal.value, **dict(signal.variants)}


BORDERS = {
    "white padding 5 %": padded(0.05, WHITE),
    "black border 10 %": padded(0.10, BLACK),
}
CAPTIONS = {
    "white bar, black text, top": captioned("top", WHITE, BLACK),
    "white bar, black text, bottom": captioned("bottom", WHITE, BLACK),
    "black bar, white text, top": captioned("top", BLACK, WHITE),
    "black bar, white text, bottom": captioned("bottom", BLACK, WHITE),
}


# -- borders and captions are found, and the trimmed hash is the listed one --------------------


@pytest.mark.parametrize("draft", [PDQ_DRAFT_SIZE, None], ids=["reduced", "full"])
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", sorted(BORDERS))
def test_border_is_trimmed_back_to_the_listed_hash(name: str, seed: int, draft: int | None) -> None:
    picture = synth_image(seed, (640, 480))
    listed = pdq_hash_pixels(picture).value
    variants = scanned(BORDERS[name](picture), draft)
    # measured: 82-124 bits untrimmed, 0 trimmed
    assert distance(variants["original"], listed) > PDQ_MATCH_DISTANCE
    assert distance(variants[TRIMMED], listed) <= PDQ_REFERENCE_TOLERANCE


@pytest.mark.parametrize("draft", [PDQ_DRAFT_SIZE, None], ids=["reduced", "full"])
@pytest.mark.parametrize("name", sorted(CAPTIONS))
def test_caption_band_is_trimmed_back_to_the_listed_hash(name: str, draft: int | None) -> None:
    picture = synth_image(3, (640, 480))
    listed = pdq_hash_pixels(picture).value
    variants = scanned(CAPTIONS[name](picture), draft)
    # measured: 104-114 bits untrimmed, 0 trimmed
    assert distance(variants[TRIMMED], listed) <= PDQ_REFERENCE_TOLERANCE
    assert distance(variants[TRIMMED], listed) < distance(variants["original"], listed)


def pale(seed: int, sides: str) -> Image.Image:
    """A picture with a pale strip of its own (luma 247, as Debian's GreenTraditional
    wallpaper has) along ``sides`` ("all" or "bottom"): white padding or a white caption bar
    lies within ``TOLERANCE`` of that strip, so only a finer look tells where the edit ends
    and the picture begins."""
    canvas = Image.new("RGB", (640, 480), (247, 247, 247))
    if sides == "all":
        canvas.paste(synth_image(seed, (560, 400)), (40, 40))
    else:
        canvas.paste(synth_image(seed, (640, 440)), (0, 0))
    return canvas


@pytest.mark.parametrize("draft", [PDQ_DRAFT_SIZE, None], ids=["reduced", "full"])
@pytest.mark.parametrize(
    ("sides", "edit"),
    [("all", padded(0.05, WHITE)), ("bottom", captioned("bottom", WHITE, BLACK))],
    ids=["padding", "caption"],
)
def test_a_pale_edge_is_told_from_white_on_a_finer_look(
    sides: str, edit: Edit, draft: int | None
) -> None:
    picture = pale(6, sides)
    listed = pdq_hash_pixels(picture).value
    variants = scanned(edit(picture), draft)
    assert distance(variants[TRIMMED], listed) <= PDQ_REFERENCE_TOLERANCE
    assert distance(variants["original"], listed) > PDQ_MATCH_DISTANCE


def test_trim_finds_the_border_in_decoded_lines() -> None:
    picture = np.asarray(synth_image(4, (200, 100)), dtype=np.float32) @ np.float32([0.3, 0.6, 0.1])
    framed = np.full((140, 260), 255, dtype=np.float32)
    framed[25:125, 30:230] = picture  # 25 rows above, 15 below, 30 columns each side
    assert find_trim(framed) == Trim(top=25, bottom=15, left=30, right=30)
    assert Trim(25, 15, 30, 30).box(260, 140) == (30, 25, 230, 125)


def test_trimmed_hash_allows_for_exif_orientation_and_reduction() -> None:
    """The crop's axes follow the stored file's blocks, which run backwards on turned axes."""
    picture = synth_image(5, (1203, 901))  # odd sides: partial blocks at one end
    listed = pdq_hash_pixels(picture).value
    bordered = padded(0.05, WHITE)(picture)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: ROTATE_270 shows it upright
    stored = bordered.transpose(Image.Transpose.ROTATE_90)
    assert np.array_equal(np.asarray(stored.transpose(ORIENTATION_TRANSPOSE[6])), bordered)
    data = io.BytesIO()
    stored.save(data, "JPEG", quality=90, exif=exif.tobytes())
    for draft in (None, 512, 256, 128):
        decoded = decode_image(data.getvalue(), draft_size=draft)
        trimmed = dict(pdq_hash(decoded).variants)[TRIMMED]
        # measured: 92 bits untrimmed; trimmed 0 at full size, 2 at 1/2, 4 at 1/4
        assert distance(trimmed, listed) <= PDQ_REFERENCE_TOLERANCE, (draft, decoded.scale)


def test_large_picture_is_searched_on_a_reduced_copy() -> None:
    """Over 16.7 megapixels the hash reads the picture in bands; the border search a copy."""
    picture = synth_image(6, (800, 600)).resize((4400, 3300), Image.Resampling.BILINEAR)
    listed = pdq_hash_pixels(picture).value
    signal = pdq_hash_pixels(padded(0.05, WHITE)(picture))
    assert distance(signal.value, listed) > PDQ_MATCH_DISTANCE
    assert distance(dict(signal.variants)[TRIMMED], listed) <= PDQ_REFERENCE_TOLERANCE


# -- nothing is trimmed where there is nothing to trim ------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_plain_photos_get_no_trimmed_variant(seed: int) -> None:
    variants = scanned(synth_image(seed, (480, 360)))
    assert tuple(variants) == DIHEDRAL_TRANSFORMS


def test_reference_photos_get_no_trimmed_variant(testdata: Path) -> None:
    folders = ("bridge-mods", "reg-test-input/dih")
    for path in sorted(p for f in folders for p in (testdata / "pdq" / f).glob("*.jpg")):
        for draft in (PDQ_DRAFT_SIZE, None):
            signal = pdq_hash(decode_image(path.read_bytes(), draft_size=draft))
            assert TRIMMED not in dict(signal.variants), (path.name, draft)


def test_sky_fading_to_the_edge_is_not_a_border() -> None:
    """A flat sky brightening towards the top has no clear edge: it is the picture."""
    picture = np.asarray(synth_image(7, (480, 360))).copy()
    ramp = np.linspace(250, 150, 120, dtype=np.float32)[:, None, None]
    noise = np.random.default_rng(7).normal(0, 1.5, (120, 480, 1)).astype(np.float32)
    picture[:120] = np.clip(ramp + noise, 0, 255).astype(np.uint8)
    assert TRIMMED not in scanned(Image.fromarray(picture))


def test_mostly_uniform_pictures_are_not_trimmed() -> None:
    # a page: white with a few lines of text, whose margins look like padding
    page = Image.new("RGB", (480, 640), WHITE)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=18)
    for line in range(12):
        draw.text((60, 80 + 40 * line), "the quick brown fox jumps over", BLACK, font)
    assert TRIMMED not in scanned(page)
    # a small picture on a large white canvas: the "border" would be more than half a side
    canvas = Image.new("RGB", (600, 600), WHITE)
    canvas.paste(synth_image(8, (200, 200)), (200, 200))
    assert TRIMMED not in scanned(canvas)
    # one colour inside a frame of another: nothing left worth a hash
    framed = padded(0.1, WHITE)(Image.new("RGB", (400, 300), (90, 120, 160)))
    assert TRIMMED not in scanned(framed)
    assert find_trim(np.full((300, 400), 128, dtype=np.float32)) is None


def test_thin_border_is_not_worth_a_hash() -> None:
    """Under 2 % of a side moves PDQ by a few bits: no extra variant for it."""
    picture = synth_image(9, (600, 500))
    assert TRIMMED not in scanned(padded(0.01, WHITE)(picture))


@pytest.mark.parametrize("size", [(1, 1), (3, 3), (5, 2000), (2000, 5), (16, 16), (17, 3000)])
@pytest.mark.parametrize("fill", ["white", "noise", "framed"])
def test_hostile_sizes_do_not_crash(size: tuple[int, int], fill: str) -> None:
    width, height = size
    rng = np.random.default_rng(width * height)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if fill == "white":
        pixels[:] = 255
    elif fill == "framed":
        quarter = height // 4
        pixels[:quarter] = 255
        pixels[height - quarter :] = 255
    picture = Image.fromarray(pixels)
    for signal in (
        pdq_hash_pixels(pixels),
        pdq_hash_pixels(picture),
        pdq_hash(decode_image(image_bytes(picture, "PNG"), draft_size=PDQ_DRAFT_SIZE)),
    ):
        assert len(signal.value) == 64
    find_trim(pixels[..., 0].astype(np.float32))
    assert find_trim(np.zeros((0, 0), np.float32)) is None


def test_trim_can_be_turned_off() -> None:
    picture = padded(0.05, WHITE)(synth_image(10, (400, 300)))

    class Untrimmed(PDQ):
        trim = False

    class TrimOnly(PDQ):
        dihedral = False

    decoded = decode_image(image_bytes(picture))
    assert tuple(dict(Untrimmed().hash_image(decoded).variants)) == DIHEDRAL_TRANSFORMS
    assert [name for name, _ in TrimOnly().hash_image(decoded).variants] == [TRIMMED]


# -- end to end: a bank of the listed picture, a scan of the edited one --------------------------


@pytest.mark.parametrize("name", sorted(BORDERS) + sorted(CAPTIONS))
def test_edited_copy_matches_through_the_trimmed_variant(name: str) -> None:
    picture = synth_image(12, (640, 480))
    listed = pdq_hash_pixels(picture).value
    matcher = Matcher([Bank("known", [BankEntry("pdq", listed, ("A1",))])])
    edit = {**BORDERS, **CAPTIONS}[name]
    data = image_bytes(edit(picture), quality=85)
    signals = compute_signals(data, decode_image(data, draft_size=PDQ_DRAFT_SIZE))
    [found] = matcher.match(signals)
    assert found.transform == TRIMMED
    assert found.distance <= PDQ_MATCH_DISTANCE and found.labels == ("A1",)
    assert TRIMMED in DIHEDRAL_DESCRIPTIONS
    # the unedited picture matches as itself, with no trimmed variant to search
    original = image_bytes(picture, quality=85)
    unedited = compute_signals(original, decode_image(original, draft_size=PDQ_DRAFT_SIZE))
    assert [m.transform for m in matcher.match(unedited)] == ["original"]
