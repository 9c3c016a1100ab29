"""A scan of a folder of hostile files: every entry is one stored record, the run never stops.

End to end through ``run_scan`` (issue "Hostile input never costs a record"): links out of the
folder, FIFOs, non-UTF-8 and repeated member names, encrypted members, NUL in names, empty
and too-deep archives, a metadata trick against PDQ, and a tar bomb.
"""

from __future__ import annotations

import io
import os
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from conftest import image_bytes, synth_image
from needle.media import walk
from needle.pipeline.scan import run_scan
from needle.store import Store


def _jpeg(seed: int) -> bytes:
    return image_bytes(synth_image(seed, (96, 64)))


def _raw_zip(members: list[tuple[bytes, bytes]], flags: int = 0) -> bytes:
    """A stored zip written byte by byte: names and flags exactly as given."""
    out, central = bytearray(), bytearray()
    for name, data in members:
        crc, offset = zlib.crc32(data), len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 0, 0, 0, crc, len(data),
                           len(data), len(name), 0) + name + data  # fmt: skip
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, 0, 0, 0, crc,
                               len(data), len(data), len(name), 0, 0, 0, 0, 0, offset) + name  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central),
                      len(out), 0)  # fmt: skip
    return bytes(out + central + end)


def _tar(members: list[tuple[str, bytes]], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tf:  # fmt: skip
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _png_with_text_bomb(png: bytes) -> bytes:
    from PIL import PngImagePlugin

    body = b"Comment\x00\x00" + zlib.compress(b"a" * (PngImagePlugin.MAX_TEXT_CHUNK + 1024), 9)
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"zTXt" + body))
    return png[:33] + chunk + png[33:]


def _hostile_folder(tmp_path: Path) -> tuple[Path, bytes]:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = _jpeg(99)
    (outside / "secret.jpg").write_bytes(secret)
    ev = tmp_path / "evidence"
    ev.mkdir()
    (ev / "a.jpg").write_bytes(_jpeg(1))
    (ev / "passwd.jpg").symlink_to(outside / "secret.jpg")
    (ev / "elsewhere").symlink_to(outside)
    (ev / "sub").mkdir()
    (ev / "sub" / "up").symlink_to("..")
    (ev / "copy.jpg").symlink_to(ev / "a.jpg")
    os.mkfifo(ev / "pipe.jpg")
    (ev / "names.tar").write_bytes(
        _tar([("caf\udce9.jpg", _jpeg(2)), ("dup.jpg", _jpeg(3)), ("dup.jpg", _jpeg(4))])
    )
    (ev / "locked.zip").write_bytes(_raw_zip([(b"secret.jpg", _jpeg(5))], flags=0x1))
    (ev / "dup.zip").write_bytes(_raw_zip([(b"x.jpg", _jpeg(6)), (b"x.jpg", _jpeg(7))]))
    (ev / "nul.zip").write_bytes(_raw_zip([(b"a.jpg\x00.txt", _jpeg(8))]))
    (ev / "empty.zip").write_bytes(_zip([]))
    deep = _zip([("deep.jpg", _jpeg(9))])
    for _ in range(3):
        deep = _zip([("inner.zip", deep)])
    (ev / "deep.zip").write_bytes(deep)
    clean = image_bytes(synth_image(10, (160, 120)), "PNG")
    (ev / "clean.png").write_bytes(clean)
    (ev / "text.png").write_bytes(_png_with_text_bomb(clean))
    (ev / "x.zip").write_bytes(_zip([("a.jpg", _jpeg(11))]))
    (ev / "x.zip!a.jpg").write_bytes(_jpeg(12))
    (ev / "bomb.tar.gz").write_bytes(_tar([(f"{i}.bin", bytes(2 << 20)) for i in range(6)], "w:gz"))
    return ev, secret


@pytest.mark.parametrize("workers", [0, 2])
def test_a_hostile_folder_is_scanned_to_the_end_one_record_per_entry(
    tmp_path: Path, workers: int
) -> None:
    from needle.signals.cryptographic import MD5

    ev, secret = _hostile_folder(tmp_path)
    expected = [item.path for item in walk([ev])]
    assert len(set(expected)) == len(expected)
    with Store(f"sqlite:///{tmp_path / 'n.db'}") as store:
        result = run_scan([str(ev)], store=store, workers=workers)
        records = {r.path[len(str(ev)) + 1 :]: r for r in store.iter_records(result.job.id)}
    assert sorted(records) == sorted(p[len(str(ev)) + 1 :] for p in expected)
    assert [item.path for item in walk([ev])] == expected  # stable: what resuming relies on

    reasons = {path: r.error_reason for path, r in records.items()}
    assert reasons["passwd.jpg"] == reasons["elsewhere"] == "outside-root"
    assert reasons["sub/up"] == reasons["copy.jpg"] == "link"
    assert reasons["pipe.jpg"] == "not-a-regular-file"
    assert reasons["locked.zip!secret.jpg"] == "encrypted"
    assert reasons["nul.zip!a.jpg\\x00.txt"] == "unsafe-archive-member"
    assert reasons["empty.zip"] == "empty-archive"
    assert reasons["deep.zip!inner.zip!inner.zip!inner.zip"] == "too-deep"
    assert reasons["bomb.tar.gz"] == "too-large"
    for path in ("names.tar!caf\\xe9.jpg", "names.tar!dup.jpg", "names.tar!dup.jpg#2",
                 "dup.zip!x.jpg", "dup.zip!x.jpg#2", "x.zip!a.jpg", "x.zip%21a.jpg", "a.jpg"):  # fmt: skip
        assert reasons[path] is None, path
    assert records["dup.zip!x.jpg"].md5 != records["dup.zip!x.jpg#2"].md5

    # the metadata trick does not hide the picture from PDQ
    assert records["text.png"].error is None
    assert records["text.png"].pdq == records["clean.png"].pdq is not None
    # nothing outside the folder was read
    secret_md5 = MD5().hash_bytes(secret).value
    assert all(r.md5 != secret_md5 for r in records.values())
