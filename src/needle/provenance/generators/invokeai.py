"""InvokeAI: ``Dream`` (v1), ``sd-metadata`` (v2) and ``invokeai_metadata`` (v3 and later).

In: PNG text chunks. ``Dream`` is a command line, ``"<prompt>" -s 50 -S 123 -W 512 ...``, whose
negative prompt is written inside the prompt in ``[brackets]``; ``sd-metadata`` is JSON with
``model_weights`` and ``image.prompt`` (a string or a list of weighted prompts);
``invokeai_metadata`` is JSON with ``positive_prompt``, ``negative_prompt`` and ``model``.
Out: one ``GeneratorFinding`` from the newest record present.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from needle.provenance.generators.base import (
    Sources,
    TextSource,
    clean_settings,
    load_json,
    model_family,
)
from needle.provenance.model import GeneratorFinding

__all__ = ["InvokeAI", "parse_dream"]

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_DREAM_FLAGS = {
    "-s": "steps", "-S": "seed", "-W": "width", "-H": "height", "-C": "cfg_scale",
    "-A": "sampler", "-f": "strength", "-G": "gfpgan_strength", "-U": "upscale",
}  # fmt: skip


def parse_dream(text: str) -> tuple[str, str | None, dict[str, str]]:
    """(prompt, negative prompt, settings) of a v1 ``Dream`` command line."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    if not words:
        return "", None, {}
    raw_prompt, rest = words[0], words[1:]
    settings: dict[str, str] = {}
    i = 0
    while i < len(rest):
        flag = rest[i]
        if flag in _DREAM_FLAGS and i + 1 < len(rest):
            settings[_DREAM_FLAGS[flag]] = rest[i + 1]
            i += 2
        else:
            i += 1
    negative = ", ".join(part.strip() for part in _BRACKETS.findall(raw_prompt)) or None
    prompt = _BRACKETS.sub("", raw_prompt).strip()
    return prompt, negative, settings


def _prompt_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        texts = [str(p.get("prompt", "")).strip() for p in value if isinstance(p, dict)]
        return "\n".join(t for t in texts if t) or None
    return None


class InvokeAI:
    """The three generations of InvokeAI's metadata record."""

    name = "invokeai"

    def read(self, sources: Sources) -> list[GeneratorFinding]:
        v3 = sources.meta.text("invokeai_metadata")
        if v3 is not None:
            finding = self._v3(TextSource(v3.text, v3.where), sources)
            if finding:
                return [finding]
        v2 = sources.meta.text("sd-metadata")
        if v2 is not None:
            finding = self._v2(TextSource(v2.text, v2.where), sources)
            if finding:
                return [finding]
        v1 = sources.meta.text("Dream")
        if v1 is not None:
            prompt, negative, settings = parse_dream(v1.text)
            return [
                GeneratorFinding(
                    generator="InvokeAI",
                    field=v1.where,
                    prompt=prompt or None,
                    negative_prompt=negative,
                    settings=settings,
                    note="v1 'Dream' record",
                )
            ]
        return []

    def _v3(self, source: TextSource, sources: Sources) -> GeneratorFinding | None:
        record = load_json(source, sources)
        if not isinstance(record, dict):
            return None
        model_info = record.get("model")
        model = base = None
        if isinstance(model_info, dict):
            model = model_info.get("model_name") or model_info.get("name")
            base = model_info.get("base_model") or model_info.get("base")
        elif isinstance(model_info, str):
            model = model_info
        version = record.get("app_version")
        settings = clean_settings(record)
        if version:
            settings["app_version"] = str(version)
        return GeneratorFinding(
            generator="InvokeAI",
            field=source.field,
            model=str(model) if model else None,
            model_family=model_family(str(model or ""), base_model=str(base or "")),
            prompt=_prompt_text(record.get("positive_prompt")),
            negative_prompt=_prompt_text(record.get("negative_prompt")),
            settings=settings,
        )

    def _v2(self, source: TextSource, sources: Sources) -> GeneratorFinding | None:
        record = load_json(source, sources)
        if not isinstance(record, dict):
            return None
        image = record.get("image") if isinstance(record.get("image"), dict) else {}
        assert isinstance(image, dict)
        raw_prompt = _prompt_text(image.get("prompt"))
        negative = None
        prompt = raw_prompt
        if raw_prompt:
            negative = ", ".join(p.strip() for p in _BRACKETS.findall(raw_prompt)) or None
            prompt = _BRACKETS.sub("", raw_prompt).strip()
        model = record.get("model_weights")
        settings = clean_settings(image)
        for key in ("app_id", "app_version", "model_hash"):
            if record.get(key):
                settings[key] = str(record[key])[:200]
        return GeneratorFinding(
            generator="InvokeAI",
            field=source.field,
            model=str(model) if model else None,
            model_family=model_family(str(model or "")),
            prompt=prompt or None,
            negative_prompt=negative,
            settings=settings,
        )
