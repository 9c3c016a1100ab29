"""Hostile input costs at most its own record: each test builds the hostile file it needs.

Findings of issue "Hostile input never costs a record", by section: 1 escape from the evidence
folder, 2 aborts from archives, 5 silent skips and misleading reasons, 6 duplicate names,
4 resource amplification, 3 evasion by metadata and decode time (last). The end-to-end scan
of such a folder is tests/pipeline/test_hostile_scan.py.
"""

from __future__ import annotations

import bz2
import contextlib
import gc
import inspect
import io
import lzma
import os
import pickle
import random
import socket
import struct
import sys
import tarfile
import threading
import zipfile
import zlib
from pathlib import Path

import pytest

from conftest import image_bytes, synth_image
from needle.errors import (
    CorruptMedia,
    EmptyArchive,
    EncryptedMedia,
    MediaError,
    MediaTooLarge,
    NestedTooDeep,
    NotRegularFile,
    OutsideRoot,
    SymlinkNotFollowed,
    UnsafeArchiveMember,
    UnsupportedMedia,
)
from needle.media import Item, Limits, walk
from needle.media.reading import as_media_error

# -- builders -----------------------------------------------------------------------------------


def _jpeg(seed: int) -> bytes:
    return image_bytes(synth_image(seed, (48, 32)))


def raw_zip(members: list[tuple[bytes, bytes]], *, flags: int = 0, method: int = 0) -> bytes:
    """A zip written byte by byte, so that names, flags and methods are exactly as given.

    Each member is (stored name bytes, content); ``method`` 8 deflates, 0 stores.
    """
    out, central = bytearray(), bytearray()
    for name, data in members:
        if method == 8:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            stored = packer.compress(data) + packer.flush()
        else:
            stored = data
        crc, offset = zlib.crc32(data), len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0, crc,
                           len(stored), len(data), len(name), 0) + name + stored  # fmt: skip
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0, crc,
                               len(stored), len(data), len(name), 0, 0, 0, 0, 0, offset) + name  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central),
                      len(out), 0)  # fmt: skip
    return bytes(out + central + end)


def make_tar(members: list[tuple[str, bytes]], mode: str = "w", **kw: object) -> bytes:
    """A tar; names may carry surrogate escapes, written as the raw bytes they stand for."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape", **kw) as tf:  # fmt: skip
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_zip(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def by_member(items: list[Item]) -> dict[str, Item]:
    return {item.path.split("!", 1)[1] if "!" in item.path else "": item for item in items}


def reason(item: Item) -> str | None:
    return item.error.reason if item.error is not None else None


# -- 1. escape from the evidence folder ----------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.jpg").write_bytes(_jpeg(9))
    return folder


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(_jpeg(1))
    return folder


def test_link_to_a_file_outside_the_root_is_recorded_not_read(
    evidence: Path, outside: Path
) -> None:
    (evidence / "passwd.jpg").symlink_to(outside / "secret.jpg")
    items = {Path(i.path).name: i for i in walk([evidence])}
    link = items["passwd.jpg"]
    assert isinstance(link.error, OutsideRoot) and link.error.reason == "outside-root"
    assert "outside the scanned folders" in str(link.error) and "not read" in str(link.error)
    assert link.fs_path is None and link.data is None and link.member is None
    with pytest.raises(OutsideRoot):
        link.read()


def test_link_to_a_folder_outside_the_root_is_not_walked(evidence: Path, outside: Path) -> None:
    (evidence / "elsewhere").symlink_to(outside)
    paths = [i.path for i in walk([evidence])]
    assert paths == [str(evidence / "a.jpg"), str(evidence / "elsewhere")]
    assert not any("secret" in p for p in paths)


def test_link_up_the_tree_does_not_scan_it_twice(evidence: Path) -> None:
    (evidence / "sub").mkdir()
    (evidence / "sub" / "b.jpg").write_bytes(_jpeg(2))
    (evidence / "sub" / "up").symlink_to("..")
    items = list(walk([evidence]))
    assert [i.path for i in items] == [
        str(evidence / "a.jpg"),
        str(evidence / "sub" / "b.jpg"),
        str(evidence / "sub" / "up"),
    ]
    assert reason(items[2]) == "link"


def test_link_to_a_file_inside_the_root_is_recorded_once_and_not_read_twice(
    evidence: Path,
) -> None:
    (evidence / "copy.jpg").symlink_to(evidence / "a.jpg")
    items = {Path(i.path).name: i for i in walk([evidence])}
    assert items["a.jpg"].error is None and items["a.jpg"].read() == _jpeg(1)
    link = items["copy.jpg"]
    assert isinstance(link.error, SymlinkNotFollowed) and reason(link) == "link"
    assert str(evidence / "a.jpg") in str(link.error)


def test_broken_link_is_recorded(evidence: Path) -> None:
    (evidence / "gone.jpg").symlink_to(evidence / "never-there.jpg")
    (item,) = [i for i in walk([evidence]) if i.path.endswith("gone.jpg")]
    assert reason(item) == "link" and "broken" in str(item.error)


def test_a_root_that_is_a_link_is_followed(tmp_path: Path, evidence: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(evidence)
    (item,) = walk([alias])
    assert item.path == str(alias / "a.jpg") and item.read() == _jpeg(1)


def test_overlapping_roots_walk_each_file_once(evidence: Path) -> None:
    (evidence / "sub").mkdir()
    (evidence / "sub" / "b.jpg").write_bytes(_jpeg(2))
    paths = [i.path for i in walk([evidence / "sub", evidence, evidence / "a.jpg", evidence])]
    assert paths == [str(evidence / "a.jpg"), str(evidence / "sub" / "b.jpg")]


def test_roots_that_escape_to_one_name_keep_distinct_paths(tmp_path: Path) -> None:
    (tmp_path / "a!b.jpg").write_bytes(_jpeg(1))
    (tmp_path / "a%21b.jpg").write_bytes(_jpeg(2))
    items = list(walk([tmp_path / "a!b.jpg", tmp_path / "a%21b.jpg"]))
    assert [i.path for i in items] == [f"{tmp_path}/a%21b.jpg", f"{tmp_path}/a%21b.jpg#2"]
    assert [i.read() for i in items] == [_jpeg(1), _jpeg(2)]


def test_a_file_swapped_for_a_link_after_listing_is_not_read(evidence: Path, outside: Path) -> None:
    (item,) = walk([evidence])
    (evidence / "a.jpg").unlink()
    (evidence / "a.jpg").symlink_to(outside / "secret.jpg")
    with pytest.raises(SymlinkNotFollowed):
        item.read()


# -- 2. permanent aborts from archives --------------------------------------------------------


def test_tar_member_name_that_is_not_utf8_gets_an_escaped_storable_path(tmp_path: Path) -> None:
    archive = tmp_path / "names.tar"
    archive.write_bytes(make_tar([("caf\udce9.jpg", _jpeg(1)), ("ok.jpg", _jpeg(2))]))
    items = list(walk([archive]))
    assert [i.path for i in items] == [f"{archive}!caf\\xe9.jpg", f"{archive}!ok.jpg"]
    for item in items:
        item.path.encode("utf-8")  # storable: no lone surrogates
    assert items[0].read() == _jpeg(1)


def test_escaped_names_never_collapse_into_one_path(tmp_path: Path) -> None:
    archive = tmp_path / "names.tar"
    archive.write_bytes(make_tar([("a\\xff.jpg", _jpeg(1)), ("a\udcff.jpg", _jpeg(2))]))
    items = list(walk([archive]))
    assert len({i.path for i in items}) == 2
    assert [i.read() for i in items] == [_jpeg(1), _jpeg(2)]


def test_folder_names_that_are_not_utf8_never_collapse(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "\\xff.jpg").write_bytes(_jpeg(1))
    (folder / "\udcff.jpg").write_bytes(_jpeg(2))
    items = list(walk([folder]))
    assert [i.path for i in items] == [f"{folder}/\\xff.jpg", f"{folder}/\\xff.jpg#2"]
    assert [i.read() for i in items] == [_jpeg(1), _jpeg(2)]


def test_encrypted_zip_member_is_a_per_file_error(tmp_path: Path) -> None:
    archive = tmp_path / "locked.zip"
    locked = raw_zip([(b"secret.jpg", _jpeg(1))], flags=0x1)  # traditional PKWARE encryption
    plain = raw_zip([(b"open.jpg", _jpeg(2))])
    archive.write_bytes(locked)
    (item,) = walk([archive])
    assert isinstance(item.error, EncryptedMedia) and reason(item) == "encrypted"
    archive.write_bytes(plain)
    (item,) = walk([archive])
    assert item.read() == _jpeg(2)


def test_password_errors_from_zipfile_are_encrypted_not_a_crash() -> None:
    error = as_media_error(
        RuntimeError("File 'x.jpg' is encrypted, password required for extraction"), Limits()
    )
    assert isinstance(error, EncryptedMedia)


@pytest.mark.parametrize("verb", ["hash", "provenance"])
def test_cli_verbs_record_an_encrypted_member_and_go_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, verb: str
) -> None:
    from conftest import run_cli

    archive = tmp_path / "mixed.zip"
    archive.write_bytes(raw_zip([(b"a-locked.jpg", _jpeg(1))], flags=0x1))
    open_one = tmp_path / "b.jpg"
    open_one.write_bytes(_jpeg(2))
    code, out, _ = run_cli(capsys, verb, str(archive), str(open_one))
    assert code == 1  # a file had an error, and the other was still done
    assert "a-locked.jpg" in out and "encrypted" in out and "b.jpg" in out


def test_zip_name_flagged_utf8_that_is_not_hides_only_that_member(tmp_path: Path) -> None:
    archive = tmp_path / "flags.zip"
    archive.write_bytes(raw_zip([(b"bad\xff.jpg", _jpeg(1)), (b"good.jpg", _jpeg(2))], flags=0x800))
    items = list(walk([archive]))
    assert [i.path for i in items] == [f"{archive}!bad\\xff.jpg", f"{archive}!good.jpg"]
    assert [i.read() for i in items] == [_jpeg(1), _jpeg(2)]


def test_nul_in_a_zip_member_name_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "nul.zip"
    archive.write_bytes(raw_zip([(b"evil.jpg\x00.txt", _jpeg(1)), (b"evil.jpg", _jpeg(2))]))
    items = by_member(list(walk([archive])))
    assert set(items) == {"evil.jpg", "evil.jpg\\x00.txt"}
    refused = items["evil.jpg\\x00.txt"]
    assert isinstance(refused.error, UnsafeArchiveMember) and "NUL" in str(refused.error)
    assert items["evil.jpg"].read() == _jpeg(2)


def test_unsupported_zip_method_is_a_per_file_error(tmp_path: Path) -> None:
    archive = tmp_path / "deflate64.zip"
    archive.write_bytes(raw_zip([(b"a.jpg", _jpeg(1))], method=9))
    (item,) = walk([archive])
    assert isinstance(item.error, UnsupportedMedia) and "deflate64" in str(item.error)


# -- 5. silent skips and misleading reasons ---------------------------------------------------


def _walk_in_thread(paths: list[Path]) -> list[Item]:
    """walk(), failing the test instead of hanging if anything opens a FIFO."""
    found: list[Item] = []
    worker = threading.Thread(target=lambda: found.extend(walk(paths)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "walk() blocked (did it open a FIFO?)"
    return found


def test_fifo_is_recorded_and_never_opened(evidence: Path) -> None:
    os.mkfifo(evidence / "pipe.jpg")
    items = {Path(i.path).name: i for i in _walk_in_thread([evidence])}
    assert isinstance(items["pipe.jpg"].error, NotRegularFile)
    assert reason(items["pipe.jpg"]) == "not-a-regular-file"
    assert "FIFO" in str(items["pipe.jpg"].error)
    # named as a root, too
    (root,) = _walk_in_thread([evidence / "pipe.jpg"])
    assert reason(root) == "not-a-regular-file"


def test_socket_and_device_are_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(folder / "sock"))
    except OSError:
        pytest.skip("cannot bind a unix socket here (path too long?)")
    try:
        (item,) = walk([folder])
    finally:
        server.close()
    assert reason(item) == "not-a-regular-file" and "socket" in str(item.error)
    if os.path.exists("/dev/null"):
        (device,) = walk(["/dev/null"])
        assert reason(device) == "not-a-regular-file" and "device" in str(device.error)


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.zip", make_zip([])),
        ("dirs-only.zip", make_zip([("folder/", b"")])),
        ("empty.tar", make_tar([])),
        ("empty.tar.gz", make_tar([], "w:gz")),
        ("zero-bytes.zip", b""),
    ],
    # named by file name only: the gzip bytes hold a timestamp, and test ids must be the same
    # in every pytest-xdist worker
    ids=["empty.zip", "dirs-only.zip", "empty.tar", "empty.tar.gz", "zero-bytes.zip"],
)
def test_empty_archive_is_recorded(tmp_path: Path, name: str, content: bytes) -> None:
    archive = tmp_path / name
    archive.write_bytes(content)
    (item,) = walk([archive])
    assert item.path == str(archive) and item.size == len(content)
    assert isinstance(item.error, EmptyArchive) and reason(item) == "empty-archive"


def test_nested_empty_archive_is_recorded(tmp_path: Path) -> None:
    archive = tmp_path / "outer.zip"
    archive.write_bytes(make_zip([("inner.zip", make_zip([]))]))
    (item,) = walk([archive])
    assert item.path == f"{archive}!inner.zip" and reason(item) == "empty-archive"


def _nest(levels: int) -> bytes:
    data = make_zip([("deep.jpg", _jpeg(1))])
    for _ in range(levels - 1):
        data = make_zip([("inner.zip", data)])
    return data


def test_archive_nested_too_deep_says_so(tmp_path: Path) -> None:
    archive = tmp_path / "outer.zip"
    archive.write_bytes(_nest(4))
    (item,) = walk([archive])
    assert item.path == f"{archive}!inner.zip!inner.zip!inner.zip"
    assert isinstance(item.error, NestedTooDeep) and reason(item) == "too-deep"
    assert "nested 4 levels deep" in str(item.error)
    archive.write_bytes(_nest(3))
    (item,) = walk([archive])
    assert item.path.endswith("!inner.zip!inner.zip!deep.jpg") and item.read() == _jpeg(1)


def test_damaged_tar_header_midway_is_recorded_not_a_silent_end(tmp_path: Path) -> None:
    data = bytearray(make_tar([("a.jpg", _jpeg(1)), ("b.jpg", _jpeg(2))]))
    second = 512 + (len(_jpeg(1)) + 511) // 512 * 512
    data[second : second + 100] = b"\xff" * 100  # the second header, garbled
    archive = tmp_path / "damaged.tar"
    archive.write_bytes(bytes(data))
    items = list(walk([archive]))
    assert [i.path for i in items] == [f"{archive}!a.jpg", str(archive)]
    assert reason(items[1]) == "corrupt" and "after 1 entries" in str(items[1].error)


def test_deep_folders_do_not_overflow_the_stack(tmp_path: Path) -> None:
    # 200 levels under a recursion limit 100 frames above this one: a walker that recursed
    # per level would fail as it would at 1000+ levels by default (pytest's clean-up of
    # tmp_path recurses too, so the tree itself stays shallow enough for it)
    path = tmp_path / "d"
    for _ in range(200):
        path = path / "d"
    path.mkdir(parents=True)
    (path / "x.jpg").write_bytes(_jpeg(1))
    depth = len(inspect.stack(0))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 100)
    try:
        (item,) = walk([tmp_path / "d"])
    finally:
        sys.setrecursionlimit(limit)
    assert item.path.endswith("/d/d/x.jpg")


# -- 6. duplicate names ---------------------------------------------------------------------


def test_duplicate_zip_members_get_distinct_stable_paths(tmp_path: Path) -> None:
    archive = tmp_path / "dup.zip"
    archive.write_bytes(
        raw_zip([(b"x.jpg", _jpeg(1)), (b"x.jpg", _jpeg(2)), (b"x.jpg#2", _jpeg(3))])
    )
    items = list(walk([archive]))
    # a member literally named x.jpg#2 keeps its name; the second x.jpg takes the next free one
    assert [i.path.split("!")[1] for i in items] == ["x.jpg", "x.jpg#3", "x.jpg#2"]
    assert [i.read() for i in items] == [_jpeg(1), _jpeg(2), _jpeg(3)]
    assert [i.path for i in walk([archive])] == [i.path for i in items]  # stable


def test_duplicate_tar_members_from_tar_append_get_distinct_paths(tmp_path: Path) -> None:
    archive = tmp_path / "dup.tar"
    archive.write_bytes(make_tar([("x.jpg", _jpeg(1))]))
    with tarfile.open(archive, "a") as tf:  # what `tar -r` does
        info = tarfile.TarInfo("x.jpg")
        info.size = len(_jpeg(2))
        tf.addfile(info, io.BytesIO(_jpeg(2)))
    items = list(walk([archive]))
    assert [i.path.split("!")[1] for i in items] == ["x.jpg", "x.jpg#2"]
    assert [i.read() for i in items] == [_jpeg(1), _jpeg(2)]


def test_a_file_named_like_an_archive_member_does_not_take_its_path(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "x.zip").write_bytes(make_zip([("a.jpg", _jpeg(1))]))
    (folder / "x.zip!a.jpg").write_bytes(_jpeg(2))
    items = list(walk([folder]))
    assert [i.path for i in items] == [f"{folder}/x.zip!a.jpg", f"{folder}/x.zip%21a.jpg"]
    assert [i.read() for i in items] == [_jpeg(1), _jpeg(2)]


def test_duplicate_nested_archives_are_both_walked(tmp_path: Path) -> None:
    archive = tmp_path / "outer.zip"
    first, second = make_zip([("a.jpg", _jpeg(1))]), make_zip([("a.jpg", _jpeg(2))])
    archive.write_bytes(raw_zip([(b"in.zip", first), (b"in.zip", second)]))
    items = list(walk([archive]))
    assert [i.path.split("!", 1)[1] for i in items] == ["in.zip!a.jpg", "in.zip#2!a.jpg"]
    assert [i.read() for i in items] == [_jpeg(1), _jpeg(2)]


# -- 4. resource amplification --------------------------------------------------------------


def test_zip_and_plain_tar_members_are_read_lazily(tmp_path: Path) -> None:
    for name, content in [("a.zip", make_zip([("m.jpg", _jpeg(1))])),
                          ("a.tar", make_tar([("m.jpg", _jpeg(1))]))]:  # fmt: skip
        archive = tmp_path / name
        archive.write_bytes(content)
        (item,) = walk([archive])
        assert item.data is None and item.member is not None  # a way to read, not the bytes
        copy = pickle.loads(pickle.dumps(item))  # as it travels to a worker process
        assert copy.read() == _jpeg(1)


def test_zip_of_many_small_bombs_stops_at_the_archive_ratio(tmp_path: Path) -> None:
    # each member is under the per-member ratio floor: only the archive's ratio stops them
    archive = tmp_path / "many.zip"
    archive.write_bytes(make_zip([(f"{i}.jpg", bytes(64 * 1024)) for i in range(40)],
                                 zipfile.ZIP_DEFLATED))  # fmt: skip
    limits = Limits(max_compression_ratio=50, ratio_free_bytes=128 * 1024)
    items = list(walk([archive], limits))
    read = [i for i in items if i.error is None]
    refused = [i for i in items if i.error is not None]
    assert len(items) == 40  # every member has its record
    assert sum(i.size for i in read) <= 50 * archive.stat().st_size
    assert refused and all(isinstance(i.error, MediaTooLarge) for i in refused)
    assert "Limits.max_compression_ratio" in str(refused[0].error)


def test_single_zip_bomb_member_is_refused_before_inflating(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(
        make_zip(
            [("zeros.jpg", bytes(8 * 1024 * 1024)), ("ok.jpg", _jpeg(1))], zipfile.ZIP_DEFLATED
        )
    )
    items = by_member(list(walk([archive])))
    assert isinstance(items["zeros.jpg"].error, MediaTooLarge)
    assert "ratio" in str(items["zeros.jpg"].error)
    assert items["ok.jpg"].read() == _jpeg(1)


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
def test_compressed_tar_bomb_stops_at_the_ratio(tmp_path: Path, mode: str) -> None:
    archive = tmp_path / f"bomb.tar.{mode[2:]}"
    archive.write_bytes(
        make_tar([("ok.jpg", _jpeg(1))] + [(f"{i}.bin", bytes(2 << 20)) for i in range(6)], mode)
    )
    items = list(walk([archive]))  # default limits: 12 MiB of zeros compress > 200:1
    assert items[0].path.endswith("!ok.jpg") and items[0].read() == _jpeg(1)
    last = items[-1]
    assert last.path == str(archive) and isinstance(last.error, MediaTooLarge)
    assert "stopped after" in str(last.error) and "the rest not read" in str(last.error)
    assert len(items) < 8


def test_nested_bomb_is_charged_to_the_outer_archive(tmp_path: Path) -> None:
    inner = make_zip([(f"{i}.bin", bytes(512 * 1024)) for i in range(8)], zipfile.ZIP_DEFLATED)
    archive = tmp_path / "outer.zip"
    archive.write_bytes(make_zip([(f"in{i}.zip", inner) for i in range(8)], zipfile.ZIP_DEFLATED))
    limits = Limits(max_compression_ratio=100, ratio_free_bytes=0)
    items = list(walk([archive], limits))
    read = sum(i.size for i in items if i.error is None)
    assert read <= 100 * archive.stat().st_size
    assert any(isinstance(i.error, MediaTooLarge) for i in items)


def test_member_count_is_capped_with_one_record_for_the_rest(tmp_path: Path) -> None:
    for name, content in [("many.zip", make_zip([(f"{i}.jpg", b"x") for i in range(10)])),
                          ("many.tar", make_tar([(f"{i}.jpg", b"x") for i in range(10)]))]:  # fmt: skip
        archive = tmp_path / name
        archive.write_bytes(content)
        items = list(walk([archive], Limits(max_archive_members=4)))
        assert len(items) == 5
        assert items[-1].path == str(archive) and isinstance(items[-1].error, MediaTooLarge)
        assert "the first 4 were read" in str(items[-1].error)


def test_tar_header_bomb_is_refused_without_reading_it(tmp_path: Path) -> None:
    # a pax header of 4 MiB (gzip makes it a few kB): tarfile would read it whole
    archive = tmp_path / "pax.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("a.jpg")
        info.size = len(_jpeg(1))
        info.pax_headers = {"comment": "x" * (4 << 20)}
        tf.addfile(info, io.BytesIO(_jpeg(1)))
    archive.write_bytes(buf.getvalue())
    (item,) = walk([archive], Limits(max_tar_header_bytes=1 << 20))
    assert isinstance(item.error, MediaTooLarge) and "Limits.max_tar_header_bytes" in str(
        item.error
    )


def test_xz_dictionary_over_the_decoder_memory_limit_is_refused(tmp_path: Path) -> None:
    raw = make_tar([("a.jpg", _jpeg(1))])
    filters = [{"id": lzma.FILTER_LZMA2, "dict_size": 64 << 20}]
    archive = tmp_path / "big-dict.tar.xz"
    archive.write_bytes(lzma.compress(raw, format=lzma.FORMAT_XZ, filters=filters))
    (item,) = walk([archive], Limits(max_decompressor_memory=16 << 20))
    assert isinstance(item.error, MediaTooLarge)
    assert "Limits.max_decompressor_memory" in str(item.error)
    (item,) = walk([archive])  # within the default
    assert item.read() == _jpeg(1)


def test_zip_lzma_dictionary_over_the_decoder_memory_limit_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "lzma.zip"
    archive.write_bytes(make_zip([("a.jpg", _jpeg(1))], zipfile.ZIP_LZMA))
    (item,) = walk([archive])
    assert item.read() == _jpeg(1)
    (item,) = walk([archive], Limits(max_decompressor_memory=1024))
    with pytest.raises(MediaTooLarge, match="dictionary"):
        item.read(Limits(max_decompressor_memory=1024))


def test_bytes_held_by_waiting_members_stay_within_the_budget(tmp_path: Path) -> None:
    size = 100_000
    members = [(f"{i}.bin", random.Random(i).randbytes(size)) for i in range(10)]
    archive = tmp_path / "held.tar.gz"
    archive.write_bytes(make_tar(members, "w:gz"))
    limits = Limits(max_held_bytes=3 * size)
    kept = list(walk([archive], limits))  # a consumer that never lets go
    assert sum(len(i.data or b"") for i in kept) <= 3 * size
    assert [i.data is not None for i in kept] == [True] * 3 + [False] * 7
    assert [i.read(limits) for i in kept] == [data for _, data in members]  # re-read: same bytes
    released = []
    for item in walk([archive], limits):  # a consumer that processes and drops each item
        released.append(item.data is not None)
        del item
        gc.collect()
    assert all(released)


def test_member_over_the_file_size_limit_is_refused_unread(tmp_path: Path) -> None:
    archive = tmp_path / "big.tar.bz2"
    archive.write_bytes(make_tar([("big.bin", bytes(300_000)), ("ok.jpg", _jpeg(1))], "w:bz2"))
    items = by_member(list(walk([archive], Limits(max_file_bytes=200_000))))
    assert isinstance(items["big.bin"].error, MediaTooLarge)
    assert items["ok.jpg"].read() == _jpeg(1)


# -- robustness: damaged archives never escape as exceptions -------------------------------------


def _mutations(data: bytes, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(mutated))
            mutated[pos] = rng.randrange(256)
        if rng.random() < 0.2:
            mutated = mutated[: rng.randrange(len(mutated))]
        out.append(bytes(mutated))
    return out


@pytest.mark.parametrize("name", ["m.zip", "m.tar", "m.tar.gz", "m.tar.bz2", "m.tar.xz"])
def test_damaged_archives_never_crash_the_walk(tmp_path: Path, name: str) -> None:
    members = [("a.jpg", _jpeg(1)), ("a.jpg", _jpeg(2)), ("in.zip", make_zip([("b", b"b")]))]
    if name.endswith(".zip"):
        original = raw_zip([(n.encode(), data) for n, data in members], method=8)
    else:
        mode = {"m.tar": "w", "m.tar.gz": "w:gz", "m.tar.bz2": "w:bz2", "m.tar.xz": "w:xz"}[name]
        original = make_tar(members, mode)
    archive = tmp_path / name
    for variant in _mutations(original, 60, seed=len(name)):
        archive.write_bytes(variant)
        items = list(walk([archive]))
        assert items, "every archive has at least one record"
        assert len({i.path for i in items}) == len(items)
        for item in items:
            item.path.encode("utf-8")
            with contextlib.suppress(MediaError):
                item.read()


def test_corrupt_central_directory_is_one_record(tmp_path: Path) -> None:
    archive = tmp_path / "cut.zip"
    data = make_zip([("a.jpg", _jpeg(1)), ("b.jpg", _jpeg(2))])
    archive.write_bytes(data[:-30])  # the end record gone
    (item,) = walk([archive])
    assert isinstance(item.error, CorruptMedia) and item.path == str(archive)


def test_bz2_and_zip_members_inflate_with_crc_checked(tmp_path: Path) -> None:
    archive = tmp_path / "crc.zip"
    data = bytearray(make_zip([("a.jpg", _jpeg(1))]))
    pos = data.find(_jpeg(1)) + 100
    data[pos] ^= 0xFF  # a stored member's content changed under its CRC
    archive.write_bytes(bytes(data))
    (item,) = walk([archive])
    with pytest.raises(CorruptMedia, match="CRC"):
        item.read()
    assert bz2  # imported for the tar modes above


# -- 3. evasion by metadata, and decode time ------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _with_chunk(png: bytes, chunk: bytes) -> bytes:
    """``chunk`` inserted right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    return png[:33] + chunk + png[33:]


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


@pytest.fixture(scope="module")
def clean_png() -> bytes:
    return image_bytes(synth_image(5, (160, 120)), "PNG")


def _pdq(data: bytes) -> str:
    from needle.media import decode_image
    from needle.signals.pdq import pdq_hash

    return pdq_hash(decode_image(data), dihedral=False).value


def _inflates_past_the_text_limit() -> bytes:
    from PIL import PngImagePlugin

    return zlib.compress(b"a" * (PngImagePlugin.MAX_TEXT_CHUNK + 1024), 9)


def test_png_with_a_ztxt_past_pillows_limit_keeps_its_pdq(clean_png: bytes) -> None:
    bomb = _inflates_past_the_text_limit()
    hostile = _with_chunk(clean_png, _chunk(b"zTXt", b"Comment\x00\x00" + bomb))
    assert len(hostile) < len(clean_png) + 4096  # one small chunk
    assert _pdq(hostile) == _pdq(clean_png)


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(
            lambda: _chunk(b"iTXt", b"k\x00\x01\x00\x00\x00" + _inflates_past_the_text_limit()),
            id="iTXt",
        ),
        pytest.param(
            lambda: _chunk(b"iCCP", b"icc\x00\x00" + _inflates_past_the_text_limit()), id="iCCP"
        ),
        pytest.param(lambda: _chunk(b"zTXt", b"k\x00\x07abc"), id="zTXt-unknown-method"),
        pytest.param(lambda: _chunk(b"tRNS", b"\x01"), id="tRNS-short"),
        pytest.param(lambda: struct.pack(">I", 3) + b"abCdxyz" + b"\x00" * 4, id="bad-CRC"),
        pytest.param(
            lambda: b"".join(_chunk(b"tEXt", b"k\x00" + b"x" * 600_000) for _ in range(130)),
            id="text-past-MAX_TEXT_MEMORY",
        ),
    ],
)
def test_png_metadata_problems_never_cost_the_pixels(clean_png: bytes, chunk) -> None:  # type: ignore[no-untyped-def]
    grey = image_bytes(synth_image(5, (160, 120)).convert("L"), "PNG")  # tRNS fits L
    for png in (clean_png, grey):
        assert _pdq(_with_chunk(png, chunk())) == _pdq(png)


@pytest.mark.parametrize(
    "segment",
    [
        pytest.param(_segment(0xEE, b"Adobe\x00"), id="short-Adobe-APP14"),
        pytest.param(_segment(0xE0, b"JFIF\x00\x01"), id="short-JFIF-APP0"),
    ],
)
def test_jpeg_metadata_problems_never_cost_the_pixels(segment: bytes) -> None:
    clean = image_bytes(synth_image(6, (160, 120)))
    assert _pdq(clean[:2] + segment + clean[2:]) == _pdq(clean)


def test_the_orientation_survives_the_metadata_fallback() -> None:
    from PIL import Image

    from needle.media import decode_image

    exif = Image.Exif()
    exif[0x0112] = 6
    picture = synth_image(7, (160, 120))
    rotated = image_bytes(picture, exif=exif.tobytes())
    hostile = rotated[:2] + _segment(0xEE, b"Adobe\x00") + rotated[2:]
    decoded = decode_image(hostile)
    assert decoded.orientation == 6 and decoded.image.size == (120, 160)
    assert _pdq(hostile) == _pdq(rotated)


def test_progressive_jpeg_with_too_many_scans_is_refused_before_decoding() -> None:
    from needle.media import decode_image

    progressive = image_bytes(synth_image(8, (160, 120)), progressive=True)
    scans = progressive.count(b"\xff\xda")
    assert scans > 2
    decode_image(progressive)  # within the default
    with pytest.raises(MediaTooLarge, match=r"Limits\.max_jpeg_scans"):
        decode_image(progressive, limits=Limits(max_jpeg_scans=scans - 1))


def test_decoding_stops_at_the_deadline() -> None:
    from needle.media import decode_image

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("the decode timer needs the main thread")
    noise = random.Random(1).randbytes(1500 * 1500 * 3)
    from PIL import Image

    big = image_bytes(Image.frombytes("RGB", (1500, 1500), noise), "PNG", compress_level=1)
    with pytest.raises(MediaTooLarge, match=r"Limits\.max_decode_seconds"):
        decode_image(big, limits=Limits(max_decode_seconds=0.001))
    assert decode_image(big).width == 1500  # the timer is gone afterwards


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP"])
def test_damaged_images_raise_only_media_errors(fmt: str) -> None:
    from needle.media import decode_image

    original = image_bytes(synth_image(9, (64, 48)), fmt)
    for variant in _mutations(original, 80, seed=len(fmt)):
        with contextlib.suppress(MediaError):
            decode_image(variant, draft_size=32)
