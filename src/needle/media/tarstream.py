"""Tar archives as a stream whose costs needle sets, not the archive.

In: a seekable binary file holding a tar archive, plain or compressed with gzip, bzip2 or xz.
Out: the uncompressed tar stream, for ``tarfile`` to parse in plain ``r:`` mode, with:

- the decompression chosen here from the magic bytes, so that the xz decoder gets a memory
  limit (its dictionary can be asked to be 4 GiB by a 100-byte header);
- every read ``tarfile`` makes capped: it reads a pax or GNU long-name header whole, and a
  gzip stream of zeros can declare one of gigabytes. Over the cap, ``TarHeaderTooLarge``.

Members are read through ``read_exactly``, in chunks under that cap.
"""

from __future__ import annotations

import _compression  # the reader lzma.LZMAFile is built on; it passes memlimit through
import bz2
import gzip
import io
import lzma
import tarfile
from typing import IO, BinaryIO, cast

from needle.errors import CorruptMedia, MediaTooLarge
from needle.media.limits import Limits

__all__ = [
    "CHUNK",
    "TarHeaderTooLarge",
    "TarStream",
    "decoder_error",
    "open_stream",
    "open_tar",
    "read_exactly",
]

#: members are read in pieces of this size; the read cap is never below it
CHUNK = 64 * 1024
_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"


class TarHeaderTooLarge(tarfile.TarError):
    """``tarfile`` asked for more bytes in one read than a header may have."""


class TarStream:
    """The uncompressed stream under ``tarfile``: reads capped, seeks passed through."""

    def __init__(self, inner: BinaryIO, cap: int, compression: str | None) -> None:
        self._inner = inner
        self.cap = cap
        #: "gzip", "bzip2", "xz", or None for a plain tar (which can be read at any offset)
        self.compression = compression

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.cap:
            raise TarHeaderTooLarge(
                f"a tar header of {size:,} bytes is over the limit of {self.cap:,} "
                "(Limits.max_tar_header_bytes); real ones are a few hundred bytes"
                if size is not None and size >= 0
                else "a tar reader asked for the whole rest of the stream at once"
            )
        return self._inner.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self.compression is not None:
            self._inner.close()  # the decompressor; the file under it is the caller's

    def __enter__(self) -> TarStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_stream(raw: BinaryIO, limits: Limits) -> TarStream:
    """The uncompressed tar stream in ``raw`` (positioned at its start)."""
    start = raw.tell()
    magic = raw.read(len(_XZ))
    raw.seek(start)
    cap = max(limits.max_tar_header_bytes, CHUNK)
    if magic.startswith(_GZIP):
        return TarStream(cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb")), cap, "gzip")
    if magic.startswith(_BZIP2):
        return TarStream(cast(BinaryIO, bz2.BZ2File(raw)), cap, "bzip2")
    if magic.startswith(_XZ):
        reader = _compression.DecompressReader(
            raw,
            lzma.LZMADecompressor,
            trailing_error=lzma.LZMAError,
            format=lzma.FORMAT_XZ,
            memlimit=limits.max_decompressor_memory,
        )
        return TarStream(cast(BinaryIO, io.BufferedReader(reader)), cap, "xz")
    return TarStream(raw, cap, None)


def open_tar(stream: TarStream) -> tarfile.TarFile:
    """``tarfile`` over ``stream``: names decoded as UTF-8, other bytes kept as surrogates."""
    return tarfile.open(
        fileobj=cast(IO[bytes], stream), mode="r:", encoding="utf-8", errors="surrogateescape"
    )


def read_exactly(stream: IO[bytes] | TarStream, size: int) -> bytes:
    """``size`` bytes from ``stream`` in ``CHUNK`` pieces; ``CorruptMedia`` if it ends first.

    Gathered in a ``BytesIO``, whose ``getvalue`` hands over its own buffer: the member is in
    memory once, not once in pieces and once joined.
    """
    gathered = io.BytesIO()
    left = size
    while left > 0:
        part = stream.read(min(left, CHUNK))
        if not part:
            raise CorruptMedia(f"the archive ends inside this member ({size - left:,} of {size:,})")
        gathered.write(part)
        left -= len(part)
    return gathered.getvalue()


def decoder_error(exc: BaseException, limits: Limits) -> MediaTooLarge | None:
    """The limit an exception from a decompressor or ``tarfile`` stands for, if any."""
    if isinstance(exc, lzma.LZMAError) and "memory usage limit" in str(exc).lower():
        return MediaTooLarge(
            "the xz stream needs more decoder memory than the limit of "
            f"{limits.max_decompressor_memory:,} bytes (Limits.max_decompressor_memory)"
        )
    if isinstance(exc, TarHeaderTooLarge):
        return MediaTooLarge(str(exc))
    return None
