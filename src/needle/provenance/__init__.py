"""Provenance: evidence that an image was made by an AI generator, or by a camera.

In: a file's bytes (and, from a scan, its already-decoded RGB image and its ``Limits``). Out:
a ``ProvenanceResult``: ``ai_generated`` (``claimed`` / ``likely`` / ``unknown``),
``camera_original`` (``likely`` / ``possible`` / ``unknown``), ``camera_claimed``, generator, model, the embedded prompt (kept for the text guard, shown to
reviewers only on demand), and every evidence item with its kind, detail and strength.

What is read, one module each:

* ``c2pa_manifest``: C2PA manifests (active and ingredients'), claims and signature state,
  remote manifests recorded, never fetched;
* ``xmp``: IPTC ``DigitalSourceType`` and the C2PA reference in XMP;
* ``generators``: AUTOMATIC1111/Forge, ComfyUI, NovelAI, InvokeAI, Fooocus and Midjourney
  records, and known generator/editor names in EXIF/XMP software fields;
* ``stealth``: generation metadata hidden in the alpha (or RGB) low bits;
* ``watermark``: the dwtDct invisible watermark of Stable Diffusion 1.x, 2.x and SDXL;
* ``camera``: camera-original evidence (maker notes, EXIF dates and sizes, GPS), with
  ``quantization`` (JPEG tables: a known camera's, a program's, libjpeg's; shipped list in
  ``data/jpeg_tables.toml``) and ``thumbnail`` (the EXIF thumbnail against the picture).

``examination`` runs them in order (``examine``; its docstring lists the steps), ``options``
says which run, ``pixels`` decodes a file's pixels once, on demand, through ``needle.media``,
``verdict`` turns the findings into the result types of ``model``. Nothing goes to the
network. Bad input never raises: problems are listed in ``errors``.
"""

from __future__ import annotations

from needle.provenance.examination import examine
from needle.provenance.model import (
    AI_VERDICTS,
    CAMERA_VERDICTS,
    STRENGTHS,
    C2paAction,
    C2paInfo,
    GeneratorFinding,
    ProvenanceEvidence,
    ProvenanceResult,
)
from needle.provenance.options import (
    DECODE_MAX_PIXELS,
    DECODE_SIDE_MULTIPLE,
    STEALTH_MAX_PIXELS,
    ProvenanceOptions,
)

__all__ = [
    "AI_VERDICTS",
    "CAMERA_VERDICTS",
    "DECODE_MAX_PIXELS",
    "DECODE_SIDE_MULTIPLE",
    "STEALTH_MAX_PIXELS",
    "STRENGTHS",
    "C2paAction",
    "C2paInfo",
    "GeneratorFinding",
    "ProvenanceEvidence",
    "ProvenanceOptions",
    "ProvenanceResult",
    "examine",
]
