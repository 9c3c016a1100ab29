"""The ledger's Ed25519 keys: made once, kept by the service, the public half handed out.

A private key file is PKCS#8 PEM, written readable by its owner only; the public key beside it
(``NAME.pub``) is SubjectPublicKeyInfo PEM and is all a third party needs to verify entries and
checkpoints. A key is named by its ``key_id``: the first 16 bytes of the SHA-256 of its raw 32
public bytes, in hex, stored with every entry it signs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from needle.errors import ConfigError

__all__ = [
    "KEY_FILE_ENV",
    "Signer",
    "Verifier",
    "generate_key",
    "key_id",
    "load_signer",
    "load_verifier",
]

#: where the service finds its private key when no ``--key`` is given
KEY_FILE_ENV = "NEEDLE_LEDGER_KEY_FILE"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True)
class Verifier:
    """A public key: checks signatures, names itself."""

    public: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def verifies(self, signature_hex: str, message: bytes) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class Signer:
    """A private key: signs ledger entries and checkpoints."""

    private: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.private.public_key())

    @property
    def key_id(self) -> str:
        return self.verifier.key_id

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())


def generate_key(path: Path, *, overwrite: bool = False) -> Signer:
    """Write a new private key to ``path`` (mode 0600) and its public key to ``path.pub``."""
    public_path = path.with_name(path.name + ".pub")
    if not overwrite and (path.exists() or public_path.exists()):
        raise ConfigError(f"{path} or {public_path} exists already; keep it, or choose a new name")
    signer = Signer.generate()
    pem = signer.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(signer.verifier.pem())
    return signer


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the ledger's {what} {path}: {exc.strerror or exc}"
        ) from None


def load_signer(path: str | Path | None = None) -> Signer:
    """The private key at ``path``, else at ``$NEEDLE_LEDGER_KEY_FILE``."""
    chosen = path or os.environ.get(KEY_FILE_ENV)
    if not chosen:
        raise ConfigError(
            f"no ledger key: give --key FILE or set {KEY_FILE_ENV} "
            "(make one with `needle ledger keygen FILE`)"
        )
    file = Path(chosen)
    try:
        key = serialization.load_pem_private_key(_read(file, "private key"), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{file} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{file} is not an Ed25519 key")
    return Signer(key)


def load_verifier(path: str | Path) -> Verifier:
    """A public key file (PEM), or the public half of a private key file."""
    file = Path(path)
    data = _read(file, "public key")
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{file} is not a PEM public or private key: {exc}") from None
        public = private.public_key()
    if not isinstance(public, Ed25519PublicKey):
        raise ConfigError(f"{file} is not an Ed25519 key")
    return Verifier(public)
