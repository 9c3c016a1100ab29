"""C2PA manifests written for generated images: needle's provenance stage reads each back as an AI
claim, trusted with the test root as anchor and untrusted without it; the pixels are untouched,
a flipped byte reads as tampered, bad credentials are needle's ConfigError naming the file, and
signing fetches nothing unless a time-stamp authority is configured.

``make_test_certificates`` makes a throw-away root CA and an end-entity certificate that fits
C2PA's certificate profile; other tests import it from here.
"""

from __future__ import annotations

import datetime as dt
import http.server
import io
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from PIL import Image

import needle
from conftest import image_bytes, synth_image
from needle.errors import ConfigError, CorruptMedia, UnsupportedMedia
from needle.genguard.manifest import (
    GENERATION_ASSERTION,
    TRAINED_ALGORITHMIC_MEDIA,
    ManifestSigner,
    manifest_definition,
    read_record_id,
    sign_manifest,
)
from needle.provenance import ProvenanceOptions, ProvenanceResult, examine

pytest.importorskip("c2pa", reason="needs the provenance extra (c2pa-python)")

#: C2PA's document-signing purpose (id-kp-documentSigning), accepted next to emailProtection
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
#: test certificates are valid from a day ago for this many days
VALID_DAYS = 30
FORMATS = ["JPEG", "PNG"]
AGENT = f"needle {needle.__version__}"


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "needle tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])  # fmt: skip


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _leaf_key(
    algorithm: str,
) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    if algorithm == "es384":
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm == "ps256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def make_test_certificates(
    tmp_path: Path, *, algorithm: str = "es256", ocsp_url: str | None = None
) -> tuple[Path, Path, Path]:
    """A test root CA and an end-entity certificate C2PA accepts, as PEM files under ``tmp_path``.

    Returns (chain, key, anchor): the chain is end-entity first, then the root; the key is the
    end-entity's (PKCS#8, of ``algorithm``'s type); the anchor is the root alone, for
    ``ProvenanceOptions.c2pa_trust_anchors``. The end-entity has what c2pa-rs demands: v3, not
    a CA, critical Key Usage digitalSignature, EKU emailProtection and documentSigning, an
    Authority Key Identifier, valid now. ``ocsp_url`` adds an OCSP responder address (AIA).
    Each call writes a new folder, so certificates from two calls never overwrite each other.
    """
    now = dt.datetime.now(dt.UTC)
    since, until = now - dt.timedelta(days=1), now + dt.timedelta(days=VALID_DAYS)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder().subject_name(_name("needle test root CA"))
        .issuer_name(_name("needle test root CA")).public_key(root_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(since).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )  # fmt: skip
    key = _leaf_key(algorithm)
    leaf = (
        x509.CertificateBuilder().subject_name(_name("needle test generation service"))
        .issuer_name(root.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(since).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )  # fmt: skip
    if ocsp_url:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        leaf = leaf.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    leaf_cert = leaf.sign(root_key, hashes.SHA256())
    folder = Path(tempfile.mkdtemp(prefix="c2pa-certs-", dir=tmp_path))
    pem = serialization.Encoding.PEM
    chain, key_path, anchor = folder / "chain.pem", folder / "key.pem", folder / "anchor.pem"
    chain.write_bytes(leaf_cert.public_bytes(pem) + root.public_bytes(pem))
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    anchor.write_bytes(root.public_bytes(pem))
    return chain, key_path, anchor


@pytest.fixture
def credentials(tmp_path: Path) -> tuple[ManifestSigner, str]:
    """A signer with fresh test credentials, and the PEM text of its trust anchor."""
    chain, key, anchor = make_test_certificates(tmp_path)
    return ManifestSigner(chain, key), anchor.read_text()


def _image(fmt: str, seed: int = 7) -> bytes:
    return image_bytes(synth_image(seed, (256, 192)), fmt)


def _examine(data: bytes, fmt: str, anchor: str | None) -> ProvenanceResult:
    options = ProvenanceOptions(c2pa_trust_anchors=anchor)
    return examine(data, filename=f"generated.{fmt.lower()}", options=options)


@pytest.mark.parametrize("fmt", FORMATS)
def test_signed_image_reads_back_as_a_trusted_ai_claim(
    fmt: str, credentials: tuple[ManifestSigner, str]
) -> None:
    signer, anchor = credentials
    signed = sign_manifest(_image(fmt), fmt, signer, title="generated", record_id="rec-0042")
    result = _examine(signed, fmt, anchor)
    assert result.errors == ()
    assert result.ai_generated == "claimed" and not result.camera_claimed
    assert result.c2pa is not None
    assert result.c2pa.state == "trusted" and result.c2pa.failure_codes == ()
    assert [(a.action, a.digital_source_type, a.software_agent) for a in result.c2pa.actions] == [
        ("c2pa.created", TRAINED_ALGORITHMIC_MEDIA, AGENT)
    ]
    assert result.c2pa.claim_generator == AGENT and result.generator == AGENT
    assert result.summary() == f"AI-generated: C2PA claim by {AGENT} (signature valid and trusted)"
    assert read_record_id(signed, fmt) == "rec-0042"


@pytest.mark.parametrize("fmt", FORMATS)
def test_pixels_are_untouched(fmt: str, credentials: tuple[ManifestSigner, str]) -> None:
    original = _image(fmt)
    signed = sign_manifest(original, fmt, credentials[0])
    assert len(signed) > len(original)
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(signed)) as after:
        assert after.format == fmt and after.size == before.size == (256, 192)
        assert np.array_equal(np.asarray(after.convert("RGB")), np.asarray(before.convert("RGB")))


@pytest.mark.parametrize("fmt", FORMATS)
def test_without_the_anchor_the_signer_is_untrusted_not_invalid(
    fmt: str, credentials: tuple[ManifestSigner, str], tmp_path: Path
) -> None:
    signed = sign_manifest(_image(fmt), fmt, credentials[0])
    plain = _examine(signed, fmt, None)
    assert plain.c2pa is not None and plain.c2pa.state == "untrusted"
    assert plain.ai_generated == "claimed"
    other_anchor = make_test_certificates(tmp_path)[2].read_text()
    other = _examine(signed, fmt, other_anchor)
    assert other.c2pa is not None and other.c2pa.state == "untrusted"


def _pixel_offset(data: bytes, fmt: str) -> int:
    """An offset inside the compressed pixel data (JPEG scan, PNG IDAT), past the manifest."""
    if fmt == "JPEG":
        start = data.rindex(b"\xff\xda")  # start of scan: entropy-coded data follows
        return (start + len(data)) // 2
    return data.index(b"IDAT") + 64


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_byte_flipped_after_signing_reads_as_tampered(
    fmt: str, credentials: tuple[ManifestSigner, str]
) -> None:
    signer, anchor = credentials
    signed = bytearray(sign_manifest(_image(fmt), fmt, signer))
    offset = _pixel_offset(bytes(signed), fmt)
    signed[offset] ^= 0x01
    result = _examine(bytes(signed), fmt, anchor)
    assert result.c2pa is not None
    assert result.c2pa.state == "tampered"
    assert "assertion.dataHash.mismatch" in result.c2pa.failure_codes


@pytest.mark.parametrize("algorithm", ["es384", "ps256", "ed25519"])
def test_other_algorithms(algorithm: str, tmp_path: Path) -> None:
    chain, key, anchor = make_test_certificates(tmp_path, algorithm=algorithm)
    signer = ManifestSigner(chain, key, algorithm=algorithm.upper(), claim_generator="svc/2.1")
    assert signer.algorithm == algorithm
    signed = sign_manifest(_image("PNG"), "png", signer)
    result = _examine(signed, "PNG", anchor.read_text())
    assert result.c2pa is not None and result.c2pa.state == "trusted"
    assert result.ai_generated == "claimed" and result.generator == "svc 2.1"


def test_missing_or_unreadable_credentials_are_config_errors(
    credentials: tuple[ManifestSigner, str], tmp_path: Path
) -> None:
    signer = credentials[0]
    missing = tmp_path / "nowhere" / "service.key"
    with pytest.raises(ConfigError, match=r"private key file not found: .*service\.key"):
        sign_manifest(_image("JPEG"), "JPEG", ManifestSigner(signer.certificate_chain, missing))
    with pytest.raises(ConfigError, match=r"certificate chain file not found: .*chain\.pem"):
        sign_manifest(
            _image("JPEG"), "JPEG", ManifestSigner(tmp_path / "chain.pem", signer.private_key)
        )
    with pytest.raises(ConfigError, match="cannot read the C2PA private key file"):
        sign_manifest(_image("JPEG"), "JPEG", ManifestSigner(signer.certificate_chain, tmp_path))
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"notes\.txt is not a PEM certificate chain"):
        sign_manifest(_image("JPEG"), "JPEG", ManifestSigner(not_pem, signer.private_key))
    with pytest.raises(ConfigError, match=r"notes\.txt is not a PEM private key"):
        sign_manifest(_image("JPEG"), "JPEG", ManifestSigner(signer.certificate_chain, not_pem))
    private = serialization.load_pem_private_key(signer.private_key.read_bytes(), None)
    sec1 = tmp_path / "sec1.pem"  # "BEGIN EC PRIVATE KEY": c2pa reads PKCS#8 only
    sec1.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigError, match=r"sec1\.pem is not a PEM private key.*PKCS#8"):
        sign_manifest(_image("JPEG"), "JPEG", ManifestSigner(signer.certificate_chain, sec1))


def test_refused_credentials_are_config_errors(
    credentials: tuple[ManifestSigner, str], tmp_path: Path
) -> None:
    signer = credentials[0]
    other_chain, other_key, _ = make_test_certificates(tmp_path)
    with pytest.raises(ConfigError, match=r"key\.pem \(es256\) failed: .*signature does not match"):
        sign_manifest(_image("JPEG"), "JPEG", ManifestSigner(signer.certificate_chain, other_key))
    with pytest.raises(ConfigError, match="cannot sign with es384"):
        sign_manifest(_image("JPEG"), "JPEG", ManifestSigner(other_chain, other_key, "es384"))
    leaf, root = other_chain.read_text().split("-----END CERTIFICATE-----\n", 1)
    root_first = tmp_path / "root-first.pem"
    root_first.write_text(root + leaf + "-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match=r"self-signed.*end-entity certificate"):
        sign_manifest(_image("JPEG"), "JPEG", ManifestSigner(root_first, other_key))


def test_bad_settings_and_formats(credentials: tuple[ManifestSigner, str], tmp_path: Path) -> None:
    signer = credentials[0]
    with pytest.raises(ConfigError, match="'rs256' is not supported: use one of es256"):
        ManifestSigner(signer.certificate_chain, signer.private_key, algorithm="rs256")
    with pytest.raises(ConfigError, match="not an http"):
        ManifestSigner(signer.certificate_chain, signer.private_key, tsa_url="ftp://tsa.example")
    with pytest.raises(ConfigError, match="claim generator is empty"):
        ManifestSigner(signer.certificate_chain, signer.private_key, claim_generator=" ")
    with pytest.raises(UnsupportedMedia, match=r"'WEBP'.*JPEG and PNG only") as raised:
        sign_manifest(image_bytes(synth_image(1), "WEBP"), "WEBP", signer)
    assert raised.value.reason == "unsupported"
    with pytest.raises(CorruptMedia, match="unreadable JPEG data"):
        sign_manifest(_image("PNG"), "JPEG", signer)
    with pytest.raises(CorruptMedia, match="empty file"):
        sign_manifest(b"", "PNG", signer)


def test_manifest_definition() -> None:
    bare = manifest_definition("imagegen")
    assert bare["claim_generator_info"] == [{"name": "imagegen"}]
    assert [a["label"] for a in bare["assertions"]] == ["c2pa.actions.v2"]
    assert "title" not in bare
    full = manifest_definition(title="out.png", record_id="r1")
    assert full["title"] == "out.png"
    assert full["claim_generator_info"] == [{"name": "needle", "version": needle.__version__}]
    assert full["assertions"][1] == {"label": GENERATION_ASSERTION, "data": {"record_id": "r1"}}
    action = full["assertions"][0]["data"]["actions"][0]
    assert action["softwareAgent"] == full["claim_generator_info"][0]


def test_record_id_is_absent_without_one(credentials: tuple[ManifestSigner, str]) -> None:
    assert read_record_id(sign_manifest(_image("JPEG"), "JPEG", credentials[0]), "JPEG") is None
    assert read_record_id(_image("JPEG"), "JPEG") is None


# --- the network: nothing without a time-stamp authority, only the authority with one ----------


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that records every request and answers 500."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            seen.append(f"{self.command} {self.path}")
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _record

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_signing_fetches_nothing(local_server: tuple[str, list[str]], tmp_path: Path) -> None:
    url, seen = local_server
    chain, key, anchor = make_test_certificates(tmp_path, ocsp_url=f"{url}/ocsp")
    for fmt in FORMATS:
        signed = sign_manifest(_image(fmt), fmt, ManifestSigner(chain, key), record_id="r")
        result = _examine(signed, fmt, anchor.read_text())
        assert result.c2pa is not None and result.c2pa.state == "trusted"
    assert seen == []  # the certificate's OCSP responder was never asked


def test_a_tsa_url_is_contacted(local_server: tuple[str, list[str]], tmp_path: Path) -> None:
    url, seen = local_server
    chain, key, _ = make_test_certificates(tmp_path)
    signer = ManifestSigner(chain, key, tsa_url=f"{url}/tsa")
    with pytest.raises(ConfigError, match=r"time-stamp authority http://127\.0\.0\.1:\d+/tsa"):
        sign_manifest(_image("JPEG"), "JPEG", signer)
    assert seen == ["POST /tsa"]
