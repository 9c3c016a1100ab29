"""Build script: everything is declared in pyproject.toml except the compiled modules.

The text guard's hot modules are compiled with mypyc (C extensions beside the sources, about
1.6x faster; see needle/_compiled.py). The build works without it: with no C compiler, or with
``NEEDLE_COMPILE=0``, needle installs as pure Python, with the same answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import setup

PACKAGE = Path("src/needle/textguard")
#: the modules compiled, by name (needle._compiled.TEXTGUARD lists them for the loader)
COMPILED = {
    name: PACKAGE / (f"{name}/__init__.py" if name == "lexicon" else f"{name}.py")
    for name in ("lexicon", "normalize", "policy", "result", "detect", "guard")
}
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
