"""Turn what the readers found into evidence items and one verdict.

In: the C2PA summary, the XMP fields, the EXIF text, the generator findings and the watermark
check of one file. Out: a ``ProvenanceResult``.

* ``ai_generated``: ``claimed`` when any AI evidence has strength ``claimed`` (a declaration in
  the file), ``likely`` when any AI evidence is ``strong`` or ``moderate`` (detections, bare
  generator names), else ``unknown``. Never "real".
* ``camera_claimed``: a C2PA or IPTC capture claim (``digitalCapture``, ``computationalCapture``,
  film or print scans); a C2PA claim counts only when its manifest is neither tampered nor
  badly signed.
* generator, model, prompt and settings come from the first generator record that has them,
  then from the C2PA / IPTC declaration, then from a software name; the watermark names the
  model family when nothing else does.
* A ``partial`` watermark reading is kept in ``watermark`` but is not evidence: it happens by
  chance on about one unmarked image in ten.
* ``camera_original``: ``needle.provenance.camera.camera_verdict`` over the evidence and the
  camera-original items (kept apart in ``camera_evidence``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from needle.provenance.camera import camera_verdict
from needle.provenance.exif import ExifText
from needle.provenance.model import (
    C2paInfo,
    GeneratorFinding,
    ProvenanceEvidence,
    ProvenanceResult,
)
from needle.provenance.watermark import WatermarkCheck
from needle.provenance.xmp import XmpFields, classify_source_type

__all__ = ["Findings", "assemble"]

#: C2PA states under which a capture claim is not taken as a claim
_BROKEN = ("tampered", "invalid_signature", "invalid", "unreadable")
_WATERMARK_STRENGTH = {"very_likely": "strong", "likely": "moderate"}


@dataclass
class Findings:
    """Everything found for one file, before the verdict."""

    format: str | None = None
    c2pa: C2paInfo | None = None
    xmp: XmpFields | None = None
    exif: ExifText | None = None
    jumbf_missing_reference: str | None = None
    generators: list[GeneratorFinding] = field(default_factory=list)
    watermark: WatermarkCheck | None = None
    camera: list[ProvenanceEvidence] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _signature_words(state: str) -> str:
    return {
        "tampered": "manifest tampered",
        "invalid_signature": "signature invalid",
        "invalid": "manifest invalid",
        "expired": "signing certificate expired",
        "untrusted": "signature valid, signer not on a trust list",
        "valid": "signature valid",
        "trusted": "signature valid and trusted",
    }.get(state, state)


def _c2pa_evidence(info: C2paInfo) -> tuple[list[ProvenanceEvidence], bool, str | None]:
    """Evidence items, whether a capture claim stands, and the AI claim's generator."""
    evidence: list[ProvenanceEvidence] = []
    camera = False
    ai_agent: str | None = None
    if info.state == "remote_not_fetched":
        evidence.append(
            ProvenanceEvidence(
                "c2pa",
                f"C2PA manifest stored remotely at {info.remote_url}; not fetched (needle "
                "never goes to the network)",
                "weak",
                "info",
                "XMP dcterms:provenance",
            )
        )
        return evidence, camera, ai_agent
    if info.state == "unreadable":
        evidence.append(
            ProvenanceEvidence(
                "c2pa", f"C2PA data present but unreadable: {info.error}", "weak", "info", "JUMBF"
            )
        )
        return evidence, camera, ai_agent
    words = _signature_words(info.state)
    best_rank: tuple[bool, bool] | None = None
    for action in info.actions:
        term, indicates, label = classify_source_type(action.digital_source_type)
        where = f" in {action.ingredient_path}" if action.ingredient_path else ""
        agent = f" by {action.software_agent}" if action.software_agent else ""
        detail = f"C2PA {action.action} action{agent}{where}: {term} ({label}); {words}"
        field_name = f"C2PA {action.manifest}"
        if indicates == "ai":
            evidence.append(ProvenanceEvidence("c2pa", detail, "claimed", "ai", field_name))
            if action.software_agent:
                # the tool that created trained-AI content names the generator best
                rank = (term == "trainedAlgorithmicMedia", action.action == "c2pa.created")
                if best_rank is None or rank > best_rank:
                    ai_agent, best_rank = action.software_agent, rank
        elif indicates == "camera":
            evidence.append(ProvenanceEvidence("c2pa", detail, "claimed", "camera", field_name))
            camera = camera or info.state not in _BROKEN
        elif indicates == "edited":
            evidence.append(ProvenanceEvidence("c2pa", detail, "weak", "edited", field_name))
        else:
            evidence.append(ProvenanceEvidence("c2pa", detail, "weak", "info", field_name))
    if not info.actions:
        evidence.append(
            ProvenanceEvidence(
                "c2pa",
                f"C2PA manifest by {info.claim_generator or 'an unnamed tool'} declares no "
                f"digital source type; {words}",
                "weak",
                "info",
                f"C2PA {info.active_manifest}",
            )
        )
    if info.state in ("tampered", "invalid_signature", "invalid"):
        codes = ", ".join(c for c in info.failure_codes if c != "signingCredential.untrusted")
        evidence.append(
            ProvenanceEvidence(
                "c2pa",
                f"C2PA validation failed ({codes or info.validation_state}): the file changed "
                "after signing, or the manifest was forged or damaged",
                "moderate",
                "edited",
                "C2PA validation",
            )
        )
    return evidence, camera, ai_agent


def _xmp_evidence(xmp: XmpFields) -> tuple[list[ProvenanceEvidence], bool]:
    evidence: list[ProvenanceEvidence] = []
    camera = False
    for value in xmp.digital_source_types:
        term, indicates, label = classify_source_type(value)
        detail = f"XMP Iptc4xmpExt:DigitalSourceType {term} ({label}); unsigned metadata"
        field_name = "XMP Iptc4xmpExt:DigitalSourceType"
        if indicates == "ai":
            evidence.append(ProvenanceEvidence("iptc", detail, "claimed", "ai", field_name))
        elif indicates == "camera":
            evidence.append(ProvenanceEvidence("iptc", detail, "claimed", "camera", field_name))
            camera = True
        else:
            kind = "edited" if indicates == "edited" else "info"
            evidence.append(ProvenanceEvidence("iptc", detail, "weak", kind, field_name))
    return evidence, camera


def _camera_hint(exif: ExifText, named: set[str]) -> ProvenanceEvidence | None:
    make = (exif.get("Make") or "").strip()
    model = (exif.get("Model") or "").strip()
    if make.startswith(("prompt:", "workflow:")) or model.startswith(("prompt:", "workflow:")):
        return None
    text = " ".join(dict.fromkeys(p for p in (make, model) if p))[:120]
    if not text or any(name.lower() in text.lower() for name in named):
        return None
    return ProvenanceEvidence(
        "exif",
        f"EXIF names a camera: {text!r} (easily copied; not a claim)",
        "weak",
        "camera",
        "EXIF Make/Model",
    )


def assemble(found: Findings) -> ProvenanceResult:
    """The verdict, its evidence and a one-line headline."""
    evidence, camera_claimed, c2pa_agent = _evidence(found)
    verdict = _verdict(evidence)
    camera, camera_reason = camera_verdict([*evidence, *found.camera])
    records = [g for g in found.generators if g.kind != "software"]
    chosen = next((g for g in records if g.prompt or g.model), records[0] if records else None)
    headline = _headline(verdict, camera_claimed, evidence, chosen, found, c2pa_agent)
    if camera != "unknown":
        headline = "; ".join(
            p for p in (headline, f"camera original {camera}: {camera_reason}") if p
        )
    elif not headline and any(e.indicates == "camera" for e in found.camera):
        headline = f"provenance unknown: no AI-generation evidence; camera original unknown: {camera_reason}"
    generator, model = _names(found, chosen, c2pa_agent)
    return ProvenanceResult(
        ai_generated=verdict,
        camera_original=camera,
        camera_reason=camera_reason,
        camera_claimed=camera_claimed,
        generator=generator,
        model=model,
        prompt=chosen.prompt if chosen is not None else None,
        negative_prompt=chosen.negative_prompt if chosen is not None else None,
        evidence=tuple(evidence),
        camera_evidence=tuple(found.camera),
        c2pa=found.c2pa,
        remote_manifest_url=found.c2pa.remote_url if found.c2pa is not None else None,
        watermark=found.watermark,
        settings=dict(chosen.settings) if chosen is not None else {},
        format=found.format,
        errors=tuple(found.errors),
        headline=headline,
    )


def _evidence(found: Findings) -> tuple[list[ProvenanceEvidence], bool, str | None]:
    """Every evidence item in report order, whether a capture claim stands, and the C2PA AI
    claim's generator."""
    evidence: list[ProvenanceEvidence] = []
    camera_claimed = False
    c2pa_agent: str | None = None
    if found.c2pa is not None:
        items, camera, c2pa_agent = _c2pa_evidence(found.c2pa)
        evidence += items
        camera_claimed |= camera
    if found.jumbf_missing_reference:
        evidence.append(
            ProvenanceEvidence(
                "c2pa",
                f"XMP points to an embedded C2PA manifest ({found.jumbf_missing_reference[:120]})"
                " that is no longer in the file: it was stripped by a later edit or re-save",
                "weak",
                "edited",
                "XMP dcterms:provenance",
            )
        )
    if found.xmp is not None:
        items, camera = _xmp_evidence(found.xmp)
        evidence += items
        camera_claimed |= camera
    names = {g.generator.lower() for g in found.generators if g.kind != "software"}
    for finding in found.generators:
        if finding.kind == "software" and finding.generator.lower() in names:
            continue  # the generator's own record says more
        evidence.append(
            ProvenanceEvidence(
                finding.kind,
                finding.describe(),
                finding.strength,
                finding.indicates,
                finding.field,
            )
        )
    if found.exif is not None:
        hint = _camera_hint(found.exif, {g.generator for g in found.generators})
        if hint:
            evidence.append(hint)
    mark = _watermark_evidence(found.watermark)
    if mark is not None:
        evidence.append(mark)
    return evidence, camera_claimed, c2pa_agent


def _watermark_evidence(mark: WatermarkCheck | None) -> ProvenanceEvidence | None:
    if mark is None or mark.best is None or mark.level not in _WATERMARK_STRENGTH:
        return None
    best = mark.best
    order = ", read in RGB channel order" if best.channel_order == "rgb" else ""
    return ProvenanceEvidence(
        "watermark",
        f"invisible dwtDct watermark of {best.model} ({best.message}): "
        f"{best.bits_matched}/{best.bits_total} bits match "
        f"({mark.level.replace('_', ' ')}){order}",
        _WATERMARK_STRENGTH[mark.level],
        "ai",
        "pixels",
    )


def _verdict(evidence: list[ProvenanceEvidence]) -> str:
    ai = [e for e in evidence if e.indicates == "ai"]
    if any(e.strength == "claimed" for e in ai):
        return "claimed"
    if any(e.strength in ("strong", "moderate") for e in ai):
        return "likely"
    return "unknown"


def _names(
    found: Findings, chosen: GeneratorFinding | None, c2pa_agent: str | None
) -> tuple[str | None, str | None]:
    """Generator and model: the chosen record's, else the C2PA claim's generator, else a
    software field naming one; the watermark's model when nothing else names it."""
    generator = chosen.generator if chosen is not None else None
    model = chosen.model if chosen is not None else None
    if generator is None and c2pa_agent:
        generator = c2pa_agent
    if generator is None:
        software = next((g for g in found.generators if g.indicates == "ai"), None)
        generator = software.generator if software else None
    mark = found.watermark
    if model is None and mark is not None and mark.best and mark.level in _WATERMARK_STRENGTH:
        model = mark.best.model
    return generator, model


def _headline(
    verdict: str,
    camera: bool,
    evidence: list[ProvenanceEvidence],
    chosen: GeneratorFinding | None,
    found: Findings,
    c2pa_agent: str | None,
) -> str:
    parts: list[str] = []
    state = found.c2pa.state if found.c2pa else None
    ai = [e for e in evidence if e.indicates == "ai"]
    claimed = [e for e in ai if e.strength == "claimed"]
    if claimed and claimed[0].kind == "c2pa":
        by = f" by {c2pa_agent}" if c2pa_agent else ""
        parts.append(f"AI-generated: C2PA claim{by} ({_signature_words(state or '')})")
    elif claimed and claimed[0].kind == "iptc":
        parts.append("AI-generated: IPTC digital source type in XMP (unsigned)")
    elif verdict == "claimed" and chosen is not None:
        text = f"generator metadata: {chosen.generator}"
        if chosen.model:
            family = f"{chosen.model_family} " if chosen.model_family else ""
            text += f", {family}checkpoint {chosen.model}"
        elif chosen.model_family:
            text += f", {chosen.model_family}"
        if chosen.kind == "stealth":
            text += " (hidden in pixel low bits)"
        parts.append(text)
    elif verdict == "likely":
        first = next(e for e in ai if e.strength in ("strong", "moderate"))
        if first.kind == "watermark" and found.watermark and found.watermark.best:
            best = found.watermark.best
            parts.append(
                f"likely AI-generated: {best.model} invisible watermark, "
                f"{best.bits_matched}/{best.bits_total} bits"
            )
        else:
            parts.append(f"likely AI-generated: {first.detail}")
    if verdict == "claimed" and chosen is not None and not parts[0].startswith("generator"):
        parts.append(f"generator metadata: {chosen.generator}")
    if camera:
        source = (
            "C2PA"
            if any(e.kind == "c2pa" and e.indicates == "camera" for e in evidence)
            else "IPTC"
        )
        extra = f", {_signature_words(state)}" if source == "C2PA" and state else ""
        parts.append(f"camera capture claimed ({source}{extra})")
    if state in ("tampered", "invalid_signature", "invalid") and not parts:
        parts.append(f"C2PA manifest present but {_signature_words(state)}")
    if state == "remote_not_fetched" and found.c2pa and not parts:
        parts.append(f"C2PA manifest stored remotely, not fetched: {found.c2pa.remote_url}")
    return "; ".join(parts)
