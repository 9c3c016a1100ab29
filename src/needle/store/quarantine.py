"""Uploaded media kept encrypted at rest (``needle serve --quarantine DIR``; off by default).

Each file is sealed with AES-256-GCM (``cryptography``) under a fresh 96-bit nonce and stored
under its sha256, so the same upload is kept once. The key never touches the database or the
quarantine folder: it comes from the environment variable ``NEEDLE_QUARANTINE_KEY`` or from a
key file, as 32 bytes in base64 (``needle serve --new-quarantine-key`` prints one). A file
whose bytes were changed on disk fails authentication and is refused, not returned.
Without a quarantine the service keeps hashes and references only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from needle.errors import StoreError

__all__ = ["KEY_VARIABLE", "Quarantine", "load_key", "new_key"]

KEY_VARIABLE = "NEEDLE_QUARANTINE_KEY"
_MAGIC = b"NDLQ1"
_NONCE = 12


def new_key() -> str:
    """A new random key, as the base64 text the variable or key file holds."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load_key(key_file: str | None = None) -> bytes:
    """The quarantine key from ``key_file`` or else ``$NEEDLE_QUARANTINE_KEY``."""
    if key_file:
        try:
            text = Path(key_file).read_text().strip()
        except OSError as exc:
            raise StoreError(
                f"cannot read the quarantine key file {key_file}: {exc.strerror}"
            ) from None
        source = key_file
    else:
        text = os.environ.get(KEY_VARIABLE, "").strip()
        source = f"${KEY_VARIABLE}"
        if not text:
            raise StoreError(
                f"a quarantine needs a key: set {KEY_VARIABLE} or give --quarantine-key-file "
                "(make one with: needle serve --new-quarantine-key)"
            )
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise StoreError(f"the quarantine key in {source} is not base64") from None
    if len(key) != 32:
        raise StoreError(f"the quarantine key in {source} must be 32 bytes, not {len(key)}")
    return key


class Quarantine:
    def __init__(self, folder: str | os.PathLike[str], key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._aead = AESGCM(key)

    def _path(self, ref: str) -> Path:
        if len(ref) != 64 or any(c not in "0123456789abcdef" for c in ref):
            raise StoreError(f"not a quarantine reference: {ref[:80]!r}")
        return self.folder / ref[:2] / f"{ref}.sealed"

    def put(self, data: bytes) -> str:
        """Seal ``data``; returns its reference (the sha256 of the plain bytes)."""
        ref = hashlib.sha256(data).hexdigest()
        path = self._path(ref)
        if path.exists():
            return ref
        nonce = secrets.token_bytes(_NONCE)
        sealed = _MAGIC + nonce + self._aead.encrypt(nonce, data, ref.encode())
        path.parent.mkdir(exist_ok=True, mode=0o700)
        partial = path.with_suffix(f".{secrets.token_hex(4)}.partial")
        partial.write_bytes(sealed)
        os.replace(partial, path)
        return ref

    def get(self, ref: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            sealed = self._path(ref).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"nothing in quarantine under {ref}") from None
        if not sealed.startswith(_MAGIC):
            raise StoreError(f"quarantined file {ref} is not a sealed file")
        nonce = sealed[len(_MAGIC) : len(_MAGIC) + _NONCE]
        try:
            return self._aead.decrypt(nonce, sealed[len(_MAGIC) + _NONCE :], ref.encode())
        except InvalidTag:
            raise StoreError(
                f"quarantined file {ref} fails authentication: it was changed, or the key is wrong"
            ) from None

    def __contains__(self, ref: str) -> bool:
        try:
            return self._path(ref).exists()
        except StoreError:
            return False
