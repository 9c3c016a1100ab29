"""Harness: bytes as a labels file of ``needle eval guard LABELS.jsonl`` ->
``needle.eval.guard.read_labels`` (JSON Lines with ``text`` and ``label``), then
``evaluate`` on what was read.

Expected: ``ConfigError`` (not UTF-8, a line that is not a JSON object with a ``text`` string
and a ``block``/``allow`` label, no labelled line), which names the line to fix.
"""

from __future__ import annotations

import os
import sys

from _harness import instrumented, main, scratch

os.environ.setdefault("NEEDLE_PURE_PYTHON", "1")

with instrumented("json"):
    from needle.errors import ConfigError
    from needle.eval.guard import evaluate, read_labels


def TestOneInput(data: bytes) -> None:
    path = os.path.join(scratch(), "labels.jsonl")
    with open(path, "wb") as handle:
        handle.write(data)
    try:
        rows = read_labels(path)
    except ConfigError:
        return
    finally:
        os.unlink(path)
    report = evaluate(rows)
    assert report.overall.block + report.overall.allow == len(rows)


if __name__ == "__main__":
    main(TestOneInput, sys.argv)
