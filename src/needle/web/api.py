"""The native JSON API of ``needle serve`` (``/v1``): scan an upload, look a hash up, manage
banks, run scan jobs over server-side folders. Described in ``docs/serve.md``.

Every error is JSON ``{"message": ...}``. Uploads are read a chunk at a time and refused with
413 past their limit (``ServeSettings.limits.max_file_bytes`` for media,
``ServeSettings.max_import_bytes`` for hash lists), before more than that is held.

Lookups match in the event loop on SQLite: a PDQ search of a 1M-hash bank takes about 0.1 ms
and a match's labels, read from the database file, 0.3 ms more, less than a thread's hop
costs. On PostgreSQL the labels are a round trip to a server (about 1 ms on loopback, more
across a network), so the match runs in a thread. Decoding and hashing uploads run in the
service's worker processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Message

from needle import __version__
from needle.access import Principal
from needle.banks import BankEntry, ImportResult, format_names, read_bank_file
from needle.errors import BankError, JobRunning, NoEntriesError, PluginError, SignalFormatError
from needle.jsonvalue import JSONObject, JSONValue
from needle.signals import Signal, registry
from needle.signals.pdq import PDQ_MATCH_DISTANCE
from needle.store import ScanRecord, Store
from needle.store.store import BankImport
from needle.web.auth import allow
from needle.web.jobs import (
    UPLOAD_ROOT,
    BadRequest,
    JobManager,
    NoSuchJob,
    parse_stages,
)
from needle.web.service import Service, audit, get_service
from needle.web.views import bank_view, scan_view, summary_view

__all__ = ["FORM_OVERHEAD", "MAX_ENTRIES", "MAX_ENTRIES_BYTES", "router"]

#: bytes a multipart body may carry beyond its file (boundaries, headers, small fields)
FORM_OVERHEAD = 64 * 1024
#: entries one ``POST /v1/banks/{name}/entries`` may add (more: import a file)
MAX_ENTRIES = 10_000
#: the largest JSON body of entries
MAX_ENTRIES_BYTES = 8 * 1024 * 1024
#: problems listed in an import's answer; the rest are counted
SHOWN_PROBLEMS = 50
_CHUNK = 1 << 20


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.api_started = time.monotonic()
    try:
        yield
    finally:  # running jobs stop at their next batch; each stays resumable
        manager: JobManager | None = getattr(app.state, "jobs", None)
        if manager is not None:
            await asyncio.to_thread(manager.stop_all)


router = APIRouter(prefix="/v1", tags=["native API"], lifespan=_lifespan)


# -- reading request bodies within limits -----------------------------------------------------


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request is over the limit of {limit:,} bytes")


def _body_limit(limit_of: Callable[[Service], int]) -> Callable[..., AsyncIterator[None]]:
    """A route dependency (listed before the guard, so it runs first) that makes reading the
    body fail with 413 once it passes the limit: the body is never held, nor spooled to disk,
    beyond it, whoever reads it (the route, or the CSRF check of a signed-in browser). After
    the answer it closes the parsed form, whoever parsed it (its files are temporary files).
    """

    async def limited(
        request: Request, service: Service = Depends(get_service)
    ) -> AsyncIterator[None]:
        limit = limit_of(service) + FORM_OVERHEAD
        receive = request._receive
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        request._receive = counted
        try:
            yield
        finally:
            form: FormData | None = getattr(request, "_form", None)
            if form is not None:
                await form.close()

    return limited


def _declared_length(request: Request, limit: int) -> None:
    """Refuse at once a body whose Content-Length says it is over the limit."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise BadRequest("Content-Length is not a number")
    if int(declared) > limit + FORM_OVERHEAD:
        raise _too_large(limit + FORM_OVERHEAD)


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _file(form: FormData) -> UploadFile:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("send the file as multipart/form-data, in a field named 'file'")
    return upload


def _safe_name(filename: str | None) -> str:
    """The upload's own file name, without any folder part (what a person named it)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.replace("\x00", "")
    return name[:255] or "upload"


async def _read_upload(upload: UploadFile, limit: int) -> bytes:
    data = bytearray()
    while chunk := await upload.read(_CHUNK):
        if len(data) + len(chunk) > limit:
            raise HTTPException(413, f"the file is over the limit of {limit:,} bytes")
        data += chunk
    return bytes(data)


def _upload_body(*fields: str) -> dict[str, object]:
    """OpenAPI text for a multipart body read by the route itself."""
    properties: dict[str, object] = {"file": {"type": "string", "format": "binary"}}
    properties.update({name: {"type": "string"} for name in fields})
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


_media_limit = Depends(_body_limit(lambda service: service.settings.limits.max_file_bytes))
_import_limit = Depends(_body_limit(lambda service: service.settings.max_import_bytes))


def _json(body: JSONObject, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def _jobs(request: Request, service: Service) -> JobManager:
    manager: JobManager | None = getattr(request.app.state, "jobs", None)
    if manager is None:
        manager = request.app.state.jobs = JobManager(service)
    return manager


@contextmanager
def _job_answers() -> Iterator[None]:
    try:
        yield
    except NoSuchJob as exc:
        raise HTTPException(404, str(exc)) from None
    except JobRunning as exc:
        raise HTTPException(409, str(exc)) from None


# -- status ---------------------------------------------------------------------------------


@router.get("/status", summary="The service: version, bank index, workers, uptime")
async def status(
    request: Request, who: Principal = allow("status"), service: Service = Depends(get_service)
) -> Response:
    started = getattr(request.app.state, "api_started", None)
    manager: JobManager | None = getattr(request.app.state, "jobs", None)
    return _json(
        {
            "version": __version__,
            "index": service.index_status().to_dict(),
            "workers": service.settings.workers,
            "quarantine": service.quarantine is not None,
            "scan_roots": bool(service.settings.scan_roots),
            "jobs_running": manager.running() if manager is not None else 0,
            "uptime_seconds": round(time.monotonic() - started, 1) if started else None,
        }
    )


# -- scanning one upload --------------------------------------------------------------------


@router.post(
    "/scan",
    summary="Examine one uploaded file: signals, matches, stages' results, priority",
    dependencies=[_media_limit],
    openapi_extra=_upload_body(),
)
async def scan(
    request: Request,
    stages: Annotated[
        str, Query(description="Comma list of hash, classify, provenance, textguard, or all")
    ] = "hash",
    record: Annotated[
        bool, Query(description="Store the result as a review-queue item (and quarantine it)")
    ] = False,
    who: Principal = allow("scan"),
    service: Service = Depends(get_service),
) -> Response:
    chosen = parse_stages(stages.split(","))
    limit = service.settings.limits.max_file_bytes
    _declared_length(request, limit)
    form = await request.form(max_files=1, max_fields=20)
    try:
        upload = _file(form)
        name = _safe_name(upload.filename)
        data = await _read_upload(upload, limit)
    finally:
        await form.close()
    examined = await service.examine(
        data,
        name,
        classify=chosen.classify,
        provenance=chosen.provenance,
        textguard=chosen.textguard,
    )
    answer = scan_view(examined)
    answer["stages"] = list[JSONValue](chosen.names())
    if record:
        answer["recorded"] = await _record_upload(request, service, examined, data, name)
    return _json(answer)


async def _uploads_job(request: Request, service: Service) -> int:
    """The job that holds this service's recorded uploads (one, opened on first use)."""
    lock: asyncio.Lock | None = getattr(request.app.state, "uploads_lock", None)
    if lock is None:
        lock = request.app.state.uploads_lock = asyncio.Lock()
    async with lock:
        job_id: int | None = getattr(request.app.state, "uploads_job", None)
        if job_id is None:
            job_id = await asyncio.to_thread(_open_uploads_job, service.store)
            request.app.state.uploads_job = job_id
        return job_id


def _open_uploads_job(store: Store) -> int:
    options: JSONObject = {"source": "upload"}
    try:
        job, _ = store.open_job([UPLOAD_ROOT], options)
    except JobRunning:  # another live service records into that one: this one gets its own
        job, _ = store.open_job([UPLOAD_ROOT], options, new=True)
    return job.id


async def _record_upload(
    request: Request, service: Service, examined: ScanRecord, data: bytes, name: str
) -> JSONObject:
    """Store the upload's record (path ``upload:SHA256/NAME``) so it enters the review
    queue; with a quarantine, seal its bytes first (the sha256 is the quarantine reference)."""
    sha256 = examined.file.value("sha256") or hashlib.sha256(data).hexdigest()
    path = f"{UPLOAD_ROOT}{sha256}/{name}"
    quarantined = False
    if service.quarantine is not None:
        await asyncio.to_thread(service.quarantine.put, data)
        quarantined = True
    stored = ScanRecord(replace(examined.file, path=path), examined.matches, examined.assessment)
    job_id = await _uploads_job(request, service)
    new = await asyncio.to_thread(service.store.add_records, job_id, [stored])
    return {"job": job_id, "path": path, "new": bool(new), "quarantined": quarantined}


# -- looking a hash up ----------------------------------------------------------------------


def _signal(signal_type: str, value: str) -> Signal:
    kind = signal_type.strip().lower()
    try:
        checked = registry.get(kind).validate(value)
    except PluginError:
        raise BadRequest(
            f"unknown signal_type {signal_type[:40]!r}: one of {', '.join(registry.names())}"
        ) from None
    except SignalFormatError as exc:
        raise BadRequest(f"signal: {exc}") from None
    return Signal(kind, checked)


@router.get("/lookup", summary="Bank entries one hash matches")
async def lookup(
    signal_type: Annotated[str, Query(max_length=40, description="pdq, md5, sha1 or sha256")],
    signal: Annotated[str, Query(max_length=200, description="The hash, in hex")],
    who: Principal = allow("scan"),
    service: Service = Depends(get_service),
) -> Response:
    wanted = _signal(signal_type, signal)
    matches = await service.match({wanted.type: wanted})
    return _json(
        {
            "signal_type": wanted.type,
            "signal": wanted.value,
            "matches": [m.to_dict() for m in matches],
        }
    )


# -- banks ----------------------------------------------------------------------------------


class NewBank(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/\x00]+$")
    pdq_threshold: int = Field(PDQ_MATCH_DISTANCE, ge=0, le=256)
    description: str = Field("", max_length=2000)


class NewEntry(BaseModel):
    signal_type: str = Field(max_length=40)
    value: str = Field(max_length=200)
    labels: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=50)


@router.get("/banks", summary="Every bank, with its threshold and entry counts")
async def banks(
    who: Principal = allow("banks.read"), service: Service = Depends(get_service)
) -> Response:
    found = await asyncio.to_thread(service.store.list_banks)
    return _json({"banks": [bank_view(bank) for bank in found]})


@router.get("/banks/{name}", summary="One bank")
async def bank(
    name: str, who: Principal = allow("banks.read"), service: Service = Depends(get_service)
) -> Response:
    found = await asyncio.to_thread(service.store.list_banks)
    for summary in found:
        if summary.name == name:
            return _json(bank_view(summary))
    raise BankError(f"no bank named {name!r}")


@router.post("/banks", status_code=201, summary="Create an empty bank")
async def create_bank(
    request: Request,
    new: NewBank,
    who: Principal = allow("banks.write"),
    service: Service = Depends(get_service),
) -> Response:
    try:
        await asyncio.to_thread(
            service.store.create_bank,
            new.name,
            pdq_threshold=new.pdq_threshold,
            description=new.description,
        )
    except BankError as exc:
        if "exists already" in str(exc):
            raise HTTPException(409, str(exc)) from None
        raise
    service.banks_changed()
    await audit(
        service, who, request, "bank-create", new.name, {"pdq_threshold": new.pdq_threshold}
    )
    summary = next(
        b for b in await asyncio.to_thread(service.store.list_banks) if b.name == new.name
    )
    return _json(bank_view(summary), 201)


def _import_file(
    store: Store,
    name: str,
    source: BinaryIO,
    folder: str,
    filename: str,
    limit: int,
    fmt: str | None,
    signal_type: str | None,
    threshold: int | None,
) -> tuple[ImportResult, BankImport]:
    """Copy the upload under its own name (formats are told apart by it, as the CLI does),
    then stream it into the bank in one transaction: nothing is kept when no entry is."""
    path = Path(folder) / filename
    with path.open("wb") as out:
        source.seek(0)
        copied = 0
        while chunk := source.read(_CHUNK):
            copied += len(chunk)
            if copied > limit:
                raise _too_large(limit)
            out.write(chunk)
    with store.bank_import(name, pdq_threshold=threshold) as batch:
        result = read_bank_file(path, format=fmt, signal_type=signal_type, sink=batch.add)
        if result.count == 0:
            first = "; ".join(str(p) for p in result.problems[:5])
            raise NoEntriesError(
                f"{filename}: nothing imported ({result.format} format): "
                + (f"{result.problem_count} rejected: {first}" if first else "it holds no hashes")
            )
    return result, batch


@router.post(
    "/banks/{name}/import",
    summary="Import a hash-list file into a bank (created if it does not exist)",
    dependencies=[_import_limit],
    openapi_extra=_upload_body("format", "signal_type", "pdq_threshold"),
)
async def import_bank(
    request: Request,
    name: str,
    who: Principal = allow("banks.write"),
    service: Service = Depends(get_service),
) -> Response:
    limit = service.settings.max_import_bytes
    _declared_length(request, limit)
    form = await request.form(max_files=1, max_fields=20)
    try:
        upload = _file(form)
        fmt, signal_type = _field(form, "format"), _field(form, "signal_type")
        if fmt is not None and fmt not in format_names():
            raise BadRequest(f"unknown format {fmt[:40]!r}: one of {', '.join(format_names())}")
        threshold_text = _field(form, "pdq_threshold")
        if threshold_text is not None and not threshold_text.isdigit():
            raise BadRequest("pdq_threshold must be a whole number from 0 to 256")
        threshold = int(threshold_text) if threshold_text is not None else None
        filename = _safe_name(upload.filename)
        with tempfile.TemporaryDirectory(prefix="needle-import-") as folder:
            result, batch = await asyncio.to_thread(
                _import_file, service.store, name, upload.file, folder, filename, limit,
                fmt, signal_type, threshold,
            )  # fmt: skip
    finally:
        await form.close()
    service.banks_changed()
    answer: JSONObject = {
        "bank": name,
        "file": filename,
        "format": result.format,
        "created": batch.created,
        "read": result.count,
        "added": batch.added,
        "already_in_bank": result.count - batch.added,
        "skipped": result.problem_count,
        "problems": [str(p) for p in result.problems[:SHOWN_PROBLEMS]],
    }
    detail = {k: answer[k] for k in ("file", "format", "created", "read", "added", "skipped")}
    await audit(service, who, request, "bank-import", name, detail)
    return _json(answer)


def _entries(entries: list[NewEntry]) -> list[BankEntry]:
    out = []
    for n, entry in enumerate(entries):
        try:
            signal = _signal(entry.signal_type, entry.value)
        except BadRequest as exc:
            raise BadRequest(f"entry {n}: {exc}") from None
        out.append(BankEntry(signal.type, signal.value, tuple(entry.labels)))
    return out


def _add_entries(store: Store, name: str, entries: list[BankEntry]) -> BankImport:
    with store.bank_import(name) as batch:
        batch.add(entries)
    return batch


_ENTRIES = TypeAdapter(list[NewEntry])


async def _read_json(request: Request, limit: int) -> object:
    """The request's JSON body, read a chunk at a time and refused (413) past ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    try:
        return json.loads(body)
    except ValueError:
        raise BadRequest("the body is not JSON") from None


@router.post(
    "/banks/{name}/entries",
    summary="Add hashes to a bank (created if it does not exist)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": NewEntry.model_json_schema(),
                        "maxItems": MAX_ENTRIES,
                    }
                }
            },
        }
    },
)
async def add_entries(
    request: Request,
    name: str,
    who: Principal = allow("banks.write"),
    service: Service = Depends(get_service),
) -> Response:
    given = await _read_json(request, MAX_ENTRIES_BYTES)
    try:
        entries = _ENTRIES.validate_python(given)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise BadRequest(f"give 1 to {MAX_ENTRIES:,} entries (more: import a file)")
    checked = _entries(entries)
    batch = await asyncio.to_thread(_add_entries, service.store, name, checked)
    service.banks_changed()
    answer: JSONObject = {
        "bank": name,
        "created": batch.created,
        "given": len(checked),
        "added": batch.added,
        "already_in_bank": len(checked) - batch.added,
    }
    detail: JSONObject = {"given": len(checked), "added": batch.added}
    await audit(service, who, request, "bank-add", name, detail)
    return _json(answer)


@router.delete("/banks/{name}", summary="Delete a bank and its entries")
async def delete_bank(
    request: Request,
    name: str,
    who: Principal = allow("banks.write"),
    service: Service = Depends(get_service),
) -> Response:
    await asyncio.to_thread(service.store.delete_bank, name)
    service.banks_changed()
    await audit(service, who, request, "bank-delete", name)
    return _json({"deleted": name})


# -- scan jobs ------------------------------------------------------------------------------


class NewJob(BaseModel):
    paths: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        min_length=1, max_length=1000
    )
    stages: list[str] = Field(default_factory=lambda: ["hash"], max_length=10)
    new: bool = False


async def _job_answer(manager: JobManager, job_id: int, *, summary: bool) -> JSONObject:
    row = await asyncio.to_thread(manager.row, job_id)
    answer = manager.describe(row)
    if summary:
        answer["summary"] = summary_view(
            await asyncio.to_thread(manager.service.store.summary, job_id)
        )
    return answer


@router.post("/jobs", status_code=202, summary="Scan server-side paths in the background")
async def start_job(
    request: Request,
    new: NewJob,
    who: Principal = allow("jobs"),
    service: Service = Depends(get_service),
) -> Response:
    manager = _jobs(request, service)
    with _job_answers():
        state = await asyncio.to_thread(manager.start, new.paths, new.stages, new=new.new)
    detail: JSONObject = {"roots": list(state.roots), "stages": list[JSONValue](state.stages)}
    await audit(service, who, request, "job-start", str(state.id), detail)
    return _json(await _job_answer(manager, state.id, summary=False), 202)


@router.get("/jobs", summary="Recent scan jobs, newest first")
async def jobs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    who: Principal = allow("jobs"),
    service: Service = Depends(get_service),
) -> Response:
    manager = _jobs(request, service)
    rows = await asyncio.to_thread(manager.rows, limit)
    return _json({"jobs": [manager.describe(row) for row in rows]})


@router.get("/jobs/{job_id}", summary="One job: live progress and the stored summary")
async def job(
    request: Request,
    job_id: int,
    who: Principal = allow("jobs"),
    service: Service = Depends(get_service),
) -> Response:
    with _job_answers():
        return _json(await _job_answer(_jobs(request, service), job_id, summary=True))


@router.post("/jobs/{job_id}/cancel", status_code=202, summary="Stop a job after its batch")
async def cancel_job(
    request: Request,
    job_id: int,
    who: Principal = allow("jobs"),
    service: Service = Depends(get_service),
) -> Response:
    manager = _jobs(request, service)
    with _job_answers():
        await asyncio.to_thread(manager.cancel, job_id)
        await audit(service, who, request, "job-cancel", str(job_id))
        return _json(await _job_answer(manager, job_id, summary=False), 202)


@router.post("/jobs/{job_id}/resume", status_code=202, summary="Continue a stopped job")
async def resume_job(
    request: Request,
    job_id: int,
    who: Principal = allow("jobs"),
    service: Service = Depends(get_service),
) -> Response:
    manager = _jobs(request, service)
    with _job_answers():
        await asyncio.to_thread(manager.resume, job_id)
        await audit(service, who, request, "job-resume", str(job_id))
        return _json(await _job_answer(manager, job_id, summary=False), 202)
