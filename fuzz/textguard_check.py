"""Harness: bytes -> ``str`` -> ``needle.textguard.check``, as file names, embedded prompts and
metadata text reach the text guard.

The bytes are decoded twice, with ``surrogateescape`` (how Python hands over file names that
are not UTF-8: lone surrogates) and with ``replace``. Expected: nothing; ``check`` takes any
``str``. The result must be consistent: a known decision, a score in 0..1, and evidence whose
offsets lie inside the text and quote it.

The text guard runs from its Python source here (``NEEDLE_PURE_PYTHON=1``): coverage guides
the fuzzer only through Python code, and a test already holds the compiled build to the same
answers. Set ``NEEDLE_PURE_PYTHON=0`` to fuzz the compiled build (without coverage).
"""

from __future__ import annotations

import os
import sys

from _harness import instrumented, main

os.environ.setdefault("NEEDLE_PURE_PYTHON", "1")

with instrumented("unicodedata", "confusable_homoglyphs"):
    from needle.textguard import DECISIONS, check

    check("a cat on a sofa")  # loads the lexicon now, inside the instrumented block


def _check(text: str) -> None:
    result = check(text)
    assert result.decision in DECISIONS, result.decision
    assert 0.0 <= result.score <= 1.0, result.score
    for ev in result.evidence:
        assert 0 <= ev.start <= ev.end <= len(text), (ev, len(text))
        assert ev.quote == text[ev.start : ev.end], ev
    result.to_dict()


def TestOneInput(data: bytes) -> None:
    _check(data.decode("utf-8", "surrogateescape"))
    _check(data.decode("utf-8", "replace"))


if __name__ == "__main__":
    main(TestOneInput, sys.argv)
