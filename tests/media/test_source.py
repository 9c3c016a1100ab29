"""Walking folders and archives: order, nested paths, and refusal of unsafe members."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

from conftest import image_bytes, synth_image
from needle.errors import CorruptMedia, MediaTooLarge, UnsafeArchiveMember
from needle.media import Limits, walk


def _jpeg(seed: int) -> bytes:
    return image_bytes(synth_image(seed, (64, 48)))


def test_folder_walk_is_recursive_sorted_and_absolute(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.jpg").write_bytes(_jpeg(1))
    (tmp_path / "a.jpg").write_bytes(_jpeg(2))
    (tmp_path / "b" / "c").mkdir()
    (tmp_path / "b" / "c" / "d.jpg").write_bytes(_jpeg(3))
    paths = [item.path for item in walk([tmp_path])]
    assert paths == [
        str(tmp_path / "a.jpg"),
        str(tmp_path / "b" / "c" / "d.jpg"),
        str(tmp_path / "b" / "z.jpg"),
    ]
    assert all(os.path.isabs(p) for p in paths)


def test_zip_members_are_read_in_place_with_nested_paths(tmp_path: Path) -> None:
    archive = tmp_path / "case.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("dir/one.jpg", _jpeg(1))
        zf.writestr("two.jpg", _jpeg(2))
    before = set(os.listdir(tmp_path))
    items = list(walk([archive]))
    assert [i.path for i in items] == [f"{archive}!dir/one.jpg", f"{archive}!two.jpg"]
    assert items[0].read() == _jpeg(1)
    assert set(os.listdir(tmp_path)) == before  # nothing extracted


def test_tar_and_nested_archives(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep.jpg", _jpeg(5))
    archive = tmp_path / "case.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, data in [("a.jpg", _jpeg(4)), ("inner.zip", inner.getvalue())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    paths = [i.path for i in walk([archive])]
    assert paths == [f"{archive}!a.jpg", f"{archive}!inner.zip!deep.jpg"]


def test_zip_traversal_and_absolute_names_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../etc/evil.jpg", _jpeg(1))
        zf.writestr("/abs.jpg", _jpeg(2))
        zf.writestr("ok.jpg", _jpeg(3))
    items = {i.path.split("!", 1)[1]: i for i in walk([archive])}
    assert isinstance(items["../../etc/evil.jpg"].error, UnsafeArchiveMember)
    assert "traversal" in str(items["../../etc/evil.jpg"].error)
    assert isinstance(items["/abs.jpg"].error, UnsafeArchiveMember)
    assert items["ok.jpg"].error is None
    assert not (tmp_path.parent / "etc").exists()


def test_tar_links_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tf:
        link = tarfile.TarInfo("link.jpg")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    (item,) = walk([archive])
    assert isinstance(item.error, UnsafeArchiveMember)


def test_zip_bomb_member_is_refused_before_inflating(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.jpg", b"\0" * (50 * 1024 * 1024))
    (item,) = walk([archive])
    assert isinstance(item.error, MediaTooLarge)
    assert "ratio" in str(item.error)


def test_archive_total_size_is_capped(tmp_path: Path) -> None:
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(5):
            zf.writestr(f"{i}.jpg", _jpeg(i))
    limit = len(_jpeg(0)) * 2 + 10
    items = list(walk([archive], Limits(max_archive_bytes=limit)))
    assert any(isinstance(i.error, MediaTooLarge) for i in items)
    assert sum(i.error is None for i in items) <= 2


def test_broken_archive_is_one_error_item(tmp_path: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 this is not really a zip")
    (item,) = walk([archive])
    assert isinstance(item.error, CorruptMedia)


def test_file_over_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(b"x" * 2000)
    (item,) = walk([big])
    try:
        item.read(Limits(max_file_bytes=1000))
    except MediaTooLarge as exc:
        assert "over the limit" in str(exc)
    else:
        raise AssertionError("expected MediaTooLarge")


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(_jpeg(1))
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    paths = [i.path for i in walk([tmp_path])]
    assert str(tmp_path / "a" / "x.jpg") in paths
    assert len(paths) <= 2
