"""C2PA manifests, read with ``c2pa-python`` and remote fetching turned off.

In: the file's bytes and its format (only called when the container holds a JUMBF store).
Out: ``C2paInfo``: every ``c2pa.actions`` / ``c2pa.actions.v2`` entry that carries a digital
source type, found by walking the active manifest and, through each ingredient's own active
manifest, every ingredient's; the claim generator and signer; and the validation state reduced
to one word (``tampered`` / ``invalid_signature`` / ``expired`` / ``untrusted`` / ``valid`` /
``trusted``) next to the library's failure codes.

Local only: the reader's context sets ``verify.remote_manifest_fetch`` and
``verify.ocsp_fetch`` to false, so a manifest stored at a URL is reported as
``remote_not_fetched`` with the URL, and certificate revocation is not checked online.
Without a trust list every signer reads as ``untrusted``: pass a PEM bundle of trust anchors
(``ProvenanceOptions.c2pa_trust_anchors``) to tell trusted signers apart.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
from typing import Any, BinaryIO

from needle._optional import import_optional
from needle.provenance.model import C2paAction, C2paInfo

__all__ = ["LOCAL_SETTINGS", "MIME_TYPES", "c2pa_context", "read_c2pa", "state_from_codes"]

#: settings for every reader: never fetch a remote manifest or an OCSP response
LOCAL_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}
MIME_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "GIF": "image/gif",
    "HEIF": "image/heif",
    "AVIF": "image/avif",
    # videos, by needle.media.video's container kinds
    "mp4": "video/mp4",
    "avi": "video/x-msvideo",
}

# failure codes (C2PA 2.x "validation status codes") grouped by what they mean for a reviewer
_TAMPER = re.compile(r"^assertion\.[A-Za-z]+\.mismatch$|^assertion\.(missing|outsideManifest)$")
_BAD_SIGNATURE = {
    "claimSignature.mismatch",
    "claimSignature.missing",
    "signingCredential.invalid",
    "signingCredential.revoked",
    "claim.missing",
    "claim.malformed",
}
_EXPIRED = {"signingCredential.expired", "claimSignature.outsideValidity"}
_UNTRUSTED = {"signingCredential.untrusted"}
_URL = re.compile(r"https?://[^\s\"'<>]+")

_contexts: dict[tuple[int, str | None], Any] = {}
_lock = threading.Lock()


def c2pa_context(trust_anchors: str | None = None) -> Any:
    """A cached ``c2pa.Context`` that never goes to the network (one per trust-anchor set).

    Cached per process: a context made before a fork is not valid in the child (scan workers).
    """
    key = (os.getpid(), trust_anchors)
    with _lock:
        ctx = _contexts.get(key)
        if ctx is not None and not getattr(ctx, "is_valid", True):
            ctx = None
        if ctx is None:
            c2pa = import_optional("c2pa", "provenance")
            settings: dict[str, Any] = json.loads(json.dumps(LOCAL_SETTINGS))
            if trust_anchors:
                settings["trust"] = {"trust_anchors": trust_anchors}
                settings["verify"]["verify_trust"] = True
            ctx = c2pa.Context.from_dict(settings)
            _contexts[key] = ctx
        return ctx


def state_from_codes(codes: list[str], validation_state: str | None) -> str:
    """The worst state the failure codes show; the library's state when nothing failed."""
    if any(_TAMPER.match(code) for code in codes):
        return "tampered"
    if any(code in _BAD_SIGNATURE for code in codes):
        return "invalid_signature"
    if any(code in _EXPIRED for code in codes):
        return "expired"
    if any(code in _UNTRUSTED for code in codes):
        return "untrusted"
    if validation_state == "Trusted":
        return "trusted"
    if validation_state == "Invalid":
        return "invalid"
    return "valid"


def _agent(value: Any) -> str | None:
    if isinstance(value, dict):
        name = value.get("name")
        version = value.get("version")
        return f"{name} {version}".strip() if name and version else (str(name) if name else None)
    return str(value) if value else None


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict):
        return _agent(info[0])
    generator = manifest.get("claim_generator")
    return str(generator) if generator else None


def _actions(label: str, manifest: dict[str, Any], path: str) -> list[C2paAction]:
    found: list[C2paAction] = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data")
        actions = data.get("actions") if isinstance(data, dict) else None
        for action in actions or []:
            if not isinstance(action, dict):
                continue
            source_type = action.get("digitalSourceType")
            if not source_type:
                params = action.get("parameters")
                if isinstance(params, dict):
                    source_type = params.get("digitalSourceType")
            if not source_type:
                continue
            found.append(
                C2paAction(
                    manifest=label,
                    action=str(action.get("action", "")),
                    digital_source_type=str(source_type).strip(),
                    software_agent=_agent(action.get("softwareAgent"))
                    or _claim_generator(manifest),
                    ingredient_path=path,
                )
            )
    return found


def _walk(store: dict[str, Any]) -> tuple[list[C2paAction], int]:
    """Actions of the active manifest, then of each ingredient's manifest, breadth first."""
    manifests = store.get("manifests") if isinstance(store.get("manifests"), dict) else {}
    assert isinstance(manifests, dict)
    active = store.get("active_manifest")
    queue: list[tuple[str, str]] = [(str(active), "")] if active in manifests else []
    seen: set[str] = set()
    actions: list[C2paAction] = []
    while queue:
        label, path = queue.pop(0)
        if label in seen:
            continue
        seen.add(label)
        manifest = manifests.get(label)
        if not isinstance(manifest, dict):
            continue
        actions.extend(_actions(label, manifest, path))
        for ingredient in manifest.get("ingredients") or []:
            if isinstance(ingredient, dict) and ingredient.get("active_manifest") in manifests:
                title = ingredient.get("title") or "untitled"
                step = f"ingredient {title!r}"
                queue.append(
                    (str(ingredient["active_manifest"]), f"{path} > {step}" if path else step)
                )
    for label, manifest in manifests.items():  # manifests no ingredient points to
        if label not in seen and isinstance(manifest, dict):
            actions.extend(_actions(label, manifest, "manifest store"))
    return actions, len(manifests)


def _codes(store: dict[str, Any]) -> list[str]:
    codes: list[str] = []
    results = store.get("validation_results")
    if isinstance(results, dict):
        active = results.get("activeManifest")
        if isinstance(active, dict):
            codes += [
                str(f.get("code")) for f in active.get("failure") or [] if isinstance(f, dict)
            ]
    for status in store.get("validation_status") or []:
        if isinstance(status, dict) and status.get("code") not in codes:
            codes.append(str(status.get("code")))
    return codes


def read_c2pa(
    data: bytes | BinaryIO, fmt: str, *, trust_anchors: str | None = None
) -> C2paInfo | None:
    """Read the manifest store of ``data`` (the bytes, or a seekable stream: a video on
    disk is read where it is); None when there is none. Never raises."""
    try:
        c2pa = import_optional("c2pa", "provenance")
        context = c2pa_context(trust_anchors)
    except ImportError as exc:
        return C2paInfo(state="unreadable", error=str(exc))
    mime = MIME_TYPES.get(fmt)
    try:
        stream = io.BytesIO(data) if isinstance(data, bytes) else data
        with c2pa.Reader(mime, stream, context=context) as reader:
            store = json.loads(reader.json())
            remote = reader.get_remote_url() if not reader.is_embedded() else None
    except Exception as exc:  # c2pa raises C2paError subclasses; any failure is per file
        message = str(exc)
        name = type(exc).__name__
        if "ManifestNotFound" in name or message.startswith("ManifestNotFound"):
            return None
        url = _URL.search(message)
        if message.startswith("Remote") and url:
            return C2paInfo(state="remote_not_fetched", remote_url=url.group(0))
        return C2paInfo(state="unreadable", error=f"{name}: {message[:300]}")
    if not isinstance(store, dict):
        return C2paInfo(state="unreadable", error="the manifest store is not a JSON object")
    codes = _codes(store)
    validation_state = store.get("validation_state")
    actions, count = _walk(store)
    manifests = store.get("manifests") if isinstance(store.get("manifests"), dict) else {}
    assert isinstance(manifests, dict)
    active_label = store.get("active_manifest")
    active = manifests.get(active_label) if isinstance(active_label, str) else None
    signer = signed_at = generator = None
    if isinstance(active, dict):
        generator = _claim_generator(active)
        sig = active.get("signature_info")
        if isinstance(sig, dict):
            signer = sig.get("issuer") or sig.get("common_name")
            signed_at = sig.get("time")
    return C2paInfo(
        state=state_from_codes(codes, validation_state),
        validation_state=str(validation_state) if validation_state else None,
        failure_codes=tuple(codes),
        active_manifest=str(active_label) if active_label else None,
        claim_generator=generator,
        signer=str(signer) if signer else None,
        signed_at=str(signed_at) if signed_at else None,
        manifests=count,
        actions=tuple(actions),
        remote_url=remote,
    )
