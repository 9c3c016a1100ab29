"""What every harness shares: instrumented imports, a scratch folder, the libFuzzer entry.

A harness is a module of this folder exposing ``TestOneInput(data: bytes)``. It calls a
public needle entry point with ``data`` the way outside bytes reach it, lets the errors that
entry point documents pass (a ``needle.errors.NeedleError`` subclass, as narrow as the
entry point's docstring promises) and lets everything else escape: libFuzzer then records
the input as a crash. Imports of needle happen inside ``instrumented()`` so that coverage
guides the fuzzer; this module imports no needle code itself for that reason.
Run one directly::

    .venv/bin/python fuzz/image_signals.py fuzz/corpus/image_signals -max_total_time=60

Arguments are libFuzzer's (``-runs``, ``-max_total_time``, ``-timeout``, ``-rss_limit_mb``,
a corpus folder); a file instead of a folder runs that one input, which is how a crash is
replayed. ``make fuzz`` and ``bench/fuzz_campaign.py`` add the limits and seed corpora.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.machinery
import os
import sys
import tempfile
import types
import warnings
from collections.abc import Callable, Iterator, Sequence

import atheris

__all__ = ["INSTRUMENT_ENV", "instrumented", "main", "scratch"]

#: what is instrumented for coverage: ``all`` (needle and the pure-Python parsers it relies
#: on; the default), ``needle`` (starts several times faster: the test suite's short runs),
#: ``none`` (inputs are still mutated and run, without coverage to guide them)
INSTRUMENT_ENV = "NEEDLE_FUZZ_INSTRUMENT"

_scratch: str | None = None


@contextlib.contextmanager
def instrumented(*extra: str) -> Iterator[None]:
    """Imports inside the block are instrumented for coverage: needle and ``extra`` packages
    (pure-Python parsers such as ``PIL``, ``zipfile``, ``tarfile`` that needle relies on).

    ``NEEDLE_FUZZ_INSTRUMENT`` narrows this (see ``INSTRUMENT_ENV``). Modules that were
    loaded around the import hook (the text guard's Python source, which
    ``needle._compiled`` loads by file location when its compiled build is set aside) have
    their functions instrumented one by one when the block ends.
    """
    level = os.environ.get(INSTRUMENT_ENV, "all")
    if level == "none":
        yield
        return
    include = ["needle", *extra] if level == "all" else ["needle"]
    with atheris.instrument_imports(include=include):
        yield
    _instrument_missed(include)


def _instrument_missed(include: list[str]) -> None:
    missed = {
        name
        for name, module in list(sys.modules.items())
        if any(name == p or name.startswith(p + ".") for p in include)
        and type(getattr(module, "__loader__", None)) is importlib.machinery.SourceFileLoader
    }
    if not missed:
        return
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and obj.__module__ in missed:
            atheris.instrument_func(obj)


def scratch() -> str:
    """A folder private to this process, so parallel runs never share one.

    Made under ``TMPDIR``: the runners point that at a folder they remove afterwards
    (libFuzzer ends a run without Python's exit handlers). Harnesses delete their files after
    each input, so a direct run leaves at most an empty folder behind.
    """
    global _scratch
    if _scratch is None:
        _scratch = tempfile.mkdtemp(prefix="needle-fuzz-")
    return _scratch


def main(test_one_input: Callable[[bytes], None], argv: Sequence[str] | None = None) -> None:
    """Fuzz ``test_one_input`` with libFuzzer's command line (``sys.argv`` by default)."""
    # warnings are noise here: what matters is an exception that escapes, or a crash
    warnings.simplefilter("ignore")
    atheris.Setup(list(argv if argv is not None else sys.argv), test_one_input)
    atheris.Fuzz()
