"""Explicit-content detection with NudeNet's bundled ``320n.onnx``, run by onnxruntime directly.

In: a batch of decoded RGB images. Out: per image, a ``Classification`` with

- ``scores["explicit"]``: the highest score of an exposed sexual body part (genitalia, anus,
  female breast, buttocks), 0 when none was detected above the detector's floor;
- ``scores["suggestive"]``: the same for covered ones;
- ``regions``: every ``*_EXPOSED`` detection (label, score, box) — the ``exposed_regions``;
- ``faces``: the detector's face boxes, which the age classifier also ages.

Why not ``nudenet.NudeDetector``: it decodes files itself, pads every image to a square at full
resolution and runs one image at a time with onnxruntime's default threads. Here each image is
resized once, straight to the model's 320 pixels on its long side, padded only to the next
multiple of the network's stride (32), batched by shape, and run with the thread count the
scan chooses. Channels go in as RGB, the order Ultralytics trains in (``nudenet.py`` swaps a
3-channel image twice and so feeds BGR; ``bgr=True`` reproduces that). Post-processing (score floor 0.25, class-agnostic non-maximum suppression at IoU
0.45) follows ``nudenet.py`` so scores mean the same as the package's own.

The weights are NudeNet's (MIT package; the ONNX metadata names Ultralytics YOLOv8, AGPL-3.0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from needle.classify._runtime import (
    DEFAULT_THREADS,
    LazySession,
    onnx_session,
    package_file,
    package_version,
)
from needle.classify.base import Box, Classification, Face, Region, Sample
from needle.errors import ConfigError

__all__ = [
    "EXPLICIT_LABELS",
    "NUDENET_LABELS",
    "NudeNetClassifier",
    "NudeNetPlugin",
]

#: class order of 320n.onnx (its metadata ``names``, and ``__labels`` in nudenet.py)
NUDENET_LABELS = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
#: exposed parts that make an image sexually explicit; male chest, belly, feet and armpits
#: are reported as regions but do not count (beach and sports photos have them)
EXPLICIT_LABELS = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)
SUGGESTIVE_LABELS = frozenset(
    {"FEMALE_GENITALIA_COVERED", "ANUS_COVERED", "FEMALE_BREAST_COVERED", "BUTTOCKS_COVERED"}
)
FACE_LABELS = frozenset({"FACE_FEMALE", "FACE_MALE"})

MODEL_FILE = "320n.onnx"
#: 320n.onnx metadata: imgsz [320, 320], stride 32
INPUT_SIZE = 320
STRIDE = 32
#: nudenet.py _postprocess keeps candidates from 0.2, then cv2.dnn.NMSBoxes(boxes, scores,
#: 0.25, 0.45) drops those under 0.25: nothing under 0.25 is ever reported
DETECTION_FLOOR = 0.25
#: nudenet.py _postprocess: class-agnostic NMS at IoU 0.45
NMS_IOU = 0.45
#: images per onnxruntime call; batching past a few images gains nothing on a CPU
MAX_BATCH = 8


class NudeNetClassifier(LazySession):
    """Explicit-content scores, exposed regions and face boxes from NudeNet 320n."""

    model = "320n"
    stage = 10

    def __init__(
        self,
        *,
        name: str = "nudenet",
        threads: int = DEFAULT_THREADS,
        model_path: str | Path | None = None,
        square: bool = False,
        bgr: bool = False,
    ) -> None:
        self.name = name
        self.threads = threads
        self.model_path = Path(model_path) if model_path else None
        #: pad every image to 320x320 as nudenet.py does (slower; for parity checks)
        self.square = square
        #: feed BGR as nudenet.py does for 3-channel images (for parity checks)
        self.bgr = bgr
        self.version = package_version("nudenet")
        if self.model_path is not None:
            self.model = self.model_path.stem

    def _open(self) -> Any:
        path = self.model_path or package_file("nudenet", MODEL_FILE)
        session = onnx_session(path, threads=self.threads)
        self._input = session.get_inputs()[0].name
        return session

    def classify(
        self,
        batch: Sequence[Sample],
        prior: Sequence[Sequence[Classification]] | None = None,
    ) -> list[Classification]:
        prepared = [self._prepare(sample.working()) for sample in batch]
        outputs: list[np.ndarray | None] = [None] * len(batch)
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (tensor, _, _) in enumerate(prepared):
            groups.setdefault(tensor.shape[1:], []).append(index)
        session = self.session
        for indices in groups.values():
            for start in range(0, len(indices), MAX_BATCH):
                chunk = indices[start : start + MAX_BATCH]
                stacked = np.stack([prepared[i][0] for i in chunk])
                result = session.run(None, {self._input: stacked})[0]
                for row, i in enumerate(chunk):
                    outputs[i] = result[row]
        results = []
        for (_, nw, nh), output in zip(prepared, outputs, strict=True):
            assert output is not None
            results.append(self._result(output, nw, nh))
        return results

    def _prepare(self, image: Image.Image) -> tuple[np.ndarray, int, int]:
        """Resize the shared working copy so the long side is 320, pad right/bottom to the
        stride; CHW float in 0..1."""
        w, h = image.size
        scale = INPUT_SIZE / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        if (nw, nh) != (w, h):
            image = image.resize((nw, nh), Image.Resampling.BILINEAR)
        if self.square:
            pw = ph = INPUT_SIZE
        else:
            pw, ph = -(-nw // STRIDE) * STRIDE, -(-nh // STRIDE) * STRIDE
        canvas = np.zeros((3, ph, pw), dtype=np.float32)
        pixels = np.asarray(image, dtype=np.float32)
        if self.bgr:
            pixels = pixels[..., ::-1]
        canvas[:, :nh, :nw] = pixels.transpose(2, 0, 1) * np.float32(1 / 255)
        return canvas, nw, nh

    def _result(self, output: np.ndarray, nw: int, nh: int) -> Classification:
        detections = decode_detections(output, nw, nh)
        explicit = max((s for label, s, _ in detections if label in EXPLICIT_LABELS), default=0.0)
        suggestive = max(
            (s for label, s, _ in detections if label in SUGGESTIVE_LABELS), default=0.0
        )
        regions = tuple(
            Region(label, score, box)
            for label, score, box in detections
            if label.endswith("_EXPOSED")
        )
        faces = tuple(
            Face(box, detector=f"{self.name}-{self.model}", detection_score=score)
            for label, score, box in detections
            if label in FACE_LABELS
        )
        return Classification(
            self.name,
            self.model,
            self.version,
            scores={"explicit": float(explicit), "suggestive": float(suggestive)},
            regions=regions,
            faces=faces,
            thresholds={"detection_floor": DETECTION_FLOOR, "nms_iou": NMS_IOU},
        )


def decode_detections(output: np.ndarray, nw: int, nh: int) -> list[tuple[str, float, Box]]:
    """YOLOv8 output ``[4 + classes, anchors]`` to (label, score, box) after the score floor
    and class-agnostic NMS. ``nw`` x ``nh`` is the image's size inside the padded input.
    """
    classes = output[4:].T
    best = classes.argmax(axis=1)
    scores = classes[np.arange(classes.shape[0]), best]
    keep = scores >= DETECTION_FLOOR
    if not keep.any():
        return []
    cx, cy, bw, bh = (output[k][keep] for k in range(4))
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, nw)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, nh)
    kept_scores, kept_labels = scores[keep], best[keep]
    out = []
    for i in nms(boxes, kept_scores, NMS_IOU):
        x0, y0, x1, y1 = boxes[i]
        box = Box.from_pixels(float(x0), float(y0), float(x1), float(y1), nw, nh)
        out.append((NUDENET_LABELS[int(kept_labels[i])], float(kept_scores[i]), box))
    return out


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Greedy non-maximum suppression; indices of the kept boxes, best first."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept: list[int] = []
    while order.size:
        i = int(order[0])
        kept.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        union = areas[i] + areas[rest] - inter
        overlap = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
        order = rest[overlap <= threshold]
    return kept


class NudeNetPlugin:
    name = "nudenet"
    summary = "explicit-content detector (NudeNet 320n, bundled with the nudenet package)"
    default = True
    threaded = True

    def build(
        self, options: Mapping[str, Any], *, name: str | None = None, base_dir: Path | None = None
    ) -> NudeNetClassifier:
        known = {"threads", "model", "square", "bgr"}
        unknown = set(options) - known - {"type"}
        if unknown:
            raise ConfigError(
                f"unknown nudenet option(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(sorted(known))}"
            )
        model = options.get("model")
        if model is not None and base_dir is not None:
            model = base_dir / Path(model)
        return NudeNetClassifier(
            name=name or self.name,
            threads=int(options.get("threads", DEFAULT_THREADS)),
            model_path=model,
            square=bool(options.get("square", False)),
            bgr=bool(options.get("bgr", False)),
        )
