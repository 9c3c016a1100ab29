"""Reading one file, or one archive member, when its item is processed.

In: a path on disk, or a ``MemberRef``: the archive on disk and the steps down to the member
(``ZipEntry`` or ``TarStep`` per level of nesting). Out: the bytes, at most
``Limits.max_file_bytes`` of them, or a ``MediaError`` saying why not; nothing else escapes.

Files are opened without following a symbolic link in the last component and without
blocking (``O_NOFOLLOW | O_NONBLOCK``), then checked to be regular files: a file swapped for
a link or a FIFO after its folder was listed is refused, not read or waited on.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from needle.errors import (
    CorruptMedia,
    EncryptedMedia,
    MediaError,
    MediaTooLarge,
    NotRegularFile,
    SymlinkNotFollowed,
)
from needle.media.limits import Limits
from needle.media.tarstream import decoder_error, open_stream, open_tar, read_exactly
from needle.media.zipreader import ZipEntry, read_member

__all__ = [
    "MemberRef",
    "TarStep",
    "as_media_error",
    "describe_mode",
    "not_regular",
    "open_regular",
    "read_chunks",
    "read_regular",
    "read_step",
]

_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC
)


def describe_mode(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    kinds = [
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symbolic link"),
    ]
    return next((words for test, words in kinds if test(mode)), f"a special file (mode {mode:o})")


def not_regular(mode: int) -> NotRegularFile:
    return NotRegularFile(f"{describe_mode(mode)}, not a regular file: not opened")


def open_regular(path: str) -> BinaryIO:
    """``path`` opened for reading, if it is a regular file and not a symbolic link."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SymlinkNotFollowed(
                "the file is a symbolic link (it was replaced after its folder was listed): "
                "not read through it"
            ) from None
        raise MediaError(f"cannot open: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise not_regular(mode)
        return os.fdopen(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise MediaError(f"cannot open: {exc.strerror or exc}") from None
    except BaseException:
        os.close(fd)
        raise


def read_chunks(path: str, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of the regular file at ``path``, ``size`` at a time: a file of any length (a
    video) is streamed through a digest, never held whole; a read error is a ``MediaError``."""
    with open_regular(path) as handle:
        try:
            while chunk := handle.read(size):
                yield chunk
        except OSError as exc:
            raise MediaError(f"cannot read: {exc.strerror or exc}") from None


def read_regular(path: str, limits: Limits) -> bytes:
    """The bytes of the file at ``path``, within ``limits.max_file_bytes``."""
    with open_regular(path) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            if size > limits.max_file_bytes:
                raise _too_large(size, limits)
            data = handle.read(limits.max_file_bytes + 1)
        except OSError as exc:
            raise MediaError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limits.max_file_bytes:
        raise MediaTooLarge(
            f"the file grew past the limit of {limits.max_file_bytes:,} bytes while being read"
        )
    return data


def _too_large(size: int, limits: Limits) -> MediaTooLarge:
    return MediaTooLarge(
        f"file is {size:,} bytes, over the limit of {limits.max_file_bytes:,} "
        "(Limits.max_file_bytes)"
    )


@dataclass(frozen=True, slots=True)
class TarStep:
    """Where a tar member's bytes are in the uncompressed tar stream. Sparse members are
    found again from their header (``header_offset``), the others read at ``data_offset``."""

    data_offset: int
    size: int
    header_offset: int
    sparse: bool = False


Step = ZipEntry | TarStep


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A way to read an archive member later, in another process: the archive on disk and,
    per level of nesting, where the next member is in the archive above it."""

    archive: str
    steps: tuple[Step, ...]

    def read(self, limits: Limits) -> bytes:
        try:
            with open_regular(self.archive) as handle:
                source: BinaryIO = handle
                data = b""
                for step in self.steps:
                    data = read_step(source, step, limits)
                    source = io.BytesIO(data)
                return data
        except Exception as exc:  # whatever the archive does, it is this member's record
            raise as_media_error(exc, limits) from None


def read_step(source: BinaryIO, step: Step, limits: Limits) -> bytes:
    """One member's bytes out of the archive in ``source``."""
    if step.size > limits.max_file_bytes:
        raise _too_large(step.size, limits)
    if isinstance(step, ZipEntry):
        return read_member(source, step, max_decoder_memory=limits.max_decompressor_memory)
    stream = open_stream(source, limits)
    with stream:
        if not step.sparse:
            stream.seek(step.data_offset)
            return read_exactly(stream, step.size)
        archive = open_tar(stream)
        stream.seek(step.header_offset)
        info = archive.tarinfo.fromtarfile(archive)
        handle = archive.extractfile(info)
        if handle is None or info.size != step.size:
            raise CorruptMedia("the member's tar header changed since the archive was listed")
        return read_exactly(handle, step.size)


def as_media_error(exc: BaseException, limits: Limits) -> MediaError:
    """The ``MediaError`` an exception from reading an archive member stands for."""
    if isinstance(exc, MediaError):
        return exc
    if isinstance(exc, MemoryError):
        return MediaTooLarge("not enough memory to read this member")
    limit = decoder_error(exc, limits)
    if limit is not None:
        return limit
    if isinstance(exc, RuntimeError) and "password" in str(exc):
        return EncryptedMedia("the member is encrypted: needle has no password, not read")
    if isinstance(exc, OSError) and exc.strerror:
        return MediaError(f"cannot read the archive: {exc.strerror}")
    return CorruptMedia(f"cannot read the member, the archive looks damaged: {exc or type(exc)}")
