"""AUTOMATIC1111 / Forge / SD.Next ``parameters`` text (and Fooocus's A1111-style scheme).

In: the PNG text chunk ``parameters``, the EXIF ``UserComment`` (JPEG, WebP) or a stealth
payload. The format is three parts::

    <prompt, possibly several lines>
    Negative prompt: <negative prompt, possibly several lines>
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: name, ...

Out: a ``GeneratorFinding`` with the prompt, negative prompt, the settings line as a mapping,
the checkpoint name, and the tool, told apart by the ``Version`` setting (``f…`` is Forge,
``Fooocus …`` is Fooocus) or SD.Next's ``App`` setting.
"""

from __future__ import annotations

import re

from needle.provenance.generators.base import (
    Sources,
    TextSource,
    clean_settings,
    model_family,
)
from needle.provenance.model import GeneratorFinding

__all__ = ["AUTOMATIC1111", "parse_parameters"]

# one "Key: value" pair of the settings line; values may be double-quoted with commas inside
# (the same shape as AUTOMATIC1111's own re_param in modules/infotext_utils.py)
_PARAM = re.compile(r'\s*([\w][\w \-/+.()]*?):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
_NEGATIVE = "Negative prompt:"


def _looks_like_settings(line: str) -> bool:
    return line.startswith("Steps: ") or (
        len(_PARAM.findall(line)) >= 3 and ("Sampler: " in line or "Seed: " in line)
    )


def parse_parameters(text: str) -> tuple[str, str | None, dict[str, str]] | None:
    """Split A1111 ``parameters`` text into (prompt, negative prompt, settings); None if foreign."""
    lines = text.strip().replace("\r\n", "\n").split("\n")
    settings: dict[str, str] = {}
    if lines and _looks_like_settings(lines[-1].strip()):
        for key, value in _PARAM.findall(lines[-1].strip()):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace('\\"', '"')
            settings[key.strip()] = value
        lines = lines[:-1]
    elif not any(line.startswith(_NEGATIVE) for line in lines):
        return None
    prompt_lines: list[str] = []
    negative_lines: list[str] | None = None
    for line in lines:
        if negative_lines is None and line.startswith(_NEGATIVE):
            negative_lines = [line[len(_NEGATIVE) :].strip()]
        elif negative_lines is not None:
            negative_lines.append(line)
        else:
            prompt_lines.append(line)
    prompt = "\n".join(prompt_lines).strip()
    negative = "\n".join(negative_lines).strip() if negative_lines is not None else None
    return prompt, negative or None, settings


def _tool(settings: dict[str, str]) -> str:
    version = settings.get("Version", "")
    app = settings.get("App", "")
    if "sd.next" in app.lower():
        return "SD.Next"
    if version.lower().startswith("fooocus"):
        return "Fooocus"
    if version.startswith("f") and any(c.isdigit() for c in version[:3]):
        return "Forge"
    if "comfyui" in version.lower():
        return "ComfyUI"
    if version.startswith("v"):
        return "AUTOMATIC1111"
    return "AUTOMATIC1111-compatible"


class AUTOMATIC1111:
    """``parameters`` text in a PNG chunk, EXIF UserComment, or a stealth payload."""

    name = "automatic1111"

    def read(self, sources: Sources) -> list[GeneratorFinding]:
        candidates: list[TextSource] = []
        for chunk in sources.meta.texts:
            if chunk.key == "parameters" and not chunk.text.lstrip().startswith("{"):
                candidates.append(TextSource(chunk.text, chunk.where))
        comment = sources.exif.get("UserComment")
        if comment:
            candidates.append(TextSource(comment, "EXIF UserComment"))
        stealth = sources.stealth
        if stealth and stealth.text and not stealth.text.lstrip().startswith("{"):
            candidates.append(TextSource(stealth.text, f"pixel low bits ({stealth.signature})"))
        findings: list[GeneratorFinding] = []
        for candidate in candidates:
            parsed = parse_parameters(candidate.text)
            if parsed is None:
                if candidate.field.startswith("PNG"):
                    sources.errors.append(
                        f"{candidate.field}: not in AUTOMATIC1111's format; kept as unparsed"
                    )
                    findings.append(
                        GeneratorFinding(
                            generator="unknown tool",
                            field=candidate.field,
                            prompt=candidate.text.strip() or None,
                            strength="moderate",
                            note="a 'parameters' chunk that is not in a known format",
                        )
                    )
                continue
            prompt, negative, settings = parsed
            model = settings.get("Model") or None
            findings.append(
                GeneratorFinding(
                    generator=_tool(settings),
                    field=candidate.field,
                    model=model,
                    model_family=model_family(model),
                    prompt=prompt or None,
                    negative_prompt=negative,
                    settings=clean_settings(settings),
                    kind="stealth" if candidate.field.startswith("pixel") else "generator",
                )
            )
        return findings
