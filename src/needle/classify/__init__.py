"""Classifiers: scores for material no hash list knows yet.

In: decoded images (``needle.media.DecodedImage``), in batches. Out: per image, one
``Classification`` per classifier: named scores with the model name and version, regions and
faces where the model has them, or the reason it was unavailable. Priority is decided later,
by ``needle.assess``.

Built-in classifier types (``registry``; third-party ones register under the entry-point
group ``needle.classifiers``, as an object or class with ``name``, ``summary``, ``default``
and ``build(options, *, name, base_dir)``):

======== ============================================================================
nudenet  explicit-content detector (NudeNet 320n): ``explicit``, exposed regions, faces
age      faces (dlib HOG + the faces above) and apparent age (age-v1): ``minor_likelihood``
onnx     any ONNX image classifier described by a config (model, size, normalisation, labels)
http     a classifier behind an HTTP endpoint (image bytes or hash in, JSON scores out)
======== ============================================================================

Configuration is a TOML file with one table per classifier instance; an instance's ``type``
defaults to its name, so ``[classifiers.age]`` configures the built-in and
``[classifiers.acme] type = "onnx"`` adds a new one::

    [classifiers.age]
    margin = 2.0

    [classifiers.acme]
    type = "onnx"
    model = "models/acme.onnx"       # relative to this file
    input_size = [224, 224]
    labels = ["benign", "csam"]

Use::

    classifiers = load_classifiers(None, config="needle.toml")   # defaults + configured ones
    results = run_classifiers(classifiers, images)               # list[list[Classification]]

Classifiers open their models lazily and drop them when pickled, so a list of them can be sent
to worker processes (each opens its own sessions, one onnxruntime thread each by default).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from needle.classify.base import (
    WORKING_SIZE,
    Box,
    Classification,
    Classifier,
    ClassifierPlugin,
    Face,
    LazySession,
    Region,
    Sample,
)
from needle.errors import ConfigError, NeedleError, OptionalDependencyError
from needle.media import DEFAULT_LIMITS, Limits, decode_image
from needle.media.image import DecodedImage
from needle.plugins import Registry

__all__ = [
    "DEFAULT_CLASSIFIERS",
    "WORKING_SIZE",
    "Box",
    "Classification",
    "Classifier",
    "ClassifierPlugin",
    "ClassifyConfig",
    "Face",
    "Region",
    "Sample",
    "load_classifiers",
    "load_config",
    "registry",
    "run_classifiers",
    "sample_from_bytes",
]

#: what runs when no classifiers are named (configured instances are added to these)
DEFAULT_CLASSIFIERS = ("nudenet", "age")


def _builtins() -> Iterable[ClassifierPlugin]:
    from needle.classify.age import AgePlugin
    from needle.classify.http import HttpPlugin
    from needle.classify.nudenet import NudeNetPlugin
    from needle.classify.onnx_generic import OnnxPlugin

    return [NudeNetPlugin(), AgePlugin(), OnnxPlugin(), HttpPlugin()]


registry: Registry[ClassifierPlugin] = Registry("classifier", "needle.classifiers", _builtins)


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
    """Read the ``[classifiers.*]`` tables of a TOML file."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read classifier config {file}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}") from None
    return ClassifyConfig.from_mapping(data, file.resolve().parent)


def _as_config(config: ClassifyConfig | Mapping[str, Any] | str | Path | None) -> ClassifyConfig:
    if config is None:
        return ClassifyConfig()
    if isinstance(config, ClassifyConfig):
        return config
    if isinstance(config, str | Path):
        return load_config(config)
    if "classifiers" in config:
        return ClassifyConfig.from_mapping(config)
    return ClassifyConfig.from_mapping({"classifiers": config})


def load_classifiers(
    names: Sequence[str] | None = None,
    config: ClassifyConfig | Mapping[str, Any] | str | Path | None = None,
    *,
    threads: int | None = None,
    load: bool = False,
) -> list[Classifier]:
    """Build the classifiers to run, in the order they must run (by ``stage``).

    ``names`` None means the defaults (nudenet, age) plus every instance the config defines
    that is not ``enabled = false``. A name is a configured instance or a registered type.
    ``threads`` sets onnxruntime's threads for every local model that has not its own.
    ``load=True`` opens every model now, so a missing extra or a bad model path fails here
    with its message instead of at the first image.
    """
    cfg = _as_config(config)
    if names is None:
        chosen = [p.name for p in registry if p.default]
        chosen += [
            n
            for n, opts in cfg.classifiers.items()
            if n not in chosen and opts.get("enabled", True)
        ]
    else:
        chosen = list(dict.fromkeys(n.strip() for n in names if n.strip()))
        if not chosen:
            raise ConfigError("no classifier named; give at least one (e.g. nudenet,age)")
    built: list[Classifier] = []
    for name in chosen:
        options = dict(cfg.classifiers.get(name, {}))
        kind = str(options.pop("type", name))
        options.pop("enabled", None)
        if kind not in registry:
            known = ", ".join(sorted({*registry.names(), *cfg.classifiers}))
            raise ConfigError(f"unknown classifier {name!r}; known: {known}")
        plugin = registry.get(kind)
        if threads is not None and getattr(plugin, "threaded", False):
            options.setdefault("threads", threads)
        built.append(plugin.build(options, name=name, base_dir=cfg.base_dir))
    built.sort(key=lambda c: c.stage)
    if load:
        for classifier in built:
            if isinstance(classifier, LazySession):
                _ = classifier.session
    return built


def run_classifiers(
    classifiers: Sequence[Classifier],
    images: Sequence[DecodedImage | Sample],
) -> list[list[Classification]]:
    """Run every classifier over the batch; ``result[i]`` holds image ``i``'s classifications.

    Classifiers run in ``stage`` order and each sees the earlier ones' results (the age model
    reads the explicit detector's face boxes). One image a classifier cannot handle becomes an
    unavailable ``Classification`` with the reason; the others in the batch are unaffected.
    A model that cannot be loaded at all (extra missing, bad path) raises its ``ConfigError``
    or ``OptionalDependencyError``: that is a setup problem, not a bad file.
    """
    samples = [x if isinstance(x, Sample) else Sample(x) for x in images]
    results: list[list[Classification]] = [[] for _ in samples]
    if not samples:
        return results
    for classifier in sorted(classifiers, key=lambda c: c.stage):
        for index, classification in enumerate(_run_one(classifier, samples, results)):
            results[index].append(classification)
    return results


def _run_one(
    classifier: Classifier, samples: list[Sample], prior: list[list[Classification]]
) -> list[Classification]:
    try:
        out = classifier.classify(samples, prior)
        if len(out) != len(samples):
            raise RuntimeError(f"returned {len(out)} results for {len(samples)} images")
        return out
    except (ConfigError, OptionalDependencyError):
        raise
    except Exception as exc:
        if len(samples) == 1:
            return [Classification.failed(classifier, _describe(exc))]
    # one image spoiled the batch: find which, keep the rest
    single: list[Classification] = []
    for sample, earlier in zip(samples, prior, strict=True):
        single.extend(_run_one(classifier, [sample], [earlier]))
    return single


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NeedleError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def sample_from_bytes(
    data: bytes,
    *,
    path: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    draft_size: int = WORKING_SIZE,
    hashes: bool = True,
) -> Sample:
    """Decode one file's bytes for classification (JPEGs at a reduced draft size, since the
    models need no more than ``WORKING_SIZE`` pixels); raises ``MediaError`` saying why not.
    ``hashes`` adds the sha256 and md5 that hash-sending plugins use."""
    image = decode_image(data, limits=limits, draft_size=draft_size)
    if not hashes:
        return Sample(image, data=data, path=path)
    return Sample(
        image,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        path=path,
    )
