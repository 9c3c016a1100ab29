"""Types for JSON-shaped data: what a result's ``to_dict`` returns and a JSON column holds.

Stage results and stored records are typed dataclasses; these aliases type the one place each
of them becomes plain data (exports, the database's JSON columns, TOML settings) without
``Any``.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["JSONObject", "JSONValue"]

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
JSONObject: TypeAlias = "dict[str, JSONValue]"
