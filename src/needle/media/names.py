"""Display paths: every file and archive member gets one that is storable and unique.

In: names as the file system or an archive stores them (bytes, or ``str`` with surrogate
escapes). Out: ``str`` that is valid UTF-8 and safe to store and print, and, within one folder
or archive, distinct for distinct entries.

- bytes that are not UTF-8 become ``\\xNN`` (so do NUL bytes: PostgreSQL text cannot hold them);
- ``!`` becomes ``%21``: ``!`` separates an archive from its members (``case.zip!a.jpg``), so a
  file called ``case.zip!a.jpg`` next to ``case.zip`` must not take that member's path;
- when escaping makes two names equal, or an archive holds two members of one name, the later
  one (in the walk's order) gets ``#2``, ``#3``...: the n-th entry of that name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["ARCHIVE_SEPARATOR", "UniqueNames", "escape_name", "is_archive_name"]

ARCHIVE_SEPARATOR = "!"
_SEPARATOR_ESCAPE = "%21"
ZIP_SUFFIXES = (".zip", ".cbz")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def is_archive_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(ZIP_SUFFIXES) or lower.endswith(TAR_SUFFIXES)


def escape_name(name: str | bytes) -> str:
    """``name`` as valid UTF-8 without NUL or ``!``; names that need none of it are unchanged.

    ``str`` may carry surrogate escapes (``os.fsdecode``, tarfile): they stand for the bytes
    that were not UTF-8 and are shown as those bytes, ``\\xNN``.
    """
    raw = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else name
    text = raw.decode("utf-8", "backslashreplace")
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if ARCHIVE_SEPARATOR in text:
        text = text.replace(ARCHIVE_SEPARATOR, _SEPARATOR_ESCAPE)
    return text


class UniqueNames:
    """Hands out each name once within one folder or archive; repeats get ``#2``, ``#3``...

    Names seen are kept as 8-byte digests, so a million-member tar costs tens of MB, not
    hundreds. With ``sorted_input`` (a zip's directory, sorted by name) repeats are next to
    each other, so only the names handed out with a suffix are kept; ``taken`` then lists the
    names that contain ``#`` (few): a repeat never takes one of them, so a member that is
    really called ``x.jpg#2`` keeps its name. Without (a tar read as a stream, a folder whose
    names needed escaping), a later name equal to one handed out earlier gets a suffix too.
    """

    def __init__(self, taken: Iterable[str] = (), *, sorted_input: bool = False) -> None:
        self._taken = {_digest(name) for name in taken}
        self._used: set[int] = set()
        self._sorted = sorted_input
        self._previous: str | None = None

    def claim(self, name: str) -> str:
        key = _digest(name)
        if self._sorted:
            fresh = name != self._previous and key not in self._used
            self._previous = name
        else:
            fresh = key not in self._used
        if fresh:
            if not self._sorted:
                self._used.add(key)
            return name
        n = 2
        while True:
            candidate = f"{name}#{n}"
            key = _digest(candidate)
            if key not in self._used and key not in self._taken:
                self._used.add(key)
                return candidate
            n += 1


def _digest(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big")
