"""``needle classify FILE…``: the classifier scores and the assessment of single files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from needle.assess import Assessment, assess, load_policy
from needle.classify import Classification, registry
from needle.errors import ConfigError
from needle.jsonvalue import JSONObject
from needle.media import walk
from needle.pipeline.worker import FileRecord, ScanOptions, compute_file, preload

__all__ = ["command"]


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
    # the scan's own per-file work, with only the classifiers on: the same decode and models
    options = ScanOptions(
        classify=True,
        classifiers=tuple(names) if names is not None else None,
        classify_config=str(config) if config is not None else None,
        threads=threads,
    )
    preload(options)
    rules = load_policy(policy if policy is not None else config)
    failed = False
    for item in walk([str(f) for f in files]):
        record = compute_file(item, options)
        if record.error is not None:
            failed = True
            _print_error(record, as_json)
            continue
        assessment = assess(classifications=record.classifications, policy=rules)
        if as_json:
            typer.echo(json.dumps(_record(record.path, record.classifications, assessment)))
        else:
            _print(record.path, record.classifications, assessment)
    if failed:
        raise typer.Exit(1)


def _record(path: str, found: tuple[Classification, ...], assessment: Assessment) -> JSONObject:
    return {
        "path": path,
        "classifications": [c.to_dict() for c in found],
        "priority": assessment.priority.label,
        "reasons": [r.text for r in assessment.reasons],
        "assessment": assessment.to_dict(),
    }


def _print_error(record: FileRecord, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"path": record.path, "error": record.error}))
    else:
        typer.echo(record.path)
        typer.secho(f"  error: {record.error}", fg=typer.colors.RED)


_COLOURS = {
    "critical": typer.colors.RED,
    "high": typer.colors.RED,
    "medium": typer.colors.YELLOW,
    "low": typer.colors.CYAN,
    "none": None,
}


def _print(path: str, found: tuple[Classification, ...], assessment: Assessment) -> None:
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
