"""Generator metadata: every file in ../shared/testdata/provenance/generators, and synthesised
records for the formats it has no file for (WebP EXIF, Midjourney, NovelAI stealth, XMP ...)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from needle.provenance import examine
from needle.provenance.generators.a1111 import parse_parameters
from needle.provenance.generators.base import model_family
from needle.provenance.generators.comfyui import prompts_from_api_graph, prompts_from_workflow
from needle.provenance.generators.invokeai import parse_dream
from needle.provenance.generators.midjourney import parse_description
from needle.provenance.stealth import encode, read_stealth
from provenance.provenance_helpers import (
    itxt_chunk,
    jpeg_with_segments,
    png_bytes,
    png_with_chunks,
    text_chunk,
    tiff_exif,
    webp_with_chunks,
    xmp_packet,
)

GEN = Path("provenance") / "generators"


def _examine(testdata: Path, rel: str):  # type: ignore[no-untyped-def]
    data = (testdata / GEN / rel).read_bytes()
    return examine(data, filename=rel)


# --- the shared generator files ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "generator", "model", "prompt_part", "negative_part"),
    [
        ("AUTOMATIC1111/automatic1111_cropped.png", "AUTOMATIC1111-compatible",
         "realistic_realisticVisionV20_v20", "photo of a duck", "monochrome"),
        ("AUTOMATIC1111/automatic1111_cropped.jpg", "AUTOMATIC1111-compatible",
         "realistic_realisticVisionV20_v20", "photo of a duck", "monochrome"),
        ("AUTOMATIC1111/automatic1111_stealth.png", "AUTOMATIC1111",
         "realisticVisionV51_v51VAE", "a circle", "a square"),
        ("Fooocus/fooocus1_cropped.png", "Fooocus", "juggernautXL_v8Rundiffusion",
         "a smiling goldfish", None),
        ("InvokeAI/invokeai_imeta1.png", "InvokeAI", "juggernautXL",
         "digital artwork, oil painting", "oversaturated"),
        ("InvokeAI/invokeai_sdmeta1.png", "InvokeAI", "deliberateForInvoke_v08",
         "city background", "glowing eyes"),
        ("InvokeAI/invokeai_dream1.png", "InvokeAI", None, "city background", "glowing eyes"),
        ("NovelAI/novelai1_cropped.png", "NovelAI", "Stable Diffusion 1D44365E",
         "cat, space, icon", "bad anatomy"),
    ],
)  # fmt: skip
def test_generator_files(
    testdata: Path,
    rel: str,
    generator: str,
    model: str | None,
    prompt_part: str,
    negative_part: str | None,
) -> None:
    result = _examine(testdata, rel)
    assert result.ai_generated == "claimed"
    assert result.generator == generator
    assert result.model == model
    assert result.prompt is not None and prompt_part in result.prompt
    if negative_part is None:
        assert not result.negative_prompt
    else:
        assert result.negative_prompt is not None and negative_part in result.negative_prompt
        assert negative_part not in result.prompt
    claimed = [e for e in result.evidence if e.strength == "claimed" and e.indicates == "ai"]
    assert claimed, result.evidence
    # the prompt never leaks into evidence, the summary or the default JSON
    for item in result.evidence:
        assert prompt_part not in item.detail
    assert prompt_part not in result.summary()
    assert prompt_part not in json.dumps(result.to_dict())
    assert prompt_part in json.dumps(result.to_dict(include_prompt=True))


def test_stealth_file_is_marked_as_hidden_in_pixels(testdata: Path) -> None:
    result = _examine(testdata, "AUTOMATIC1111/automatic1111_stealth.png")
    assert [e.kind for e in result.evidence if e.indicates == "ai"] == ["stealth"]
    assert "stealth_pngcomp" in result.evidence[0].field
    assert "hidden in pixel low bits" in result.summary()
    assert result.settings["Version"].startswith("v1.9")


def _graph(testdata: Path, name: str, key: str = "prompt") -> dict:  # type: ignore[type-arg]
    with Image.open(testdata / GEN / "ComfyUI" / name) as image:
        return json.loads(image.info[key])


def _node_texts(graph: dict, ids: list[str]) -> set[str]:  # type: ignore[type-arg]
    return {graph[i]["inputs"]["text"].strip() for i in ids}


# which CLIPTextEncode nodes feed each sampler's positive / negative input, read off the graphs
COMFY = {
    "img2img_cropped.png": (["6"], ["7"], "v1-5-pruned-emaonly.ckpt"),
    "night_evening_day_morning_cropped.png": (
        ["6", "13", "14", "17", "33", "26"], ["7", "27"], None),
    "noisy_latents_3_subjects_cropped.png": (
        ["54", "52", "71", "63", "66", "74"], ["7", "27"], "Anything-V3.0.ckpt"),
    "unclip_2pass_cropped.png": (
        ["6", "49"], ["7", "47"], "wd-1-5-beta2-aesthetic-unclip-h-fp32.safetensors"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(COMFY))
def test_comfyui_files(testdata: Path, name: str) -> None:
    positive_ids, negative_ids, model = COMFY[name]
    graph = _graph(testdata, name)
    positive, negative, found_model, settings = prompts_from_api_graph(graph)
    assert set(positive) == _node_texts(graph, positive_ids)
    assert set(negative) == _node_texts(graph, negative_ids)
    assert "seed" in settings or "noise_seed" in settings
    if model:
        assert found_model == model
    result = _examine(testdata, f"ComfyUI/{name}")
    assert result.generator == "ComfyUI"
    assert result.ai_generated == "claimed"
    assert result.prompt is not None and result.negative_prompt is not None
    for text in _node_texts(graph, positive_ids):
        assert text in result.prompt
    for text in _node_texts(graph, negative_ids):
        assert text in result.negative_prompt
    ckpts = {n["inputs"]["ckpt_name"] for n in graph.values() if "ckpt_name" in n["inputs"]}
    assert result.model in ckpts
    if model:
        assert result.model == model
    assert "prompt" in result.evidence[0].field and "workflow" in result.evidence[0].field


def test_comfyui_workflow_only(testdata: Path) -> None:
    """The editor-format ``workflow`` alone still yields the prompts."""
    name = "img2img_cropped.png"
    workflow = _graph(testdata, name, "workflow")
    positive, negative, model = prompts_from_workflow(workflow)
    graph = _graph(testdata, name)
    assert set(positive) == _node_texts(graph, ["6"])
    assert set(negative) == _node_texts(graph, ["7"])
    assert model == "v1-5-pruned-emaonly.ckpt"
    data = png_with_chunks([text_chunk("workflow", json.dumps(workflow))])
    result = examine(data)
    assert result.generator == "ComfyUI"
    assert result.prompt == positive[0]


def test_comfyui_negative_does_not_leak_through_controlnet() -> None:
    graph = {
        "1": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red barn", "clip": ["9", 1]}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["9", 1]}},
        "3": {
            "class_type": "ControlNetApplyAdvanced",
            "inputs": {"positive": ["1", 0], "negative": ["2", 0], "control_net": ["8", 0]},
        },
        "4": {
            "class_type": "KSampler",
            "inputs": {"positive": ["3", 0], "negative": ["3", 1], "model": ["9", 0], "seed": 5},
        },
        "9": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "sd_xl_base.safetensors"},
        },
    }
    positive, negative, model, _ = prompts_from_api_graph(graph)
    assert positive == ["a red barn"]
    assert negative == ["blurry"]
    assert model == "sd_xl_base.safetensors"
    assert model_family(model) == "SDXL"


def test_comfyui_webp_exif() -> None:
    """ComfyUI's WebP writer puts the graphs in EXIF Model ("prompt:") and Make ("workflow:")."""
    graph = {
        "1": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse at dusk"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "lowres"}},
        "3": {"class_type": "KSampler", "inputs": {"positive": ["1", 0], "negative": ["2", 0]}},
    }
    exif = tiff_exif({0x0110: b"prompt:" + json.dumps(graph).encode() + b"\x00",
                      0x010F: b"workflow:{\"nodes\": []}\x00"})  # fmt: skip
    result = examine(webp_with_chunks([(b"EXIF", b"Exif\x00\x00" + exif)]))
    assert result.format == "WEBP"
    assert result.generator == "ComfyUI"
    assert result.prompt == "a lighthouse at dusk"
    assert result.negative_prompt == "lowres"
    assert all(e.kind != "exif" for e in result.evidence)  # graphs are not camera names


# --- AUTOMATIC1111 text --------------------------------------------------------------------

A1111 = (
    "a watercolor of a harbour\nwith boats\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 42, Size: 512x768, Model hash: abc123, "
    'Model: sd_xl_base_1.0, Lora hashes: "a: 1, b: 2", Version: f0.0.17v1.8.0rc'
)


def test_parse_parameters() -> None:
    parsed = parse_parameters(A1111)
    assert parsed is not None
    prompt, negative, settings = parsed
    assert prompt == "a watercolor of a harbour\nwith boats"
    assert negative == "blurry, lowres"
    assert settings["Seed"] == "42"
    assert settings["Lora hashes"] == "a: 1, b: 2"
    assert settings["Version"] == "f0.0.17v1.8.0rc"
    assert parse_parameters("just a caption someone wrote") is None


def test_forge_jpeg_user_comment_utf16le() -> None:
    comment = b"UNICODE\x00" + A1111.encode("utf-16-le")
    exif = tiff_exif({}, {0x9286: comment})
    data = jpeg_with_segments([(0xE1, b"Exif\x00\x00" + exif)])
    result = examine(data)
    assert result.generator == "Forge"
    assert result.model == "sd_xl_base_1.0"
    assert result.summary() == "generator metadata: Forge, SDXL checkpoint sd_xl_base_1.0"
    assert result.prompt == "a watercolor of a harbour\nwith boats"
    assert result.evidence[0].field == "EXIF UserComment"


def test_a1111_webp_user_comment() -> None:
    comment = b"UNICODE\x00" + A1111.replace("f0.0.17", "v1.10.").encode("utf-16-be")
    exif = tiff_exif({}, {0x9286: comment})
    result = examine(webp_with_chunks([(b"EXIF", exif)]))
    assert result.generator == "AUTOMATIC1111"
    assert result.negative_prompt == "blurry, lowres"


def test_a1111_utf8_itxt_and_fooocus_a1111_scheme() -> None:
    text = "café au lait, ☕\nSteps: 30, Sampler: Euler, Seed: 1, Version: Fooocus v2.5.0"
    result = examine(png_with_chunks([itxt_chunk("parameters", text.encode(), compressed=True)]))
    assert result.generator == "Fooocus"
    assert result.prompt == "café au lait, ☕"
    assert not result.errors


def test_unknown_parameters_chunk_is_kept_not_claimed() -> None:
    result = examine(png_with_chunks([text_chunk("parameters", "made on my laptop")]))
    assert result.ai_generated == "likely"
    assert result.generator == "unknown tool"
    assert any("not in AUTOMATIC1111's format" in e for e in result.errors)


# --- stealth -------------------------------------------------------------------------------


def _rgba(size: tuple[int, int] = (64, 48)) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)


@pytest.mark.parametrize(
    ("mode", "compressed"), [("alpha", True), ("alpha", False), ("rgb", True), ("rgb", False)]
)
def test_stealth_round_trip(mode: str, compressed: bool) -> None:
    pixels = _rgba() if mode == "alpha" else _rgba()[:, :, :3].copy()
    hidden = encode(
        pixels, "a circle\nSteps: 5, Sampler: Euler, Seed: 9", mode=mode, compressed=compressed
    )
    payload = read_stealth(hidden)
    assert payload is not None and payload.error is None
    assert payload.text.startswith("a circle")
    kind = "png" if mode == "alpha" else "rgb"
    assert payload.signature == f"stealth_{kind}{'comp' if compressed else 'info'}"
    assert read_stealth(pixels) is None


def test_novelai_stealth_json() -> None:
    record = {
        "Software": "NovelAI",
        "Source": "NovelAI Diffusion V3 4BDE2A90",
        "Description": "a fox in the snow",
        "Comment": json.dumps({"uc": "blurry", "steps": 28, "seed": 7}),
    }
    data = png_bytes(encode(_rgba(), json.dumps(record)))
    result = examine(data)
    assert result.generator == "NovelAI"
    assert result.model == "NovelAI Diffusion V3 4BDE2A90"
    assert result.prompt == "a fox in the snow"
    assert result.negative_prompt == "blurry"
    assert result.evidence[0].kind == "stealth"


def test_rgb_stealth_read_from_a_given_full_resolution_image() -> None:
    from needle.media import decode_image

    pixels = encode(
        _rgba()[:, :, :3].copy(), "a cube\nSteps: 3, Seed: 1, Sampler: Euler", mode="rgb"
    )
    data = png_bytes(pixels)
    result = examine(data, image=decode_image(data))
    assert result.prompt == "a cube"


def test_stealth_truncated_payload_is_reported() -> None:
    pixels = _rgba((16, 16))
    raw = b"stealth_pnginfo" + (10_000).to_bytes(4, "big") + b"abc"
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
    plane = pixels[:, :, 3].T.copy().ravel()
    plane[: bits.size] = (plane[: bits.size] & 0xFE) | bits
    pixels[:, :, 3] = plane.reshape(16, 16).T
    payload = read_stealth(pixels)
    assert payload is not None and payload.error is not None and "truncated" in payload.error
    result = examine(png_bytes(pixels))
    assert any("stealth metadata" in e for e in result.errors)


def test_stealth_bad_gzip() -> None:
    pixels = _rgba((32, 32))
    raw = b"stealth_pngcomp" + (80).to_bytes(4, "big") + b"not gzip!!"
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
    plane = pixels[:, :, 3].T.copy().ravel()
    plane[: bits.size] = (plane[: bits.size] & 0xFE) | bits
    pixels[:, :, 3] = plane.reshape(32, 32).T
    payload = read_stealth(pixels)
    assert payload is not None and "does not decompress" in (payload.error or "")
    assert gzip.compress(b"x")  # the real encoder's payloads do decompress (round trip above)


# --- InvokeAI, Midjourney, model families --------------------------------------------------


def test_parse_dream() -> None:
    prompt, negative, settings = parse_dream('"a tree [fog, rain] at noon" -s 30 -S 5 -W 512')
    assert prompt == "a tree  at noon"
    assert negative == "fog, rain"
    assert settings == {"steps": "30", "seed": "5", "width": "512"}


def test_midjourney_description_and_xmp_source_type() -> None:
    description = (
        "a paper boat on a pond --ar 3:2 --v 6.1 Job ID: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    )
    xmp = xmp_packet(
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
        'trainedAlgorithmicMedia"/>'
    )
    data = png_with_chunks(
        [text_chunk("Description", description), itxt_chunk("XML:com.adobe.xmp", xmp.encode())]
    )
    result = examine(data)
    assert result.generator == "Midjourney"
    assert result.prompt == "a paper boat on a pond --ar 3:2 --v 6.1"
    assert result.settings["ar"] == "3:2" and result.settings["job_id"].startswith("0f1e2d3c")
    kinds = {(e.kind, e.strength, e.indicates) for e in result.evidence}
    assert ("iptc", "claimed", "ai") in kinds
    assert ("generator", "claimed", "ai") in kinds
    assert result.summary().startswith("AI-generated: IPTC digital source type")
    assert parse_description("a caption without an id") is None


def test_xmp_digital_capture_element_form_in_jpeg() -> None:
    xmp = xmp_packet(
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        "<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
        "</Iptc4xmpExt:DigitalSourceType></rdf:Description>"
    )
    data = jpeg_with_segments([(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp.encode())])
    result = examine(data)
    assert result.camera_claimed is True
    assert result.ai_generated == "unknown"
    assert result.summary() == "camera capture claimed (IPTC)"


def test_xmp_algorithmic_media_is_not_an_ai_claim() -> None:
    xmp = xmp_packet(
        '<rdf:Description Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/'
        'digitalsourcetype/algorithmicMedia"/>'
    )
    result = examine(png_with_chunks([itxt_chunk("XML:com.adobe.xmp", xmp.encode())]))
    assert result.ai_generated == "unknown"
    assert [e.indicates for e in result.evidence] == ["info"]


@pytest.mark.parametrize(
    ("software", "generator", "indicates", "verdict"),
    [
        (b"NovelAI\x00", "NovelAI", "ai", "likely"),
        (b"Adobe Photoshop 25.0 (Windows)\x00", "Adobe Photoshop", "edited", "unknown"),
        (b"Canvas Draw 2\x00", None, None, "unknown"),
        (b"GIMP 2.10.36\x00", "GIMP", "edited", "unknown"),
    ],
)
def test_exif_software_names(
    software: bytes, generator: str | None, indicates: str | None, verdict: str
) -> None:
    exif = tiff_exif({0x0131: software})
    result = examine(jpeg_with_segments([(0xE1, b"Exif\x00\x00" + exif)]))
    assert result.ai_generated == verdict
    names = [e for e in result.evidence if e.kind == "software"]
    if generator is None:
        assert names == []
    else:
        assert names[0].indicates == indicates
        assert generator in names[0].detail
        assert names[0].strength == ("moderate" if indicates == "ai" else "weak")


def test_camera_make_model_is_weak_context_only() -> None:
    exif = tiff_exif({0x010F: b"Canon\x00", 0x0110: b"Canon EOS R6\x00"})
    result = examine(jpeg_with_segments([(0xE1, b"Exif\x00\x00" + exif)]))
    assert result.camera_claimed is False
    assert result.ai_generated == "unknown"
    (item,) = result.evidence
    assert (item.kind, item.strength, item.indicates) == ("exif", "weak", "camera")


@pytest.mark.parametrize(
    ("names", "base", "family"),
    [
        (("sd_xl_base_1.0.safetensors",), None, "SDXL"),
        (("juggernautXL_v8Rundiffusion",), None, "SDXL"),
        (("v1-5-pruned-emaonly.ckpt",), None, "SD 1.x"),
        (("v2-1_768-ema-pruned.ckpt",), None, "SD 2.x"),
        (("flux1-dev.safetensors",), None, "FLUX"),
        (("realisticVisionV51_v51VAE",), None, None),
        (("whatever",), "sdxl", "SDXL"),
    ],
)
def test_model_family(names: tuple[str, ...], base: str | None, family: str | None) -> None:
    assert model_family(*names, base_model=base) == family


def _png_with_filters(pixels: np.ndarray, filters: list[int]) -> bytes:
    """Encode an 8-bit RGB/RGBA PNG with the given filter type on each row (PNG spec 9.2)."""
    import struct
    import zlib

    from provenance.provenance_helpers import png_chunk

    h, w, c = pixels.shape
    img = pixels.astype(np.int32)
    out = bytearray()
    for y in range(h):
        kind = filters[y % len(filters)]
        row = img[y].reshape(-1)
        up = img[y - 1].reshape(-1) if y else np.zeros_like(row)
        left = np.concatenate([np.zeros(c, np.int32), row[:-c]])
        upleft = np.concatenate([np.zeros(c, np.int32), up[:-c]])
        if kind == 0:
            pred = np.zeros_like(row)
        elif kind == 1:
            pred = left
        elif kind == 2:
            pred = up
        elif kind == 3:
            pred = (left + up) // 2
        else:
            p = left + up - upleft
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
        out += bytes([kind]) + ((row - pred) & 0xFF).astype(np.uint8).tobytes()
    color = {3: 2, 4: 6}[c]
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(bytes(out))) + png_chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize("channels", [3, 4])
def test_png_first_column_under_every_filter(channels: int) -> None:
    from needle.provenance.container import png_first_column

    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (170, 9, channels), dtype=np.uint8)
    data = _png_with_filters(pixels, [0, 1, 2, 3, 4, 4, 3, 2])
    with Image.open(io.BytesIO(data)) as image:  # our encoder writes valid PNG
        assert np.array_equal(np.asarray(image), pixels)
    column = png_first_column(data, 152)
    assert column is not None and np.array_equal(column, pixels[:152, 0])
    assert png_first_column(data, 171) is None  # more rows than the image has


@pytest.mark.parametrize("mode", ["alpha", "rgb"])
def test_stealth_found_through_the_first_column_fast_path(mode: str) -> None:
    rng = np.random.default_rng(1)
    channels = 4 if mode == "alpha" else 3
    pixels = rng.integers(0, 256, (200, 160, channels), dtype=np.uint8)
    hidden = encode(pixels, "a tall tower\nSteps: 5, Sampler: Euler, Seed: 2", mode=mode)
    from needle.provenance.container import png_first_column
    from needle.provenance.stealth import HEAD_ROWS, has_signature

    column = png_first_column(png_bytes(hidden), HEAD_ROWS[channels])
    assert column is not None and has_signature(column)
    plain = png_first_column(png_bytes(pixels), HEAD_ROWS[channels])
    assert plain is not None and not has_signature(plain)
    result = examine(png_bytes(hidden))
    assert result.prompt == "a tall tower"
    assert result.evidence[0].kind == "stealth"
    assert examine(png_bytes(pixels)).ai_generated == "unknown"
