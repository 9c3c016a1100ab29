"""Guard for image-generation services: checks, stamps, the signed ledger, and trace-back.

In: a service's requests (account, prompt, negative prompt), the images users upload into the
generator, its outputs, and fine-tuning sets. Out: a ``GuardDecision`` per step (``allow`` /
``review`` / ``block`` with reasons), stamped outputs (invisible watermark with an
error-corrected payload, C2PA manifest), one signed, hash-chained ``LedgerEntry`` per step,
and, for an image found later, the entries it traces back to with the evidence.

Modules: ``guard`` (``GenerationGuard``: the steps), ``policy`` (``GenerationPolicy``),
``adapter`` (``GuardedPipeline`` around a diffusers-style pipeline), ``training`` (a training
set checked as a scan), ``stamp`` (watermark payload), ``manifest`` (C2PA), ``windows``
(sub-region hashes that survive crops), ``trace`` (``trace_image``), ``ledger`` and ``keys``
(the signed ledger: ``needle ledger verify`` names every edited, deleted, inserted, reordered
or re-signed entry; checkpoints let a third party prove later that it was not rewritten).
"""

from __future__ import annotations

from needle.genguard.adapter import GuardedGeneration, GuardedPipeline
from needle.genguard.guard import GenerationGuard, GenerationRequest, GuardDecision, ImageCheck
from needle.genguard.keys import Signer, Verifier, generate_key, load_signer, load_verifier
from needle.genguard.ledger import (
    GENESIS,
    AccountActivity,
    Checkpoint,
    Ledger,
    LedgerBreak,
    LedgerCheck,
    LedgerEntry,
    LedgerRecord,
    read_export,
    text_digest,
    verify_entries,
)
from needle.genguard.policy import GenerationPolicy, load_generation_policy
from needle.genguard.stamp import Stamped, WatermarkPayload, read_payload, stamp_image
from needle.genguard.trace import TraceHit, TraceIndex, TraceResult, trace_image
from needle.genguard.training import TrainingFinding, TrainingSetReport

__all__ = [
    "GENESIS",
    "AccountActivity",
    "Checkpoint",
    "GenerationGuard",
    "GenerationPolicy",
    "GenerationRequest",
    "GuardDecision",
    "GuardedGeneration",
    "GuardedPipeline",
    "ImageCheck",
    "Ledger",
    "LedgerBreak",
    "LedgerCheck",
    "LedgerEntry",
    "LedgerRecord",
    "Signer",
    "Stamped",
    "TraceHit",
    "TraceIndex",
    "TraceResult",
    "TrainingFinding",
    "TrainingSetReport",
    "Verifier",
    "WatermarkPayload",
    "generate_key",
    "load_generation_policy",
    "load_signer",
    "load_verifier",
    "read_export",
    "read_payload",
    "stamp_image",
    "text_digest",
    "trace_image",
    "verify_entries",
]
