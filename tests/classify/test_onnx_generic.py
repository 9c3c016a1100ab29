"""The generic ONNX classifier, configured by a file, run on tiny models built here with the
``onnx`` helper API: mean colour -> a linear layer -> "reddish" / "bluish"."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classify.helpers import sample_of
from needle.classify import load_classifiers, run_classifiers
from needle.classify.onnx_generic import OnnxClassifier, OnnxConfig, load_onnx_config
from needle.errors import ConfigError

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
helper, TensorProto = onnx.helper, onnx.TensorProto

# logits: reddish = R - B, bluish = B - R (channel means in 0..1)
WEIGHTS = np.array([[1, -1], [0, 0], [-1, 1]], dtype=np.float32)


def build_model(
    path: Path,
    *,
    nhwc: bool = False,
    size: int | None = 8,
    softmax: bool = False,
    outputs: int = 2,
) -> Path:
    h = w = size if size is not None else "h"
    dims = ["n", h, w, 3] if nhwc else ["n", 3, h, w]
    if size is None:
        dims = ["n", "h", "w", 3] if nhwc else ["n", 3, "h", "w"]
    nodes = []
    current = "pixels"
    if nhwc:
        nodes.append(helper.make_node("Transpose", [current], ["nchw"], perm=[0, 3, 1, 2]))
        current = "nchw"
    weights = WEIGHTS if outputs == 2 else np.ones((3, outputs), dtype=np.float32)
    nodes += [
        helper.make_node("GlobalAveragePool", [current], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
    ]
    out_name = "logits"
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
        out_name = "probabilities"
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["n", outputs])],
        initializer=[onnx.numpy_helper.from_array(weights, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def red(size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.new("RGB", size, (230, 10, 10))


def blue(size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.new("RGB", size, (10, 10, 230))


def write_config(folder: Path, text: str, model: str = "tiny.onnx", **build: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    build_model(folder / model, **build)  # type: ignore[arg-type]
    (folder / "tiny.toml").write_text(text)
    return folder / "tiny.toml"


BASIC = """
model = "tiny.onnx"
labels = ["reddish", "bluish"]
activation = "softmax"
model_name = "tiny-colour"
"""


def test_configured_by_a_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "models", BASIC)
    classifier = OnnxClassifier.from_file(config)
    assert classifier.name == "tiny-colour"
    digest = hashlib.sha256((tmp_path / "models" / "tiny.onnx").read_bytes()).hexdigest()
    assert classifier.version == digest[:12]
    reddish, bluish = classifier.classify([sample_of(red()), sample_of(blue())])
    assert reddish.scores["reddish"] > 0.8 > reddish.scores["bluish"]
    assert bluish.scores["bluish"] > 0.8
    assert sum(reddish.scores.values()) == pytest.approx(1.0)
    assert reddish.unavailable is None and reddish.model == "tiny-colour"


def test_loaded_through_the_classifier_config(tmp_path: Path) -> None:
    write_config(tmp_path / "models", BASIC)
    (tmp_path / "needle.toml").write_text(
        '[classifiers.acme]\ntype = "onnx"\nconfig = "models/tiny.toml"\nversion = "3.0"\n'
    )
    built = load_classifiers(None, tmp_path / "needle.toml", load=True)
    assert [c.name for c in built] == ["nudenet", "age", "acme"]
    acme = built[-1]
    assert (acme.model, acme.version) == ("tiny-colour", "3.0")
    (found,) = run_classifiers([acme], [sample_of(blue())])
    assert found[0].classifier == "acme" and found[0].scores["bluish"] > 0.8


def test_inline_config_with_relative_model(tmp_path: Path) -> None:
    build_model(tmp_path / "tiny.onnx", softmax=True)
    (tmp_path / "needle.toml").write_text(
        '[classifiers.colour]\ntype = "onnx"\nmodel = "tiny.onnx"\nlabels = ["r", "b"]\n'
    )
    (colour,) = load_classifiers(["colour"], tmp_path / "needle.toml")
    (found,) = run_classifiers([colour], [sample_of(red())])
    assert found[0].scores["r"] > 0.8  # in-graph softmax, activation "none"


def test_bgr_channel_order_swaps_the_answer(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASIC + 'channel_order = "BGR"\n')
    (result,) = OnnxClassifier.from_file(config).classify([sample_of(red())])
    assert result.scores["bluish"] > 0.8


def test_nhwc_layout(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASIC + 'layout = "NHWC"\n', nhwc=True)
    (result,) = OnnxClassifier.from_file(config).classify([sample_of(red())])
    assert result.scores["reddish"] > 0.8


def test_normalisation_is_applied(tmp_path: Path) -> None:
    # subtracting more red than there is turns a red image "bluish"
    config = write_config(tmp_path, BASIC + "mean = [1.5, 0.0, 0.0]\n")
    (result,) = OnnxClassifier.from_file(config).classify([sample_of(red())])
    assert result.scores["bluish"] > 0.5


def test_resize_modes(tmp_path: Path) -> None:
    wide = red((200, 100))
    scores = {}
    for mode in ("stretch", "letterbox", "center-crop"):
        folder = tmp_path / mode
        config = write_config(folder, BASIC + f'resize = "{mode}"\n')
        (result,) = OnnxClassifier.from_file(config).classify([sample_of(wide, "PNG")])
        scores[mode] = result.scores["reddish"]
    # letterboxing pads half the input with black, so less red reaches the model
    assert scores["letterbox"] < scores["stretch"] == pytest.approx(scores["center-crop"], abs=0.01)


def test_size_from_the_model_or_the_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASIC, size=None)
    with pytest.raises(ConfigError, match=r"takes any image size; set input_size"):
        OnnxClassifier.from_file(config).classify([sample_of(red())])
    config.write_text(BASIC + "input_size = [16, 12]\n")
    (result,) = OnnxClassifier.from_file(config).classify([sample_of(red())])
    assert result.scores["reddish"] > 0.8


def test_outputs_that_are_not_probabilities_make_it_unavailable(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'model = "tiny.onnx"\nlabels = ["reddish", "bluish"]\n')
    (found,) = run_classifiers([OnnxClassifier.from_file(config)], [sample_of(red())])
    assert found[0].unavailable is not None
    assert "not probabilities" in found[0].unavailable
    assert 'activation = "softmax"' in found[0].unavailable


def test_label_count_must_match_the_outputs(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, 'model = "tiny.onnx"\nlabels = ["a", "b"]\n', softmax=True, outputs=3
    )
    (found,) = run_classifiers([OnnxClassifier.from_file(config)], [sample_of(red())])
    assert found[0].unavailable is not None
    assert "one column per label (2 labels configured)" in found[0].unavailable


def test_sigmoid_activation(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, 'model = "tiny.onnx"\nlabels = ["r", "b"]\nactivation = "sigmoid"\n'
    )
    (result,) = OnnxClassifier.from_file(config).classify([sample_of(red())])
    assert result.scores["r"] == pytest.approx(1 / (1 + np.exp(-(220 / 255))), abs=0.02)


def test_many_images_in_chunks(tmp_path: Path) -> None:
    config = write_config(tmp_path, BASIC)
    samples = [sample_of(red() if i % 2 else blue()) for i in range(37)]
    results = OnnxClassifier.from_file(config).classify(samples)
    assert len(results) == 37
    assert [r.scores["reddish"] > 0.5 for r in results] == [bool(i % 2) for i in range(37)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('labels = ["a"]\n', "needs at least `model`"),
        ('model = "tiny.onnx"\nlabels = []\n', "non-empty list"),
        ('model = "tiny.onnx"\nlabels = ["a"]\nresize = "zoom"\n', "`resize` must be one of"),
        ('model = "tiny.onnx"\nlabels = ["a"]\nlayout = "CHW"\n', "layout` must be NCHW or NHWC"),
        ('model = "tiny.onnx"\nlabels = ["a"]\nstd = [1, 0, 1]\n', "must not be 0"),
        ('model = "tiny.onnx"\nlabels = ["a"]\nmean = [1, 2]\n', "three numbers"),
        ('model = "tiny.onnx"\nlabels = ["a"]\ninput_size = [0, 5]\n', "[width, height]"),
        ('model = "tiny.onnx"\nlabels = ["a"]\ncolour = 1\n', "unknown onnx classifier option"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_onnx_config(tmp_path / "c.toml")
    assert message in str(info.value)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read model"):
        OnnxClassifier(OnnxConfig(tmp_path / "absent.onnx", ("a",)))
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    broken = OnnxClassifier(OnnxConfig(tmp_path / "broken.onnx", ("a",)))
    with pytest.raises(ConfigError, match=r"cannot load .* as an ONNX model"):
        broken.classify([sample_of(red())])
