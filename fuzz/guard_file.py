"""Harness: bytes as the file of ``needle guard --file FILE --output OUT``: one prompt per line,
or JSON Lines with a ``text`` field, read and checked line by line as the command does.

The command runs in-process as the console script runs it (``needle.cli.main``: its Typer
``app``, built into a click command once rather than per input, which costs 40 ms, and a
``NeedleError`` read as exit code 3 as ``main`` does), with the bytes written once per input
to a private scratch folder. Expected: exit codes 0, 1 and 2 (the guard's answers) and 3 (a
``NeedleError`` the command reports: a JSON line that is not an object with a ``text``
string). Any other exit code, or any other exception, is a bug. Every line of OUT must be a
JSON object.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

from _harness import instrumented, main, scratch

os.environ.setdefault("NEEDLE_PURE_PYTHON", "1")

with instrumented("json"):
    import needle.cli.guard  # noqa: F401
    from needle.textguard import check

    check("a cat on a sofa")

# the command line's other verbs (scan, classify, provenance ...) load outside the block: they
# do not run here, and instrumenting them would triple the start-up time
import typer.main

from needle.cli.main import app
from needle.errors import NeedleError

COMMAND = typer.main.get_command(app)
EXIT_CODES = {0, 1, 2, 3}


def _needle(*args: str) -> int:
    """Exit code of ``needle ARGS``, as ``needle.cli.main.main`` would end."""
    try:
        COMMAND.main(list(args), prog_name="needle", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except NeedleError:
        return 3
    return 0


def TestOneInput(data: bytes) -> None:
    folder = scratch()
    source, out = os.path.join(folder, "prompts.txt"), os.path.join(folder, "results.jsonl")
    with open(source, "wb") as handle:
        handle.write(data)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(errors):
            code = _needle("guard", "--file", source, "--output", out)
    finally:
        os.unlink(source)
    assert code in EXIT_CODES, (code, errors.getvalue()[-2000:])
    if os.path.exists(out):
        with open(out, encoding="utf-8") as handle:
            for line in handle:
                assert isinstance(json.loads(line), dict), line
        os.unlink(out)


if __name__ == "__main__":
    main(TestOneInput, sys.argv)
