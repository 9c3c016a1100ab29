"""Walking evidence: folders recursively, zip and tar archives in place, nested archives.

In: paths given by the user. Out: ``Item`` objects in a stable sorted order, each with a
display path (``case.zip!dir/photo.jpg`` for archive members), its size, and a way to get its
bytes. Nothing is extracted to disk.

Safety: member names that are absolute, contain ``..``, or are links/devices are not read;
they come out as items carrying an ``UnsafeArchiveMember`` error so the scan records them.
An archive stops being read past ``Limits.max_archive_bytes`` expanded bytes or
``max_archive_members`` members; a member whose compression ratio is absurd is refused
before it is inflated.
"""

from __future__ import annotations

import io
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from needle.errors import (
    CorruptMedia,
    MediaError,
    MediaTooLarge,
    UnsafeArchiveMember,
    UnsupportedMedia,
)
from needle.media.limits import DEFAULT_LIMITS, Limits

__all__ = ["ARCHIVE_SEPARATOR", "Item", "is_archive_name", "walk"]

ARCHIVE_SEPARATOR = "!"
_ZIP_SUFFIXES = (".zip", ".cbz")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
#: what reading a damaged archive raises besides the archive modules' own errors: the
#: decompressors' (zlib.error and lzma.LZMAError are not OSError; bz2 raises OSError)
_INFLATE_ERRORS = (zlib.error, lzma.LZMAError, EOFError)


@dataclass(frozen=True)
class Item:
    """One file to scan.

    Plain files carry ``fs_path`` and are read by whoever processes them (a worker process);
    archive members carry their ``data``, read here so the archive is opened once.
    ``error`` is set when the item cannot be read at all (unsafe name, over a limit).
    """

    path: str
    size: int
    fs_path: str | None = None
    data: bytes | None = None
    error: MediaError | None = None

    def read(self, limits: Limits = DEFAULT_LIMITS) -> bytes:
        if self.error is not None:
            raise self.error
        if self.data is not None:
            return self.data
        assert self.fs_path is not None
        if self.size > limits.max_file_bytes:
            raise MediaTooLarge(
                f"file is {self.size:,} bytes, over the limit of {limits.max_file_bytes:,}"
            )
        with open(self.fs_path, "rb") as handle:
            return handle.read(limits.max_file_bytes + 1)


def _display(path: str) -> str:
    """A path safe to print and store: undecodable bytes in names become ``\\xNN`` escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_archive_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(_ZIP_SUFFIXES) or lower.endswith(_TAR_SUFFIXES)


def _unsafe_name(name: str) -> str | None:
    """Why an archive member name must not be trusted, or None when it is fine."""
    if not name:
        return "empty name"
    if "\x00" in name:
        return "name contains a NUL byte"
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in posix.parts:
        return "path traversal ('..')"
    return None


class _Budget:
    """Expanded bytes and members read from one top-level archive, shared by nested ones."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.bytes = 0
        self.members = 0

    def take(self, size: int) -> MediaError | None:
        self.members += 1
        if self.members > self.limits.max_archive_members:
            return MediaTooLarge(
                f"archive has more than {self.limits.max_archive_members:,} members"
            )
        if size > self.limits.max_file_bytes:
            return MediaTooLarge(f"member is {size:,} bytes, over the per-file limit")
        if self.bytes + size > self.limits.max_archive_bytes:
            return MediaTooLarge(
                f"archive expands past {self.limits.max_archive_bytes:,} bytes (archive bomb?)"
            )
        self.bytes += size
        return None


def _walk_zip(
    display: str, opener: Callable[[], io.IOBase | str], budget: _Budget, depth: int
) -> Iterator[Item]:
    try:
        archive = zipfile.ZipFile(opener())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        yield Item(display, 0, error=CorruptMedia(f"cannot open zip archive: {exc}"))
        return
    with archive:
        infos = sorted(archive.infolist(), key=lambda i: i.filename)
        for info in infos:
            if info.filename.endswith("/"):  # a folder (ZipInfo.is_dir fails on an empty name)
                continue
            path = f"{display}{ARCHIVE_SEPARATOR}{info.filename}"
            unsafe = _unsafe_name(info.filename)
            mode = (info.external_attr >> 16) & 0xFFFF
            if unsafe is None and stat.S_ISLNK(mode):
                unsafe = "symbolic link"
            if unsafe is not None:
                yield Item(
                    path, info.file_size, error=UnsafeArchiveMember(f"unsafe member: {unsafe}")
                )
                continue
            if info.flag_bits & 0x1:  # APPNOTE 4.4.4 bit 0: encrypted (zipfile raises RuntimeError)
                yield Item(
                    path,
                    info.file_size,
                    error=UnsupportedMedia(
                        "encrypted archive member: needle cannot read it without the password; "
                        "its name and size are recorded"
                    ),
                )
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 1024 * 1024 and ratio > budget.limits.max_compression_ratio:
                yield Item(
                    path,
                    info.file_size,
                    error=MediaTooLarge(f"compression ratio {ratio:.0f}:1 (zip bomb?)"),
                )
                continue
            refused = budget.take(info.file_size)
            if refused is not None:
                yield Item(path, info.file_size, error=refused)
                if (
                    isinstance(refused, MediaTooLarge)
                    and budget.bytes >= budget.limits.max_archive_bytes
                ):
                    return
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(info.file_size + 1)
            except (
                zipfile.BadZipFile,
                OSError,
                ValueError,
                NotImplementedError,
                *_INFLATE_ERRORS,
            ) as exc:
                yield Item(path, info.file_size, error=CorruptMedia(f"cannot read member: {exc}"))
                continue
            yield from _expand(path, data, budget, depth)


def _walk_tar(
    display: str, opener: Callable[[], io.IOBase | str], budget: _Budget, depth: int
) -> Iterator[Item]:
    source = opener()
    try:
        if isinstance(source, str):
            archive = tarfile.open(source, mode="r:*")  # noqa: SIM115 (closed by the with below)
        else:
            archive = tarfile.open(fileobj=source, mode="r:*")  # noqa: SIM115
    except (tarfile.TarError, OSError, ValueError, *_INFLATE_ERRORS) as exc:
        yield Item(display, 0, error=CorruptMedia(f"cannot open tar archive: {exc}"))
        return
    with archive:
        try:
            members = sorted(archive.getmembers(), key=lambda m: m.name)
        except (tarfile.TarError, OSError, *_INFLATE_ERRORS) as exc:
            yield Item(display, 0, error=CorruptMedia(f"cannot list tar archive: {exc}"))
            return
        for member in members:
            if member.isdir():
                continue
            path = f"{display}{ARCHIVE_SEPARATOR}{member.name}"
            unsafe = _unsafe_name(member.name)
            if unsafe is None and not member.isfile():
                unsafe = "link or device, not a regular file"
            if unsafe is not None:
                yield Item(path, member.size, error=UnsafeArchiveMember(f"unsafe member: {unsafe}"))
                continue
            refused = budget.take(member.size)
            if refused is not None:
                yield Item(path, member.size, error=refused)
                continue
            try:
                handle = archive.extractfile(member)
                data = handle.read(member.size + 1) if handle else b""
            except (tarfile.TarError, OSError, *_INFLATE_ERRORS) as exc:
                yield Item(path, member.size, error=CorruptMedia(f"cannot read member: {exc}"))
                continue
            yield from _expand(path, data, budget, depth)


def _expand(path: str, data: bytes, budget: _Budget, depth: int) -> Iterator[Item]:
    """A member's bytes as an item, or, for a nested archive, its members."""
    if is_archive_name(path) and depth < budget.limits.max_archive_depth:
        yield from _walk_archive(path, lambda: io.BytesIO(data), budget, depth + 1)
    else:
        yield Item(path, len(data), data=data)


def _walk_archive(
    display: str, opener: Callable[[], io.IOBase | str], budget: _Budget, depth: int
) -> Iterator[Item]:
    if display.lower().endswith(_ZIP_SUFFIXES):
        yield from _walk_zip(display, opener, budget, depth)
    else:
        yield from _walk_tar(display, opener, budget, depth)


def _walk_path(path: Path, limits: Limits, seen: set[str]) -> Iterator[Item]:
    try:
        info = path.lstat()
    except OSError as exc:
        yield Item(str(path), 0, error=CorruptMedia(f"cannot stat: {exc.strerror or exc}"))
        return
    if stat.S_ISLNK(info.st_mode):
        # follow links to files, but never into a folder loop
        try:
            info = path.stat()
        except OSError:
            yield Item(str(path), 0, error=CorruptMedia("broken symbolic link"))
            return
        if stat.S_ISDIR(info.st_mode):
            real = os.path.realpath(path)
            if real in seen:
                return
            seen.add(real)
    if stat.S_ISDIR(info.st_mode):
        try:
            children = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            yield Item(
                str(path), 0, error=CorruptMedia(f"cannot list folder: {exc.strerror or exc}")
            )
            return
        for child in children:
            yield from _walk_path(Path(child.path), limits, seen)
        return
    if not stat.S_ISREG(info.st_mode):
        return
    real = str(path)
    display = _display(real)
    if is_archive_name(real):
        if info.st_size == 0:
            yield Item(display, 0, error=CorruptMedia("empty archive file (0 bytes)"))
            return
        yield from _walk_archive(display, lambda: real, _Budget(limits), 1)
        return
    yield Item(display, info.st_size, fs_path=real)


def walk(paths: list[str] | list[Path], limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """Every file under ``paths``, archives opened in place, in a stable order.

    Paths are made absolute so a record names the same file wherever the scan is run from.
    """
    seen: set[str] = set()
    for raw in paths:
        yield from _walk_path(Path(os.path.abspath(raw)), limits, seen)
