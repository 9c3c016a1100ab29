"""The HMA-compatible API: Meta's Hasher-Matcher-Actioner 2.0 paths, parameters and answers.

A client written for HMA 2.0 (hashing ``/h``, matching ``/m``, curation ``/c``) talks to needle
unchanged: same paths, query parameters, multipart field names (``photo``, ``video``), JSON
bodies, status codes and JSON shapes; errors are ``{"message": ...}`` as HMA's. Every route
needs the ``hma`` permission (admin and api roles). docs/serve-hma.md lists what differs.
HMA's signal and content types and the shapes of its answers are in ``hma_store``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from needle.access import Principal
from needle.errors import BankError, SignalFormatError
from needle.jsonvalue import JSONObject
from needle.match import Match
from needle.signals import HammingMatchable, Signal, registry
from needle.signals.pdq import PDQ_MATCH_DISTANCE
from needle.web.auth import allow
from needle.web.hma_store import (
    BANK_NAME,
    BANK_NAME_MESSAGE,
    CONTENT_TYPES,
    JSON_BODY,
    MULTIPART_BODY,
    SIGNAL_TYPES,
    AddedContent,
    BankConfig,
    BankContent,
    ByBank,
    HMAStore,
    HMAType,
    IndexStatus,
    MatchWithDistance,
    Message,
    StoredSignal,
    index_sizes,
    looks_like_video,
    parse_metadata,
    signal_types_for,
)
from needle.web.service import Service, audit, get_service

__all__ = ["router"]


router = APIRouter(
    tags=["HMA 2.0 compatible"],
    responses={
        400: {"model": Message, "description": "A parameter or body HMA would refuse"},
        401: {"model": Message, "description": "No API token (Authorization: Bearer TOKEN)"},
        403: {"model": Message, "description": "A role without HMA access, or url= refused"},
    },
)


def _fail(status: int, message: str) -> NoReturn:
    raise HTTPException(status_code=status, detail=message)


def _required(value: str | None, name: str) -> str:
    if value is None:
        _fail(400, f"{name} is required")
    return value


def _bool(value: str | None, default: bool = False) -> bool:
    """HMA's reading of a boolean query parameter."""
    if value is None:
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    _fail(400, "invalid boolean parameter - prefer true/false")


def _banks_param(value: str | None) -> set[str] | None:
    return set(value.split(",")) if value else None


def _signal_type(name: str) -> HMAType:
    found = SIGNAL_TYPES.get(name)
    if found is None:
        _fail(400, f"No such SignalType '{name}'")
    return found


async def _json_body(request: Request) -> object:
    try:
        return await request.json()
    except ValueError:
        _fail(400, "this endpoint expects a JSON body")


def _types_for(content_type: str, types: str | None) -> list[HMAType]:
    try:
        return signal_types_for(content_type, types)
    except ValueError as exc:
        _fail(400, str(exc))


_STORES: weakref.WeakKeyDictionary[Service, HMAStore] = weakref.WeakKeyDictionary()


def _store(service: Service) -> HMAStore:
    """The service's one ``HMAStore`` (made once: a lookup must not build a session factory)."""
    found = _STORES.get(service)
    if found is None:
        found = _STORES[service] = HMAStore(service.store.engine)
    return found


# -- hashing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hashed:
    """One hashed upload: HMA name -> value, and the signals to match by HMA name."""

    values: dict[str, str]
    signals: dict[str, Signal]


async def _hash(
    service: Service, data: bytes, name: str, content_type: str | None, types: str | None
) -> _Hashed:
    computed = await service.signals_of(data, name)
    if content_type is None:  # a url= without content_type: tell from the bytes
        if "pdq" in computed:
            content_type = "photo"
        elif looks_like_video(data):
            content_type = "video"
        else:
            why = "neither an image needle can decode nor a known video container"
            _fail(400, f"unsupported url content: {why}; give content_type=photo or video")
    chosen = _types_for(content_type, types)
    values: dict[str, str] = {}
    signals: dict[str, Signal] = {}
    for kind in chosen:
        signal = computed.get(kind.needle)
        if signal is None:
            _fail(400, f"could not compute {kind.name}: not an image needle can decode")
        values[kind.name] = signal.value
        signals[kind.name] = signal
    return _Hashed(values, signals)


async def _fetched(
    service: Service, url: str, content_type: str | None, types: str | None
) -> _Hashed:
    if content_type is not None and content_type not in CONTENT_TYPES:
        _fail(400, f"no such content_type: '{content_type}'")
    data = await service.fetch(url)  # FetchRefused: 403, saying how to allow hosts
    return await _hash(service, data, url.rsplit("/", 1)[-1] or "media", content_type, types)


async def _uploaded(service: Service, request: Request, types: str | None) -> _Hashed:
    """The one file of a multipart upload, its field name (photo, video) its content type."""
    form = await request.form()
    try:
        files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            _fail(400, "Missing multipart/form-data file upload")
        if len(files) > 1:
            _fail(400, "Only one file allowed per request")
        field, upload = files[0]
        if field not in CONTENT_TYPES:
            _fail(400, f"no such content_type: '{field}'")
        _types_for(field, types)  # a bad types= is refused before the upload is hashed
        data = await upload.read()
    finally:
        await form.close()
    return await _hash(service, data, upload.filename or field, field, types)


@router.get("/h/hash", summary="Hash media fetched from a URL")
async def hash_url(
    url: str | None = None,
    content_type: str | None = None,
    types: str | None = None,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> dict[str, str]:
    if url is None:
        _fail(400, "url is required")
    return (await _fetched(service, url, content_type, types)).values


@router.post("/h/hash", summary="Hash an uploaded photo or video", openapi_extra=MULTIPART_BODY)
async def hash_upload(
    request: Request,
    types: str | None = None,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> dict[str, str]:
    return (await _uploaded(service, request, types)).values


# -- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    bank: str
    content_id: int
    distance: int


async def _find(service: Service, signals: Mapping[str, Signal]) -> dict[str, list[_Found]]:
    """Matches of signals keyed by HMA name (each a different needle type), by HMA name;
    one hit per (bank, content), the closest, closest first."""
    name_of = {signal.type: name for name, signal in signals.items()}
    matches: list[Match] = await service.match({s.type: s for s in signals.values()})
    if not matches:
        return {name: [] for name in signals}
    ids = await service.quick_read(
        _store(service).content_ids, [(m.bank, m.signal_type, m.value) for m in matches]
    )
    best: dict[str, dict[tuple[str, int], _Found]] = {name: {} for name in signals}
    for match in matches:
        name = name_of.get(match.signal_type)
        content = ids.get((match.bank, match.signal_type, match.value))
        if name is None or content is None:
            continue
        key = (match.bank, content)
        seen = best[name].get(key)
        if seen is None or match.distance < seen.distance:
            best[name][key] = _Found(match.bank, content, match.distance)
    return {
        name: sorted(found.values(), key=lambda f: (f.distance, f.bank, f.content_id))
        for name, found in best.items()
    }


def _query_signal(signal: str, signal_type: str) -> dict[str, Signal]:
    kind = _signal_type(signal_type)
    try:
        value = kind.validate(signal)
    except SignalFormatError as exc:
        _fail(400, f"invalid signal: {exc}")
    return {kind.name: Signal(kind.needle, value)}


def _match_json(found: _Found) -> MatchWithDistance:
    return {"bank_content_id": found.content_id, "distance": str(found.distance)}


@router.get(
    "/m/raw_lookup",
    summary="Look a hash up in the index (bank content ids)",
    response_model=dict[str, list[int] | list[MatchWithDistance]],
)
async def raw_lookup(
    signal: str | None = None,
    signal_type: str | None = None,
    banks: str | None = None,
    include_distance: str | None = None,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> Response:
    """The hottest route: answered as JSON directly, past the response model's validation
    (which stays for the API description)."""
    value = _required(signal, "signal")
    kind = _required(signal_type, "signal_type")
    with_distance = _bool(include_distance)
    wanted = _banks_param(banks)
    signals = _query_signal(value, kind)
    found = [f for f in (await _find(service, signals))[kind] if wanted is None or f.bank in wanted]
    if with_distance:
        return JSONResponse({"matches": [_match_json(f) for f in found]})
    return JSONResponse({"matches": list(dict.fromkeys(f.content_id for f in found))})


async def _by_bank(
    service: Service,
    signals: Mapping[str, Signal],
    *,
    banks: set[str] | None,
    seed: str | None,
    bypass_coinflip: bool,
) -> dict[str, ByBank]:
    """HMA's lookup: per signal type, per bank whose enabled ratio wins the coin flip, the
    matched contents."""
    found = await _find(service, signals)
    ratios = await service.quick_read(_store(service).ratios)
    out: dict[str, ByBank] = {}
    for name, hits in found.items():
        coinflip = 0.0 if bypass_coinflip else random.Random(seed).random()
        by_bank: ByBank = {}
        for hit in hits:
            if ratios.get(hit.bank, 1.0) >= coinflip and (banks is None or hit.bank in banks):
                by_bank.setdefault(hit.bank, []).append(_match_json(hit))
        out[name] = by_bank
    return out


@router.get("/m/lookup", summary="Match a hash, or media fetched from a URL, by bank")
async def lookup(
    url: str | None = None,
    content_type: str | None = None,
    types: str | None = None,
    signal: str | None = None,
    signal_type: str | None = None,
    banks: str | None = None,
    seed: str | None = None,
    bypass_coinflip: str | None = None,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> dict[str, ByBank] | ByBank:
    bypass = _bool(bypass_coinflip)
    wanted = _banks_param(banks)
    if url:
        hashed = await _fetched(service, url, content_type, types)
        result = await _by_bank(
            service, hashed.signals, banks=wanted, seed=seed, bypass_coinflip=bypass
        )
        if signal_type is not None:  # HMA answers that type's banks alone
            return result.get(signal_type, {})
        return result
    if not signal or not signal_type:
        _fail(400, "Either url or both signal and signal_type are required")
    result = await _by_bank(
        service,
        _query_signal(signal, signal_type),
        banks=wanted,
        seed=seed,
        bypass_coinflip=bypass,
    )
    return result[signal_type]


@router.post(
    "/m/lookup", summary="Match an uploaded photo or video, by bank", openapi_extra=MULTIPART_BODY
)
async def lookup_upload(
    request: Request,
    types: str | None = None,
    banks: str | None = None,
    seed: str | None = None,
    bypass_coinflip: str | None = None,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> dict[str, ByBank]:
    bypass = _bool(bypass_coinflip)
    hashed = await _uploaded(service, request, types)
    return await _by_bank(
        service, hashed.signals, banks=_banks_param(banks), seed=seed, bypass_coinflip=bypass
    )


@router.get("/m/index/status", summary="The index of each signal type")
async def index_status(
    signal_type: str | None = None,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> dict[str, IndexStatus]:
    kinds = list(SIGNAL_TYPES.values())
    if signal_type is not None:
        if signal_type not in SIGNAL_TYPES:
            _fail(400, f"No such signal type '{signal_type}'")
        kinds = [SIGNAL_TYPES[signal_type]]
    status = service.index_status()
    sizes = index_sizes(service.matcher())
    built = status.built_at
    return {
        kind.name: {
            "present": built is not None,
            "built_to": int(built.timestamp()) if built is not None else -1,
            "size": sizes.get(kind.needle, 0),
        }
        for kind in kinds
    }


@router.post("/m/compare", summary="Compare pairs of hashes", openapi_extra=JSON_BODY)
async def compare(
    request: Request,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> dict[str, list[bool | dict[str, int]]]:
    body = await _json_body(request)
    if not isinstance(body, dict):
        _fail(400, "Request input was not a dict")
    results: dict[str, list[bool | dict[str, int]]] = {}
    for name, pair in body.items():
        if not isinstance(pair, list):
            _fail(400, f"Comparison hashes for {name} was not a list")
        if len(pair) != 2:
            _fail(400, "Comparison hash list length must be exactly 2")
        kind = _signal_type(name)
        try:
            left, right = kind.validate(pair[0]), kind.validate(pair[1])
        except SignalFormatError as exc:
            _fail(400, f"Invalid {name} hash: {exc}")
        needle_type = registry.get(kind.needle)
        if isinstance(needle_type, HammingMatchable):
            distance = needle_type.distance(left, right)
            results[name] = [distance <= PDQ_MATCH_DISTANCE, {"distance": distance}]
        else:
            results[name] = [left == right, {}]
    return results


# -- curation ----------------------------------------------------------------------------------


def _bank_json(name: str, ratio: float) -> BankConfig:
    return {"name": name, "matching_enabled_ratio": ratio}


async def _bank_or_404(service: Service, name: str) -> BankConfig:
    if not await asyncio.to_thread(service.store.has_bank, name):
        _fail(404, f"bank '{name}' not found")
    ratios = await asyncio.to_thread(_store(service).ratios)
    return _bank_json(name, ratios.get(name, 1.0))


def _ratio(value: object) -> float:
    """A float from JSON (a number or a numeric string, as HMA takes), between 0 and 1."""
    if isinstance(value, bool):
        _fail(400, f"Invalid float: '{value}'")
    try:
        ratio = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        _fail(400, f"Invalid float: '{value}'")
    if not 0.0 <= ratio <= 1.0:
        _fail(400, f"enabled_ratio must be between 0.0 and 1.0, not {ratio}")
    return ratio


def _enabled(value: object) -> float:
    if isinstance(value, str):
        return 1.0 if _bool(value) else 0.0
    return 1.0 if value else 0.0


@router.get("/c/banks", summary="All banks")
async def banks_index(
    who: Principal = allow("hma"), service: Service = Depends(get_service)
) -> list[BankConfig]:
    names = await asyncio.to_thread(service.store.bank_names)
    ratios = await asyncio.to_thread(_store(service).ratios)
    return [_bank_json(name, ratios.get(name, 1.0)) for name in names]


@router.post("/c/banks", status_code=201, summary="Create a bank", openapi_extra=JSON_BODY)
async def bank_create(
    request: Request,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> BankConfig:
    body = await _json_body(request)
    if not isinstance(body, dict):
        _fail(400, "this endpoint expects a json object payload")
    name = body.get("name")
    if name is None:
        _fail(400, "name is required")
    if not isinstance(name, str) or not BANK_NAME.fullmatch(name):
        _fail(400, BANK_NAME_MESSAGE)
    ratio = 1.0
    if body.get("enabled_ratio") is not None:
        ratio = _ratio(body["enabled_ratio"])
    elif body.get("enabled") is not None:
        ratio = _enabled(body["enabled"])
    try:
        await asyncio.to_thread(
            service.store.create_bank, name, description="created through the HMA API"
        )
    except BankError as exc:
        if "exists already" in str(exc):
            _fail(403, "Bank already exists")
        raise
    if ratio != 1.0:
        await asyncio.to_thread(_store(service).set_ratio, name, ratio)
    service.banks_changed()
    await audit(service, who, request, "hma.bank.create", name, ratio=str(ratio))
    return _bank_json(name, ratio)


@router.get("/c/bank/{bank_name}", summary="One bank")
async def bank_show(
    bank_name: str, who: Principal = allow("hma"), service: Service = Depends(get_service)
) -> BankConfig:
    return await _bank_or_404(service, bank_name)


@router.put("/c/bank/{bank_name}", summary="Rename or enable a bank", openapi_extra=JSON_BODY)
async def bank_update(
    bank_name: str,
    request: Request,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> BankConfig:
    if not await asyncio.to_thread(service.store.has_bank, bank_name):
        _fail(404, "Bank not found")
    body = await _json_body(request)
    if not isinstance(body, dict):
        _fail(400, "this endpoint expects a json object payload")
    store = _store(service)
    ratio = (await asyncio.to_thread(store.ratios)).get(bank_name, 1.0)
    name = bank_name
    if body.get("name") is not None:
        name = body["name"]
        if not isinstance(name, str) or not BANK_NAME.fullmatch(name):
            _fail(400, BANK_NAME_MESSAGE)
    if body.get("enabled") is not None:
        ratio = _enabled(body["enabled"])
    if body.get("enabled_ratio") is not None:
        ratio = _ratio(body["enabled_ratio"])
    if name != bank_name:
        try:
            await asyncio.to_thread(store.rename_bank, bank_name, name)
        except BankError as exc:
            if "exists already" in str(exc):
                _fail(403, "Bank name already exists")
            raise
    await asyncio.to_thread(store.set_ratio, name, ratio)
    service.banks_changed()
    await audit(service, who, request, "hma.bank.update", bank_name, name=name, ratio=str(ratio))
    return _bank_json(name, ratio)


@router.delete("/c/bank/{bank_name}", summary="Delete a bank and its content")
async def bank_delete(
    bank_name: str,
    request: Request,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> dict[str, str]:
    # HMA answers "Done" whether or not the bank was there
    if await asyncio.to_thread(service.store.has_bank, bank_name):
        with contextlib.suppress(BankError):  # deleted meanwhile by another: done all the same
            await asyncio.to_thread(service.store.delete_bank, bank_name)
        await asyncio.to_thread(_store(service).forget_bank, bank_name)
        service.banks_changed()
        await audit(service, who, request, "hma.bank.delete", bank_name)
    return {"message": "Done"}


def _parsed_metadata(value: object) -> JSONObject | None:
    try:
        return parse_metadata(value)
    except ValueError as exc:
        _fail(400, str(exc))


async def _add(
    service: Service,
    request: Request,
    who: Principal,
    bank: str,
    signals: Sequence[StoredSignal],
    metadata: JSONObject | None,
    action: str,
) -> AddedContent:
    if not signals:
        _fail(400, "No signals given")
    unique = list({(s.needle_type, s.value): s for s in signals}.values())
    content = await asyncio.to_thread(_store(service).add_content, bank, unique, metadata)
    service.banks_changed()
    await audit(service, who, request, action, bank, content=str(content))
    return {"id": content, "signals": {s.name: s.value for s in signals}}


@router.post(
    "/c/bank/{bank_name}/content",
    summary="Add a photo or video (uploaded, or fetched from url=) to a bank",
    openapi_extra=MULTIPART_BODY,
)
async def bank_add_content(
    bank_name: str,
    request: Request,
    url: str | None = None,
    content_type: str | None = None,
    types: str | None = None,
    metadata: str | None = None,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> AddedContent:
    await _bank_or_404(service, bank_name)
    given: object = metadata
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await _json_body(request)
        if isinstance(body, dict) and body.get("metadata") is not None:
            given = body["metadata"]
    if url:
        hashed = await _fetched(service, url, content_type, types)
    elif request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        field = form.get("metadata")
        if isinstance(field, str):
            given = field
        hashed = await _uploaded(service, request, types)
    else:
        _fail(400, "Neither `url` nor multipart file upload was received")
    signals = [
        StoredSignal(SIGNAL_TYPES[name].needle, name, value)
        for name, value in hashed.values.items()
    ]
    return await _add(
        service, request, who, bank_name, signals, _parsed_metadata(given), "hma.bank.content.add"
    )


@router.post(
    "/c/bank/{bank_name}/signal",
    summary="Add hashes ({signal_type: value}) to a bank as one content",
    openapi_extra=JSON_BODY,
)
async def bank_add_signals(
    bank_name: str,
    request: Request,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> AddedContent:
    await _bank_or_404(service, bank_name)
    body = await _json_body(request)
    if not isinstance(body, dict):
        _fail(400, "this endpoint expects a json object payload")
    signals: list[StoredSignal] = []
    for name, value in body.items():
        kind = SIGNAL_TYPES.get(name)
        if kind is None:
            _fail(400, f"No such signal type {name}")
        try:
            signals.append(StoredSignal(kind.needle, name, kind.validate(value)))
        except SignalFormatError as exc:
            _fail(400, f"Invalid {name} signal: {exc}")
    return await _add(service, request, who, bank_name, signals, None, "hma.bank.signal.add")


def _content_id(value: str) -> int:
    if not value.isdigit():  # HMA's route takes whole numbers only
        _fail(404, f"content '{value}' not found")
    return int(value)


@router.get("/c/bank/{bank_name}/content/{content_id}", summary="One content of a bank")
async def bank_get_content(
    bank_name: str,
    content_id: str,
    include_signals: str | None = None,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> BankContent:
    bank = await _bank_or_404(service, bank_name)
    wanted = _content_id(content_id)
    content = await asyncio.to_thread(_store(service).content, bank_name, wanted)
    if content is None:
        _fail(404, f"content '{content_id}' not found")
    uri = content.metadata.get("content_uri")
    answer: BankContent = {
        "id": content.id,
        "disable_until_ts": 1,  # needle has no per-content switch: always enabled
        "collab_metadata": {},
        "original_media_uri": uri if isinstance(uri, str) else None,
        "bank": bank,
    }
    if (include_signals or "false").lower() == "true":
        answer["signals"] = dict(content.signals)
    return answer


@router.delete("/c/bank/{bank_name}/content/{content_id}", summary="Remove a content from a bank")
async def bank_delete_content(
    bank_name: str,
    content_id: str,
    request: Request,
    who: Principal = allow("hma"),
    service: Service = Depends(get_service),
) -> dict[str, int]:
    await _bank_or_404(service, bank_name)
    wanted = _content_id(content_id)
    count = await asyncio.to_thread(_store(service).remove_content, bank_name, wanted)
    if count:
        service.banks_changed()
        await audit(
            service, who, request, "hma.bank.content.delete", bank_name, content=str(wanted)
        )
    return {"deleted": count}
