"""The guard pipeline of an image-generation service, as a library.

In: a :class:`GenerationRequest` (request id, account, prompt, negative prompt) and, per step,
the images involved. Out: a :class:`GuardDecision` per step — ``allow`` / ``review`` /
``block``, the reasons with their evidence, and the ledger entry that recorded it.

The steps, in the order a service calls them (``needle.genguard.adapter`` does it for a
diffusers-style pipeline):

1. :meth:`GenerationGuard.check_prompt` — the text guard on the prompt. The negative prompt
   lists what the generator is told to avoid, so it is not blocked for what it names (as in a
   scan); but an adult word there while the prompt is sexual steers the generator toward
   minors, and that is blocked (``negative_adult_rule``).
2. :meth:`GenerationGuard.check_inputs` — every image a user uploads into the generator
   (img2img, inpainting, reference and face images) is matched against the banks and
   classified before use: offenders upload abuse images to make more of them.
3. :meth:`GenerationGuard.check_output` — the generated image, matched and classified; the
   assessment's priority (``needle.assess``) becomes a decision through the policy.
4. :meth:`GenerationGuard.stamp` — an allowed output gets the invisible watermark, optionally a
   C2PA manifest, and its ledger entry with the hashes that trace it back later.

Every step is recorded in the ledger when the guard has one, blocked requests included; a
step's entry is on its decision (``decision.entry``). An account whose blocked requests reach
``flag_after`` within ``flag_window_hours`` is flagged (``decision.account_flagged``;
``needle genguard accounts``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from needle.assess import Priority, assess
from needle.classify.base import Classification, Classifier, Sample
from needle.errors import ConfigError, MediaError
from needle.genguard.keys import Signer
from needle.genguard.ledger import Ledger, LedgerEntry, LedgerRecord, text_digest
from needle.genguard.policy import DEFAULT_GENERATION_POLICY, GenerationPolicy
from needle.genguard.stamp import STAMP_FORMATS, Stamped, full_pixels, stamp_image
from needle.genguard.training import TrainingSetReport, scan_training_set
from needle.jsonvalue import JSONObject, JSONValue
from needle.match import Match, Matcher
from needle.media import DEFAULT_LIMITS, DecodedImage, Limits, decode_image
from needle.pipeline.scan import ScanProgress
from needle.pipeline.worker import ScanOptions
from needle.signals import compute_signals
from needle.store import Store
from needle.textguard import Guard, GuardResult

if TYPE_CHECKING:  # C2PA signing needs the provenance extra: imported when configured
    from needle.genguard.manifest import ManifestSigner

__all__ = ["GenerationGuard", "GenerationRequest", "GuardDecision", "ImageCheck"]

_SEVERITY = {"allow": 0, "review": 1, "block": 2}
#: images are decoded to at least this many pixels a side: the classifiers' working size
_DRAFT = 512


@dataclass(frozen=True)
class GenerationRequest:
    """One generation request as the guard sees it. ``detail`` holds what the service wants
    kept with each entry (model name, seed, size), as JSON values."""

    request_id: str
    account: str
    prompt: str = ""
    negative_prompt: str = ""
    detail: JSONObject = field(default_factory=dict)

    @classmethod
    def new(
        cls, account: str, prompt: str = "", negative_prompt: str = "", **detail: JSONValue
    ) -> GenerationRequest:
        """A request with a fresh random id."""
        return cls(uuid.uuid4().hex, account, prompt, negative_prompt, dict(detail))


@dataclass(frozen=True)
class ImageCheck:
    """One image's examination: its hashes, bank matches, priority and the reasons."""

    name: str
    decision: str
    priority: Priority
    reasons: tuple[str, ...]
    sha256: str | None = None
    pdq: str | None = None
    matches: tuple[Match, ...] = ()
    error: str | None = None
    #: the models that looked at it (``nudenet 320n``, ``age-v1``), unavailable ones included
    classified_by: tuple[str, ...] = ()

    def to_dict(self) -> JSONObject:
        return {
            "name": self.name,
            "classified_by": list(self.classified_by),
            "decision": self.decision,
            "priority": self.priority.label,
            "reasons": list(self.reasons),
            "sha256": self.sha256,
            "pdq": self.pdq,
            "matches": [m.to_dict() for m in self.matches],
            "error": self.error,
        }


@dataclass(frozen=True)
class GuardDecision:
    """One step's decision. ``proceed`` says whether the service may go on (generate, or hand
    the output out): ``allow`` always, ``review`` unless the policy holds reviews."""

    kind: str
    decision: str
    reasons: tuple[str, ...]
    request: GenerationRequest
    proceed: bool
    prompt: GuardResult | None = None
    negative: GuardResult | None = None
    images: tuple[ImageCheck, ...] = ()
    entry: LedgerEntry | None = None
    account_flagged: bool = False
    training: TrainingSetReport | None = None

    def to_dict(self) -> JSONObject:
        return {
            "kind": self.kind,
            "decision": self.decision,
            "proceed": self.proceed,
            "reasons": list(self.reasons),
            "request_id": self.request.request_id,
            "account": self.request.account,
            "prompt": self.prompt.to_dict() if self.prompt else None,
            "images": [image.to_dict() for image in self.images],
            "ledger_seq": self.entry.seq if self.entry else None,
            "account_flagged": self.account_flagged,
            "training_set": self.training.to_dict() if self.training else None,
        }


class GenerationGuard:
    """Checks, stamps and records the requests of one generation service.

    Everything it needs is injected: the ``ledger`` and its ``signer`` (no ledger: nothing is
    recorded), the bank ``matcher``, the ``classifiers`` (loaded models, or fakes in tests),
    the text ``textguard``, the ``policy``, and a ``manifest_signer`` for C2PA.
    """

    def __init__(
        self,
        *,
        policy: GenerationPolicy = DEFAULT_GENERATION_POLICY,
        ledger: Ledger | None = None,
        signer: Signer | None = None,
        matcher: Matcher | None = None,
        classifiers: Sequence[Classifier] = (),
        textguard: Guard | None = None,
        manifest_signer: ManifestSigner | None = None,
        limits: Limits = DEFAULT_LIMITS,
        clock: type[datetime] = datetime,
    ) -> None:
        if ledger is not None and signer is None:
            raise ConfigError("a ledger needs a signing key: give signer=load_signer(...)")
        self.policy = policy
        self.ledger = ledger
        self.signer = signer
        self.matcher = matcher
        self.classifiers = tuple(classifiers)
        self.textguard = textguard or Guard(policy.textguard)
        self.manifest_signer = manifest_signer
        self.limits = limits
        self._clock = clock

    # -- prompts -------------------------------------------------------------------------

    def check_prompt(self, request: GenerationRequest) -> GuardDecision:
        """The text guard on the prompt, the negative-prompt rule, and the ledger entry."""
        result = self.textguard.check(request.prompt)
        decision, reasons = result.decision, [_prompt_reason(result)] if result.evidence else []
        negative = None
        if request.negative_prompt:
            negative = self.textguard.check(request.negative_prompt)
            steer = _steers_to_minors(result, negative)
            if self.policy.negative_adult_rule and steer:
                decision = "block"
                reasons.append(
                    f"the negative prompt excludes adults ({steer}) from a sexual prompt: "
                    "that steers the generator toward minors"
                )
        detail: JSONObject = {"textguard": _guard_detail(result)}
        made = self._decision("prompt", decision, reasons, request, detail, prompt=result)
        return replace(made, negative=negative)

    # -- images --------------------------------------------------------------------------

    def check_inputs(
        self, images: Sequence[bytes | Image.Image], request: GenerationRequest
    ) -> GuardDecision:
        """Every uploaded image, before the generator sees any: the worst decision wins.

        Uploads are hostile input: each is decoded within ``limits``; one that cannot be read
        is blocked (the generator would have to read it too), with the reason.
        """
        checks = [self._examine(image, f"input {i + 1}", "input") for i, image in enumerate(images)]
        decision = max((c.decision for c in checks), key=_SEVERITY.__getitem__, default="allow")
        reasons = [f"{c.name}: {reason}" for c in checks for reason in c.reasons]
        detail: JSONObject = {"inputs": [c.to_dict() for c in checks]}
        return self._decision("input", decision, reasons, request, detail, images=checks)

    def check_output(self, image: Image.Image | bytes, request: GenerationRequest) -> GuardDecision:
        """The generated image, matched and classified. Recorded only when it is not allowed
        (an allowed output is recorded by :meth:`stamp`, with its final hashes)."""
        check = self._examine(image, "output", "output")
        detail: JSONObject = {"output": check.to_dict()}
        return self._decision(
            "output",
            check.decision,
            list(check.reasons),
            request,
            detail,
            images=(check,),
            record=check.decision != "allow",
            pdq=(check.pdq,) if check.pdq else (),
            sha256=check.sha256,
        )

    def check_training_set(
        self,
        path: str | Path,
        request: GenerationRequest,
        *,
        store: Store,
        options: ScanOptions | None = None,
        workers: int | None = None,
        progress: Callable[[ScanProgress], None] | None = None,
    ) -> GuardDecision:
        """Scan a fine-tuning set (folder or archive) as a job in ``store``; refuse the job
        when any file matches a bank or is assessed at or above ``training_block``."""
        report = scan_training_set(
            path,
            store=store,
            banks=self.matcher.banks if self.matcher is not None else (),
            block_at=self.policy.training_block,
            policy=self.policy.assessment,
            options=options,
            workers=workers,
            progress=progress,
        )
        detail: JSONObject = {"training_set": report.to_dict()}
        made = self._decision("training-set", report.decision, report.reasons(), request, detail)
        return replace(made, training=report)

    def stamp(
        self, image: Image.Image | bytes, request: GenerationRequest, *, fmt: str | None = None
    ) -> tuple[Stamped, LedgerEntry | None]:
        """Watermark, encode, sign (C2PA, when configured) and record an allowed output.

        ``image`` as bytes (an upload) is decoded at full resolution within ``limits``;
        ``fmt`` None keeps an upload's format when a stamp can be written in it, else PNG.
        """
        source = "PNG"
        if not isinstance(image, Image.Image):
            image, source = full_pixels(bytes(image), self.limits)
        chosen = fmt or (source if source in STAMP_FORMATS else "PNG")
        stamped = stamp_image(image, fmt=chosen)
        if self.manifest_signer is not None:
            from needle.genguard.manifest import sign_manifest

            signed = sign_manifest(
                stamped.data,
                stamped.format,
                self.manifest_signer,
                record_id=f"{request.request_id}:{stamped.payload or 0:012x}",
            )
            stamped = _rehashed(stamped, signed)
        entry = self._record(
            "output",
            "allow",
            (),
            request,
            {"width": stamped.width, "height": stamped.height, "format": stamped.format},
            sha256=stamped.sha256,
            pdq=stamped.hashes,
            payload=stamped.payload,
        )
        return stamped, entry

    def _examine(self, image: Image.Image | bytes, name: str, kind: str) -> ImageCheck:
        try:
            decoded, data = _decoded(image, self.limits)
        except MediaError as exc:
            reason = f"cannot read the image: {exc}"
            return ImageCheck(name, "block", Priority.LOW, (reason,), error=str(exc))
        types = ("md5", "sha256", "pdq") if data else ("pdq",)
        signals = compute_signals(data, decoded, types)
        classifications: list[Classification] = []
        if self.classifiers:
            from needle.classify import run_classifiers

            sha = signals.get("sha256")
            sample = Sample(decoded, data=data or None, sha256=sha.value if sha else None)
            (classifications,) = run_classifiers(self.classifiers, [sample])
        matches = self.matcher.match(signals) if self.matcher is not None else []
        assessment = assess(
            matches=matches, classifications=classifications, policy=self.policy.assessment
        )
        pdq, sha = signals.get("pdq"), signals.get("sha256")
        return ImageCheck(
            name,
            self.policy.image_decision(assessment.priority, kind),
            assessment.priority,
            tuple(r.text for r in assessment.reasons),
            sha256=sha.value if sha else None,
            pdq=pdq.value if pdq else None,
            matches=tuple(matches),
            classified_by=tuple(c.source for c in classifications),
        )

    # -- the ledger ----------------------------------------------------------------------

    def _decision(
        self,
        kind: str,
        decision: str,
        reasons: Sequence[str],
        request: GenerationRequest,
        detail: JSONObject,
        *,
        record: bool = True,
        prompt: GuardResult | None = None,
        images: Sequence[ImageCheck] = (),
        pdq: tuple[str, ...] = (),
        sha256: str | None = None,
    ) -> GuardDecision:
        entry = None
        if record:
            entry = self._record(kind, decision, reasons, request, detail, sha256=sha256, pdq=pdq)
        flagged = decision == "block" and self.account_flagged(request.account)
        return GuardDecision(
            kind,
            decision,
            tuple(reasons),
            request,
            proceed=decision == "allow"
            or (decision == "review" and not self.policy.hold_on_review),
            prompt=prompt,
            images=tuple(images),
            entry=entry,
            account_flagged=flagged,
        )

    def _record(
        self,
        kind: str,
        decision: str,
        reasons: Sequence[str],
        request: GenerationRequest,
        detail: JSONObject,
        *,
        sha256: str | None = None,
        pdq: tuple[str, ...] = (),
        payload: int | None = None,
    ) -> LedgerEntry | None:
        if self.ledger is None or self.signer is None:
            return None
        keep = self.policy.keep_prompts and bool(request.prompt)
        record = LedgerRecord(
            request_id=request.request_id,
            account=request.account,
            kind=kind,
            decision=decision,
            reasons=tuple(reasons),
            prompt_sha256=text_digest(request.prompt) if request.prompt else "",
            prompt=request.prompt if keep else None,
            output_sha256=sha256,
            pdq=pdq,
            payload=payload,
            detail={**request.detail, **detail},
        )
        return self.ledger.append(record, self.signer)

    def account_flagged(self, account: str) -> bool:
        """Has ``account`` reached ``flag_after`` blocked requests within the window?"""
        if self.ledger is None:
            return False
        since = self._clock.now(UTC) - timedelta(hours=self.policy.flag_window_hours)
        return self.ledger.blocked_count(account, since) >= self.policy.flag_after


def _decoded(image: Image.Image | bytes, limits: Limits) -> tuple[DecodedImage, bytes]:
    """A decoded image and its bytes (b"" for pixels handed over in memory)."""
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
        return decode_image(data, limits=limits, draft_size=_DRAFT), data
    if not isinstance(image, Image.Image):
        raise MediaError(f"an image is bytes or a PIL image, not {type(image).__name__}")
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return DecodedImage(rgb, "RAW", rgb.width, rgb.height), b""


def _rehashed(stamped: Stamped, data: bytes) -> Stamped:
    return replace(stamped, data=data, sha256=hashlib.sha256(data).hexdigest())


def _prompt_reason(result: GuardResult) -> str:
    quotes = ", ".join(f"{e.category} {e.quote!r}" for e in result.evidence[:4])
    return f"text guard {result.decision} (score {result.score:.2f}): {quotes}"


def _steers_to_minors(prompt: GuardResult, negative: GuardResult) -> str | None:
    """The adult words of a negative prompt, when the prompt itself is sexual."""
    if not any(c in ("sexual", "sexual_minors") for c in prompt.categories):
        return None
    adult = [e.quote for e in negative.evidence if e.category == "adult"]
    return ", ".join(repr(q) for q in adult[:3]) or None


def _guard_detail(result: GuardResult) -> JSONObject:
    return {
        "decision": result.decision,
        "score": round(result.score, 4),
        "categories": list(result.categories),
        "languages": list(result.languages),
    }
