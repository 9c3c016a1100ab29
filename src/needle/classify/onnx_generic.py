"""Any ONNX image classifier, described by a small config file.

For an organisation with legal access to a trained classifier (for example a CSAM classifier
from a hotline or law-enforcement partner) that can be exported to ONNX: needle runs it on
every image and stores its scores next to the built-in ones; the assessment policy decides
what a score means (``[[policy.score_rules]]``, see docs/assessment.md).

In: decoded RGB images. Out: ``Classification`` with one score per label, named by the
config's ``labels``. The config file (TOML; paths relative to it)::

    model = "acme-v3.onnx"          # required
    labels = ["benign", "csam"]     # required: one name per output column
    input_size = [224, 224]         # width, height; default: the model's own fixed size
    resize = "stretch"              # or "letterbox" (pad right/bottom), "center-crop"
    interpolation = "bilinear"      # or "bicubic" (CLIP's), "nearest"
    layout = "NCHW"                 # or "NHWC"
    channel_order = "RGB"           # or "BGR"
    scale = 0.00392156862745098     # pixel * scale, then (x - mean) / std, per channel
    mean = [0.485, 0.456, 0.406]
    std = [0.229, 0.224, 0.225]
    activation = "none"             # the outputs are probabilities; or "softmax", "sigmoid"
    model_name = "acme"             # how reasons name it; default: the file's stem
    version = "3.0"                 # default: first 12 hex digits of the file's sha256
    ai_image_label = "generated"    # optional: this label's probability is also reported
                                    # as the ``ai_image`` score (an AI-image detector)

An AI-image detector is configured like any other model, with ``ai_image_label`` naming the
output that is the probability of "generated" (a single-logit model: ``labels =
["generated"]`` and ``activation = "sigmoid"``); docs/ai-detectors.md has worked examples.
Each result carries the model file's SHA-256 (``Classification.model_sha256``), computed once
per process, so that a calibration is only ever applied to the model it was measured on.

Nothing is fetched: the model is a local file the user gives.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from needle.classify._runtime import DEFAULT_THREADS, LazySession, onnx_session
from needle.classify.base import AI_IMAGE_SCORE, Classification, Sample
from needle.config import read_toml
from needle.errors import ConfigError

__all__ = ["OnnxClassifier", "OnnxConfig", "OnnxPlugin", "load_onnx_config"]

#: images per onnxruntime call
MAX_BATCH = 16
_RESIZE = ("stretch", "letterbox", "center-crop")
_INTERPOLATION = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
}
_ACTIVATIONS = ("none", "softmax", "sigmoid")
#: rounding slack when checking that outputs already are probabilities
_PROBABILITY_SLACK = 1e-3


@dataclass(frozen=True)
class OnnxConfig:
    model: Path
    labels: tuple[str, ...]
    input_size: tuple[int, int] | None = None
    resize: str = "stretch"
    interpolation: str = "bilinear"
    layout: str = "NCHW"
    channel_order: str = "RGB"
    scale: float = 1 / 255
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    activation: str = "none"
    model_name: str | None = None
    version: str | None = None
    input_name: str | None = None
    output_name: str | None = None
    threads: int = DEFAULT_THREADS
    #: the label whose probability is also reported as the ``ai_image`` score
    ai_image_label: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base_dir: Path | None = None) -> OnnxConfig:
        known = set(cls.__dataclass_fields__) | {"config", "type", "enabled"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(
                f"unknown onnx classifier option(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(sorted(known - {'config', 'type', 'enabled'}))}"
            )
        if "model" not in data or "labels" not in data:
            raise ConfigError("an onnx classifier needs at least `model` (a path) and `labels`")
        model = Path(str(data["model"])).expanduser()
        if not model.is_absolute() and base_dir is not None:
            model = base_dir / model
        labels = data["labels"]
        if (
            not isinstance(labels, list | tuple)
            or not labels
            or not all(isinstance(x, str) and x for x in labels)
        ):
            raise ConfigError("onnx `labels` must be a non-empty list of names")
        size = data.get("input_size")
        if size is not None:
            if not (
                isinstance(size, list | tuple)
                and len(size) == 2
                and all(isinstance(v, int) and v > 0 for v in size)
            ):
                raise ConfigError("onnx `input_size` must be [width, height] in pixels")
            size = (int(size[0]), int(size[1]))
        cfg = cls(
            model=model,
            labels=tuple(labels),
            input_size=size,
            resize=str(data.get("resize", "stretch")),
            interpolation=str(data.get("interpolation", "bilinear")).lower(),
            layout=str(data.get("layout", "NCHW")).upper(),
            channel_order=str(data.get("channel_order", "RGB")).upper(),
            scale=float(data.get("scale", 1 / 255)),
            mean=_triple(data.get("mean", (0.0, 0.0, 0.0)), "mean"),
            std=_triple(data.get("std", (1.0, 1.0, 1.0)), "std"),
            activation=str(data.get("activation", "none")),
            model_name=data.get("model_name"),
            version=None if data.get("version") is None else str(data["version"]),
            input_name=data.get("input_name"),
            output_name=data.get("output_name"),
            threads=int(data.get("threads", DEFAULT_THREADS)),
            ai_image_label=(
                None if data.get("ai_image_label") is None else str(data["ai_image_label"])
            ),
        )
        if cfg.resize not in _RESIZE:
            raise ConfigError(f"onnx `resize` must be one of {', '.join(_RESIZE)}")
        if cfg.interpolation not in _INTERPOLATION:
            raise ConfigError(f"onnx `interpolation` must be one of {', '.join(_INTERPOLATION)}")
        if cfg.ai_image_label is not None and cfg.ai_image_label not in cfg.labels:
            raise ConfigError(
                f"onnx `ai_image_label` {cfg.ai_image_label!r} is not one of the `labels` "
                f"({', '.join(cfg.labels)}): name the output that is the probability of "
                '"generated"'
            )
        if cfg.activation not in _ACTIVATIONS:
            raise ConfigError(f"onnx `activation` must be one of {', '.join(_ACTIVATIONS)}")
        if cfg.layout not in ("NCHW", "NHWC"):
            raise ConfigError("onnx `layout` must be NCHW or NHWC")
        if cfg.channel_order not in ("RGB", "BGR"):
            raise ConfigError("onnx `channel_order` must be RGB or BGR")
        if any(s == 0 for s in cfg.std):
            raise ConfigError("onnx `std` values must not be 0")
        return cfg


def _triple(value: Any, name: str) -> tuple[float, float, float]:
    if isinstance(value, int | float):
        return (float(value), float(value), float(value))
    if isinstance(value, list | tuple) and len(value) == 3:
        return (float(value[0]), float(value[1]), float(value[2]))
    raise ConfigError(f"onnx `{name}` must be a number or three numbers (one per channel)")


def load_onnx_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> OnnxConfig:
    """Read an ONNX classifier config file; ``overrides`` win over the file's keys."""
    file = Path(path)
    data = read_toml(file, "onnx classifier config")
    merged = {**data, **(overrides or {})}
    merged.pop("config", None)
    return OnnxConfig.from_mapping(merged, file.resolve().parent)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ConfigError(f"cannot read model {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()


class OnnxClassifier(LazySession):
    """Runs a configured ONNX classifier; one score per configured label."""

    stage = 50

    def __init__(self, config: OnnxConfig, *, name: str = "onnx") -> None:
        self.config = config
        self.name = name
        self.model = config.model_name or config.model.stem
        self._model_sha256: str | None = None
        self.version = config.version or self.model_sha256[:12]

    @property
    def model_sha256(self) -> str:
        """The model file's SHA-256, read once (and carried to worker processes)."""
        if self._model_sha256 is None:
            self._model_sha256 = _sha256(self.config.model)
        return self._model_sha256

    @classmethod
    def from_file(cls, path: str | Path, *, name: str | None = None) -> OnnxClassifier:
        cfg = load_onnx_config(path)
        return cls(cfg, name=name or cfg.model_name or cfg.model.stem)

    def _open(self) -> Any:
        session = onnx_session(self.config.model, threads=self.config.threads)
        inputs, outputs = session.get_inputs(), session.get_outputs()
        self._input = self.config.input_name or inputs[0].name
        self._output = self.config.output_name or outputs[0].name
        shape = list(inputs[0].shape)
        if len(shape) != 4:
            raise ConfigError(f"{self.config.model}: input {shape} is not an image batch")
        h_axis, w_axis = (2, 3) if self.config.layout == "NCHW" else (1, 2)
        size = self.config.input_size
        if size is None:
            w, h = shape[w_axis], shape[h_axis]
            if not (isinstance(w, int) and isinstance(h, int)):
                raise ConfigError(
                    f"{self.config.model} takes any image size; set input_size = [w, h]"
                )
            size = (w, h)
        self._size = size
        self._batch_one = shape[0] == 1
        return session

    def classify(
        self,
        batch: Sequence[Sample],
        prior: Sequence[Sequence[Classification]] | None = None,
    ) -> list[Classification]:
        session = self.session
        tensors = [self._prepare(sample.image.image) for sample in batch]
        step = 1 if self._batch_one else MAX_BATCH
        digest = self.model_sha256
        generated = self.config.ai_image_label
        results: list[Classification] = []
        for start in range(0, len(tensors), step):
            chunk = np.stack(tensors[start : start + step])
            raw = session.run([self._output], {self._input: chunk})[0]
            probabilities = self._probabilities(np.asarray(raw, dtype=np.float64), len(chunk))
            for row in probabilities:
                scores = {label: float(v) for label, v in zip(self.config.labels, row, strict=True)}
                if generated is not None:
                    scores[AI_IMAGE_SCORE] = scores[generated]
                results.append(
                    Classification(
                        self.name, self.model, self.version, scores=scores, model_sha256=digest
                    )
                )
        return results

    def _prepare(self, image: Image.Image) -> np.ndarray:
        cfg = self.config
        tw, th = self._size
        method = _INTERPOLATION[cfg.interpolation]
        if cfg.resize == "stretch":
            image = image.resize((tw, th), method, reducing_gap=3.0)
        elif cfg.resize == "center-crop":
            scale = max(tw / image.width, th / image.height)
            size = (
                max(tw, math.ceil(image.width * scale)),
                max(th, math.ceil(image.height * scale)),
            )
            image = image.resize(size, method, reducing_gap=3.0)
            left, top = (image.width - tw) // 2, (image.height - th) // 2
            image = image.crop((left, top, left + tw, top + th))
        else:  # letterbox: keep the aspect ratio, pad right and bottom with black
            scale = min(tw / image.width, th / image.height)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            canvas = Image.new("RGB", (tw, th))
            canvas.paste(image.resize(size, method, reducing_gap=3.0))
            image = canvas
        pixels: np.ndarray = np.asarray(image, dtype=np.float32)
        if cfg.channel_order == "BGR":
            pixels = pixels[..., ::-1]
        mean = np.asarray(cfg.mean, np.float32)
        std = np.asarray(cfg.std, np.float32)
        pixels = (pixels * np.float32(cfg.scale) - mean) / std
        if cfg.layout == "NCHW":
            pixels = pixels.transpose(2, 0, 1)
        return np.ascontiguousarray(pixels, dtype=np.float32)

    def _probabilities(self, raw: np.ndarray, rows: int) -> np.ndarray:
        labels = len(self.config.labels)
        values = raw.reshape(raw.shape[0], -1) if raw.ndim > 2 else raw
        if values.ndim != 2 or values.shape != (rows, labels):
            raise ValueError(
                f"model output {list(raw.shape)} does not have one column per label "
                f"({labels} labels configured)"
            )
        if not np.isfinite(values).all():
            raise ValueError("model output is not finite")
        if self.config.activation == "softmax":
            shifted = np.exp(values - values.max(axis=1, keepdims=True))
            values = shifted / shifted.sum(axis=1, keepdims=True)
        elif self.config.activation == "sigmoid":
            values = 1 / (1 + np.exp(-values))
        elif values.min() < -_PROBABILITY_SLACK or values.max() > 1 + _PROBABILITY_SLACK:
            raise ValueError(
                "model outputs are not probabilities (outside 0..1); set activation = "
                '"softmax" or "sigmoid" in its config'
            )
        return np.clip(values, 0.0, 1.0)


class OnnxPlugin:
    name = "onnx"
    summary = "an ONNX image classifier described by a config file (model, size, labels)"
    default = False
    threaded = True

    def build(
        self, options: Mapping[str, Any], *, name: str | None = None, base_dir: Path | None = None
    ) -> OnnxClassifier:
        if "config" in options:
            path = Path(str(options["config"])).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            config = load_onnx_config(path, {k: v for k, v in options.items() if k != "config"})
        else:
            config = OnnxConfig.from_mapping(options, base_dir)
        return OnnxClassifier(config, name=name or self.name)
