"""Readers of AI generators' own metadata records, one module per generator.

In: ``Sources`` (text chunks, EXIF text, XMP fields, stealth payload of one file). Out: every
reader's ``GeneratorFinding`` list, in registry order. Built-ins and third-party readers
(entry-point group ``needle.provenance``) share one registry; a reader that raises is reported
in ``Sources.errors`` and the others still run.
"""

from __future__ import annotations

from collections.abc import Iterable

from needle.plugins import Registry
from needle.provenance.generators.base import MetadataReader, Sources, TextSource
from needle.provenance.model import GeneratorFinding

__all__ = ["MetadataReader", "Sources", "TextSource", "read_all", "registry"]


def _builtins() -> Iterable[MetadataReader]:
    from needle.provenance.generators.a1111 import AUTOMATIC1111
    from needle.provenance.generators.comfyui import ComfyUI
    from needle.provenance.generators.fooocus import Fooocus
    from needle.provenance.generators.invokeai import InvokeAI
    from needle.provenance.generators.midjourney import Midjourney
    from needle.provenance.generators.novelai import NovelAI
    from needle.provenance.generators.software import SoftwareNames

    return [
        ComfyUI(),
        InvokeAI(),
        Fooocus(),
        NovelAI(),
        AUTOMATIC1111(),
        Midjourney(),
        SoftwareNames(),
    ]


registry: Registry[MetadataReader] = Registry("provenance reader", "needle.provenance", _builtins)


def read_all(sources: Sources) -> list[GeneratorFinding]:
    """Run every registered reader over ``sources``."""
    findings: list[GeneratorFinding] = []
    for reader in registry:
        try:
            findings.extend(reader.read(sources))
        except Exception as exc:  # a reader's bug must not lose the file's other evidence
            sources.errors.append(f"reader {reader.name!r} failed: {type(exc).__name__}: {exc}")
    return findings
