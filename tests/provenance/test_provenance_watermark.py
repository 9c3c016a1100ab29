"""The dwtDct watermark: agreement with the reference implementation, round trips through PNG,
honest reporting after JPEG, and no false watermark on unmarked photos."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import synth_image
from needle.media import decode_image
from needle.provenance import ProvenanceOptions, examine
from needle.provenance import watermark as wm
from provenance.provenance_helpers import DATA, jpeg_bytes, png_bytes, reference_pattern

pywt = pytest.importorskip("pywt", reason="needs the provenance extra (PyWavelets)")
pytest.importorskip("cv2", reason="needs the provenance extra (opencv-python-headless)")


def _photos(testdata: Path, max_pixels: int = 20_000_000) -> list[tuple[bytes, np.ndarray]]:
    """The shared PDQ photos big enough for the algorithm (one of the four EXIF-rotation
    copies of the 12 MP photo), as (JPEG bytes, stored RGB pixels)."""
    photos = []
    for path in sorted((testdata / "pdq").rglob("*.jpg")):
        if path.name.startswith("exif-rotn-") and path.name != "exif-rotn-1.jpg":
            continue
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            if not wm.MIN_PIXELS <= image.width * image.height <= max_pixels:
                continue
            photos.append((data, np.asarray(image.convert("RGB"))))
    return photos


# --- agreement with invisible-watermark ----------------------------------------------------


def test_reference_encoded_file_decodes() -> None:
    """A file watermarked by invisible-watermark 0.2.0 itself (see data/README.md)."""
    result = examine((DATA / "sdxl_reference_wm.png").read_bytes())
    assert result.watermark is not None and result.watermark.best is not None
    best = result.watermark.best
    assert (best.message, best.channel_order) == ("0xB3EC907BB19E", "bgr")
    assert best.bits_matched == 48
    assert result.watermark.level == "very_likely"
    assert result.ai_generated == "likely"
    assert result.model == "Stable Diffusion XL"
    assert result.summary() == (
        "likely AI-generated: Stable Diffusion XL invisible watermark, 48/48 bits"
    )


def test_encoder_reproduces_the_reference_pixels() -> None:
    with Image.open(DATA / "sdxl_reference_wm.png") as image:
        reference = np.asarray(image.convert("RGB"))
    ours = wm.embed(reference_pattern(), wm.SDXL.bits)
    assert np.array_equal(ours, reference)


def test_ll_band_is_bit_identical_to_pywavelets() -> None:
    rng = np.random.default_rng(0)
    plane = rng.integers(0, 256, (200, 328), dtype=np.uint8)
    assert np.array_equal(wm._ll_band(plane), pywt.dwt2(plane, "haar")[0])


def test_decode_matches_a_direct_transcription_of_the_reference() -> None:
    """The reference decoder loop written out plainly (maxDct.decode), on an unmarked image."""
    import cv2

    rgb = np.asarray(synth_image(5, (264, 256)))
    n_bits = 48
    for order in ("bgr", "rgb"):
        bgr = np.ascontiguousarray(rgb[:, :, ::-1]) if order == "bgr" else rgb
        rows, cols = bgr.shape[:2]
        yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
        ca = pywt.dwt2(yuv[: rows // 4 * 4, : cols // 4 * 4, 1], "haar")[0]
        scores: list[list[int]] = [[] for _ in range(n_bits)]
        num = 0
        for i in range(ca.shape[0] // 4):
            for j in range(ca.shape[1] // 4):
                block = ca[i * 4 : i * 4 + 4, j * 4 : j * 4 + 4]
                pos = int(np.argmax(abs(block.flatten()[1:]))) + 1
                val = abs(block[pos // 4][pos % 4])
                scores[num % n_bits].append(int((val % 36) > 18))
                num += 1
        expected = np.array([np.mean(s) for s in scores]) * 255 > 127
        got, index = wm.block_scores(rgb, channel_order=order)
        assert np.array_equal(wm.decode_bits(got, n_bits, index).astype(bool), expected)


def test_thresholds_follow_the_sdxl_tail() -> None:
    """SD 1.x/2.x thresholds: smallest k whose binomial tail is <= SDXL's tail / READINGS."""
    for message in (wm.SD1, wm.SD2):
        n = len(message.bits)
        for level, sdxl_k in (("very_likely", 36), ("likely", 34), ("partial", 28)):
            target = wm.binomial_tail(48, sdxl_k) / wm.READINGS
            k = next(k for k in range(n + 1) if wm.binomial_tail(n, k) <= target)
            assert getattr(message, level) == k, (message.name, level)
    assert (wm.SDXL.very_likely, wm.SDXL.likely, wm.SDXL.partial) == (36, 34, 28)
    assert len(wm.SD1.bits) == 136 and len(wm.SD2.bits) == 32 and len(wm.SDXL.bits) == 48
    assert math.isclose(wm.binomial_tail(4, 4), 1 / 16)


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("message", [wm.SDXL, wm.SD1, wm.SD2], ids=lambda m: m.name)
@pytest.mark.parametrize("order", ["bgr", "rgb"])
def test_round_trip_through_png(message: wm.WatermarkMessage, order: str) -> None:
    rgb = np.asarray(synth_image(11, (512, 384)))
    marked = wm.embed(rgb, message.bits, channel_order=order)
    result = examine(png_bytes(marked))
    best = result.watermark.best if result.watermark else None
    assert best is not None
    assert (best.message, best.channel_order) == (message.name, order)
    assert result.watermark is not None and result.watermark.level == "very_likely"
    assert best.bits_matched >= message.very_likely
    assert any(e.kind == "watermark" and e.strength == "strong" for e in result.evidence)
    assert result.ai_generated == "likely"


def test_round_trip_on_shared_photos(testdata: Path) -> None:
    photos = _photos(testdata, max_pixels=1_000_000)
    assert len(photos) >= 8
    for _, rgb in photos:
        marked = wm.embed(rgb, wm.SDXL.bits)
        check = wm.check(np.asarray(Image.open(io.BytesIO(png_bytes(marked))).convert("RGB")))
        assert check.level == "very_likely", check.best
        assert check.best is not None and check.best.message == wm.SDXL.name


def test_scan_image_is_used_when_at_full_resolution() -> None:
    marked = wm.embed(np.asarray(synth_image(2, (512, 512))), wm.SDXL.bits)
    data = png_bytes(marked)
    result = examine(data, image=decode_image(data))
    assert result.watermark is not None and result.watermark.level == "very_likely"


def test_jpeg_reencoding_is_attempted_and_reported_honestly() -> None:
    rgb = np.asarray(synth_image(4, (768, 512)))
    marked = wm.embed(rgb, wm.SDXL.bits)
    levels = {}
    for quality in (95, 60):
        result = examine(jpeg_bytes(marked, quality))
        check = result.watermark
        assert check is not None and check.attempted
        assert check.best is not None and check.best.bits_total > 0
        assert check.level != "none"  # a low count on a lossy file is "inconclusive"
        levels[quality] = (check.level, check.best.bits_matched)
    # q95 keeps the mark; at q60 whatever is left is reported with its count
    assert levels[95][0] in ("very_likely", "likely", "partial")
    assert levels[60][0] in ("very_likely", "likely", "partial", "inconclusive")


def test_big_jpeg_is_not_decoded_in_auto_mode_but_is_when_forced() -> None:
    rgb = np.asarray(synth_image(8, (2304, 2048)))  # 4.7 MP: over DECODE_MAX_PIXELS
    data = jpeg_bytes(wm.embed(rgb, wm.SDXL.bits), 95)
    auto = examine(data)
    assert auto.watermark is not None and auto.watermark.level == "not_attempted"
    assert "over 4,194,304 pixels" in auto.watermark.reason
    forced = examine(data, options=ProvenanceOptions(watermark="always"))
    assert forced.watermark is not None and forced.watermark.attempted
    assert forced.watermark.region is not None  # read on the centred window
    assert forced.watermark.level in ("very_likely", "likely")


def test_window_reads_the_same_blocks_as_the_whole_image() -> None:
    rgb = np.asarray(synth_image(9, (1200, 1040)))
    whole, index = wm.block_scores(rgb)
    box = wm.centre_window(1040, 1200, 512)
    assert box is not None
    part, part_index = wm.block_scores(rgb, window=box)
    lookup = dict(zip(index.tolist(), whole.tolist(), strict=True))
    assert part.size == (512 // 8) ** 2
    assert [lookup[i] for i in part_index.tolist()] == part.tolist()


def test_auto_mode_skips_sizes_no_stable_diffusion_model_makes() -> None:
    marked = wm.embed(np.asarray(synth_image(3, (600, 400))), wm.SDXL.bits)
    data = png_bytes(marked)
    auto = examine(data, image=decode_image(data))
    assert auto.watermark is not None and auto.watermark.level == "not_attempted"
    assert "not multiples of 64" in auto.watermark.reason
    forced = examine(data, options=ProvenanceOptions(watermark="always"))
    assert forced.watermark is not None and forced.watermark.level == "very_likely"


def test_never_mode_and_small_images() -> None:
    data = png_bytes(np.asarray(synth_image(1, (200, 200))))
    assert examine(data, options=ProvenanceOptions(watermark="never")).watermark is None
    small = examine(data).watermark
    assert small is not None and small.level == "not_attempted" and "256x256" in small.reason


# --- no false watermark --------------------------------------------------------------------


def test_no_false_watermark_on_unmarked_images(testdata: Path) -> None:
    """Every shared photo (as stored, JPEG) and synthetic pictures (PNG): never likely."""
    samples = [data for data, _ in _photos(testdata)]
    samples += [png_bytes(np.asarray(synth_image(100 + i, (512 + 16 * i, 512)))) for i in range(6)]
    assert len(samples) >= 20
    for data in samples:
        result = examine(data, options=ProvenanceOptions(watermark="always"))
        check = result.watermark
        assert check is not None and check.attempted
        assert check.level not in ("very_likely", "likely"), check.best
        assert not any(e.kind == "watermark" for e in result.evidence)
        assert result.ai_generated == "unknown"


def test_no_false_watermark_in_the_raw_readings(testdata: Path) -> None:
    """Same photos, pixels read directly in both orders for all three messages."""
    for _, rgb in _photos(testdata, max_pixels=2_000_000):
        for reading in wm.check(rgb).readings:
            assert reading.level not in ("very_likely", "likely"), reading


def test_declared_files_skip_the_extra_decode_in_auto_mode() -> None:
    from provenance.provenance_helpers import png_with_chunks, text_chunk

    marked = wm.embed(np.asarray(synth_image(6, (512, 512))), wm.SDXL.bits)
    params = "a kite\nSteps: 4, Sampler: Euler, Seed: 1, Model: sd_xl_base_1.0"
    plain = png_bytes(marked)
    with_record = png_with_chunks([text_chunk("parameters", params)])
    # graft the record's chunk into the watermarked PNG, right after IHDR
    chunk = with_record[33 : with_record.index(b"IDAT") - 4]
    data = plain[:33] + chunk + plain[33:]
    auto = examine(data)
    assert auto.ai_generated == "claimed"
    assert auto.watermark is not None and auto.watermark.level == "not_attempted"
    assert "already declares AI generation" in auto.watermark.reason
    forced = examine(data, options=ProvenanceOptions(watermark="always"))
    assert forced.watermark is not None and forced.watermark.level == "very_likely"
    assert forced.model == "sd_xl_base_1.0"  # the record names the model; the mark agrees
    assert {e.kind for e in forced.evidence} == {"generator", "watermark"}


def test_the_pixels_are_decoded_under_the_callers_limits() -> None:
    from needle.media import Limits

    data = png_bytes(wm.embed(np.asarray(synth_image(7, (512, 512))), wm.SDXL.bits))
    always = ProvenanceOptions(watermark="always")
    default = examine(data, options=always).watermark
    assert default is not None and default.level == "very_likely"
    small = examine(data, options=always, limits=Limits(max_pixels=100_000))
    assert small.watermark is not None and small.watermark.level == "not_attempted"
    assert small.watermark.reason == "pixels could not be decoded"
    assert any(
        "pixels could not be decoded: MediaTooLarge: 512x512 = 262,144 pixels is over the limit"
        in e
        for e in small.errors
    )
    short = examine(data, options=always, limits=Limits(max_file_bytes=len(data) - 1))
    assert short.watermark is not None and not short.watermark.attempted
    assert any("over the limit of" in e for e in short.errors)
