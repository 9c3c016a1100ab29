"""Import an optional dependency, telling the user which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from needle.errors import OptionalDependencyError

__all__ = ["import_optional"]


def import_optional(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an error naming the ``needle-triage[extra]`` to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise OptionalDependencyError(
            f"{module!r} is not installed; install it with: pip install 'needle-triage[{extra}]'"
        ) from exc
