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
onnx     any ONNX image classifier described by a config (model, size, normalisation, labels),
         an AI-image detector among them (``ai_image_label``: docs/ai-detectors.md)
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

Modules: ``base`` (the protocol and result types), ``config`` (``ClassifyConfig``),
``runner`` (``registry``, ``load_classifiers``, ``run_classifiers``), one module per
classifier type. Measuring classifiers on labelled data is ``needle.eval``'s job.
"""

from __future__ import annotations

from needle.classify.base import (
    AI_IMAGE_SCORE,
    WORKING_SIZE,
    Box,
    Classification,
    Classifier,
    ClassifierPlugin,
    Face,
    Region,
    Sample,
)
from needle.classify.config import ClassifyConfig, load_config
from needle.classify.runner import (
    DEFAULT_CLASSIFIERS,
    load_classifiers,
    registry,
    run_classifiers,
    sample_from_bytes,
)

__all__ = [
    "AI_IMAGE_SCORE",
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
