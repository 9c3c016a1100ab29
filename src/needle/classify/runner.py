"""Building the configured classifiers and running them over a batch of images.

In: classifier names and a ``ClassifyConfig`` (``load_classifiers``); then decoded images or
``Sample`` objects (``run_classifiers``). Out: the built classifiers in ``stage`` order; per
image, one ``Classification`` per classifier. One image a classifier cannot handle becomes an
unavailable ``Classification``; a model that cannot be loaded at all is a setup problem and
raises.

``registry`` holds the classifier types: the built-ins and those registered under the
entry-point group ``needle.classifiers``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from needle.classify._runtime import LazySession
from needle.classify.base import (
    WORKING_SIZE,
    Classification,
    Classifier,
    ClassifierPlugin,
    Sample,
)
from needle.classify.config import ClassifyConfig, as_config
from needle.errors import ConfigError, NeedleError, OptionalDependencyError
from needle.media import DEFAULT_LIMITS, Limits, decode_image
from needle.media.image import DecodedImage
from needle.plugins import Registry

__all__ = [
    "DEFAULT_CLASSIFIERS",
    "load_classifiers",
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
    cfg = as_config(config)
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
