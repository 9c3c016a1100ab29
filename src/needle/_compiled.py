"""Modules compiled with mypyc, and the fall-back to their Python source.

The text guard's hot path (the modules in :data:`TEXTGUARD`) is plain, fully typed Python
that ``setup.py`` also compiles with mypyc into C extensions placed beside the sources
(about 1.6x faster; same code, same answers: a test compares both). Python imports
an extension before a ``.py`` of the same name, so three things can go wrong, and
:func:`load` handles each by loading the whole group from source instead:

- a source file changed after it was compiled (an edit, a ``git pull``): the extension is
  stale, and running it would run old code. ``setup.py`` records the SHA-256 of every source
  it compiles in ``_compiled.json`` beside them (contents, not modification times, which
  installers do not keep); a source that differs gets a :class:`RuntimeWarning` saying how
  to rebuild (``make setup``, or ``pip install -e .`` again);
- an extension does not import (a half-finished build);
- ``NEEDLE_PURE_PYTHON=1`` asks for the source (to compare, or to debug with a profiler).

The group is all or nothing: compiled modules call each other directly in C, so a stale
``normalize`` would still be used by a compiled ``detect``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

__all__ = ["PURE_ENV", "TEXTGUARD", "load", "reduce_by_fields"]

#: the compiled modules of ``needle.textguard``, in import order (each only imports earlier
#: ones). The one list: setup.py reads this literal from the source to know what to compile.
TEXTGUARD = (
    "scripts",
    "homoglyphs",
    "normalize",
    "respell",
    "terms",
    "policy",
    "result",
    "hits",
    "tokens",
    "agewords",
    "ages",
    "variants",
    "words",
    "recut",
    "phrases",
    "masks",
    "scope",
    "scoring",
    "evasions",
    "detect",
    "guard",
)
#: set to 1 to run the Python source even where compiled modules are installed
PURE_ENV = "NEEDLE_PURE_PYTHON"
#: written by setup.py beside the compiled sources: {module name: SHA-256 of its source}
RECORD = "_compiled.json"


def _paths(package_dir: Path, name: str) -> tuple[Path, Path | None]:
    """The source of module ``name`` of a package, and its compiled extension if present."""
    stem = package_dir / name
    if stem.is_dir():  # a subpackage: its __init__
        stem = stem / "__init__"
    source = stem.with_name(stem.name + ".py")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        ext = stem.with_name(stem.name + suffix)
        if ext.exists():
            return source, ext
    return source, None


def load(package: str, names: tuple[str, ...]) -> str:
    """Import ``package``'s modules ``names``, compiled when their extensions are present and
    up to date, else from source. Returns how they run: ``"compiled (mypyc)"`` or
    ``"pure Python"`` with the reason in brackets when compiled modules were set aside."""
    package_dir = Path(sys.modules[package].__file__ or "").parent
    found = [(name, *_paths(package_dir, name)) for name in names]
    if all(ext is None for _, _, ext in found):
        return "pure Python (not compiled)"  # the normal import finds the sources
    reason = ""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        reason = f"{PURE_ENV} is set"
    else:
        try:
            record = json.loads((package_dir / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        for name, source, ext in found:
            if ext is None:
                reason = f"{name} was not compiled"
                break
            if source.exists() and (
                hashlib.sha256(source.read_bytes()).hexdigest() != record.get(name)
            ):
                reason = f"{source.name} changed after it was compiled"
                warnings.warn(
                    f"{package}: {reason}; running the slower Python source. Rebuild with "
                    "`make setup` (or `pip install -e .` again) to compile it.",
                    RuntimeWarning,
                    stacklevel=3,
                )
                break
    if not reason:
        try:
            for name in names:
                importlib.import_module(f"{package}.{name}")
        except ImportError as exc:
            reason = f"compiled modules did not load: {exc}"
            warnings.warn(f"{package}: {reason}; running the Python source", RuntimeWarning, 3)
            for name in names:
                sys.modules.pop(f"{package}.{name}", None)
        else:
            return "compiled (mypyc)"
    parent = sys.modules[package]
    for name, source, _ in found:
        full = f"{package}.{name}"
        sys.modules.pop(full, None)
        is_package = source.name == "__init__.py"
        spec = importlib.util.spec_from_file_location(
            full,
            source,
            loader=importlib.machinery.SourceFileLoader(full, str(source)),
            submodule_search_locations=[str(source.parent)] if is_package else None,
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
        setattr(parent, name, module)
    return f"pure Python ({reason})"


def reduce_by_fields(obj: Any) -> tuple[type, tuple[Any, ...]]:
    """``__reduce__`` for a frozen dataclass in a compiled module: rebuilt through its
    constructor, since mypyc's frozen classes refuse the attribute setting that unpickling
    otherwise does (results cross process boundaries in ``needle scan``)."""
    return type(obj), tuple(getattr(obj, f.name) for f in fields(obj))
