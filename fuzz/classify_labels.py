"""Harness: bytes as the labels CSV of ``needle eval models`` ->
``needle.eval.models.read_labels`` (a header with ``path`` and the label column,
then one row per image).

Expected: ``ConfigError`` (unreadable, or no header naming both columns); a bad row is a
problem returned beside the rows, not an error. The column asked for is ``label`` or ``age``,
chosen from the bytes' checksum.
"""

from __future__ import annotations

import os
import sys
import zlib

from _harness import instrumented, main, scratch

with instrumented("csv"):
    from needle.errors import ConfigError
    from needle.eval.models import read_labels

COLUMNS = ("label", "age")


def TestOneInput(data: bytes) -> None:
    path = os.path.join(scratch(), "labels.csv")
    with open(path, "wb") as handle:
        handle.write(data)
    column = COLUMNS[zlib.crc32(data) % len(COLUMNS)]
    try:
        rows, problems = read_labels(path, column)
    except ConfigError:
        return
    finally:
        os.unlink(path)
    for row in rows:
        assert row.line >= 2, row
        if column == "label":
            assert row.value in (0.0, 1.0), row
        else:
            assert 0 <= row.value <= 130, row
    assert all(isinstance(p, str) for p in problems)


if __name__ == "__main__":
    main(TestOneInput, sys.argv)
