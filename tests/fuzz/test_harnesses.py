"""Every fuzz harness (fuzz/) runs for a few seconds from its seed corpus and finds nothing.

A short run cannot find much that a long one would (``make fuzz``, bench/fuzz_campaign.py);
what it does catch: a harness that no longer imports or calls needle's public API, a seed
that crashes needle (every seed runs first), a regression the mutations reach at once. A
failure names the harness, what stopped it and the saved input, under fuzz/crashes/, with
the command that replays it.

``NEEDLE_FUZZ_TEST_SECONDS`` sets the time per harness (default 3); the harnesses instrument
needle only (``NEEDLE_FUZZ_INSTRUMENT=needle``), which starts them several times faster.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "fuzz"
SECONDS = float(os.environ.get("NEEDLE_FUZZ_TEST_SECONDS", "3"))

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="needs atheris (the dev extra: pip install -e '.[dev]')",
)


def _load(name: str) -> ModuleType:
    """A module of fuzz/ (a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"needle_fuzz_{name}", FUZZ / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


runner = _load("runner")

#: harnesses that stop on a known bug, one of their seeds being the input that shows it; the
#: regression test beside the fix's module is marked the same way
KNOWN_BUGS: dict[str, str] = {}


@pytest.fixture(scope="module")
def seed_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _load("seeds").write(tmp_path_factory.mktemp("seeds"))  # type: ignore[no-any-return]


def test_every_harness_is_listed_and_seeded(seed_folders: dict[str, Path]) -> None:
    modules = {p.stem for p in FUZZ.glob("*.py") if not p.stem.startswith("_")} - {
        "runner",
        "seeds",
    }
    assert modules == set(runner.HARNESSES)
    for name in runner.HARNESSES:
        assert any(seed_folders[name].iterdir()), f"{name} has no seeds"


@pytest.mark.parametrize(
    "harness",
    [
        pytest.param(h, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[h]))
        if h in KNOWN_BUGS
        else h
        for h in runner.HARNESSES
    ],
)
def test_harness_finds_nothing(
    harness: str, seed_folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEEDLE_FUZZ_INSTRUMENT", "needle")
    run = runner.run_harness(
        harness,
        corpus=tmp_path / "corpus",
        seeds=[seed_folders[harness]],
        artifacts=FUZZ / "crashes",
        seconds=SECONDS,
        # twice make fuzz's per-input limit: the suite shares its cores with other work
        timeout=2 * runner.TIMEOUT_S,
        # one mutation sequence every run: the suite explores the same inputs each time (a
        # slower machine a shorter prefix of them), so it passes or fails alike in CI
        extra=["-seed=1"],
    )
    assert run.ok, run.problem()
    assert run.executions > 0, run.problem()
