"""What a scan's parent checks before it starts: classifiers are built (an unknown name or a
missing model file fails at once); a model that exists but cannot be opened is opened by the
worker processes, and stops the scan at the first file with the same message."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import image_bytes, synth_image
from needle.errors import ConfigError
from needle.pipeline.scan import run_scan
from needle.pipeline.worker import ScanOptions, preload
from needle.store import Store


def _options(tmp_path: Path, model: bytes | None) -> ScanOptions:
    if model is not None:
        (tmp_path / "model.onnx").write_bytes(model)
    (tmp_path / "needle.toml").write_text(
        '[classifiers.acme]\ntype = "onnx"\nmodel = "model.onnx"\nlabels = ["a", "b"]\n'
    )
    return ScanOptions(
        classify=True, classifiers=("acme",), classify_config=str(tmp_path / "needle.toml")
    )


def test_a_missing_model_fails_before_the_scan_even_when_models_are_not_opened(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="cannot read model"):
        preload(_options(tmp_path, None), open_models=False)


def test_a_model_that_cannot_be_opened_stops_the_scan_in_the_workers(tmp_path: Path) -> None:
    options = _options(tmp_path, b"not an onnx model")
    preload(options, open_models=False)  # built: the file exists
    case = tmp_path / "case"
    case.mkdir()
    (case / "a.jpg").write_bytes(image_bytes(synth_image(1)))
    with (
        Store(f"sqlite:///{tmp_path / 'n.db'}") as store,
        pytest.raises(ConfigError, match="as an ONNX model"),
    ):
        run_scan([str(case)], store=store, workers=1, options=options)
