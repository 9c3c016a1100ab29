"""What every generator-metadata reader gets, and the helpers they share.

In: ``Sources``, the metadata of one file already pulled out of its container (text chunks,
EXIF text tags, XMP fields, a stealth payload). Out, from each reader: a list of
``GeneratorFinding`` (see ``needle.provenance.model``).

A reader is a small class with a ``name`` and a ``read(sources)`` method; built-ins and
third-party readers (entry-point group ``needle.provenance``) share one registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from needle.provenance.container import ImageMetadata
from needle.provenance.exif import ExifText
from needle.provenance.model import GeneratorFinding
from needle.provenance.stealth import StealthPayload
from needle.provenance.xmp import XmpFields

__all__ = [
    "MAX_SETTING_CHARS",
    "MetadataReader",
    "Sources",
    "TextSource",
    "clean_settings",
    "load_json",
    "model_family",
]

#: settings values are cut to this length (they are shown next to evidence, not prompts)
MAX_SETTING_CHARS = 200
_MAX_SETTINGS = 48


@dataclass(frozen=True)
class TextSource:
    """A piece of text and the field it came from, e.g. ``PNG tEXt 'parameters'``."""

    text: str
    field: str


@dataclass
class Sources:
    """Everything the readers may look at for one file; ``errors`` collects their problems."""

    meta: ImageMetadata
    exif: ExifText
    xmp: XmpFields | None = None
    stealth: StealthPayload | None = None
    errors: list[str] = field(default_factory=list)


class MetadataReader(Protocol):
    """Reads one generator's records out of ``Sources``."""

    name: str

    def read(self, sources: Sources) -> list[GeneratorFinding]: ...


def load_json(source: TextSource, sources: Sources) -> Any:
    """Parse JSON, recording a clear note (and returning None) when it is not valid."""
    try:
        return json.loads(source.text)
    except (ValueError, RecursionError) as exc:
        sources.errors.append(f"{source.field}: not valid JSON ({exc}); skipped")
        return None


def clean_settings(items: Mapping[str, Any]) -> dict[str, str]:
    """Scalar settings as short strings; prompt-like keys and nested structures are dropped."""
    out: dict[str, str] = {}
    for key, value in items.items():
        if len(out) >= _MAX_SETTINGS:
            break
        low = str(key).lower()
        if "prompt" in low or low in ("uc", "description", "comment", "text"):
            continue
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float, str)):
            text = str(value).strip()
            if text:
                out[str(key)] = text[:MAX_SETTING_CHARS]
    return out


_FAMILIES = (
    (re.compile(r"flux", re.I), "FLUX"),
    (re.compile(r"(?:^|[^a-z])sd3|stable.?diffusion.?3", re.I), "SD 3"),
    (
        re.compile(
            r"sdxl|sd_xl|(?:^|[^a-z])xl(?:[^a-z]|$)|[a-z]xl(?:[^a-z]|$)|pony|illustrious", re.I
        ),
        "SDXL",
    ),
    (re.compile(r"v2-[01]|sd-?2[01.]|(?:^|[^a-z0-9])sd-?2(?:[^0-9]|$)|768-v-ema", re.I), "SD 2.x"),
    (re.compile(r"v1-[45]|sd-?1[45.]|(?:^|[^a-z0-9])sd-?1(?:[^0-9]|$)|sd15", re.I), "SD 1.x"),
)
_BASE_MODELS = {
    "sdxl": "SDXL",
    "sdxl-refiner": "SDXL",
    "sd-1": "SD 1.x",
    "sd-2": "SD 2.x",
    "sd-3": "SD 3",
    "flux": "FLUX",
}


def model_family(*names: str | None, base_model: str | None = None) -> str | None:
    """Guess the model family from a declared base model or checkpoint names; None if unsure."""
    if base_model:
        known = _BASE_MODELS.get(base_model.strip().lower())
        if known:
            return known
    for name in names:
        if not name:
            continue
        for pattern, family in _FAMILIES:
            if pattern.search(name):
                return family
    return None
