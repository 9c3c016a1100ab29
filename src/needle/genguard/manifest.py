"""C2PA manifests for generated images: each output declares itself AI-made, signed by the service.

In: an encoded image (``JPEG`` or ``PNG`` bytes, as PIL names formats) and a ``ManifestSigner``.
Out: the same image with a C2PA manifest embedded (APP11 segments in a JPEG, a ``caBX`` chunk in
a PNG; pixel data untouched): one ``c2pa.created`` action (``c2pa.actions.v2``) of digital source
type ``trainedAlgorithmicMedia`` by the claim generator, and, given a record id, an
``org.needle.generation`` assertion holding it, so that a copy found later can be traced
(``read_record_id``). ``needle.provenance.examine`` reads it back as an AI claim.

Sign last: the manifest hashes every byte of the file outside itself, so anything done to the
file afterwards (an invisible watermark, stripped metadata, a re-encode) reads as ``tampered``.

Nothing is fetched: verification after signing checks neither OCSP nor remote manifests, and the
library's allowed network hosts are none. The one exception is ``ManifestSigner.tsa_url``: with
it, every signing sends the signature's hash to that time-stamp authority (RFC 3161).
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import needle
from needle._optional import import_optional
from needle.errors import ConfigError, CorruptMedia, NeedleError, UnsupportedMedia
from needle.provenance.c2pa_manifest import LOCAL_SETTINGS, MIME_TYPES, c2pa_context

__all__ = [
    "ALGORITHMS",
    "DEFAULT_CLAIM_GENERATOR",
    "GENERATION_ASSERTION",
    "SIGNABLE_FORMATS",
    "SIGNING_SETTINGS",
    "TRAINED_ALGORITHMIC_MEDIA",
    "ManifestSigner",
    "manifest_definition",
    "read_record_id",
    "sign_manifest",
]

#: the IPTC digital source type of media made by a trained model: what readers call AI-generated
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#: label of needle's own assertion, which holds the generation record id
GENERATION_ASSERTION = "org.needle.generation"
#: the formats a manifest is written into (PIL's names)
SIGNABLE_FORMATS = ("JPEG", "PNG")
#: signing algorithms (c2pa-rs names); the key must be of that type (P-256, P-384, RSA, Ed25519)
ALGORITHMS = ("es256", "es384", "ps256", "ed25519")
DEFAULT_CLAIM_GENERATOR = f"needle/{needle.__version__}"
#: a certificate chain or key file larger than this is not one: refused before it is read whole
MAX_PEM_BYTES = 1 << 20
#: settings of every signing context
SIGNING_SETTINGS: dict[str, Any] = {
    # verify-after-sign fetches neither OCSP responses nor remote manifests (the reader's settings)
    "verify": copy.deepcopy(LOCAL_SETTINGS["verify"]),
    # any other request of the library is refused (a TSA is asked by the signer, not through this)
    "core": {"allowed_network_hosts": []},
    # no thumbnail: the manifest is a claim about the image, not a second copy of it
    "builder": {"thumbnail": {"enabled": False}},
}
#: per credential setting: what it is, the PEM block it must hold, what to give instead
_PKCS8 = "an unencrypted PKCS#8 PEM key (openssl pkcs8 -topk8 -nocrypt converts one)"
_PEM = {
    "certificate_chain": ("certificate chain", b"-----BEGIN CERTIFICATE-----", "PEM certificates"),
    "private_key": ("private key", b"-----BEGIN PRIVATE KEY-----", _PKCS8),
}


@dataclass(frozen=True)
class ManifestSigner:
    """Who signs the manifests: the service's C2PA credentials.

    ``certificate_chain``: PEM certificates, end-entity first, then intermediates (the root may
    be left out: readers hold it as a trust anchor). ``private_key``: the end-entity's key,
    unencrypted PKCS#8 PEM (``BEGIN PRIVATE KEY``). ``algorithm``: one of ``ALGORITHMS``. ``claim_generator``: names the
    software, ``name/version`` (shown by readers as "name version"). ``tsa_url``: an RFC 3161
    time-stamp authority; None (the default) fetches nothing, a URL makes every signing contact
    that host.

    The end-entity certificate must, as c2pa-rs checks it (C2PA 2.x, X.509 certificates): be
    X.509 v3 and valid now; not be a CA; carry Key Usage with ``digitalSignature`` (and not
    ``keyCertSign``); carry Extended Key Usage with ``emailProtection``, ``documentSigning`` or
    C2PA's claim-signing purpose, never ``anyExtendedKeyUsage``; carry an Authority Key
    Identifier; use P-256/P-384/P-521, RSA of 2048 bits or more, or Ed25519; be issued by a CA,
    not self-signed. Readers call the signature ``trusted`` only when its root is on their list.
    """

    certificate_chain: Path
    private_key: Path
    algorithm: str = "es256"
    claim_generator: str = DEFAULT_CLAIM_GENERATOR
    tsa_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "certificate_chain", Path(self.certificate_chain))
        object.__setattr__(self, "private_key", Path(self.private_key))
        algorithm = str(self.algorithm).lower()
        if algorithm not in ALGORITHMS:
            raise ConfigError(
                f"C2PA signing algorithm {self.algorithm!r} is not supported: use one of "
                f"{', '.join(ALGORITHMS)} (matching the private key's type)"
            )
        object.__setattr__(self, "algorithm", algorithm)
        if not self.claim_generator.strip():
            raise ConfigError("the C2PA claim generator is empty: name the software, name/version")
        if self.tsa_url is not None and not self.tsa_url.startswith(("http://", "https://")):
            raise ConfigError(f"C2PA tsa_url {self.tsa_url!r} is not an http(s) URL (or None)")


def manifest_definition(
    claim_generator: str = DEFAULT_CLAIM_GENERATOR,
    *,
    title: str | None = None,
    record_id: str | None = None,
) -> dict[str, Any]:
    """The manifest JSON handed to ``c2pa.Builder``: the created action, and the record id.

    The claim generator ``name/version`` is written as C2PA's ``{"name", "version"}``.
    """
    name, _, version = claim_generator.strip().rpartition("/")
    info = {"name": name, "version": version} if name and version else {"name": claim_generator}
    created = {
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": info,
    }
    actions = {"label": "c2pa.actions.v2", "data": {"actions": [created]}}
    assertions: list[dict[str, Any]] = [actions]
    if record_id is not None:
        assertions.append({"label": GENERATION_ASSERTION, "data": {"record_id": str(record_id)}})
    manifest: dict[str, Any] = {"claim_generator_info": [info], "assertions": assertions}
    if title:
        manifest["title"] = title
    return manifest


def _mime(fmt: str) -> str:
    name = str(fmt).upper()
    if name not in SIGNABLE_FORMATS:
        raise UnsupportedMedia(
            f"cannot write a C2PA manifest into {fmt!r}: needle signs "
            f"{' and '.join(SIGNABLE_FORMATS)} only (encode the output as one of them)"
        )
    return MIME_TYPES[name]


def _read_pem(path: Path, setting: str) -> bytes:
    """The PEM text of a credential file, or a ConfigError naming the file and the fix."""
    what, marker, instead = _PEM[setting]
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PEM_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"C2PA {what} file not found: {path} (set ManifestSigner.{setting} to the PEM file)"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the C2PA {what} file {path}: {exc.strerror or exc} "
            f"(ManifestSigner.{setting} must be a readable PEM file)"
        ) from None
    if len(data) > MAX_PEM_BYTES or marker not in data:
        raise ConfigError(
            f"{path} is not a PEM {what} (no '{marker.decode()}' line): "
            f"ManifestSigner.{setting} must name {instead}"
        )
    return data


def _sign_error(exc: Exception, fmt: str, signer: ManifestSigner) -> NeedleError:
    """A c2pa failure while signing as needle's error: unparsable image, or refused credentials."""
    message = str(exc).strip()
    if "could not be parsed" in message or type(exc).__name__.endswith("Io"):
        return CorruptMedia(f"cannot embed a C2PA manifest: unreadable {fmt} data: {message}")
    tsa = f"; or the time-stamp authority {signer.tsa_url} failed" if signer.tsa_url else ""
    return ConfigError(
        f"C2PA signing with {signer.certificate_chain} and {signer.private_key} "
        f"({signer.algorithm}) failed: {message}; the chain must start with the end-entity "
        f"certificate, the key be its key, and the certificate fit C2PA's profile (see "
        f"ManifestSigner){tsa}"
    )


def sign_manifest(
    data: bytes,
    fmt: str,
    signer: ManifestSigner,
    *,
    title: str | None = None,
    record_id: str | None = None,
) -> bytes:
    """``data`` with a signed C2PA manifest declaring it AI-generated embedded (sign last).

    Raises ``UnsupportedMedia`` for a format other than JPEG/PNG, ``CorruptMedia`` when the
    bytes do not parse as ``fmt``, ``ConfigError`` when the credentials are missing, unreadable
    or refused (the message names the files), ``OptionalDependencyError`` without c2pa-python.
    """
    mime = _mime(fmt)
    if not data:
        raise CorruptMedia("cannot embed a C2PA manifest into an empty file")
    chain = _read_pem(signer.certificate_chain, "certificate_chain")
    key = _read_pem(signer.private_key, "private_key")
    c2pa = import_optional("c2pa", "provenance")
    manifest = manifest_definition(signer.claim_generator, title=title, record_id=record_id)
    info = c2pa.C2paSignerInfo(signer.algorithm, chain, key, signer.tsa_url)
    try:
        native = c2pa.Signer.from_info(info)
    except c2pa.C2paError as exc:
        raise ConfigError(
            f"the C2PA private key {signer.private_key} cannot sign with {signer.algorithm}: "
            f"{str(exc).strip()} (choose the algorithm of the key's type: {', '.join(ALGORITHMS)})"
        ) from None
    out = io.BytesIO()
    try:
        with (
            native,
            c2pa.Context.from_dict(copy.deepcopy(SIGNING_SETTINGS)) as context,
            c2pa.Builder(manifest, context=context) as builder,
        ):
            builder.sign(native, mime, io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        raise _sign_error(exc, str(fmt).upper(), signer) from None
    return out.getvalue()


def read_record_id(data: bytes, fmt: str) -> str | None:
    """The record id of needle's generation assertion in the active manifest; None if absent.

    Reads locally, as the provenance stage does, but does not judge the signature: whether the
    manifest is intact and trusted is ``needle.provenance.examine``'s ``c2pa.state``.
    """
    mime = _mime(fmt)
    c2pa = import_optional("c2pa", "provenance")
    try:
        with c2pa.Reader(mime, io.BytesIO(data), context=c2pa_context()) as reader:
            manifest = reader.get_active_manifest()
    except c2pa.C2paError:
        return None
    for assertion in (manifest or {}).get("assertions") or []:
        if isinstance(assertion, dict) and assertion.get("label") == GENERATION_ASSERTION:
            found = assertion.get("data")
            value = found.get("record_id") if isinstance(found, dict) else None
            return str(value) if value is not None else None
    return None
