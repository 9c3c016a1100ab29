"""Walking evidence: folders recursively, zip and tar archives in place, nested archives.

In: paths given by the user (the roots). Out: ``Item`` objects in a stable order (each folder's
entries sorted by name, depth first; archives as ``needle.media.archive`` orders them), each
with a display path unique within the walk (``case.zip!dir/photo.jpg`` for archive members),
its size, and a way to get its bytes. Nothing is extracted to disk. Every entry found becomes
exactly one item: what cannot be read is an item carrying the reason, never a silent skip.

The walk never leaves the roots: a symbolic link found below a root is not followed, to a file
or a folder. It becomes an item with the reason ``outside-root`` when its target is outside
every root, else ``link`` (the target, inside a root, is walked under its own path, so nothing
is read twice and no folder loop is entered). A root that is itself a link is followed: the
user named it. Roots inside other roots are walked once, as part of the outer one.

FIFOs, devices and sockets are never opened (opening a FIFO blocks): they are items with the
reason ``not-a-regular-file``. Folders are walked with a stack, so depth costs no recursion.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from needle.errors import MediaError, OutsideRoot, SymlinkNotFollowed
from needle.media.archive import HeldBytes, walk_archive
from needle.media.item import Item
from needle.media.limits import DEFAULT_LIMITS, Limits
from needle.media.names import ARCHIVE_SEPARATOR, UniqueNames, escape_name, is_archive_name
from needle.media.reading import not_regular

__all__ = ["ARCHIVE_SEPARATOR", "Item", "is_archive_name", "walk"]


class _Roots:
    """The roots' real paths: what is inside them may be read."""

    def __init__(self, real_paths: list[str]) -> None:
        self._prefixes = [path.rstrip("/") + "/" for path in real_paths]
        self._paths = set(real_paths)

    def contain(self, real_path: str) -> bool:
        return real_path in self._paths or any(real_path.startswith(p) for p in self._prefixes)


def _unique_roots(paths: list[str] | list[Path]) -> list[tuple[str, str]]:
    """(absolute path as given, real path) per root, leaving out repeats and roots inside
    another root's folder: those are walked once, as part of it."""
    roots = [(os.path.abspath(p), os.path.realpath(p)) for p in paths]
    kept: list[tuple[str, str]] = []
    for given, real in roots:
        repeat = any(real == other for _, other in kept)
        nested = any(real.startswith(other.rstrip("/") + "/") for _, other in roots)
        if not repeat and not nested:
            kept.append((given, real))
    return kept


def walk(paths: list[str] | list[Path], limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """Every file under ``paths``, archives opened in place, in a stable order.

    Paths are made absolute so a record names the same file wherever the scan is run from.
    """
    roots = _unique_roots(paths)
    inside = _Roots([real for _, real in roots])
    held = HeldBytes(limits.max_held_bytes)
    shown = UniqueNames()  # two roots may differ only where escaping makes them equal
    for given, real in roots:
        display = shown.claim(escape_name(given))
        yield from _walk_root(given, display, real, inside, limits, held)


def _walk_root(
    given: str, display: str, real: str, inside: _Roots, limits: Limits, held: HeldBytes
) -> Iterator[Item]:
    try:
        info = os.stat(real)
    except OSError as exc:
        if os.path.islink(given):
            error: MediaError = SymlinkNotFollowed("broken symbolic link: nothing to read")
        else:
            error = MediaError(f"cannot stat: {exc.strerror or exc}")
        yield Item(display, 0, error=error)
        return
    if stat.S_ISDIR(info.st_mode):
        yield from _walk_tree(real, display, inside, limits, held)
    elif stat.S_ISREG(info.st_mode):
        yield from _file(real, display, info.st_size, limits, held)
    else:
        yield Item(display, 0, error=not_regular(info.st_mode))


def _children(fs_path: str, display: str) -> Iterator[tuple[str, str] | Item]:
    """A folder's entries as (path on disk, display path), sorted by name."""
    try:
        with os.scandir(fs_path) as entries:
            names = sorted(entry.name for entry in entries)
    except OSError as exc:
        yield Item(display, 0, error=MediaError(f"cannot list folder: {exc.strerror or exc}"))
        return
    # names are unique on disk; shown ones can only collide where escaping changed one
    escaped = any(escape_name(name) != name for name in names)
    unique = UniqueNames() if escaped else None
    prefix = display.rstrip("/")
    for name in names:
        shown = escape_name(name)
        yield os.path.join(fs_path, name), f"{prefix}/{unique.claim(shown) if unique else shown}"


def _walk_tree(
    fs_root: str, display_root: str, inside: _Roots, limits: Limits, held: HeldBytes
) -> Iterator[Item]:
    stack = [_children(fs_root, display_root)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if isinstance(entry, Item):
            yield entry
            continue
        fs_path, display = entry
        try:
            info = os.lstat(fs_path)
        except OSError as exc:
            yield Item(display, 0, error=MediaError(f"cannot stat: {exc.strerror or exc}"))
            continue
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            yield _link(fs_path, display, inside)
        elif stat.S_ISDIR(mode):
            stack.append(_children(fs_path, display))
        elif stat.S_ISREG(mode):
            yield from _file(fs_path, display, info.st_size, limits, held)
        else:
            yield Item(display, 0, error=not_regular(mode))


def _link(fs_path: str, display: str, inside: _Roots) -> Item:
    """A symbolic link below a root: recorded, never read through."""
    try:
        target = escape_name(os.readlink(fs_path))
    except OSError:
        target = "?"
    real = os.path.realpath(fs_path)
    if not inside.contain(real):
        return Item(
            display,
            0,
            error=OutsideRoot(
                f"symbolic link to a path outside the scanned folders ({target}): not read"
            ),
        )
    if not os.path.exists(real):
        return Item(
            display, 0, error=SymlinkNotFollowed(f"broken symbolic link (to {target}): not read")
        )
    what = "folder" if os.path.isdir(real) else "file"
    return Item(
        display,
        0,
        error=SymlinkNotFollowed(
            f"symbolic link to the {what} {target} inside the scanned folders: not read "
            f"through the link, the {what} is scanned under its own path"
        ),
    )


def _file(fs_path: str, display: str, size: int, limits: Limits, held: HeldBytes) -> Iterator[Item]:
    if is_archive_name(fs_path):
        yield from walk_archive(display, fs_path, size, limits, held)
    else:
        yield Item(display, size, fs_path=fs_path)
