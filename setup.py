"""Build script: everything is declared in pyproject.toml except the compiled modules.

The text guard's hot modules are compiled with mypyc (C extensions beside the sources, about
1.6x faster; see needle/_compiled.py). The build works without it: with no C compiler, or with
``NEEDLE_COMPILE=0``, needle installs as pure Python, with the same answers.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import setup

PACKAGE = Path("src/needle/textguard")
#: where the group is listed once, for this script and for the loader that runs it
GROUP_SOURCE = Path("src/needle/_compiled.py")


def group(name: str) -> tuple[str, ...]:
    """The module names assigned to ``name`` in needle/_compiled.py, read from its source
    (importing needle here would need its dependencies installed first)."""
    tree = ast.parse(GROUP_SOURCE.read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == name and node.value is not None:
            return tuple(ast.literal_eval(node.value))
    raise SystemExit(f"setup.py: {GROUP_SOURCE} assigns no {name}")


def source(name: str) -> Path:
    """A module's source: ``name.py``, or ``name/__init__.py`` for a subpackage."""
    package = PACKAGE / name
    return package / "__init__.py" if package.is_dir() else package.with_suffix(".py")


#: the modules compiled, by name, in the loader's import order
COMPILED = {name: source(name) for name in group("TEXTGUARD")}
#: the SHA-256 of each source as compiled: the loader runs a source that differs from it
RECORD = PACKAGE / "_compiled.json"


def record_sources() -> None:
    digests = {
        name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in COMPILED.items()
    }
    RECORD.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def ext_modules() -> list:
    if os.environ.get("NEEDLE_COMPILE", "1") == "0":
        print("NEEDLE_COMPILE=0: needle is installed as pure Python", file=sys.stderr)
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("mypyc not found: needle is installed as pure Python", file=sys.stderr)
        return []
    record_sources()
    paths = [str(path) for path in COMPILED.values()]
    extensions = mypycify(paths, opt_level="3", group_name="needle_textguard")
    for extension in extensions:
        extension.optional = True  # no C compiler: a warning, and the pure-Python modules
    return extensions


setup(ext_modules=ext_modules())
