"""``Item``: one file or archive member to scan, and how to get its bytes."""

from __future__ import annotations

from dataclasses import dataclass

from needle.errors import MediaError, MediaTooLarge
from needle.media.limits import DEFAULT_LIMITS, Limits
from needle.media.reading import MemberRef, read_regular

__all__ = ["Item"]


@dataclass(frozen=True)
class Item:
    """One file to scan, found by ``walk``. ``path`` is unique within a walk and storable.

    How its bytes are had, in order: ``error`` set means they are not (unsafe name, over a
    limit, a link, a FIFO...: ``read`` raises it, the scan records it); ``data`` holds them
    (members of compressed tars and nested archives, read as the archive is walked);
    ``member`` says where they are in an archive on disk, read by whoever processes the
    item, in a worker process; else ``fs_path`` is a plain file on disk. ``size`` is the
    size the folder or archive declares.
    """

    path: str
    size: int
    fs_path: str | None = None
    data: bytes | None = None
    error: MediaError | None = None
    member: MemberRef | None = None

    def read(self, limits: Limits = DEFAULT_LIMITS) -> bytes:
        """The bytes, within ``limits``; raises a ``MediaError`` (and nothing else) when not."""
        if self.error is not None:
            raise self.error
        if self.data is not None:
            return self.data
        if self.size > limits.max_file_bytes:
            raise MediaTooLarge(
                f"file is {self.size:,} bytes, over the limit of {limits.max_file_bytes:,} "
                "(Limits.max_file_bytes)"
            )
        if self.member is not None:
            return self.member.read(limits)
        if self.fs_path is None:
            raise MediaError("nothing to read: the item has neither bytes nor a path")
        return read_regular(self.fs_path, limits)
