"""NovelAI: ``Software``, ``Source``, ``Description`` and ``Comment`` text chunks.

In: PNG text chunks written by NovelAI (``Software: NovelAI``, ``Source: <model> <hash>``,
``Description: <prompt>``, ``Comment: <JSON settings with "uc", the negative prompt>``), or the
same keys as JSON in a stealth payload (NovelAI copies them into the alpha channel's low bits).
Out: a ``GeneratorFinding`` with the prompt (``Description``, or ``prompt`` in the comment),
the negative prompt (``uc``), the model (``Source``) and the scalar settings.
"""

from __future__ import annotations

import json
from typing import Any

from needle.provenance.generators.base import Sources, TextSource, clean_settings, load_json
from needle.provenance.model import GeneratorFinding

__all__ = ["NovelAI"]


def _finding(record: dict[str, Any], field: str, sources: Sources) -> GeneratorFinding:
    comment: Any = record.get("Comment")
    if isinstance(comment, str):
        comment = load_json(TextSource(comment, f"{field} Comment"), sources)
    if not isinstance(comment, dict):
        comment = {}
    prompt = record.get("Description") or comment.get("prompt")
    negative = comment.get("uc")
    source = record.get("Source")
    return GeneratorFinding(
        generator="NovelAI",
        field=field,
        model=str(source) if source else None,
        model_family=None,
        prompt=str(prompt).strip() if prompt else None,
        negative_prompt=str(negative).strip() if negative else None,
        settings=clean_settings(comment),
        kind="stealth" if field.startswith("pixel") else "generator",
    )


class NovelAI:
    """NovelAI's text chunks, or their JSON copy in a stealth payload."""

    name = "novelai"

    def read(self, sources: Sources) -> list[GeneratorFinding]:
        findings: list[GeneratorFinding] = []
        software = sources.meta.text("Software")
        if software and software.text.strip().lower().startswith("novelai"):
            record = {
                key: chunk.text
                for key in ("Description", "Source", "Comment", "Title")
                if (chunk := sources.meta.text(key)) is not None
            }
        else:
            record = {}
        # a bare Software name is left to the software-name reader (moderate, not a record)
        if software and record.keys() & {"Description", "Source", "Comment"}:
            where = software.where.rsplit(" ", 1)[0]  # "PNG tEXt"
            keys = ", ".join(repr(k) for k in ("Software", *record))
            findings.append(_finding(record, f"{where} {keys}", sources))
        stealth = sources.stealth
        if stealth and stealth.text.lstrip().startswith("{"):
            field = f"pixel low bits ({stealth.signature})"
            try:
                record = json.loads(stealth.text)
            except ValueError as exc:
                sources.errors.append(f"{field}: not valid JSON ({exc}); skipped")
                return findings
            if isinstance(record, dict) and str(record.get("Software", "")).startswith("NovelAI"):
                findings.append(_finding(record, field, sources))
        return findings
