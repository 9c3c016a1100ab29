"""Build script: everything is declared in pyproject.toml except the compiled modules.

The text guard's hot modules are compiled with mypyc (C extensions beside the sources, about
1.5x faster; see needle/_compiled.py). The build works without it: with no C compiler, or with
``NEEDLE_COMPILE=0``, needle installs as pure Python, with the same answers.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

#: the modules compiled, as files (needle._compiled.TEXTGUARD lists them for the loader)
COMPILED = [
    f"src/needle/textguard/{name}.py"
    for name in ("lexicon/__init__", "normalize", "policy", "result", "detect", "guard")
]


def ext_modules() -> list:
    if os.environ.get("NEEDLE_COMPILE", "1") == "0":
        print("NEEDLE_COMPILE=0: needle is installed as pure Python", file=sys.stderr)
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("mypyc not found: needle is installed as pure Python", file=sys.stderr)
        return []
    extensions = mypycify(COMPILED, opt_level="3", group_name="needle_textguard")
    for extension in extensions:
        extension.optional = True  # no C compiler: a warning, and the pure-Python modules
    return extensions


setup(ext_modules=ext_modules())
