"""An optional learned text classifier, combined with the rules; the guard never needs one.

In: a text. Out: a probability (0..1) that the text asks for sexual content involving a minor.
Any object with a ``name`` and a ``score(text) -> float`` method is a :class:`TextClassifier`
(tests pass fakes). :class:`OnnxTextClassifier` runs a local ``.onnx`` file given by the user
with onnxruntime; nothing is downloaded. It accepts three kinds of model, told apart by the
type of the model's first input:

- ``tensor(string)``: the model takes the raw text (e.g. an sklearn pipeline exported with
  skl2onnx, or a graph with its own string ops);
- ``tensor(float)`` of width D: the model takes needle's hashed bag of words,
  :func:`hashed_features` (normalised words, CRC-32 mod D, L2-normalised), so a linear model
  trained on the same features in any framework can be exported and used without a tokenizer;
- ``tensor(int64)`` / ``tensor(int32)``: a transformer taking ``input_ids`` (and
  ``attention_mask``, ``token_type_ids`` if declared); it needs the model's
  ``tokenizer.json``, read with the ``tokenizers`` package (no torch).

The score is read from the first output named like ``prob*`` / ``score*`` / ``logit*``, or the
first float output: one column is a probability (or a logit, squashed by a sigmoid when outside
0..1); several columns are class scores (softmaxed unless they already sum to one) and
``positive_index`` picks the class; a list of dicts (skl2onnx ZipMap) is read by
``positive_label``.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from needle._optional import import_optional
from needle.errors import ConfigError
from needle.textguard.normalize import normalize
from needle.textguard.terms import words

__all__ = ["OnnxTextClassifier", "TextClassifier", "hashed_features"]


@runtime_checkable
class TextClassifier(Protocol):
    """A learned classifier the guard can combine with its rules."""

    name: str

    def score(self, text: str) -> float:
        """Probability (0..1) that ``text`` asks for sexual content involving a minor."""
        ...


def hashed_features(text: str, dim: int) -> list[float]:
    """needle's hashed bag of words: the features a ``tensor(float)`` model must be trained on.

    Words of the normalised text (see :mod:`needle.textguard.normalize`) are counted into
    ``dim`` buckets by CRC-32 of their UTF-8 bytes, then the vector is scaled to unit length.
    """
    if dim < 1:
        raise ConfigError(f"hashed features need a positive width, not {dim}")
    vec = [0.0] * dim
    for word in words(normalize(text).text):
        vec[zlib.crc32(word.encode("utf-8", "surrogatepass")) % dim] += 1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if norm > 0:
        vec = [v / norm for v in vec]
    return vec


class OnnxTextClassifier:
    """A local ONNX text classifier (see the module docstring for the model kinds).

    ``session`` injects an already-built session (anything with ``get_inputs()``,
    ``get_outputs()`` and ``run(names, feed)``), which tests use; otherwise ``path`` is opened
    with onnxruntime on the CPU.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        tokenizer: str | Path | None = None,
        positive_index: int = -1,
        positive_label: object = 1,
        max_length: int = 256,
        name: str | None = None,
        session: Any = None,
    ) -> None:
        if session is None:
            if path is None:
                raise ConfigError("an ONNX text classifier needs a model path")
            model_path = Path(path)
            if not model_path.is_file():
                raise ConfigError(
                    f"ONNX model {model_path} does not exist; give the path to a .onnx file"
                )
            ort = import_optional("onnxruntime", "classify")
            try:
                session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise ConfigError(f"ONNX model {model_path} could not be loaded: {exc}") from exc
        self._session = session
        self.name = name or (Path(path).stem if path is not None else "onnx")
        self.positive_index = positive_index
        self.positive_label = positive_label
        self.max_length = max_length
        inputs = list(session.get_inputs())
        if not inputs:
            raise ConfigError(f"ONNX model {self.name} has no inputs")
        self._inputs = inputs
        first = inputs[0]
        kind = str(getattr(first, "type", ""))
        self._tokenizer: Any = None
        if kind == "tensor(string)":
            self.kind = "string"
        elif kind in ("tensor(float)", "tensor(double)"):
            self.kind = "hashed"
            shape = list(getattr(first, "shape", []) or [])
            width = shape[-1] if shape else None
            if not isinstance(width, int) or width < 1:
                raise ConfigError(
                    f"ONNX model {self.name}: a float input needs a fixed width (hashed features); "
                    f"its shape is {shape}"
                )
            self.dim = width
            self._dtype = "float64" if kind == "tensor(double)" else "float32"
        elif kind in ("tensor(int64)", "tensor(int32)"):
            self.kind = "tokens"
            if tokenizer is None:
                raise ConfigError(
                    f"ONNX model {self.name} takes token ids: give its tokenizer.json "
                    "(needle guard --tokenizer PATH)"
                )
            tokenizers = import_optional("tokenizers", "textguard")
            self._tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer))
            self._dtype = "int64" if kind == "tensor(int64)" else "int32"
        else:
            raise ConfigError(
                f"ONNX model {self.name}: input type {kind or 'unknown'} is not supported; "
                "use a string, float (hashed features) or int64 (token ids) input"
            )
        outputs = list(session.get_outputs()) if hasattr(session, "get_outputs") else []
        self._output_names = [str(o.name) for o in outputs]

    def _feed(self, text: str) -> dict[str, Any]:
        import numpy as np

        first = self._inputs[0]
        if self.kind == "string":
            shape = list(getattr(first, "shape", []) or [])
            arr = np.array([text], dtype=object)
            if len(shape) == 2:
                arr = arr.reshape(1, 1)
            return {first.name: arr}
        if self.kind == "hashed":
            return {first.name: np.array([hashed_features(text, self.dim)], dtype=self._dtype)}
        encoding = self._tokenizer.encode(text)
        ids = list(encoding.ids)[: self.max_length]
        feed: dict[str, Any] = {first.name: np.array([ids], dtype=self._dtype)}
        for inp in self._inputs[1:]:
            if "mask" in inp.name:
                feed[inp.name] = np.ones((1, len(ids)), dtype=self._dtype)
            elif "type" in inp.name:
                feed[inp.name] = np.zeros((1, len(ids)), dtype=self._dtype)
        return feed

    def score(self, text: str) -> float:
        outputs = self._session.run(None, self._feed(text))
        return _probability(outputs, self._output_names, self.positive_index, self.positive_label)


def _probability(outputs: list[Any], names: list[str], index: int, label: object) -> float:
    import numpy as np

    candidates = list(range(len(outputs)))
    preferred = [
        i
        for i in candidates
        if i < len(names) and names[i].lower().startswith(("prob", "score", "logit", "output_prob"))
    ]
    for i in preferred + candidates:
        out = outputs[i]
        if isinstance(out, list) and out and isinstance(out[0], dict):
            row = out[0]
            value = row.get(label, row.get(str(label)))
            if value is None:
                raise ConfigError(f"ONNX model output has no class {label!r}; classes: {list(row)}")
            return float(value)
        arr = np.asarray(out)
        if arr.dtype.kind != "f" or arr.size == 0:
            continue
        row = arr.reshape(arr.shape[0] if arr.ndim > 1 else 1, -1)[0].astype("float64")
        if row.size == 1:
            v = float(row[0])
            return v if 0.0 <= v <= 1.0 else 1.0 / (1.0 + math.exp(-v))
        if not (np.all(row >= 0) and np.all(row <= 1) and abs(float(row.sum()) - 1.0) < 1e-3):
            exp = np.exp(row - row.max())
            row = exp / exp.sum()
        return float(row[index])
    raise ConfigError("ONNX model gave no float output to read a probability from")
