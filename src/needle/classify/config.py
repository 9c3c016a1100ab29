"""Classifier configuration: which classifier instances exist and their options.

In: a TOML file (or a mapping) with one ``[classifiers.NAME]`` table per instance. Out: a
``ClassifyConfig`` whose paths are resolved against the file's folder. An instance's ``type``
defaults to its name, so ``[classifiers.age]`` configures the built-in and
``[classifiers.acme] type = "onnx"`` adds a new one (``needle.classify`` has an example).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from needle.config import read_toml, table
from needle.errors import ConfigError

__all__ = ["ClassifyConfig", "as_config", "load_config"]


@dataclass(frozen=True)
class ClassifyConfig:
    """Classifier instances by name and their options; paths in them are relative to
    ``base_dir`` (the config file's folder)."""

    classifiers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    base_dir: Path | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base_dir: Path | None = None) -> ClassifyConfig:
        tables = data.get("classifiers", {})
        if not isinstance(tables, Mapping):
            raise ConfigError("[classifiers] must be a table of classifier tables")
        for name, options in tables.items():
            if not isinstance(options, Mapping):
                raise ConfigError(f"[classifiers.{name}] must be a table of options")
        return cls({str(k): dict(v) for k, v in tables.items()}, base_dir)


def load_config(path: str | Path) -> ClassifyConfig:
    """Read the ``[classifiers.*]`` tables of a TOML file (none: no configured instances)."""
    file = Path(path)
    data = read_toml(file, "classifier config")
    tables = table(data, "classifiers", "classifier config") if "classifiers" in data else {}
    return ClassifyConfig.from_mapping({"classifiers": tables}, file.resolve().parent)


def as_config(config: ClassifyConfig | Mapping[str, Any] | str | Path | None) -> ClassifyConfig:
    """Any of the forms ``load_classifiers`` accepts as a ``ClassifyConfig``: none, a config,
    a file path, a mapping with a ``classifiers`` table, or the classifier tables alone."""
    if config is None:
        return ClassifyConfig()
    if isinstance(config, ClassifyConfig):
        return config
    if isinstance(config, str | Path):
        return load_config(config)
    if "classifiers" in config:
        return ClassifyConfig.from_mapping(config)
    return ClassifyConfig.from_mapping({"classifiers": config})
