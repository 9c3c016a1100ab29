"""C2PA: every file in ../shared/testdata/provenance/c2pa gives the claim and validation state
the README describes, and a remote manifest is recorded, never fetched."""

from __future__ import annotations

import io
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from needle.provenance import examine
from needle.provenance.c2pa_manifest import c2pa_context, state_from_codes

C2PA = Path("provenance") / "c2pa"
CLOUD_URL = (
    b"https://cai-manifests.adobe.com/manifests/adobe-urn-uuid-5f37e182-3687-462e-a7fb-573462780391"
)

pytest.importorskip("c2pa", reason="needs the provenance extra (c2pa-python)")


def _read(testdata: Path, name: str) -> bytes:
    return (testdata / C2PA / name).read_bytes()


def test_ocsp_ai_claims_in_active_and_ingredient_manifests(testdata: Path) -> None:
    result = examine(_read(testdata, "ocsp.jpg"))
    assert result.ai_generated == "claimed"
    assert result.camera_claimed is False
    assert result.generator == "Adobe Firefly"
    assert result.c2pa is not None
    assert result.c2pa.state == "untrusted"  # no trust list ships with the fixtures
    assert result.c2pa.manifests == 2
    terms = {(a.digital_source_type.rsplit("/", 1)[-1], bool(a.ingredient_path))
             for a in result.c2pa.actions}  # fmt: skip
    assert ("trainedAlgorithmicMedia", True) in terms  # the Firefly ingredient's manifest
    assert ("compositeWithTrainedAlgorithmicMedia", False) in terms  # the active one
    ai = [e for e in result.evidence if e.indicates == "ai"]
    assert ai and all(e.kind == "c2pa" and e.strength == "claimed" for e in ai)
    assert result.summary() == (
        "AI-generated: C2PA claim by Adobe Firefly (signature valid, signer not on a trust list)"
    )


def test_algorithmic_media_is_not_trained_ai(testdata: Path) -> None:
    result = examine(_read(testdata, "C.jpg"))
    assert result.c2pa is not None and result.c2pa.state == "untrusted"
    assert [a.digital_source_type.rsplit("/", 1)[-1] for a in result.c2pa.actions] == [
        "algorithmicMedia"
    ]
    assert result.ai_generated == "unknown"
    assert not result.camera_claimed
    assert all(e.indicates != "ai" for e in result.evidence)


def test_digital_capture_is_a_camera_claim(testdata: Path) -> None:
    result = examine(_read(testdata, "C_with_CAWG_data.jpg"))
    assert result.camera_claimed is True
    assert result.ai_generated == "unknown"
    assert result.c2pa is not None and result.c2pa.state == "untrusted"
    camera = [e for e in result.evidence if e.indicates == "camera"]
    assert camera and camera[0].kind == "c2pa" and "digitalCapture" in camera[0].detail
    assert result.summary().startswith("camera capture claimed (C2PA")


def test_ingredient_without_ai_claim(testdata: Path) -> None:
    result = examine(_read(testdata, "CA.jpg"))
    assert result.c2pa is not None
    assert result.c2pa.state == "untrusted"
    assert result.c2pa.actions == ()
    assert result.c2pa.claim_generator == "make_test_images 0.33.1"
    assert result.ai_generated == "unknown" and not result.camera_claimed


@pytest.mark.parametrize(
    ("name", "state", "code"),
    [("XCA.jpg", "tampered", "assertion.dataHash.mismatch"),
     ("E-sig-CA.jpg", "invalid_signature", "claimSignature.mismatch")],
)  # fmt: skip
def test_tampered_and_bad_signature(testdata: Path, name: str, state: str, code: str) -> None:
    result = examine(_read(testdata, name))
    assert result.c2pa is not None
    assert result.c2pa.state == state
    assert code in result.c2pa.failure_codes
    assert result.c2pa.validation_state == "Invalid"
    edited = [e for e in result.evidence if e.indicates == "edited"]
    assert edited and code in edited[0].detail
    assert state.replace("_", " ").split()[-1] in result.summary()


def test_no_manifest_reports_the_stripped_reference(testdata: Path) -> None:
    result = examine(_read(testdata, "no_manifest.jpg"))
    assert result.c2pa is None
    assert result.ai_generated == "unknown"
    stripped = [e for e in result.evidence if e.field == "XMP dcterms:provenance"]
    assert stripped and "stripped" in stripped[0].detail


def test_state_from_codes_order() -> None:
    assert state_from_codes(["signingCredential.untrusted"], "Valid") == "untrusted"
    assert state_from_codes(["signingCredential.expired"], "Invalid") == "expired"
    assert state_from_codes([], "Trusted") == "trusted"
    assert state_from_codes([], "Valid") == "valid"
    assert state_from_codes(["signingCredential.untrusted", "assertion.bmffHash.mismatch",
                             "claimSignature.mismatch"], "Invalid") == "tampered"  # fmt: skip


# --- no network ----------------------------------------------------------------------------


@pytest.fixture
def local_server() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on 127.0.0.1 that records every connection it gets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    hits.append(conn.recv(1024))
                except OSError:
                    hits.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], hits
    finally:
        stop.set()
        thread.join(2)
        server.close()


def _cloud_pointing_at(testdata: Path, port: int) -> bytes:
    """cloud.jpg with its remote manifest URL moved to the local server (same length)."""
    data = _read(testdata, "cloud.jpg")
    url = f"http://127.0.0.1:{port}/m/".encode()
    url += b"x" * (len(CLOUD_URL) - len(url))
    assert CLOUD_URL in data
    return data.replace(CLOUD_URL, url)


def test_cloud_jpg_records_the_url_and_makes_no_request(
    testdata: Path, local_server: tuple[int, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, hits = local_server
    data = _cloud_pointing_at(testdata, port)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    # Python-level sockets too (the Rust library has its own; the local server sees those)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    result = examine(data)
    # and the C2PA library itself, with needle's settings, asked directly
    import c2pa

    with pytest.raises(c2pa.C2paError) as raised:
        c2pa.Reader("image/jpeg", io.BytesIO(data), context=c2pa_context())
    monkeypatch.undo()
    assert "must fetch remote manifests" in str(raised.value)
    assert hits == []
    assert result.remote_manifest_url is not None
    assert result.remote_manifest_url.startswith(f"http://127.0.0.1:{port}/m/")
    assert result.c2pa is not None and result.c2pa.state == "remote_not_fetched"
    assert "not fetched" in result.evidence[0].detail

    original = examine(_read(testdata, "cloud.jpg"))
    assert original.remote_manifest_url == CLOUD_URL.decode()


def test_the_local_server_would_see_a_fetch(
    testdata: Path, local_server: tuple[int, list[bytes]]
) -> None:
    """Control: c2pa's default settings do fetch, so the no-request test above can fail."""
    import c2pa

    port, hits = local_server
    data = _cloud_pointing_at(testdata, port)
    with pytest.raises(c2pa.C2paError):
        c2pa.Reader("image/jpeg", io.BytesIO(data), context=c2pa.Context())
    for _ in range(20):
        if hits:
            break
        threading.Event().wait(0.05)
    assert hits and hits[0].startswith(b"GET /m/")


# --- broken C2PA data ----------------------------------------------------------------------


def _app11(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == 0xEB:
            return pos, length
        pos += 2 + length
    raise AssertionError("no APP11 segment")


@pytest.mark.parametrize("where", [8, 40, 400, 4000])
def test_broken_jumbf_gives_an_error_or_a_state_not_an_exception(
    testdata: Path, where: int
) -> None:
    data = bytearray(_read(testdata, "C.jpg"))
    start, _ = _app11(bytes(data))
    for i in range(16):  # overwrite 16 bytes of the JUMBF store (box headers at small offsets)
        data[start + 4 + where + i] = 0xA5
    result = examine(bytes(data))
    assert result.c2pa is not None
    assert result.c2pa.state in ("unreadable", "tampered", "invalid", "invalid_signature")
    if result.c2pa.state == "unreadable":
        assert any(e.startswith("C2PA:") for e in result.errors)


def test_truncated_inside_the_jumbf_store(testdata: Path) -> None:
    data = _read(testdata, "C.jpg")
    start, _ = _app11(data)
    result = examine(data[: start + 200])
    assert result.c2pa is not None and result.c2pa.state == "unreadable"
    assert any("truncated" in e for e in result.errors)


def _state_in_child(data: bytes) -> tuple[str | None, tuple[str, ...]]:
    result = examine(data)
    return (result.c2pa.state if result.c2pa else None), result.errors


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_works_in_forked_workers_and_results_pickle(testdata: Path) -> None:
    """A C2PA context made before a fork is invalid in the child; needle makes a new one."""
    import multiprocessing
    import pickle

    data = _read(testdata, "ocsp.jpg")
    parent = examine(data)  # creates the parent's cached context
    assert pickle.loads(pickle.dumps(parent)) == parent
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork start method on this platform")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        state, errors = pool.apply(_state_in_child, (data,))
    assert (state, errors) == ("untrusted", ())


# --- a manifest signed here, with a trust anchor ---------------------------------------------


def _signed_jpeg() -> tuple[bytes, str]:
    """A benign synthetic JPEG signed by a throw-away test CA; returns (file, CA PEM)."""
    import datetime as dt

    pytest.importorskip("cryptography")
    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from PIL import Image

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=not sign,
            crl_sign=not sign, encipher_only=False, decipher_only=False,
        )  # fmt: skip

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("needle test CA")).issuer_name(name("needle test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder().subject_name(name("needle test signer")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip

    def pem(cert: x509.Certificate) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ES256, (pem(leaf) + pem(ca)).encode(), private, None
        )
    )
    manifest = {
        "claim_generator_info": [{"name": "needle-test", "version": "1"}],
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created",
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        }]}}],
    }  # fmt: skip
    source = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(source, "JPEG")
    source.seek(0)
    signed = io.BytesIO()
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    c2pa.Builder(manifest, context=context).sign(signer, "image/jpeg", source, signed)
    return signed.getvalue(), pem(ca)


def test_trust_anchors_turn_untrusted_into_trusted() -> None:
    from needle.provenance import ProvenanceOptions

    data, ca_pem = _signed_jpeg()
    plain = examine(data)
    assert plain.c2pa is not None and plain.c2pa.state == "untrusted"
    assert plain.ai_generated == "claimed" and plain.generator == "needle-test 1"
    trusted = examine(data, options=ProvenanceOptions(c2pa_trust_anchors=ca_pem))
    assert trusted.c2pa is not None and trusted.c2pa.state == "trusted"
    assert trusted.c2pa.failure_codes == ()
    assert (
        trusted.summary()
        == "AI-generated: C2PA claim by needle-test 1 (signature valid and trusted)"
    )
    # a different anchor does not make it trusted
    _, other_ca = _signed_jpeg()
    other = examine(data, options=ProvenanceOptions(c2pa_trust_anchors=other_ca))
    assert other.c2pa is not None and other.c2pa.state == "untrusted"
