"""IPTC digital source types and other provenance fields of an XMP packet.

In: the XMP packet text (from ``container.read_metadata``). Out: ``XmpFields`` with the IPTC
``Iptc4xmpExt:DigitalSourceType`` values, the ``dcterms:provenance`` reference to a C2PA
manifest (``self#jumbf=...`` embedded, or an ``http(s)`` URL for a remote one), the
``xmp:CreatorTool``, ``dc:description`` and ``photoshop:Credit``; and ``classify_source_type``,
which maps the IPTC vocabulary (shared with C2PA) onto what it means for triage.

Fields are found with bounded regular expressions over the packet, never with an XML parser:
no entity expansion, no external references, the same answer for a packet that is not
well-formed XML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = ["MAX_SCAN_CHARS", "SOURCE_TYPES", "XmpFields", "classify_source_type", "read_xmp"]

#: IPTC NewsCodes "digitalsourcetype" term -> (what it indicates, human label).
#: https://cv.iptc.org/newscodes/digitalsourcetype/ ; ``algorithmicMedia`` is media made by an
#: algorithm *without* a trained model (procedural art), so it is not an AI claim.
SOURCE_TYPES: dict[str, tuple[str, str]] = {
    "trainedAlgorithmicMedia": ("ai", "created by a trained AI model"),
    "compositeWithTrainedAlgorithmicMedia": ("ai", "composite including trained-AI content"),
    "algorithmicallyEnhanced": ("edited", "enhanced by an algorithm"),
    "algorithmicMedia": ("synthetic", "made by an algorithm without a trained model"),
    "digitalCapture": ("camera", "captured by a digital camera"),
    "computationalCapture": ("camera", "captured by a camera with computational processing"),
    "negativeFilm": ("camera", "scanned from negative film"),
    "positiveFilm": ("camera", "scanned from positive film"),
    "print": ("camera", "scanned from a print"),
    "minorHumanEdits": ("edited", "capture with minor human edits"),
    "humanEdits": ("edited", "human-edited media"),
    "compositeCapture": ("edited", "composite of captures"),
    "compositeSynthetic": ("edited", "composite including synthetic elements"),
    "composite": ("edited", "composite"),
    "digitalCreation": ("synthetic", "created digitally by a person (drawing, 3D)"),
    "dataDrivenMedia": ("synthetic", "data-driven media"),
    "screenCapture": ("info", "screen capture"),
    "virtualRecording": ("info", "recording of a virtual event"),
    "softwareImage": ("synthetic", "image made by software"),
    # retired IPTC terms still written by some tools
    "digitalArt": ("synthetic", "digital art"),
}

_MAX_VALUES = 32
_NAME = r"(?:[A-Za-z][\w.-]*:)?"


def _patterns(local: str) -> tuple[re.Pattern[str], ...]:
    """Attribute form, element form and rdf:resource form of one property."""
    return (
        re.compile(rf"\s{_NAME}{local}\s*=\s*\"([^\"]{{0,4096}})\""),
        re.compile(rf"\s{_NAME}{local}\s*=\s*'([^']{{0,4096}})'"),
        re.compile(
            rf"<{_NAME}{local}(?:\s[^>]{{0,512}})?>\s*([^<]{{1,4096}}?)\s*</{_NAME}{local}>"
        ),
        re.compile(rf"<{_NAME}{local}\s[^>]{{0,512}}?rdf:resource\s*=\s*\"([^\"]{{0,4096}})\""),
    )


_DST = _patterns("DigitalSourceType")
_PROVENANCE = _patterns("provenance")
_CREATOR_TOOL = _patterns("CreatorTool")
_CREDIT = _patterns("Credit")
_DESCRIPTION_OPEN = re.compile(r"<dc:description[\s>]")
_LI = re.compile(r"<rdf:li[^>]{0,512}>([^<]{1,100000})</rdf:li>")
#: only the first 2 MiB of a packet are searched (real packets are kilobytes; Photoshop's
#: document-ancestor lists can run to megabytes and carry nothing needle reads)
MAX_SCAN_CHARS = 2 * 1024 * 1024


@dataclass
class XmpFields:
    """Provenance fields of one XMP packet."""

    digital_source_types: list[str] = field(default_factory=list)
    provenance: str | None = None
    creator_tool: str | None = None
    credit: str | None = None
    description: str | None = None


def _find_all(patterns: tuple[re.Pattern[str], ...], text: str) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            value = html.unescape(match.group(1)).strip()
            if value and value not in found:
                found.append(value)
            if len(found) >= _MAX_VALUES:
                return found
    return found


def read_xmp(packet: str) -> XmpFields:
    """Find the provenance fields of an XMP packet."""
    out = XmpFields()
    packet = packet[:MAX_SCAN_CHARS]
    out.digital_source_types = _find_all(_DST, packet)
    provenance = _find_all(_PROVENANCE, packet)
    out.provenance = provenance[0] if provenance else None
    tools = _find_all(_CREATOR_TOOL, packet)
    out.creator_tool = tools[0] if tools else None
    credit = _find_all(_CREDIT, packet)
    out.credit = credit[0] if credit else None
    match = _DESCRIPTION_OPEN.search(packet)
    if match:
        close = packet.find("</dc:description>", match.end())
        if close != -1:
            inner = packet[match.end() : close]
            items = _LI.findall(inner)
            text = items[0] if items else inner.split(">", 1)[-1]
            out.description = html.unescape(text).strip() or None
    return out


def classify_source_type(value: str) -> tuple[str, str, str]:
    """``(term, indicates, label)`` of an IPTC digital source type URI or bare term.

    ``indicates`` is ``ai``, ``camera``, ``edited``, ``synthetic``, ``info`` or ``unknown``.
    Surrounding spaces (seen in real C2PA manifests) and the URI prefix are ignored.
    """
    term = value.strip().rstrip("/").rsplit("/", 1)[-1].strip()
    indicates, label = SOURCE_TYPES.get(term, ("unknown", "unrecognised source type"))
    return term, indicates, label
