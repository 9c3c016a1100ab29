"""Reading needle's TOML configuration files, with one kind of error for every one of them.

In: a path and what the file is for ("classifier config", "assessment policy", …). Out: the
parsed top-level table, or a ``ConfigError`` whose message names the file and what is wrong
(missing, unreadable, not UTF-8, not TOML). Every settings file in needle is read here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from needle.errors import ConfigError
from needle.jsonvalue import JSONObject

__all__ = ["read_toml", "table"]


def read_toml(path: str | Path, what: str) -> JSONObject:
    """The parsed TOML file at ``path``; ``what`` names it in errors ("assessment policy")."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} file {file} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} file {file} is not UTF-8 text: {exc.reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} file {file} is not valid TOML: {exc}") from None


def table(data: JSONObject, name: str, what: str) -> JSONObject:
    """The ``[name]`` table of a parsed file, or the whole file when it has none."""
    found = data.get(name, data)
    if not isinstance(found, dict):
        raise ConfigError(f"{what}: [{name}] must be a table")
    return found
