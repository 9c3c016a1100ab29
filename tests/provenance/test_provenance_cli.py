"""``needle provenance`` run in-process, and the result's JSON and summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from needle.provenance import ProvenanceEvidence, ProvenanceResult
from provenance.provenance_helpers import png_with_chunks, text_chunk

PARAMS = "a blue teapot\nNegative prompt: blurry\nSteps: 4, Sampler: Euler, Seed: 1, Model: m1"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, *args)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    root.mkdir()
    (root / "gen.png").write_bytes(png_with_chunks([text_chunk("parameters", PARAMS)]))
    (root / "plain.png").write_bytes(png_with_chunks([]))
    return root


def test_text_output_withholds_the_prompt(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = run(capsys, "provenance", str(folder / "gen.png"))
    assert code == 0
    assert "ai-generated: claimed" in out
    assert "generator metadata: AUTOMATIC1111-compatible, checkpoint m1" in out
    assert "withheld" in out
    assert "blue teapot" not in out
    code, out, _ = run(capsys, "provenance", "--show-prompt", str(folder / "gen.png"))
    assert "prompt: a blue teapot" in out and "negative prompt: blurry" in out


def test_json_lines_for_a_folder(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, out, _ = run(capsys, "provenance", "--json", str(folder))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["gen.png"]["ai_generated"] == "claimed"
    assert by_name["gen.png"]["has_prompt"] is True
    assert "prompt" not in by_name["gen.png"]
    assert by_name["plain.png"]["ai_generated"] == "unknown"
    assert by_name["plain.png"]["summary"].startswith("provenance unknown")
    code, out, _ = run(capsys, "provenance", "--json", "--show-prompt", str(folder / "gen.png"))
    assert json.loads(out)["prompt"] == "a blue teapot"


def test_c2pa_file(capsys: pytest.CaptureFixture[str], testdata: Path) -> None:
    pytest.importorskip("c2pa")
    code, out, _ = run(capsys, "provenance", str(testdata / "provenance" / "c2pa" / "XCA.jpg"))
    assert code == 0
    assert "c2pa: tampered" in out and "assertion.dataHash.mismatch" in out


def test_unreadable_path_exit_code(tmp_path: Path, folder: Path) -> None:
    # through Typer's runner: the verb's own exit code (main() in standalone_mode=False
    # currently drops click's returned exit code; see the report to the lead)
    from typer.testing import CliRunner

    from needle.cli.main import app

    runner = CliRunner()
    missing = runner.invoke(app, ["provenance", str(tmp_path / "missing.png")])
    assert missing.exit_code == 1
    assert "cannot stat" in missing.output
    assert runner.invoke(app, ["provenance", str(folder)]).exit_code == 0


def test_bad_watermark_option(capsys: pytest.CaptureFixture[str], folder: Path) -> None:
    code, _, err = run(capsys, "provenance", "--watermark", "sometimes", str(folder))
    assert code == 3
    assert "--watermark must be one of auto, always, never" in err


def test_trust_anchors_option(
    capsys: pytest.CaptureFixture[str], folder: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "provenance", "--trust-anchors", str(tmp_path / "nope.pem"),
                       str(folder))  # fmt: skip
    assert code == 3 and "cannot read --trust-anchors" in err
    (tmp_path / "empty.pem").write_text("hello")
    code, _, err = run(capsys, "provenance", "--trust-anchors", str(tmp_path / "empty.pem"),
                       str(folder))  # fmt: skip
    assert code == 3 and "holds no PEM certificate" in err


def test_trust_anchors_make_a_signer_trusted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("c2pa")
    from provenance.test_provenance_c2pa import _signed_jpeg

    data, ca_pem = _signed_jpeg()
    (tmp_path / "signed.jpg").write_bytes(data)
    (tmp_path / "ca.pem").write_text(ca_pem)
    _, out, _ = run(capsys, "provenance", str(tmp_path / "signed.jpg"))
    assert "c2pa: untrusted" in out
    _, out, _ = run(capsys, "provenance", "--trust-anchors", str(tmp_path / "ca.pem"),
                    str(tmp_path / "signed.jpg"))  # fmt: skip
    assert "c2pa: trusted" in out


def test_unknown_is_never_real() -> None:
    result = ProvenanceResult()
    assert result.ai_generated == "unknown" and result.camera_claimed is False
    assert "real" not in result.summary()
    data = ProvenanceResult(
        prompt="p", negative_prompt="n",
        evidence=(ProvenanceEvidence("generator", "d", "claimed"),),
    ).to_dict()  # fmt: skip
    assert "prompt" not in data and "negative_prompt" not in data and data["has_prompt"]
