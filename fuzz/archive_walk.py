"""Harness: bytes as a zip or tar archive -> ``needle.media.walk`` -> ``Item.read``, as a scan
opens an archive it meets (members read in place, nested archives opened, names checked).

The bytes are written once per input to a private scratch folder and walked under an archive
name of each family (``.zip``, then ``.tar``: tar reads gzip, bzip2 and xz by their magic).
Expected: none from ``walk`` (what cannot be listed is an ``Item`` carrying its
``MediaError``); ``Item.read`` returns at most the file-size limit, or raises a ``MediaError``
(the item's own, or the damage it meets when a member is read lazily) and nothing else.
"""

from __future__ import annotations

import os
import sys

from _harness import instrumented, main, scratch

with instrumented("zipfile", "tarfile", "gzip", "bz2", "lzma"):
    import bz2  # noqa: F401  (tarfile imports these lazily: instrument them now)
    import gzip  # noqa: F401
    import lzma  # noqa: F401
    import tarfile  # noqa: F401
    import zipfile  # noqa: F401

    from needle.errors import MediaError
    from needle.media import ARCHIVE_SEPARATOR, DEFAULT_LIMITS, walk

NAMES = ("case.zip", "case.tar")


def TestOneInput(data: bytes) -> None:
    folder = scratch()
    current = os.path.join(folder, NAMES[0])
    with open(current, "wb") as handle:
        handle.write(data)
    try:
        for name in NAMES:
            target = os.path.join(folder, name)
            os.replace(current, target)
            current = target
            for item in walk([target], DEFAULT_LIMITS):
                assert item.path.startswith(target), item.path
                try:
                    content = item.read(DEFAULT_LIMITS)
                except MediaError:
                    continue
                assert ARCHIVE_SEPARATOR in item.path or item.path == target, item.path
                assert len(content) <= DEFAULT_LIMITS.max_file_bytes
    finally:
        os.unlink(current)


if __name__ == "__main__":
    main(TestOneInput, sys.argv)
