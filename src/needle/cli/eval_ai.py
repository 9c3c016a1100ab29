"""``needle eval ai LABELS.jsonl``: calibrate an AI-image detector on your own files.

Runs the configured detector on every labelled file, as a scan would, chooses the threshold
that flags the wanted share of your real files, prints how it does there (overall, per JPEG
quality, size and source) and writes the calibration file that the assessment policy reads
(``ai_image_calibration``). The images never leave this machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from needle.classify import load_classifiers
from needle.classify.config import ClassifyConfig, load_config
from needle.cli._common import console, err_console
from needle.cli.eval_models import _num, _pct, _print_problems, _progress
from needle.errors import ConfigError
from needle.eval.ai import DEFAULT_FPR, AiReport, calibrate, write_calibration

__all__ = ["command"]


def command(
    labels: Path = typer.Argument(
        ..., help='JSON Lines: "path", "label" (real or generated), optional "source".'
    ),
    classifier_config: Path = typer.Option(
        ...,
        "--classifier-config",
        help='TOML with the detector\'s [classifiers.NAME] table (type = "onnx").',
    ),
    out: Path = typer.Option(..., "--out", help="Where to write the calibration (JSON)."),
    fpr: float = typer.Option(
        DEFAULT_FPR, "--fpr", help="False-positive rate wanted on your real files (0.01: 1 %)."
    ),
    classifier: str | None = typer.Option(
        None, "--classifier", help="Which configured classifier is the detector."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    threads: int = typer.Option(0, "--threads", min=0, help="onnxruntime threads (0: all cores)."),
) -> None:
    """Calibrate an AI-image detector on your own labelled files.

    LABELS.jsonl has one file a line: {"path": "...", "label": "real" or "generated",
    "source": "..."} (source optional; paths relative to the labels file). The detector is a
    classifier of --classifier-config that gives an ai_image score (docs/ai-detectors.md).
    Prints the ROC AUC, the threshold that flags at most --fpr of your real files, the share of
    generated files caught there, and both per JPEG quality, size and source; writes all of it
    to --out. Put that path in your assessment policy (ai_image_calibration): without a
    calibration of the exact model, the assessment does not use the detector's score.

    Example: needle eval ai labels.jsonl --classifier-config needle.toml --out cf.json
    """
    config = load_config(classifier_config)
    name = _detector_name(config, classifier, classifier_config)
    (detector,) = load_classifiers([name], config, threads=threads, load=True)
    with _progress(as_json) as update:
        report = calibrate(labels, detector, fpr=fpr, progress=update)
    write_calibration(report.calibration, out)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    _print(report, out)


def _detector_name(config: ClassifyConfig, chosen: str | None, path: Path) -> str:
    """The classifier to calibrate: the one named, the only one configured, or the only one
    configured with an ``ai_image_label``."""
    if chosen is not None:
        return chosen
    names = list(config.classifiers)
    if len(names) == 1:
        return names[0]
    labelled = [n for n, options in config.classifiers.items() if "ai_image_label" in options]
    if len(labelled) == 1:
        return labelled[0]
    if not names:
        raise ConfigError(f"{path} defines no [classifiers.NAME] table for the detector")
    raise ConfigError(
        f"{path} defines several classifiers ({', '.join(names)}); name the AI-image "
        "detector with --classifier"
    )


def _print(report: AiReport, out: Path) -> None:
    k = report.calibration
    _print_problems(report.problems, report.unreadable)
    console.print(
        f"[bold]AI-image detector {k.detector} ({k.model} {k.model_version}, model sha256 "
        f"{k.model_sha256[:12]}…)[/]: {k.measured} of {k.files} files measured, "
        f"{k.real} real and {k.generated} generated"
    )
    console.print(f"ROC AUC, generated vs real: {_num(k.auc)}")
    console.print(
        f"threshold for {k.target_fpr * 100:.3g} % false positives on your real files: "
        f"{k.threshold:.3f}; there {_pct(k.fpr)} of real files are flagged and "
        f"{_pct(k.tpr)} of generated files are caught"
    )
    table = Table(header_style="bold")
    for column in ("by", "band", "real", "generated", "FPR", "TPR", "ROC AUC"):
        table.add_column(column, justify="left" if column in ("by", "band") else "right")
    for b in k.breakdown:
        table.add_row(
            b.group.replace("_", " "),
            b.band,
            str(b.real),
            str(b.generated),
            _pct(b.fpr),
            _pct(b.tpr),
            _num(b.auc),
        )
    console.print(table)
    for warning in k.warnings:
        err_console.print(f"[yellow]warning: {warning}[/]")
    console.print(
        f'wrote {out}; to use it, add to your assessment policy: ai_image_calibration = "{out}"',
        soft_wrap=True,
    )
