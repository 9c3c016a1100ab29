"""The generation guard over HTTP: the sidecar an image-generation service calls.

In: JSON (a prompt; a training set's server-side path) or multipart uploads (files in fields
named ``image``, with the form fields ``account`` and ``request_id``). Out: the step's
``GuardDecision`` as JSON (``proceed`` says whether the service may go on), or a stamped
output's bytes with the decision in ``X-Needle-*`` headers.

A service calls, in order (``needle.genguard.guard`` explains each step):

1. ``POST /v1/guard/prompt``: before generating; generate only when ``proceed`` is true.
2. ``POST /v1/guard/input``: every image a user uploads into the generator (img2img,
   inpainting masks, reference and face images), before the generator sees any.
3. ``POST /v1/guard/output``: each generated image. Allowed: the answer is the stamped image
   (watermarked, C2PA-signed when configured, recorded with its hashes): hand out those bytes,
   never the original. Withheld: JSON with ``proceed: false``.

``POST /v1/stamp`` stamps and records an output *without* checking it, for services whose
outputs are checked elsewhere: it trusts the caller. ``POST /v1/guard/training-set`` checks a
fine-tuning set in a folder the operator allowed (``--scan-root``). ``POST /v1/trace`` says
which recorded output an image found later came from; ``GET /v1/guard/accounts`` lists the
accounts whose blocked requests reached the policy's flag.

Every route needs the ``genguard`` permission. Uploads are read as ``/v1/scan`` reads them,
refused with 413 past ``limits.max_file_bytes`` (all the images of one request together);
images are decoded within the same limits. Decoding, classifying, stamping, tracing and the
ledger's writes run in threads (``Service.offload``), never in the event loop.

The router is part of every app ``create_app`` builds, configured or not: while no ledger key
is configured each route answers 503 saying how to configure one (``Service.generation_guard``)
rather than 404, which would read as a wrong URL; and the API documentation and the
authorisation-matrix test see one route table whatever the settings.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, TypeVar, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from needle.access import Principal
from needle.genguard.guard import GenerationGuard, GenerationRequest, GuardDecision
from needle.genguard.ledger import Ledger, LedgerEntry
from needle.genguard.stamp import Stamped
from needle.genguard.trace import TraceIndex, TraceResult, trace_image
from needle.jsonvalue import JSONObject
from needle.media import Limits
from needle.pipeline.worker import ScanOptions
from needle.web.api import _declared_length, _field, _json, _media_limit, _read_json, _read_upload
from needle.web.auth import allow
from needle.web.jobs import BadRequest, check_paths
from needle.web.service import GuardNotConfigured, Service, audit, get_service

__all__ = ["FORMAT_NAMES", "MAX_INPUT_IMAGES", "MAX_JSON_BYTES", "router"]

router = APIRouter(prefix="/v1", tags=["generation guard"])

#: the largest JSON body (a prompt, its negative prompt and the caller's detail): far above
#: any generator's prompt, small enough to refuse a flood before it is parsed
MAX_JSON_BYTES = 1024 * 1024
#: images one ``/v1/guard/input`` may carry: the six kinds of diffusers inputs
#: (``needle.genguard.adapter.INPUT_ARGUMENTS``), a few of each
MAX_INPUT_IMAGES = 16
#: the formats an output is stamped into (``format`` field) -> PIL's name
FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
_MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
#: ``X-Needle-Decision`` of ``/v1/stamp``: nothing was checked (the ledger records ``allow``)
UNCHECKED = "unchecked"

_Model = TypeVar("_Model", bound=BaseModel)


# -- reading requests -----------------------------------------------------------------------


class PromptIn(BaseModel):
    request_id: str | None = Field(None, min_length=1, max_length=100)
    account: str = Field(min_length=1, max_length=200)
    prompt: str = Field(max_length=MAX_JSON_BYTES)
    negative_prompt: str = Field("", max_length=MAX_JSON_BYTES)
    # ``detail`` (a JSON object kept with each ledger entry) is read from the body as is


class TrainingSetIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096)
    account: str = Field(min_length=1, max_length=200)
    request_id: str | None = Field(None, min_length=1, max_length=100)


async def _body(request: Request, model: type[_Model]) -> tuple[_Model, dict[str, object]]:
    """The JSON body (within ``MAX_JSON_BYTES``) as ``model``, and as parsed."""
    given = await _read_json(request, MAX_JSON_BYTES)
    if not isinstance(given, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return model.model_validate(given), given
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def _json_schema(model: type[BaseModel], **extra: object) -> dict[str, object]:
    schema = model.model_json_schema()
    schema["properties"] = {**schema.get("properties", {}), **extra}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _form_schema(*fields: str, files: int = 1) -> dict[str, object]:
    """OpenAPI text for a multipart body of ``image`` files and text fields."""
    image: dict[str, object] = {"type": "string", "format": "binary"}
    if files > 1:
        image = {"type": "array", "items": image, "maxItems": files}
    properties: dict[str, object] = {"image": image}
    properties.update({name: {"type": "string"} for name in fields})
    schema = {"type": "object", "required": ["image"], "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


@dataclass(frozen=True)
class _Upload:
    """The images of a multipart request and its text fields."""

    images: tuple[bytes, ...]
    fields: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


async def _read_images(
    request: Request, service: Service, fields: Sequence[str], *, max_files: int = 1
) -> _Upload:
    """The ``image`` files and ``fields``, each file read within ``max_file_bytes`` (413)."""
    limit = service.settings.limits.max_file_bytes
    _declared_length(request, limit)
    form = await request.form(max_files=max_files, max_fields=20)
    try:
        uploads = [value for value in form.getlist("image") if isinstance(value, UploadFile)]
        if not uploads:
            raise BadRequest("send the image as multipart/form-data, in a field named 'image'")
        if len(uploads) > max_files:
            raise BadRequest(f"send at most {max_files} image(s)")
        images = tuple([await _read_upload(upload, limit) for upload in uploads])
        given = {name: value for name in fields if (value := _field(form, name)) is not None}
    finally:
        await form.close()
    return _Upload(images, given)


def _request(
    account: str | None,
    request_id: str | None,
    prompt: str = "",
    negative_prompt: str = "",
    detail: JSONObject | None = None,
) -> GenerationRequest:
    """The guard's request; a new random id when the caller gave none."""
    if not account:
        raise BadRequest("say which account made the request: the field 'account'")
    if len(account) > 200 or (request_id is not None and len(request_id) > 100):
        raise BadRequest("an account is at most 200 characters, a request_id at most 100")
    made = GenerationRequest.new(account, prompt, negative_prompt)
    return replace(made, request_id=request_id or made.request_id, detail=detail or {})


def _detail(given: dict[str, object]) -> JSONObject:
    detail = given.get("detail", {})
    if not isinstance(detail, dict):
        raise BadRequest("detail must be a JSON object (model, seed, size, ...)")
    return cast(JSONObject, detail)  # parsed from JSON: its values are JSON values


def _yes(value: str | None, name: str, *, default: bool) -> bool:
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"{name} is true or false, not {value[:20]!r}")


def _format(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return FORMAT_NAMES[value.lower()]
    except KeyError:
        raise BadRequest(
            f"format is one of {', '.join(FORMAT_NAMES)}, not {value[:20]!r}"
        ) from None


async def _guard(service: Service) -> GenerationGuard:
    return await asyncio.to_thread(service.generation_guard)


def _ledger(guard: GenerationGuard) -> Ledger:
    if guard.ledger is None:  # pragma: no cover - the service's guard always has one
        raise GuardNotConfigured("the generation guard has no ledger")
    return guard.ledger


# -- the work, in threads -------------------------------------------------------------------


Stamping = tuple[Stamped, LedgerEntry | None]


def _check_then_stamp(
    guard: GenerationGuard, data: bytes, request: GenerationRequest, stamp: bool, fmt: str | None
) -> tuple[GuardDecision, Stamping | None]:
    decision = guard.check_output(data, request)
    if not (decision.proceed and stamp):
        return decision, None
    return decision, guard.stamp(data, request, fmt=fmt)


def _stamped(stamping: Stamping, decision: str) -> Response:
    stamped, entry = stamping
    headers = {
        "X-Needle-Decision": decision,
        # none: under 256 pixels a side, too small to carry the mark (hashes still trace it)
        "X-Needle-Payload": f"{stamped.payload:012x}" if stamped.payload is not None else "none",
        "X-Needle-Ledger-Seq": str(entry.seq) if entry is not None else "",
        "X-Needle-SHA256": stamped.sha256,
    }
    return Response(stamped.data, media_type=_MEDIA_TYPES[stamped.format], headers=headers)


class _Tracer:
    """The trace index of this service's ledger, built on the first trace and brought up to
    date before each one (only entries appended since are read). A trace in flight keeps the
    index it started with: an update makes a new one over new arrays, never writing into
    those in use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: TraceIndex | None = None

    def current(self, ledger: Ledger) -> TraceIndex:
        with self._lock:
            if self._index is None:
                self._index = TraceIndex.build(ledger)
            else:
                self._index = self._index.updated(ledger)
            return self._index

    def trace(self, ledger: Ledger, data: bytes, limits: Limits) -> TraceResult:
        return trace_image(data, ledger, self.current(ledger), limits=limits)


def _tracer(request: Request) -> _Tracer:
    tracer: _Tracer | None = getattr(request.app.state, "genguard_tracer", None)
    if tracer is None:
        tracer = request.app.state.genguard_tracer = _Tracer()
    return tracer


# -- the routes ------------------------------------------------------------------------------


@router.post(
    "/guard/prompt",
    summary="Check a prompt before generating: generate only when proceed is true",
    openapi_extra=_json_schema(PromptIn, detail={"type": "object"}),
)
async def guard_prompt(
    request: Request, who: Principal = allow("genguard"), service: Service = Depends(get_service)
) -> Response:
    guard = await _guard(service)
    given, raw = await _body(request, PromptIn)
    checked = _request(
        given.account, given.request_id, given.prompt, given.negative_prompt, _detail(raw)
    )
    decision = await service.offload(guard.check_prompt, checked)
    return _json(decision.to_dict())


@router.post(
    "/guard/input",
    summary="Check the images a user uploads into the generator, before it sees any",
    dependencies=[_media_limit],
    openapi_extra=_form_schema("account", "request_id", files=MAX_INPUT_IMAGES),
)
async def guard_input(
    request: Request, who: Principal = allow("genguard"), service: Service = Depends(get_service)
) -> Response:
    guard = await _guard(service)
    upload = await _read_images(
        request, service, ("account", "request_id"), max_files=MAX_INPUT_IMAGES
    )
    checked = _request(upload.get("account"), upload.get("request_id"))
    decision = await service.offload(guard.check_inputs, list(upload.images), checked)
    return _json(decision.to_dict())


@router.post(
    "/guard/output",
    summary="Check a generated image; allowed: the stamped image to hand out instead",
    dependencies=[_media_limit],
    openapi_extra=_form_schema("account", "request_id", "prompt", "stamp", "format"),
)
async def guard_output(
    request: Request, who: Principal = allow("genguard"), service: Service = Depends(get_service)
) -> Response:
    guard = await _guard(service)
    fields = ("account", "request_id", "prompt", "stamp", "format")
    upload = await _read_images(request, service, fields)
    checked = _request(upload.get("account"), upload.get("request_id"), upload.get("prompt") or "")
    stamp = _yes(upload.get("stamp"), "stamp", default=True)
    fmt = _format(upload.get("format"))
    decision, stamping = await service.offload(
        _check_then_stamp, guard, upload.images[0], checked, stamp, fmt
    )
    if stamping is None:
        return _json(decision.to_dict())
    return _stamped(stamping, decision.decision)


@router.post(
    "/stamp",
    summary="Stamp and record an output WITHOUT checking it (outputs checked elsewhere)",
    dependencies=[_media_limit],
    openapi_extra=_form_schema("account", "request_id", "prompt", "format"),
)
async def stamp(
    request: Request, who: Principal = allow("genguard"), service: Service = Depends(get_service)
) -> Response:
    """Watermark, sign and record the image as an allowed output, trusting the caller that it
    was checked: for services that check outputs with their own classifiers. The answer is
    the stamped image, ``X-Needle-Decision: unchecked``."""
    guard = await _guard(service)
    upload = await _read_images(request, service, ("account", "request_id", "prompt", "format"))
    checked = _request(upload.get("account"), upload.get("request_id"), upload.get("prompt") or "")
    fmt = _format(upload.get("format"))
    stamping = await service.offload(partial(guard.stamp, fmt=fmt), upload.images[0], checked)
    return _stamped(stamping, UNCHECKED)


@router.post(
    "/guard/training-set",
    summary="Check a fine-tuning set in an allowed server-side folder before training",
    openapi_extra=_json_schema(TrainingSetIn),
)
async def guard_training_set(
    request: Request, who: Principal = allow("genguard"), service: Service = Depends(get_service)
) -> Response:
    """The set is scanned as a job (hashes matched against the banks) while the request
    waits; refused (``proceed: false``) when a file matches or reaches ``training_block``."""
    guard = await _guard(service)
    given, _ = await _body(request, TrainingSetIn)
    settings = service.settings
    (path,) = await asyncio.to_thread(check_paths, [given.path], settings.scan_roots)
    checked = _request(given.account, given.request_id)
    options = ScanOptions(limits=settings.limits)

    def check() -> GuardDecision:
        return guard.check_training_set(
            path, checked, store=service.store, options=options, workers=settings.workers
        )

    decision = await service.offload(check)
    return _json(decision.to_dict())


@router.post(
    "/trace",
    summary="Which recorded output an image found later came from, with the evidence",
    dependencies=[_media_limit],
    openapi_extra=_form_schema(),
)
async def trace(
    request: Request, who: Principal = allow("genguard"), service: Service = Depends(get_service)
) -> Response:
    """SHA-256, watermark, whole-image PDQ and sub-region windows (``needle trace``). Prompts
    are shown when the policy keeps them. Each trace is written to the audit log: it names
    the account that made an image."""
    guard = await _guard(service)
    upload = await _read_images(request, service, ())
    ledger = _ledger(guard)
    limits = service.settings.limits
    result = await service.offload(_tracer(request).trace, ledger, upload.images[0], limits)
    detail: JSONObject = {"hits": [hit.entry.seq for hit in result.hits]}
    await audit(service, who, request, "genguard-trace", result.sha256, detail)
    return _json(result.to_dict(with_prompt=guard.policy.keep_prompts))


@router.get("/guard/accounts", summary="Accounts whose blocked requests reached the flag")
async def flagged_accounts(
    hours: Annotated[
        float | None, Query(gt=0, le=24 * 366, description="Window (default: the policy's)")
    ] = None,
    at_least: Annotated[
        int | None, Query(ge=1, description="Blocked requests (default: flag_after)")
    ] = None,
    who: Principal = allow("genguard"),
    service: Service = Depends(get_service),
) -> Response:
    guard = await _guard(service)
    policy = guard.policy
    window = hours if hours is not None else policy.flag_window_hours
    threshold = at_least if at_least is not None else policy.flag_after
    since = datetime.now(UTC) - timedelta(hours=window)
    found = await service.offload(_ledger(guard).blocked_accounts, since, threshold)
    return _json(
        {
            "since": since.isoformat(timespec="seconds"),
            "hours": window,
            "at_least": threshold,
            "accounts": [activity.to_dict() for activity in found],
        }
    )
