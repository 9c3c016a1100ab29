"""Result types of the provenance stage: evidence items, the C2PA summary and the verdict.

In: what the readers found (``ProvenanceEvidence``, ``GeneratorFinding``, ``C2paInfo``,
``WatermarkCheck``). Out: one frozen ``ProvenanceResult`` per file, with ``to_dict()`` for JSON
(embedded prompts withheld unless asked for) and ``summary()`` for an assessment reason.

Verdict rules (applied in ``needle.provenance.verdict``):

* ``ai_generated="claimed"``: the file itself declares it was made by AI: a C2PA action or IPTC
  digital source type of trained-algorithmic media, or a generator's own parameter record.
* ``"likely"``: no declaration, but a detection points that way (an open model's invisible
  watermark read as likely or very likely; EXIF ``Software`` naming a generator).
* ``"unknown"``: everything else. Absence of AI evidence never means "real": metadata is easily
  stripped, and most generators write none.

``camera_original`` (``likely`` / ``possible`` / ``unknown``, rules in
``needle.provenance.camera.camera_verdict``) sits beside it: capture traces a file still
carries (a parseable maker note, an EXIF thumbnail showing the picture, a camera's JPEG
tables) with no AI evidence and, for ``likely``, no editing trace. Neither absence means
anything: no camera evidence is not evidence of generation, no AI evidence is not evidence of
a camera.

A claim is not proof: metadata can be added to a real photograph as easily as removed from a
generated one. C2PA signatures are reported separately (``C2paInfo.state``) for that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field

from needle.jsonvalue import JSONObject
from needle.provenance.watermark import WatermarkCheck

__all__ = [
    "AI_VERDICTS",
    "CAMERA_VERDICTS",
    "INDICATES",
    "STRENGTHS",
    "C2paAction",
    "C2paInfo",
    "GeneratorFinding",
    "ProvenanceEvidence",
    "ProvenanceResult",
]

#: strongest first
STRENGTHS = ("claimed", "strong", "moderate", "weak")
#: what an evidence item points to
INDICATES = ("ai", "camera", "edited", "info")
AI_VERDICTS = ("claimed", "likely", "unknown")
CAMERA_VERDICTS = ("likely", "possible", "unknown")


@dataclass(frozen=True)
class ProvenanceEvidence:
    """One observation, with where it was found and how much it weighs.

    ``strength``: ``claimed`` (the file declares it), ``strong`` (a detection that rarely fires
    by chance), ``moderate``, ``weak`` (consistent with, far from conclusive).
    ``indicates``: ``ai``, ``camera``, ``edited`` or ``info``. ``field`` names the metadata
    field or check. ``detail`` says in plain words what was seen and what it means; it never
    contains an embedded prompt. Camera-original items (``ProvenanceResult.camera_evidence``)
    have the kinds ``makernote``, ``thumbnail``, ``quantization``, ``exif`` and ``geometry``.
    """

    kind: str
    detail: str
    strength: str
    indicates: str = "ai"
    field: str = ""

    def to_dict(self) -> JSONObject:
        return {
            "kind": self.kind,
            "detail": self.detail,
            "strength": self.strength,
            "indicates": self.indicates,
            "field": self.field,
        }


@dataclass(frozen=True)
class GeneratorFinding:
    """What a generator's own metadata record says: tool, model, prompts, settings."""

    generator: str
    field: str
    model: str | None = None
    model_family: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    settings: Mapping[str, str] = _field(default_factory=dict)
    strength: str = "claimed"
    kind: str = "generator"
    indicates: str = "ai"
    note: str = ""

    def describe(self) -> str:
        """One line for an evidence item, without the prompt."""
        if self.kind == "software":
            parts = [f"{self.field} names {self.generator}"]
        else:
            parts = [f"{self.field} holds {self.generator} generation metadata"]
        if self.model:
            family = f"{self.model_family} " if self.model_family else ""
            parts.append(f"{family}checkpoint {self.model}")
        elif self.model_family:
            parts.append(f"model family {self.model_family}")
        if self.prompt:
            parts.append("prompt embedded (withheld)")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


@dataclass(frozen=True)
class C2paAction:
    """One ``c2pa.actions`` entry that carries a digital source type."""

    manifest: str
    action: str
    digital_source_type: str
    software_agent: str | None
    ingredient_path: str = ""

    def to_dict(self) -> JSONObject:
        return {
            "manifest": self.manifest,
            "action": self.action,
            "digital_source_type": self.digital_source_type,
            "software_agent": self.software_agent,
            "ingredient_path": self.ingredient_path,
        }


@dataclass(frozen=True)
class C2paInfo:
    """The C2PA manifest store of a file: claims, signer, and validation state.

    ``state`` is one word, the worst that applies: ``tampered`` (content or assertion hash
    mismatch), ``invalid_signature``, ``expired``, ``untrusted`` (valid signature by a signer
    not on a configured trust list; every signer is untrusted without one), ``valid``,
    ``trusted``, ``remote_not_fetched`` (the manifest lives at ``remote_url``; needle never
    fetches it) or ``unreadable`` (the store is present but broken; see ``error``).
    """

    state: str
    validation_state: str | None = None
    failure_codes: tuple[str, ...] = ()
    active_manifest: str | None = None
    claim_generator: str | None = None
    signer: str | None = None
    signed_at: str | None = None
    manifests: int = 0
    actions: tuple[C2paAction, ...] = ()
    remote_url: str | None = None
    error: str | None = None

    def to_dict(self) -> JSONObject:
        return {
            "state": self.state,
            "validation_state": self.validation_state,
            "failure_codes": list(self.failure_codes),
            "active_manifest": self.active_manifest,
            "claim_generator": self.claim_generator,
            "signer": self.signer,
            "signed_at": self.signed_at,
            "manifests": self.manifests,
            "actions": [a.to_dict() for a in self.actions],
            "remote_url": self.remote_url,
            "error": self.error,
        }


@dataclass(frozen=True)
class ProvenanceResult:
    """Everything the provenance stage learned about one file.

    ``prompt`` and ``negative_prompt`` are kept for the text guard; ``to_dict`` leaves them out
    unless ``include_prompt`` is set, so reviewers see them only on demand.
    ``camera_original`` and ``camera_reason``: the camera-original verdict and why (see the
    module docstring); ``camera_evidence``: its own items (maker notes, EXIF dates and sizes,
    JPEG tables, the thumbnail, generator-typical sizes), kept apart from ``evidence`` so that
    what bears on AI generation reads as before.
    """

    ai_generated: str = "unknown"
    camera_original: str = "unknown"
    camera_reason: str = ""
    camera_claimed: bool = False
    generator: str | None = None
    model: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    evidence: tuple[ProvenanceEvidence, ...] = ()
    camera_evidence: tuple[ProvenanceEvidence, ...] = ()
    c2pa: C2paInfo | None = None
    remote_manifest_url: str | None = None
    watermark: WatermarkCheck | None = None
    settings: Mapping[str, str] = _field(default_factory=dict)
    format: str | None = None
    errors: tuple[str, ...] = ()
    #: the one-line reason ``summary()`` returns; set when the result is assembled
    headline: str = ""

    @property
    def has_prompt(self) -> bool:
        return bool(self.prompt or self.negative_prompt)

    def to_dict(self, include_prompt: bool = False) -> JSONObject:
        data: JSONObject = {
            "ai_generated": self.ai_generated,
            "camera_original": self.camera_original,
            "camera_reason": self.camera_reason,
            "camera_claimed": self.camera_claimed,
            "generator": self.generator,
            "model": self.model,
            "has_prompt": self.has_prompt,
            "summary": self.summary(),
            "evidence": [e.to_dict() for e in self.evidence],
            "camera_evidence": [e.to_dict() for e in self.camera_evidence],
            "c2pa": self.c2pa.to_dict() if self.c2pa else None,
            "remote_manifest_url": self.remote_manifest_url,
            "watermark": self.watermark.to_dict() if self.watermark else None,
            "settings": dict(self.settings),
            "format": self.format,
            "errors": list(self.errors),
        }
        if include_prompt:
            data["prompt"] = self.prompt
            data["negative_prompt"] = self.negative_prompt
        return data

    def summary(self) -> str:
        """A one-line reason for the assessment, e.g. ``AI-generated: C2PA claim by …``."""
        return self.headline or "provenance unknown: no AI-generation or capture evidence found"
