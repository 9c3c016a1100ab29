"""``needle classify FILE…``: the classifier scores and the assessment of single files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from needle.assess import Assessment, AssessmentPolicy, assess, load_policy
from needle.classify import (
    Classification,
    Classifier,
    Sample,
    load_classifiers,
    registry,
    run_classifiers,
    sample_from_bytes,
)
from needle.errors import ConfigError, MediaError
from needle.media import Item, walk

__all__ = ["command"]

#: files decoded and classified together
BATCH = 8


def command(
    files: list[Path] | None = typer.Argument(None, help="Files, folders or zip/tar archives."),
    classifiers: str | None = typer.Option(
        None,
        "--classifiers",
        "-c",
        help="Comma-separated classifiers to run (default: nudenet,age and every one your "
        "--config defines). `needle classify --list` shows them.",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="TOML file with [classifiers.NAME] tables (and optionally a [policy] table).",
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="Policy TOML (default: the [policy] in --config, else defaults)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
    threads: int = typer.Option(
        1, "--threads", min=0, help="onnxruntime threads per model (0: all cores)."
    ),
    list_only: bool = typer.Option(False, "--list", help="List the classifier types and exit."),
) -> None:
    """Score images with the classifiers and show what priority they would get.

    The explicit-content detector (NudeNet 320n) and the apparent-age model (dlib + age-v1)
    run locally on the CPU; nothing is sent anywhere unless your --config adds an http
    classifier. Scores are in 0..1; each face gets an apparent age "± spread" and a minor
    likelihood (share of the age estimate under 18 + margin). The priority uses no hash
    banks here (use `needle scan` for those), so "critical" never appears.

    Boxes are fractions of the image's width and height (left, top, right, bottom).

    Examples:

      needle classify photo.jpg

      needle classify folder/ --json --classifiers nudenet

      needle classify upload.png --config needle.toml
    """
    if list_only:
        for plugin in registry:
            mark = "default" if plugin.default else "       "
            typer.echo(f"{plugin.name:10} {mark}  {plugin.summary}")
        return
    if not files:
        raise ConfigError("give at least one file or folder")
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise ConfigError(f"no such file or folder: {', '.join(missing)}")
    names = [n for n in classifiers.split(",") if n.strip()] if classifiers else None
    chosen = load_classifiers(names, config, threads=threads, load=True)
    rules = load_policy(policy if policy is not None else config)
    failed = False
    batch: list[tuple[Item, Sample]] = []
    for item in walk([str(f) for f in files]):
        try:
            batch.append((item, sample_from_bytes(item.read(), path=item.path)))
        except (MediaError, OSError) as exc:
            failed = True
            _print_error(item.path, str(exc), as_json)
            continue
        if len(batch) == BATCH:
            _flush(batch, chosen, rules, as_json)
            batch = []
    if batch:
        _flush(batch, chosen, rules, as_json)
    if failed:
        raise typer.Exit(1)


def _flush(
    batch: list[tuple[Item, Sample]],
    chosen: list[Classifier],
    rules: AssessmentPolicy,
    as_json: bool,
) -> None:
    results = run_classifiers(chosen, [sample for _, sample in batch])
    for (item, _), found in zip(batch, results, strict=True):
        assessment = assess(classifications=found, policy=rules)
        if as_json:
            typer.echo(json.dumps(_record(item.path, found, assessment)))
        else:
            _print(item.path, found, assessment)


def _record(path: str, found: list[Classification], assessment: Assessment) -> dict[str, Any]:
    return {
        "path": path,
        "classifications": [c.to_dict() for c in found],
        "priority": assessment.priority.label,
        "reasons": [r.text for r in assessment.reasons],
        "assessment": assessment.to_dict(),
    }


def _print_error(path: str, message: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"path": path, "error": message}))
    else:
        typer.echo(path)
        typer.secho(f"  error: {message}", fg=typer.colors.RED)


_COLOURS = {
    "critical": typer.colors.RED,
    "high": typer.colors.RED,
    "medium": typer.colors.YELLOW,
    "low": typer.colors.CYAN,
    "none": None,
}


def _print(path: str, found: list[Classification], assessment: Assessment) -> None:
    label = assessment.priority.label
    typer.echo(f"{path}  ", nl=False)
    typer.secho(f"priority {label}", fg=_COLOURS[label], bold=label != "none")
    for c in found:
        head = f"  {c.classifier} ({c.model} {c.version})"
        if c.unavailable:
            typer.secho(f"{head}: unavailable: {c.unavailable}", fg=typer.colors.YELLOW)
            continue
        scores = "  ".join(
            f"{k} {int(v)}" if k == "faces" else f"{k} {v:.2f}" for k, v in c.scores.items()
        )
        typer.echo(f"{head}: {scores}")
        for region in c.regions:
            box = ", ".join(f"{v:.2f}" for v in region.box)
            typer.echo(f"    {region.label.lower()} {region.score:.2f} at ({box})")
        for index, face in enumerate(c.faces, start=1):
            box = ", ".join(f"{v:.2f}" for v in face.box)
            if face.age is None:
                typer.echo(f"    face {index} at ({box})")
                continue
            typer.echo(
                f"    face {index}: apparent age {face.age:.0f} ± {face.age_sd or 0:.0f}, "
                f"minor likelihood {face.minor_likelihood or 0:.2f} ({face.detector}, at {box})"
            )
    for reason in assessment.reasons:
        typer.echo(f"  - {reason.text}")
