"""Walking archives in place: zip and tar (plain, gzip, bzip2, xz), nested ones, within limits.

In: one archive on disk (its path as shown, and on disk). Out: ``Item``s for its members,
each with a path ``archive!member`` unique within the walk (``needle.media.names``), in a
stable order: zip entries by name; tar entries in the order the archive stores them, the
order in which a compressed stream can be read once. Nothing is extracted to disk.

Steps, per archive (nested ones the same, one level deeper):

1. open it: zip, parse the central directory (``zipreader``); tar, detect the compression and
   open the stream (``tarstream``);
2. per entry: count it (``Limits.max_archive_members``) and charge what reading it expands to
   the archive's allowance (``max_compression_ratio`` times the archive file's size);
3. refuse what must not be read, each as an item with its reason: unsafe names, links,
   devices, encryption, unsupported compression, over the size or ratio limits;
4. hand the rest over: as a ``MemberRef`` where the member can be read again cheaply (zip
   and plain tar on disk), else with its bytes while ``Limits.max_held_bytes`` lasts, then
   as a ``MemberRef`` again (re-reading a compressed stream costs time, not memory);
5. open member archives in place one level deeper, or record them as ``too-deep``;
6. end with at most one record for the archive itself when something must be said about the
   whole of it: it cannot be opened, it holds no files, it is damaged after N entries, or a
   limit cut it short (the record says how far it got).
"""

from __future__ import annotations

import io
import tarfile
import weakref
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from needle.errors import (
    CorruptMedia,
    EmptyArchive,
    EncryptedMedia,
    MediaError,
    MediaTooLarge,
    NestedTooDeep,
    NotRegularFile,
    UnsafeArchiveMember,
    UnsupportedMedia,
)
from needle.media.item import Item
from needle.media.limits import Limits
from needle.media.names import (
    ARCHIVE_SEPARATOR,
    ZIP_SUFFIXES,
    UniqueNames,
    escape_name,
    is_archive_name,
)
from needle.media.reading import MemberRef, Step, TarStep, as_media_error, open_regular
from needle.media.tarstream import TarStream, open_stream, open_tar, read_exactly
from needle.media.zipreader import (
    FLAG_PATCHED,
    METHOD_NAMES,
    SUPPORTED_METHODS,
    ZipEntry,
    ZipFormatError,
    iter_directory,
    read_member,
)

__all__ = ["HeldBytes", "walk_archive"]

#: what a container's walk returns: the record to make for the archive itself, if any
_Walker = Generator[Item, None, MediaError | None]


class HeldBytes:
    """Bytes of items handed over with their data and not yet let go of, within one walk.

    An item's bytes count until the item is garbage-collected (``weakref.finalize``): the
    scan drops each item once its record is made, so this is what waits in its queue.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def room_for(self, size: int) -> bool:
        return self.used + size <= self.limit

    def hold(self, item: Item) -> Item:
        size = len(item.data or b"")
        self.used += size
        weakref.finalize(item, self.release, size)
        return item

    def release(self, size: int) -> None:
        self.used -= size


class _Budget:
    """What one archive on disk, with the archives nested in it, may still cost."""

    def __init__(self, limits: Limits, archive_size: int) -> None:
        self.limits = limits
        by_ratio = max(limits.max_compression_ratio * archive_size, limits.ratio_free_bytes)
        self.allowance = min(limits.max_archive_bytes, by_ratio)
        self.expanded = 0
        self.entries = 0

    def count_entry(self) -> bool:
        self.entries += 1
        return self.entries <= self.limits.max_archive_members

    def spend(self, size: int) -> bool:
        if self.expanded + size > self.allowance:
            return False
        self.expanded += size
        return True

    def too_many(self, read: int) -> MediaTooLarge:
        return MediaTooLarge(
            f"more than {self.limits.max_archive_members:,} entries (nested archives counted; "
            f"Limits.max_archive_members): the first {read:,} were read, the rest not"
        )

    def over(self) -> str:
        limits = self.limits
        if self.allowance == limits.max_archive_bytes:
            return f"{limits.max_archive_bytes:,} bytes (Limits.max_archive_bytes)"
        return (
            f"{self.allowance:,} bytes, {limits.max_compression_ratio}:1 of the archive's size "
            "(Limits.max_compression_ratio; archive bomb?)"
        )


@dataclass(frozen=True)
class _Walk:
    limits: Limits
    budget: _Budget
    held: HeldBytes


@dataclass(frozen=True)
class _Container:
    """One archive being walked: on disk (``data`` None) or a member held in memory."""

    display: str
    archive: str  # the archive on disk this one is in (or is)
    steps: tuple[Step, ...]  # from that archive down to this one
    depth: int  # 1 for the archive on disk
    size: int
    is_zip: bool  # else tar; from the name, before a repeated one got its "#2"
    data: bytes | None = None

    def open(self) -> BinaryIO:
        return open_regular(self.archive) if self.data is None else io.BytesIO(self.data)

    def member_path(self, unique: UniqueNames, name: str) -> str:
        return f"{self.display}{ARCHIVE_SEPARATOR}{unique.claim(name)}"

    def ref(self, step: Step) -> MemberRef:
        return MemberRef(self.archive, (*self.steps, step))


def walk_archive(
    display: str, fs_path: str, size: int, limits: Limits, held: HeldBytes
) -> Iterator[Item]:
    """The members of the archive at ``fs_path`` (``size`` bytes), shown under ``display``."""
    if size == 0:
        yield Item(display, 0, error=EmptyArchive("the archive file is empty (0 bytes)"))
        return
    walk = _Walk(limits, _Budget(limits, size), held)
    is_zip = fs_path.lower().endswith(ZIP_SUFFIXES)
    yield from _walk_container(_Container(display, fs_path, (), 1, size, is_zip), walk)


class _Tally:
    def __init__(self) -> None:
        self.items = 0


def _counted(walker: _Walker, tally: _Tally) -> _Walker:
    while True:
        try:
            item = next(walker)
        except StopIteration as stop:
            note: MediaError | None = stop.value
            return note
        tally.items += 1
        yield item


def _walk_container(container: _Container, walk: _Walk) -> Iterator[Item]:
    """The members of one archive, then, when there is one, the archive's own record."""
    tally = _Tally()
    kind = "zip" if container.is_zip else "tar"
    try:
        walker = _walk_zip(container, walk) if container.is_zip else _walk_tar(container, walk)
        note = yield from _counted(walker, tally)
    except Exception as exc:  # a damaged archive the parsers did not foresee
        error = as_media_error(exc, walk.limits)
        after = f" after {tally.items:,} members" if tally.items else ""
        note = type(error)(f"cannot read {kind} archive{after}: {error}")
    if note is None and tally.items == 0:
        note = EmptyArchive(f"the {kind} archive holds no files")
    if note is not None:
        yield Item(container.display, container.size, error=note)


def _unsafe_name(name: str) -> str | None:
    """Why an archive member name must not be trusted, or None when it is fine."""
    if "\x00" in name:
        return "name contains a NUL byte"
    if not name.strip("/\\"):  # "" would be read as the archive itself ("case.zip!")
        return "empty name"
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in posix.parts:
        return "path traversal ('..')"
    return None


def _too_large(size: int, limits: Limits) -> MediaTooLarge | None:
    if size > limits.max_file_bytes:
        return MediaTooLarge(
            f"member is {size:,} bytes, over the per-file limit of {limits.max_file_bytes:,} "
            "(Limits.max_file_bytes)"
        )
    return None


def _nested(
    container: _Container,
    walk: _Walk,
    name: str,
    path: str,
    size: int,
    step: Step,
    read: Callable[[], bytes],
) -> Iterator[Item]:
    """A member that is itself an archive: walked in place, one level deeper."""
    limits = walk.limits
    if container.depth >= limits.max_archive_depth:
        yield Item(
            path,
            size,
            error=NestedTooDeep(
                f"an archive nested {container.depth + 1} levels deep: archives are opened "
                f"{limits.max_archive_depth} levels deep (Limits.max_archive_depth), this one "
                "is not"
            ),
        )
        return
    try:
        data = read()
    except Exception as exc:
        yield Item(path, size, error=as_media_error(exc, limits))
        return
    is_zip = name.lower().endswith(ZIP_SUFFIXES)
    steps = (*container.steps, step)
    inner = _Container(path, container.archive, steps, container.depth + 1, len(data), is_zip, data)
    walk.held.used += len(data)  # in memory while its members are walked
    try:
        yield from _walk_container(inner, walk)
    finally:
        walk.held.release(len(data))


def _member(
    container: _Container,
    walk: _Walk,
    name: str,
    path: str,
    size: int,
    step: Step,
    read: Callable[[], bytes],
    *,
    random_access: bool,
) -> Iterator[Item]:
    """A member to hand over, read or not: how depends on what reading it again costs."""
    if is_archive_name(name):
        yield from _nested(container, walk, name, path, size, step, read)
    elif random_access or not walk.held.room_for(size):
        yield Item(path, size, member=container.ref(step))
    else:
        try:
            data = read()
        except Exception as exc:
            yield Item(path, size, error=as_media_error(exc, walk.limits))
            return
        yield walk.held.hold(Item(path, len(data), data=data))


# -- zip --------------------------------------------------------------------------------------


def _zip_refusal(entry: ZipEntry, limits: Limits) -> MediaError | None:
    """Why this entry is not read, or None."""
    unsafe = _unsafe_name(entry.name)
    if unsafe is None and entry.is_symlink:
        unsafe = "symbolic link"
    if unsafe is not None:
        return UnsafeArchiveMember(f"unsafe member: {unsafe}")
    if entry.problem is not None:
        return CorruptMedia(f"cannot read member: {entry.problem}")
    if entry.encrypted:
        return EncryptedMedia("the member is encrypted: needle has no password, not read")
    if entry.flag_bits & FLAG_PATCHED or entry.method not in SUPPORTED_METHODS:
        method = METHOD_NAMES.get(entry.method, "unknown")
        what = "patch data" if entry.flag_bits & FLAG_PATCHED else f"{method} compression"
        return UnsupportedMedia(
            f"the member uses {what} (method {entry.method}), which needle cannot inflate; "
            "extract it with a tool that can and scan the result"
        )
    too_large = _too_large(entry.size, limits)
    if too_large is not None:
        return too_large
    ratio = entry.size / max(entry.compressed_size, 1)
    if entry.size > limits.ratio_free_bytes and ratio > limits.max_compression_ratio:
        return MediaTooLarge(
            f"compression ratio {ratio:,.0f}:1 is over {limits.max_compression_ratio}:1 "
            "(Limits.max_compression_ratio; zip bomb?): not inflated"
        )
    return None


def _walk_zip(container: _Container, walk: _Walk) -> _Walker:
    budget, limits = walk.budget, walk.limits
    with container.open() as source:
        entries: list[ZipEntry] = []
        note: MediaError | None = None
        try:
            for entry in iter_directory(source):
                if not budget.count_entry():
                    note = budget.too_many(len(entries))
                    break
                entries.append(entry)
        except (ZipFormatError, OSError, EOFError, ValueError) as exc:
            if not entries:
                return CorruptMedia(f"cannot open zip archive: {exc}")
            note = CorruptMedia(
                f"the zip directory is damaged after {len(entries):,} entries, the rest were "
                f"not read: {exc}"
            )
        # sorted in place: the names are made again below rather than kept, one per entry
        entries.sort(key=_shown_name)
        unique = UniqueNames(
            (name for name in map(_shown_name, entries) if "#" in name), sorted_input=True
        )
        for entry in entries:
            if entry.is_dir:
                continue
            name = _shown_name(entry)
            path = container.member_path(unique, name)
            refused = _zip_refusal(entry, limits)
            if refused is None and not budget.spend(entry.size):
                refused = MediaTooLarge(f"reading it would expand the archive past {budget.over()}")
            if refused is not None:
                yield Item(path, entry.size, error=refused)
                continue

            def read(entry: ZipEntry = entry) -> bytes:
                return read_member(source, entry, max_decoder_memory=limits.max_decompressor_memory)

            yield from _member(container, walk, name, path, entry.size, entry, read,
                               random_access=container.data is None)  # fmt: skip
    return note


def _shown_name(entry: ZipEntry) -> str:
    return escape_name(entry.name)


# -- tar --------------------------------------------------------------------------------------


def _tar_refusal(member: tarfile.TarInfo, limits: Limits) -> MediaError | None:
    unsafe = _unsafe_name(member.name)
    if unsafe is None and (member.issym() or member.islnk()):
        unsafe = "link (symbolic or hard), not a regular file"
    if unsafe is not None:
        return UnsafeArchiveMember(f"unsafe member: {unsafe}")
    if member.ischr() or member.isblk() or member.isfifo():
        return NotRegularFile("a device or FIFO entry in the archive: nothing to read")
    if not member.isreg():
        return NotRegularFile(f"an entry of tar type {member.type!r}, not a regular file")
    return _too_large(member.size, limits)


def _walk_tar(container: _Container, walk: _Walk) -> _Walker:
    budget, limits = walk.budget, walk.limits
    with container.open() as source, open_stream(source, limits) as stream:
        archive = open_tar(stream)
        random_access = container.data is None and stream.compression is None
        unique = UniqueNames()
        position = count = 0
        while True:
            try:
                member = archive.next()
            except Exception as exc:
                error = as_media_error(exc, limits)
                return type(error)(f"tar archive damaged after {count:,} entries: {error}")
            if member is None:
                return _tar_end(stream, archive, count)
            archive.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every header
            count += 1
            if not budget.count_entry():
                return budget.too_many(count - 1)
            # what the archive expands to up to the end of this entry's data (inflated when it
            # is read or skipped): over the allowance, stop before inflating it
            within = budget.spend(archive.offset - position)
            position = archive.offset
            over = f"reading on would expand the archive past {budget.over()}"
            stopped = MediaTooLarge(f"stopped after {count:,} entries: {over}; the rest not read")
            if member.isdir():
                if not within:
                    return stopped
                continue
            name = escape_name(member.name)
            path = container.member_path(unique, name)
            if not within:
                yield Item(path, member.size, error=MediaTooLarge(f"not read: {over}"))
                return stopped
            refused = _tar_refusal(member, limits)
            if refused is not None:
                yield Item(path, member.size, error=refused)
                continue
            step = TarStep(member.offset_data, member.size, member.offset, member.issparse())

            def read(member: tarfile.TarInfo = member) -> bytes:
                return _read_tar_member(archive, stream, member)

            yield from _member(container, walk, name, path, member.size, step, read,
                               random_access=random_access)  # fmt: skip


def _read_tar_member(archive: tarfile.TarFile, stream: TarStream, member: tarfile.TarInfo) -> bytes:
    if member.issparse():
        handle = archive.extractfile(member)
        return read_exactly(handle, member.size) if handle is not None else b""
    stream.seek(member.offset_data)
    return read_exactly(stream, member.size)


def _tar_end(stream: TarStream, archive: tarfile.TarFile, count: int) -> MediaError | None:
    """tarfile ends quietly at a damaged header; a record says so when it was not the end."""
    try:
        stream.seek(archive.offset)
        block = stream.read(tarfile.BLOCKSIZE)
    except Exception as exc:
        return CorruptMedia(f"tar archive damaged after {count:,} entries: {exc}")
    if block.strip(b"\x00"):
        return CorruptMedia(
            f"tar archive damaged after {count:,} entries (an unreadable header): the rest "
            "was not read"
        )
    return None
