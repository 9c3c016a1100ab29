"""Software names: generators and editors named in EXIF ``Software``, XMP ``CreatorTool``, ...

In: EXIF ``Software``, ``Make``/``Model`` and ``Artist``, the PNG ``Software`` chunk and XMP
``xmp:CreatorTool`` / ``photoshop:Credit``. Out: a ``GeneratorFinding`` of kind ``software``:
``moderate`` evidence of AI when the name is a known generator (a bare name, no generation
record; easy to add and to remove), ``weak`` evidence of editing when it is a known editor
(several editors now include generative fill, so an editor is not an AI claim either).

The name lists are matched case-insensitively as whole words or phrases ("canva" does not
match "canvas"); extend them through ``GENERATORS`` / ``EDITORS``.
"""

from __future__ import annotations

import re
from functools import cache

from needle.provenance.generators.base import Sources, TextSource
from needle.provenance.model import GeneratorFinding

__all__ = ["EDITORS", "GENERATORS", "SoftwareNames", "match_name", "name_findings"]

#: substring (lower case) -> generator name
GENERATORS: dict[str, str] = {
    "novelai": "NovelAI",
    "midjourney": "Midjourney",
    "dall-e": "DALL·E",
    "dall·e": "DALL·E",
    "dalle": "DALL·E",
    "openai": "OpenAI image generation",
    "stable diffusion": "Stable Diffusion",
    "stablediffusion": "Stable Diffusion",
    "stability ai": "Stability AI",
    "dreamstudio": "DreamStudio",
    "comfyui": "ComfyUI",
    "automatic1111": "AUTOMATIC1111",
    "invokeai": "InvokeAI",
    "fooocus": "Fooocus",
    "adobe firefly": "Adobe Firefly",
    "firefly": "Adobe Firefly",
    "google imagen": "Google Imagen",
    "gemini": "Google Gemini",
    "ideogram": "Ideogram",
    "leonardo.ai": "Leonardo.Ai",
    "bing image creator": "Bing Image Creator",
    "image creator": "Bing Image Creator",
    "craiyon": "Craiyon",
    "nightcafe": "NightCafe",
    "playground ai": "Playground AI",
    "flux": "FLUX",
    "grok": "Grok",
    "seedream": "Seedream",
    "kling": "Kling",
    "tensor.art": "Tensor.Art",
    "civitai": "Civitai",
}
#: substring (lower case) -> editor name
EDITORS: dict[str, str] = {
    "photoshop": "Adobe Photoshop",
    "lightroom": "Adobe Lightroom",
    "gimp": "GIMP",
    "affinity photo": "Affinity Photo",
    "paint.net": "Paint.NET",
    "pixelmator": "Pixelmator",
    "snapseed": "Snapseed",
    "picsart": "Picsart",
    "canva": "Canva",
    "facetune": "Facetune",
    "meitu": "Meitu",
    "photoroom": "PhotoRoom",
    "lensa": "Lensa",
    "remini": "Remini",
    "faceapp": "FaceApp",
    "krita": "Krita",
    "capture one": "Capture One",
    "darktable": "darktable",
    "rawtherapee": "RawTherapee",
}


@cache
def _word(needle: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])")


def match_name(value: str) -> tuple[str, str] | None:
    """``("generator" | "editor", name)`` for a software string, or None."""
    low = value.lower()
    for table, kind in ((GENERATORS, "generator"), (EDITORS, "editor")):
        for needle, name in table.items():
            if needle in low and _word(needle).search(low):
                return kind, name
    return None


class SoftwareNames:
    """Known generator and editor names in software fields."""

    name = "software"

    def read(self, sources: Sources) -> list[GeneratorFinding]:
        candidates: list[TextSource] = []
        for key in ("Software", "Artist", "Make", "Model"):
            value = sources.exif.get(key)
            # ComfyUI's WebP writer stores graphs in Make/Model; those are not names
            if value and not value.startswith(("prompt:", "workflow:")):
                candidates.append(TextSource(value[:200], f"EXIF {key}"))
        chunk = sources.meta.text("Software")
        if chunk:
            candidates.append(TextSource(chunk.text[:200], chunk.where))
        if sources.xmp:
            if sources.xmp.creator_tool:
                candidates.append(TextSource(sources.xmp.creator_tool[:200], "XMP CreatorTool"))
            if sources.xmp.credit:
                candidates.append(TextSource(sources.xmp.credit[:200], "XMP photoshop:Credit"))
        return name_findings(candidates)


def name_findings(candidates: list[TextSource]) -> list[GeneratorFinding]:
    """One finding per generator or editor named in ``candidates`` (the first field naming
    it): ``moderate`` evidence of AI for a generator, ``weak`` of editing for an editor."""
    findings: list[GeneratorFinding] = []
    seen: set[str] = set()
    for candidate in candidates:
        matched = match_name(candidate.text)
        if matched is None or matched[1] in seen:
            continue
        kind, name = matched
        seen.add(name)
        findings.append(
            GeneratorFinding(
                generator=name,
                field=candidate.field,
                strength="moderate" if kind == "generator" else "weak",
                kind="software",
                indicates="ai" if kind == "generator" else "edited",
                note=f"value {candidate.text.strip()!r}",
            )
        )
    return findings
