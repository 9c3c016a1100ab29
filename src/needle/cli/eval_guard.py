"""``needle eval guard LABELS.jsonl``: precision, recall and false-positive rate of the guard;
with ``--perturb``, the same lines rewritten by every evasion transform."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from needle.eval.guard import evaluate, format_report, read_labels
from needle.eval.perturb import format_perturb_report, perturb, write_worst
from needle.textguard import Guard, GuardPolicy

__all__ = ["command"]


def command(
    labels: Path = typer.Argument(
        ..., help='JSON Lines: "text", "label" (block or allow), optional "lang" and "evasion".'
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    policy: Path | None = typer.Option(
        None, "--policy", help="TOML file with a [textguard] table."
    ),
    model: Path | None = typer.Option(None, "--model", help="Combine a local ONNX classifier."),
    tokenizer: Path | None = typer.Option(None, "--tokenizer", help="tokenizer.json for --model."),
    errors: int = typer.Option(20, "--errors", min=0, help="List up to N misclassified lines."),
    perturb_lines: bool = typer.Option(
        False, "--perturb", help="Rewrite every line with every evasion transform and measure."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the rewrites (--perturb)."),
    variants: int = typer.Option(
        3, "--variants", min=1, help="Rewrites per line and transform (--perturb)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the worst rewrites as JSON Lines (--perturb)."
    ),
) -> None:
    """Measure the text guard on your own labelled texts, locally.

    Prints recall (block lines blocked), flagged (block lines blocked or sent to review),
    precision, and false-positive rate (allow lines blocked or sent to review), overall, per
    language ("lang", or the language the guard recognised) and per evasion kind ("evasion").

    With --perturb, every block and allow line is rewritten by each evasion transform
    (masking, spelling, dropped vowels, respellings, repeats, mixed scripts, emoji,
    reversal, invisible and combining characters, glued words, split tags, prompt syntax,
    leetspeak; seeded, --variants each), and recall and false blocks are printed per
    transform and per language; --out writes the worst rewrites.

    The development set needle is tuned on: tests/data/textguard/dev.jsonl

    Example: needle eval guard tests/data/textguard/dev.jsonl --perturb --out worst.jsonl
    """
    rows = read_labels(labels)
    classifier = None
    if model is not None:
        from needle.textguard.model import OnnxTextClassifier

        classifier = OnnxTextClassifier(model, tokenizer=tokenizer)
    guard = Guard(GuardPolicy.from_toml(policy) if policy else None, classifier)
    if perturb_lines:
        harness = perturb(rows, guard, seed=seed, variants=variants)
        if out is not None:
            write_worst(harness, out)
        if as_json:
            typer.echo(json.dumps(harness.to_dict(), ensure_ascii=False))
        else:
            typer.echo(format_perturb_report(harness, worst=errors))
        return
    report = evaluate(rows, guard)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    typer.echo(format_report(report, errors=errors))
