"""The compiled text guard (mypyc, built by setup.py) answers exactly as its Python source, and
a stale or unwanted build falls back to the source instead of running old code."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import needle.textguard as textguard
from needle import _compiled

PACKAGE_DIR = Path(textguard.__file__).parent
DATA = Path(__file__).resolve().parent.parent / "data" / "textguard"

COMPILED_FILES = [
    path
    for name in _compiled.TEXTGUARD
    if (path := _compiled._paths(PACKAGE_DIR, name)[1]) is not None
]


def _needs_compiled() -> None:
    if COMPILED_FILES:
        return
    if os.environ.get("NEEDLE_EXPECT_COMPILED") == "1":
        pytest.fail(
            "NEEDLE_EXPECT_COMPILED=1 but the text guard was not compiled: see the build log "
            "of `pip install -e .` (mypyc, a C compiler)"
        )
    pytest.skip("the text guard is not compiled in this install (NEEDLE_COMPILE=0 or no compiler)")


def _texts() -> list[str]:
    texts = [
        json.loads(line)["text"]
        for name in ("dev.jsonl", "holdout.jsonl")
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    rng = random.Random(11)
    words = "masterpiece, (portrait:1.2), girl, 19yo, nude, [child], BREAK, 12歳, ребенок, nаkеd"
    parts = words.split(", ")
    texts += [", ".join(rng.choice(parts) for _ in range(rng.randint(5, 120))) for _ in range(60)]
    texts += ["", " ", "\x00\ud800 n\u200bu\u200bd\u200be", "ｎｕｄｅ ｃｈｉｌｄ" * 50]
    texts += ["nude girl", "nude woman with a child"]  # review, per docs/textguard.md
    return texts


_DUMP = """
import json, sys
import needle.textguard as tg
texts = json.loads(sys.stdin.read())
print(tg.IMPLEMENTATION)
print(json.dumps([tg.check(t).to_dict() for t in texts], sort_keys=True))
"""


def _run_dump(texts: list[str], env: dict[str, str]) -> tuple[str, str, list[object]]:
    proc = subprocess.run(
        [sys.executable, "-c", _DUMP],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    implementation, results = proc.stdout.split("\n", 1)
    return implementation, proc.stderr, json.loads(results)


def _copy_build(src: Path) -> None:
    """needle with its compiled modules and their shared library, copied under ``src``."""
    shutil.copytree(PACKAGE_DIR.parent, src / "needle")
    for library in PACKAGE_DIR.parent.parent.glob("needle_textguard__mypyc*"):
        shutil.copy(library, src / library.name)


def test_the_built_modules_are_the_ones_running() -> None:
    _needs_compiled()
    assert textguard.IMPLEMENTATION == "compiled (mypyc)"
    for name in _compiled.TEXTGUARD:
        module = sys.modules[f"needle.textguard.{name}"]
        assert not str(module.__file__).endswith(".py"), module.__file__


def test_compiled_and_pure_python_give_identical_results() -> None:
    _needs_compiled()
    texts = _texts()
    pure_env = {**os.environ, _compiled.PURE_ENV: "1"}
    implementation, _, pure = _run_dump(texts, pure_env)
    assert implementation == f"pure Python ({_compiled.PURE_ENV} is set)"
    compiled = json.loads(json.dumps([textguard.check(t).to_dict() for t in texts], sort_keys=True))
    assert len(compiled) == len(pure) == len(texts)
    differing = [t for t, a, b in zip(texts, compiled, pure, strict=True) if a != b]
    assert differing == []
    assert {r["decision"] for r in compiled} == {"allow", "review", "block"}  # not all alike


def test_a_source_changed_after_compiling_runs_from_source(tmp_path: Path) -> None:
    _needs_compiled()
    src = tmp_path / "src"
    _copy_build(src)
    edited = src / "needle" / "textguard" / "detect.py"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop(_compiled.PURE_ENV, None)
    implementation, stderr, results = _run_dump(["nude child", "a cat on a sofa"], env)
    assert implementation == "pure Python (detect.py changed after it was compiled)"
    assert "RuntimeWarning" in stderr and "make setup" in stderr
    assert [r["decision"] for r in results] == ["block", "allow"]  # type: ignore[index]


def test_an_unchanged_copy_of_the_build_runs_compiled(tmp_path: Path) -> None:
    """What an installer does: files copied anew, modification times not kept."""
    _needs_compiled()
    src = tmp_path / "src"
    _copy_build(src)
    for path in (src / "needle" / "textguard").rglob("*.py"):
        os.utime(path)  # sources newer than the extensions
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop(_compiled.PURE_ENV, None)
    implementation, stderr, results = _run_dump(["nude child"], env)
    assert implementation == "compiled (mypyc)"
    assert "Warning" not in stderr
    assert [r["decision"] for r in results] == ["block"]  # type: ignore[index]


def test_pure_python_is_reported_where_nothing_is_compiled(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(PACKAGE_DIR.parent, src / "needle", ignore=shutil.ignore_patterns("*.so"))
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop(_compiled.PURE_ENV, None)
    implementation, stderr, results = _run_dump(["nude child"], env)
    assert implementation == "pure Python (not compiled)"
    assert "Warning" not in stderr
    assert [r["decision"] for r in results] == ["block"]  # type: ignore[index]


def test_results_of_the_compiled_guard_cross_process_boundaries() -> None:
    import pickle

    result = textguard.check("nude child, 12yo")
    again = pickle.loads(pickle.dumps(result))
    assert again == result
    assert again.evidence[0] == result.evidence[0]
    assert pickle.loads(pickle.dumps(result.policy)) == result.policy
