"""Malformed, truncated and huge metadata: a clear per-file error or a partial result, never an
exception, and the other evidence of the file survives."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needle.provenance import examine
from needle.provenance.container import MAX_CHUNK_BYTES, read_metadata
from needle.provenance.exif import read_exif_text
from provenance.provenance_helpers import (
    itxt_chunk,
    jpeg_with_segments,
    png_chunk,
    png_with_chunks,
    text_chunk,
    tiff_exif,
    webp_with_chunks,
)

A1111 = "a teapot\nNegative prompt: blur\nSteps: 4, Sampler: Euler, Seed: 1, Model: m1"


def test_fifty_megabyte_text_chunk_is_skipped() -> None:
    huge = png_chunk(b"tEXt", b"parameters\x00" + b"x" * (50 * 1024 * 1024))
    data = png_with_chunks([huge, text_chunk("Software", "NovelAI")])
    result = examine(data)
    assert any("52.4 MB is over the 8 MiB metadata limit; skipped" in e for e in result.errors)
    assert read_metadata(data).text("parameters") is None  # never decoded as text
    # the rest of the file is still read
    assert any(e.kind == "software" and "NovelAI" in e.detail for e in result.evidence)
    assert result.ai_generated == "likely"


def test_text_chunk_at_the_limit_is_read() -> None:
    body = b"comment\x00" + b"y" * (MAX_CHUNK_BYTES - 8)
    meta = read_metadata(png_with_chunks([png_chunk(b"tEXt", body)]))
    assert meta.errors == []
    assert meta.text("comment") is not None


@pytest.mark.parametrize(
    ("key", "reader"),
    [("prompt", "ComfyUI"), ("invokeai_metadata", "InvokeAI"), ("sd-metadata", "InvokeAI")],
)
def test_invalid_json_is_reported(key: str, reader: str) -> None:
    data = png_with_chunks([text_chunk(key, '{"3": {"inputs": '), text_chunk("parameters", A1111)])
    result = examine(data)
    assert any("not valid JSON" in e and repr(key) in e for e in result.errors), result.errors
    assert result.generator == "AUTOMATIC1111-compatible"  # the valid record still counts
    assert result.prompt == "a teapot"


def test_fooocus_invalid_json() -> None:
    data = png_with_chunks(
        [text_chunk("parameters", "{not json"), text_chunk("fooocus_scheme", "fooocus")]
    )
    result = examine(data)
    assert any("not valid JSON" in e for e in result.errors)
    assert result.ai_generated == "unknown"


def test_invalid_utf8_in_itxt_gives_a_partial_result() -> None:
    raw = A1111.replace("teapot", "tea\xffpot").encode("latin-1")
    result = examine(png_with_chunks([itxt_chunk("parameters", raw)]))
    assert any("invalid UTF-8" in e for e in result.errors)
    assert result.prompt == "a tea\ufffdpot"
    assert result.generator == "AUTOMATIC1111-compatible"


def test_invalid_utf8_in_text_falls_back_to_latin1() -> None:
    body = b"parameters\x00" + A1111.replace("teapot", "caf\xe9").encode("latin-1")
    result = examine(png_with_chunks([png_chunk(b"tEXt", body)]))
    assert result.prompt == "a café"
    assert result.errors == ()


def test_compressed_text_bomb_is_refused() -> None:
    bomb = zlib.compress(b"\x00" * (64 * 1024 * 1024), 9)
    data = png_with_chunks([png_chunk(b"zTXt", b"parameters\x00\x00" + bomb)])
    result = examine(data)
    assert any("inflates to more than" in e for e in result.errors)


def test_corrupt_compressed_text() -> None:
    data = png_with_chunks([png_chunk(b"zTXt", b"parameters\x00\x00not zlib")])
    result = examine(data)
    assert any("compressed text is corrupt" in e for e in result.errors)


def test_truncated_png_chunk() -> None:
    full = png_with_chunks([text_chunk("parameters", A1111)])
    start = full.index(b"tEXt") - 4
    result = examine(full[: start + 30])
    assert any("truncated" in e for e in result.errors)


def test_text_after_image_data(testdata: Path) -> None:
    """Pillow's ``info`` misses text after IDAT; the chunk walker does not."""
    result = examine((testdata / "malformed" / "text_after_idat.png").read_bytes())
    assert result.ai_generated == "claimed"
    assert result.prompt == "photo of a duck"


@pytest.mark.parametrize("name", ["empty_file.png", "empty_image.jpg", "empty_image.png"])
def test_shared_malformed_files(testdata: Path, name: str) -> None:
    result = examine((testdata / "malformed" / name).read_bytes(), filename=name)
    assert result.ai_generated == "unknown"
    assert result.to_dict()["ai_generated"] == "unknown"


def test_empty_and_unknown_bytes() -> None:
    assert "empty file (0 bytes)" in examine(b"").errors
    result = examine(b"hello, not an image", filename="notes.txt")
    assert any("'notes.txt' is not an image format" in e for e in result.errors)


def test_exif_with_pointers_outside_the_block() -> None:
    block = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    block += struct.pack(">HHII", 0x0131, 2, 500, 4000) + b"\x00" * 4
    exif = read_exif_text(block)
    assert exif.tags == {}
    assert any("points outside the block" in e for e in exif.errors)
    assert read_exif_text(b"garbage!").errors
    assert read_exif_text(b"II*\x00\xff\xff\xff\x7f").errors  # IFD offset far away


def test_exif_in_jpeg_is_truncated_but_file_still_read() -> None:
    exif = tiff_exif({0x0131: b"GIMP 2.10\x00"})
    data = jpeg_with_segments([(0xE1, b"Exif\x00\x00" + exif[:20])])
    result = examine(data)
    assert any("EXIF" in e for e in result.errors)


def test_truncated_jpeg_segment() -> None:
    data = jpeg_with_segments([(0xE1, b"Exif\x00\x00" + tiff_exif({0x0131: b"GIMP\x00"}))])
    result = examine(data[:12])
    assert any("truncated" in e for e in result.errors)


def test_webp_truncated_chunk() -> None:
    data = webp_with_chunks([(b"EXIF", tiff_exif({0x0131: b"GIMP\x00"}))])
    result = examine(data[:-5])
    assert any("WebP chunk" in e and "truncated" in e for e in result.errors)


def test_deeply_nested_json_does_not_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    result = examine(png_with_chunks([text_chunk("prompt", deep)]))
    assert result.ai_generated == "unknown"


def test_comfyui_graph_with_cycles_and_odd_shapes() -> None:
    graph = {
        "1": {"class_type": "KSampler", "inputs": {"positive": ["2", 0], "negative": ["x", 0]}},
        "2": {"class_type": "ConditioningCombine",
              "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["3", 0]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a kettle"}},
        "4": "not a node",
        "5": {"class_type": "KSampler", "inputs": "not a dict"},
    }  # fmt: skip
    result = examine(png_with_chunks([text_chunk("prompt", json.dumps(graph))]))
    assert result.prompt == "a kettle"


def test_xmp_packet_with_unclosed_tags() -> None:
    packet = "<x:xmpmeta>" + ("<dc:description " * 3000) + 'DigitalSourceType="digitalCapture"'
    data = jpeg_with_segments([(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode())])
    result = examine(data)
    assert result.camera_claimed  # the attribute is found; the unclosed description ignored


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.sampled_from(["png", "jpeg", "webp", "raw"]))
def test_random_bytes_never_raise(payload: bytes, kind: str) -> None:
    if kind == "png":
        data = png_with_chunks([png_chunk(b"tEXt", payload), png_chunk(b"iTXt", payload)])
    elif kind == "jpeg":
        data = jpeg_with_segments([(0xE1, payload[:60000]), (0xEB, b"JP" + payload[:6000])])
    elif kind == "webp":
        data = webp_with_chunks([(b"EXIF", payload), (b"XMP ", payload)])
    else:
        data = payload
    result = examine(data)
    assert result.ai_generated in ("claimed", "likely", "unknown")
    json.dumps(result.to_dict(include_prompt=True))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=8, max_value=400))
def test_any_truncation_of_a_generator_file_never_raises(cut: int) -> None:
    data = png_with_chunks([text_chunk("parameters", A1111), text_chunk("prompt", "{}")])
    result = examine(data[:cut])
    assert isinstance(result.errors, tuple)


def test_unknown_size_formats_read_the_header_only() -> None:
    """A BMP (no container walker): the header gives the size, so auto mode skips cheaply."""
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((300, 300, 3), np.uint8)).save(buf, "BMP")
    result = examine(buf.getvalue(), filename="x.bmp")
    assert result.watermark is not None and result.watermark.level == "not_attempted"
    assert "300x300" in result.watermark.reason
