"""A small registry of named plugins, shared by signal types, classifiers and bank formats.

Built-ins register through the same path as third-party code (entry points); a duplicate
name fails when the registry is built, so two plugins can never silently shadow each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import entry_points
from typing import Generic, Protocol, TypeVar

from needle.errors import PluginError

__all__ = ["Named", "Registry"]


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Plugins by name. ``group`` is the entry-point group third-party packages use."""

    def __init__(self, kind: str, group: str, builtins: Callable[[], Iterable[T]]) -> None:
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._items: dict[str, T] | None = None

    def _build(self) -> dict[str, T]:
        items: dict[str, T] = {}
        found: list[T] = list(self._builtins())
        for ep in entry_points(group=self.group):
            loaded = ep.load()
            found.append(loaded() if isinstance(loaded, type) else loaded)
        for plugin in found:
            if plugin.name in items:
                raise PluginError(f"two {self.kind} plugins are named {plugin.name!r}")
            items[plugin.name] = plugin
        return items

    @property
    def items(self) -> dict[str, T]:
        if self._items is None:
            self._items = self._build()
        return self._items

    def get(self, name: str) -> T:
        try:
            return self.items[name]
        except KeyError:
            known = ", ".join(sorted(self.items))
            raise PluginError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return list(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items.values())

    def __contains__(self, name: object) -> bool:
        return name in self.items
