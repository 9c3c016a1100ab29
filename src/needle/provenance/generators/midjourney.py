"""Midjourney: a description ending in ``Job ID: <uuid>``.

In: the PNG ``Description`` text chunk, the EXIF ``ImageDescription`` or the XMP
``dc:description`` — Midjourney writes the prompt followed by its job ID there, and marks the
file as trained-algorithmic media in IPTC XMP (read by the XMP reader). Out: a
``GeneratorFinding`` with the prompt (parameters such as ``--ar 3:2`` kept as written and
copied into settings) and the job ID.
"""

from __future__ import annotations

import re

from needle.provenance.generators.base import Sources, TextSource
from needle.provenance.model import GeneratorFinding

__all__ = ["Midjourney", "parse_description"]

_JOB_ID = re.compile(
    r"\s*Job ID:\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)
_FLAG = re.compile(r"--([a-z]+)(?:\s+([^\s-][^\s]*))?")


def parse_description(text: str) -> tuple[str, str, dict[str, str]] | None:
    """(prompt, job id, settings) of a Midjourney description, or None if it has no job ID."""
    match = _JOB_ID.search(text)
    if match is None:
        return None
    prompt = (text[: match.start()] + text[match.end() :]).strip()
    settings = {"job_id": match.group(1)}
    for flag, value in _FLAG.findall(prompt):
        settings[flag] = value or "on"
    return prompt, match.group(1), settings


class Midjourney:
    """Prompt and job ID in a description field."""

    name = "midjourney"

    def read(self, sources: Sources) -> list[GeneratorFinding]:
        candidates: list[TextSource] = [
            TextSource(chunk.text, chunk.where)
            for chunk in sources.meta.texts
            if chunk.key.lower() == "description"
        ]
        image_description = sources.exif.get("ImageDescription")
        if image_description:
            candidates.append(TextSource(image_description, "EXIF ImageDescription"))
        if sources.xmp and sources.xmp.description:
            candidates.append(TextSource(sources.xmp.description, "XMP dc:description"))
        for candidate in candidates:
            parsed = parse_description(candidate.text)
            if parsed is None:
                continue
            prompt, job_id, settings = parsed
            return [
                GeneratorFinding(
                    generator="Midjourney",
                    field=candidate.field,
                    prompt=prompt or None,
                    settings=settings,
                    note=f"job {job_id}",
                )
            ]
        return []
