"""``needle eval age`` and ``needle eval explicit``: measure the classifiers on your own data.

Both read a CSV of labelled images and print how well the models do at the thresholds of the
assessment policy. The images never leave this machine and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from needle.assess import load_policy
from needle.classify import load_classifiers
from needle.cli._common import console, err_console
from needle.eval.models import (
    AgeReport,
    ExplicitReport,
    Threshold,
    evaluate_age,
    evaluate_explicit,
)

__all__ = ["age", "explicit"]

_CONFIG = typer.Option(None, "--config", help="TOML with [classifiers.*] tables and [policy].")
_POLICY = typer.Option(None, "--policy", help="Policy TOML whose thresholds are measured.")
_JSON = typer.Option(False, "--json", help="Print the report as JSON.")
_THREADS = typer.Option(0, "--threads", min=0, help="onnxruntime threads (0: all cores).")


def age(
    labels: Path = typer.Argument(..., help="CSV with a header line: path,age"),
    classifiers: str = typer.Option(
        "nudenet,age", "--classifiers", "-c", help="Classifiers to run; must include age."
    ),
    config: Path | None = _CONFIG,
    policy: Path | None = _POLICY,
    whole_image: bool = typer.Option(
        True,
        "--whole-image/--faces-only",
        help="Age an image with no detected face as one face filling it (face-crop datasets).",
    ),
    as_json: bool = _JSON,
    threads: int = _THREADS,
) -> None:
    """Measure the apparent-age model against known ages.

    LABELS.csv has a header line and one image per line: path,age (years; paths relative to
    the CSV). The largest face of each image is aged. Prints the mean absolute error, per age
    band the error and the share of faces put on the right side of 18, the ROC AUC of the
    minor likelihood for telling minors from adults, and precision and recall at the
    policy's minor_review and minor_possible thresholds.

    Example: needle eval age labels.csv --policy policy.toml
    """
    models = load_classifiers(
        [n for n in classifiers.split(",") if n.strip()], config, threads=threads, load=True
    )
    rules = load_policy(policy if policy is not None else config)
    with _progress(as_json) as update:
        report = evaluate_age(labels, models, rules, whole_image=whole_image, progress=update)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_age(report)


def explicit(
    labels: Path = typer.Argument(..., help="CSV with a header line: path,label"),
    classifiers: str = typer.Option(
        "nudenet", "--classifiers", "-c", help="Classifiers to run (the highest score counts)."
    ),
    score: str = typer.Option("explicit", "--score", help="Which score to measure."),
    config: Path | None = _CONFIG,
    policy: Path | None = _POLICY,
    as_json: bool = _JSON,
    threads: int = _THREADS,
) -> None:
    """Measure the explicit-content score against labels.

    LABELS.csv has a header line and one image per line: path,label with label 1/0,
    true/false, yes/no or explicit/benign (paths relative to the CSV). Prints the ROC AUC,
    and precision, recall and accuracy at the policy's explicit_review and
    explicit_possible thresholds. Use it to choose those thresholds for your material.

    Example: needle eval explicit labels.csv --json
    """
    models = load_classifiers(
        [n for n in classifiers.split(",") if n.strip()], config, threads=threads, load=True
    )
    rules = load_policy(policy if policy is not None else config)
    with _progress(as_json) as update:
        report = evaluate_explicit(labels, models, rules, score=score, progress=update)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_explicit(report)


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (none with --json); yields the update callback."""
    columns = (TextColumn("measuring"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, disable=quiet, transient=True) as bar:
        task = bar.add_task("measuring", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _threshold_table(rows: list[Threshold]) -> Table:
    table = Table(header_style="bold")
    for name in ("threshold", "value", "precision", "recall", "accuracy", "TP", "FP", "FN", "TN"):
        table.add_column(name, justify="left" if name == "threshold" else "right")
    for t in rows:
        table.add_row(
            t.name,
            f"{t.threshold:.2f}",
            _pct(t.precision),
            _pct(t.recall),
            _pct(t.accuracy),
            str(t.true_positives),
            str(t.false_positives),
            str(t.false_negatives),
            str(t.true_negatives),
        )
    return table


def _print_problems(problems: list[str], unreadable: list[str]) -> None:
    for line in problems[:10]:
        err_console.print(f"[yellow]skipped {line}[/]")
    for line in unreadable[:10]:
        err_console.print(f"[yellow]not measured: {line}[/]")
    more = len(problems) + len(unreadable) - min(len(problems), 10) - min(len(unreadable), 10)
    if more > 0:
        err_console.print(f"[yellow]... and {more} more (see --json)[/]")


def _print_age(report: AgeReport) -> None:
    _print_problems(report.problems, report.unreadable)
    console.print(
        f"[bold]apparent age ({report.model})[/]: {report.measured} of {report.files} images "
        f"measured ({report.whole_image} aged as a whole-image face)"
    )
    console.print(f"mean absolute error: {_num(report.mae, 2)} years")
    console.print(f"ROC AUC, minor likelihood for minors vs adults: {_num(report.auc)}")
    bands = Table(header_style="bold")
    for name in ("true age", "images", "MAE (years)", "minor/adult right"):
        bands.add_column(name, justify="left" if name == "true age" else "right")
    for b in report.bands:
        bands.add_row(b.band, str(b.count), _num(b.mae, 2), _pct(b.accuracy))
    console.print(bands)
    console.print("apparent minor (positive = true age under 18):")
    console.print(_threshold_table(report.thresholds))


def _print_explicit(report: ExplicitReport) -> None:
    _print_problems(report.problems, report.unreadable)
    console.print(
        f"[bold]{report.score} ({report.model or 'no model answered'})[/]: {report.measured} "
        f"of {report.files} images measured, {report.positives} labelled explicit"
    )
    console.print(f"ROC AUC: {_num(report.auc)}")
    console.print(_threshold_table(report.thresholds))
