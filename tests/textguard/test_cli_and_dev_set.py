"""``needle guard`` and ``needle eval guard`` in-process, and the development-set acceptance bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from needle.cli.main import app
from needle.eval.guard import evaluate, format_report, read_labels

DATA = Path(__file__).resolve().parent.parent / "data" / "textguard"
DEV = DATA / "dev.jsonl"
runner = CliRunner()


def test_guard_exit_codes_are_the_decision() -> None:
    assert runner.invoke(app, ["guard", "a cat on a sofa"]).exit_code == 0
    assert runner.invoke(app, ["guard", "nude girl"]).exit_code == 1
    result = runner.invoke(app, ["guard", "nude child"])
    assert result.exit_code == 2
    assert "block" in result.output and '"nude"' in result.output


def test_guard_json() -> None:
    result = runner.invoke(app, ["guard", "--json", "n-a-k-e-d kid"])
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert data["decision"] == "block"
    assert {e["quote"] for e in data["evidence"]} == {"n-a-k-e-d", "kid"}
    assert data["policy"]["block_threshold"] == 0.6


def test_guard_file_plain_and_jsonl(tmp_path: Path) -> None:
    plain = tmp_path / "prompts.txt"
    plain.write_text("a cat\nnude child\n\nnude girl\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["guard", "--file", str(plain), "--output", str(out)])
    assert result.exit_code == 2
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["decision"] for r in rows] == ["allow", "block", "review"]
    assert rows[1]["text"] == "nude child" and rows[1]["line"] == 2
    jsonl = tmp_path / "prompts.jsonl"
    jsonl.write_text(
        '{"text": "kids at the beach"}\n{"text": "ｎｕｄｅ ｃｈｉｌｄ"}\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["guard", "--file", str(jsonl)])
    assert result.exit_code == 2
    decisions = [
        json.loads(line)["decision"] for line in result.stdout.splitlines() if line.startswith("{")
    ]
    assert decisions == ["allow", "block"]


def test_guard_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["guard"])
    assert result.exit_code != 0 and "one prompt" in str(result.exception or result.output)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"txt": "x"}\n', encoding="utf-8")
    result = runner.invoke(app, ["guard", "--file", str(bad)])
    assert result.exit_code != 0 and "text" in str(result.exception)


def test_guard_file_with_json_nested_too_deeply_is_an_error_not_a_traceback(
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "deep.jsonl"
    hostile.write_text('{"text": "a cat"}\n{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    result = runner.invoke(app, ["guard", "--file", str(hostile)])
    assert result.exit_code != 0
    assert "deep.jsonl:2: JSON nested too deeply" in str(result.exception)


def test_guard_policy_option(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[textguard]\nsexual_only = 'block'\n", encoding="utf-8")
    assert runner.invoke(app, ["guard", "--policy", str(policy), "nude woman"]).exit_code == 2


def test_eval_guard_on_a_small_file(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"text": "nude child", "label": "block", "lang": "en", "evasion": "none"},
                {"text": "n u d e child", "label": "block", "lang": "en", "evasion": "spacing"},
                {"text": "a cat", "label": "allow", "lang": "en"},
                {"text": "nude girl", "label": "allow", "lang": "en"},  # review counts as FP
            ]
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["eval", "guard", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["overall"]["recall"] == 1.0
    assert report["overall"]["fpr"] == 0.5
    assert report["by_evasion"]["spacing"]["block"] == 1
    assert report["errors"][0]["text"] == "nude girl"
    text = runner.invoke(app, ["eval", "guard", str(labels)])
    assert "| overall |" in text.output and "misclassified" in text.output


def test_read_labels_errors(tmp_path: Path) -> None:
    from needle.errors import ConfigError

    f = tmp_path / "l.jsonl"
    f.write_text('{"text": "x", "label": "maybe"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r":1: .*block.*allow"):
        read_labels(f)


def test_dev_set_is_what_its_build_script_writes() -> None:
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "build_textguard_dev.py"
    spec = importlib.util.spec_from_file_location("build_textguard_dev", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    assert rows == module.build()


def test_dev_set_acceptance() -> None:
    """Issue 5's bar: recall >= 0.95 on block, false-positive rate <= 0.02 on benign."""
    rows = read_labels(DEV)
    langs = {r.lang for r in rows} - {"coded", "emoji", "mixed"}
    assert len(langs) >= 25
    for lang in langs:
        labels = {r.label for r in rows if r.lang == lang}
        assert labels == {"block", "allow"}, lang
    report = evaluate(rows)
    summary = format_report(report, errors=10)
    assert report.overall.recall is not None and report.overall.recall >= 0.95, summary
    assert report.overall.fpr is not None and report.overall.fpr <= 0.02, summary
    for lang, counts in report.by_language.items():
        assert counts.fpr is None or counts.fpr <= 0.15, (lang, summary)
