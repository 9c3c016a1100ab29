"""Policy files and the optional ONNX classifier (real tiny ONNX graphs built in the test)."""

from __future__ import annotations

import zlib
from dataclasses import fields
from pathlib import Path

import pytest

from needle.errors import ConfigError
from needle.textguard import Guard, GuardPolicy
from needle.textguard.model import OnnxTextClassifier, TextClassifier, hashed_features
from needle.textguard.normalize import normalize


def test_policy_defaults_and_validation() -> None:
    p = GuardPolicy()
    assert p.decide(1.0, ()) == "block"
    assert p.decide(0.4, ()) == "review"
    assert p.decide(0.0, ("sexual",)) == "allow"
    assert GuardPolicy(sexual_only="review").decide(0.0, ("sexual",)) == "review"
    assert p.decide(0.0, (), truncated=True) == "review"
    with pytest.raises(ConfigError, match="review_threshold"):
        GuardPolicy(review_threshold=0.9, block_threshold=0.5)
    with pytest.raises(ConfigError, match="from 0 to 1"):
        GuardPolicy(block_threshold=2.0)
    with pytest.raises(ConfigError, match="one of allow, review, block"):
        GuardPolicy(sexual_only="maybe")
    with pytest.raises(ConfigError, match="unknown setting"):
        GuardPolicy.from_mapping({"block": 0.5})


def test_policy_from_toml(tmp_path: Path) -> None:
    f = tmp_path / "needle.toml"
    f.write_text("[textguard]\nblock_threshold = 0.7\nsexual_only = 'review'\n", encoding="utf-8")
    p = GuardPolicy.from_toml(f)
    assert p.block_threshold == 0.7 and p.sexual_only == "review"
    flat = tmp_path / "flat.toml"
    flat.write_text("review_threshold = 0.2\n", encoding="utf-8")
    assert GuardPolicy.from_toml(flat).review_threshold == 0.2
    bad = tmp_path / "bad.toml"
    bad.write_text("[textguard\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        GuardPolicy.from_toml(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        GuardPolicy.from_toml(tmp_path / "missing.toml")
    not_table = tmp_path / "not_table.toml"
    not_table.write_text("textguard = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not_table.toml: \[textguard\] must be a table"):
        GuardPolicy.from_toml(not_table)


def test_policy_to_dict_has_every_field() -> None:
    p = GuardPolicy(sexual_only="review", max_chars=100)
    assert p.to_dict() == {f.name: getattr(p, f.name) for f in fields(GuardPolicy)}
    assert GuardPolicy.from_mapping(p.to_dict()) == p


def test_hashed_features_are_stable_and_unit_length() -> None:
    v = hashed_features("Nude CHILD", 64)
    assert len(v) == 64
    assert abs(sum(x * x for x in v) - 1.0) < 1e-9
    assert v == hashed_features("nude child", 64)  # normalised first
    k = zlib.crc32(b"nude") % 64
    assert v[k] > 0
    assert hashed_features("", 8) == [0.0] * 8
    with pytest.raises(ConfigError):
        hashed_features("x", 0)


onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _linear_model(path: Path, dim: int, words: list[str]) -> None:
    """A logistic model over hashed features: high score when any of ``words`` occurs."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = np.zeros((dim, 1), dtype=np.float32)
    for word in words:
        w[zlib.crc32(normalize(word).text.encode()) % dim, 0] = 12.0
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "W"], ["z"]),
            helper.make_node("Add", ["z", "b"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["probability"]),
        ],
        "hashed_linear",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, dim])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, 1])],
        [
            numpy_helper.from_array(w, "W"),
            numpy_helper.from_array(np.array([-4.0], dtype=np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_onnx_hashed_feature_model(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    _linear_model(path, 128, ["zorblax"])  # a made-up code word the rules do not know
    clf = OnnxTextClassifier(path)
    assert isinstance(clf, TextClassifier)
    assert clf.kind == "hashed" and clf.dim == 128 and clf.name == "tiny"
    assert clf.score("zorblax") > 0.9
    assert clf.score("a cat on a sofa") < 0.1
    guard = Guard(classifier=clf)
    r = guard.check("a zorblax photo")
    assert r.decision == "block" and r.model == "tiny" and r.model_score is not None
    assert guard.check("a cat on a sofa").decision == "allow"


def test_onnx_string_input_model(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    node = helper.make_node(
        "LabelEncoder",
        ["text"],
        ["probability"],
        domain="ai.onnx.ml",
        keys_strings=["flagged text"],
        values_floats=[0.97],
        default_float=0.01,
    )
    graph = helper.make_graph(
        [node],
        "string_model",
        [helper.make_tensor_value_info("text", TensorProto.STRING, [1])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 2)]
    )
    model.ir_version = 8
    path = tmp_path / "strings.onnx"
    onnx.save(model, str(path))
    clf = OnnxTextClassifier(path, name="strings")
    assert clf.kind == "string"
    assert clf.score("flagged text") == pytest.approx(0.97)
    assert clf.score("anything else") == pytest.approx(0.01)


def test_onnx_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        OnnxTextClassifier(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="could not be loaded"):
        OnnxTextClassifier(junk)


def test_token_id_models_need_a_tokenizer() -> None:
    class Input:
        name = "input_ids"
        type = "tensor(int64)"
        shape = (1, None)

    class Session:
        def get_inputs(self) -> list[Input]:
            return [Input()]

        def get_outputs(self) -> list[Input]:
            return []

    with pytest.raises(ConfigError, match="tokenizer"):
        OnnxTextClassifier(session=Session())


def test_onnx_token_id_model_with_a_local_tokenizer(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    from onnx import TensorProto, helper, numpy_helper

    vocab = {"[UNK]": 0, "a": 1, "cat": 2, "zorblax": 3}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok_path = tmp_path / "tokenizer.json"
    tok.save(str(tok_path))
    import numpy as np

    graph = helper.make_graph(
        [
            helper.make_node("Equal", ["input_ids", "target"], ["hit"]),
            helper.make_node("Cast", ["hit"], ["hitf"], to=TensorProto.FLOAT),
            helper.make_node("ReduceMax", ["hitf"], ["probability"], axes=[1], keepdims=1),
        ],
        "token_model",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, None]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, None]),
        ],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, 1])],
        [numpy_helper.from_array(np.array([3], dtype=np.int64), "target")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "tokens.onnx"
    onnx.save(model, str(path))
    clf = OnnxTextClassifier(path, tokenizer=tok_path)
    assert clf.kind == "tokens"
    assert clf.score("a zorblax") == 1.0
    assert clf.score("a cat") == 0.0
