"""Provenance of a video: C2PA in the container, and generators named in its metadata tags.

In: a video (its bytes, or a path on disk, read where it is) and the container's tags as
``needle.media.video.VideoReader.tags`` gives them. Out: a ``ProvenanceResult`` assembled as an
image's is (``needle.provenance.verdict.assemble``):

- **C2PA**: the manifest store embedded in an MP4/MOV (ISO BMFF ``uuid`` box) or AVI,
  read by c2pa-python from a stream (nothing fetched: remote manifests are reported, not
  read), validated as an image's;
- **tags**: container and stream tags that name software (``encoder``, ``software``,
  ``com.apple.quicktime.software``, ``comment``, ``description``, ``title``, ...) are
  matched against the generator and editor names of ``needle.provenance.generators.software``
  (``moderate`` evidence of AI for a generator's name, ``weak`` of editing for an editor's),
  the field named ``container tag 'encoder'``.

Camera-original evidence, stealth metadata and the watermark check read still images only.
Never raises for bad input: problems are listed in ``errors``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from needle.errors import MediaError
from needle.media.video import VideoSource, sniff_video
from needle.provenance.generators.base import TextSource
from needle.provenance.generators.software import name_findings
from needle.provenance.model import C2paInfo, GeneratorFinding, ProvenanceResult

__all__ = ["examine_video", "tag_findings"]

#: tags (lower case, without a ``stream:`` prefix or a QuickTime key's domain) whose value may
#: name the program that made the file
SOFTWARE_TAGS = frozenset(
    {"encoder", "encoded_by", "software", "comment", "description", "title", "artist",
     "make", "model", "tool", "creation_tool", "handler_name"}
)  # fmt: skip


def examine_video(
    source: VideoSource,
    *,
    filename: str = "",
    tags: Mapping[str, str] | None = None,
    trust_anchors: str | None = None,
) -> ProvenanceResult:
    """Read a video's provenance; ``tags`` None reads them here (one header read)."""
    from needle.provenance.verdict import Findings, assemble

    found = Findings()
    try:
        kind = _kind(source)
        found.format = kind
        if tags is None:
            tags = _read_tags(source, found.errors)
        found.generators = tag_findings(tags)
        if kind is not None:
            found.c2pa = _c2pa(source, kind, trust_anchors)
            if found.c2pa is not None and found.c2pa.error:
                found.errors.append(f"C2PA: {found.c2pa.error}")
    except Exception as exc:  # last line of defence: a bug must not stop a scan
        name = f" of {filename!r}" if filename else ""
        found.errors.append(f"provenance{name} stopped early: {type(exc).__name__}: {exc}")
    return assemble(found)


def tag_findings(tags: Mapping[str, str]) -> list[GeneratorFinding]:
    """Generator and editor names in software-like tags, one finding per name."""
    candidates = [
        TextSource(value[:200], f"container tag {key!r}")
        for key, value in tags.items()
        if key.removeprefix("stream:").lower().rsplit(".", 1)[-1] in SOFTWARE_TAGS and value.strip()
    ]
    return name_findings(candidates)


def _kind(source: VideoSource) -> str | None:
    from needle.media.reading import open_regular
    from needle.media.video import SNIFF_BYTES

    if isinstance(source, bytes):
        return sniff_video(source[:SNIFF_BYTES])
    with open_regular(os.fspath(source)) as handle:
        return sniff_video(handle.read(SNIFF_BYTES))


def _read_tags(source: VideoSource, errors: list[str]) -> dict[str, str]:
    from needle.media.video import open_video

    try:
        with open_video(source) as reader:
            return reader.tags()
    except (MediaError, ImportError) as exc:
        errors.append(f"container tags: {exc}")
        return {}


def _c2pa(source: VideoSource, kind: str, trust_anchors: str | None) -> C2paInfo | None:
    from needle.media.reading import open_regular
    from needle.provenance.c2pa_manifest import MIME_TYPES, read_c2pa

    if kind not in MIME_TYPES:
        return None
    if isinstance(source, bytes):
        return read_c2pa(source, kind, trust_anchors=trust_anchors)
    with open_regular(os.fspath(source)) as handle:
        return read_c2pa(handle, kind, trust_anchors=trust_anchors)
