"""Quarantined uploads are sealed at rest, read back intact, refused when changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from needle.errors import StoreError
from needle.store.quarantine import KEY_VARIABLE, Quarantine, load_key, new_key


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv(KEY_VARIABLE, new_key())
    return load_key()


def test_round_trip_and_nothing_plain_on_disk(tmp_path: Path, key: bytes) -> None:
    box = Quarantine(tmp_path / "q", key)
    data = b"\xff\xd8 benign test bytes " * 100
    ref = box.put(data)
    assert box.get(ref) == data and ref in box
    assert box.put(data) == ref  # kept once
    (sealed,) = (tmp_path / "q").rglob("*.sealed")
    assert b"benign test bytes" not in sealed.read_bytes()


def test_a_changed_file_or_a_wrong_key_is_refused(tmp_path: Path, key: bytes) -> None:
    box = Quarantine(tmp_path / "q", key)
    ref = box.put(b"some bytes")
    (sealed,) = (tmp_path / "q").rglob("*.sealed")
    raw = bytearray(sealed.read_bytes())
    raw[-1] ^= 1
    sealed.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="fails authentication"):
        box.get(ref)
    other = Quarantine(tmp_path / "q2", load_key_from(tmp_path, new_key()))
    ref2 = Quarantine(tmp_path / "q2", key).put(b"x")
    with pytest.raises(StoreError, match="fails authentication"):
        other.get(ref2)


def load_key_from(tmp_path: Path, text: str) -> bytes:
    path = tmp_path / "key"
    path.write_text(text + "\n")
    return load_key(str(path))


def test_keys_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    with pytest.raises(StoreError, match="needs a key"):
        load_key()
    monkeypatch.setenv(KEY_VARIABLE, "not base64!")
    with pytest.raises(StoreError, match="not base64"):
        load_key()
    monkeypatch.setenv(KEY_VARIABLE, "c2hvcnQ=")
    with pytest.raises(StoreError, match="32 bytes"):
        load_key()


def test_references_cannot_leave_the_folder(tmp_path: Path, key: bytes) -> None:
    box = Quarantine(tmp_path / "q", key)
    for ref in ("../" * 10 + "etc/passwd", "a" * 63 + "/", "A" * 64):
        with pytest.raises(StoreError, match="not a quarantine reference"):
            box.get(ref)
