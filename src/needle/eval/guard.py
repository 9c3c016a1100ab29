"""Evaluating the text guard (``needle.textguard``) on labelled texts: precision, recall,
false-positive rate.

In: JSON Lines with ``text`` and ``label`` (``block`` or ``allow``), optionally ``lang`` and
``evasion`` (used to break the numbers down; when ``lang`` is absent the guard's first
recognised language is used). Out: a :class:`Report` with counts overall, per language and per
evasion kind, and the misclassified lines.

How decisions are counted (a reviewer's time is a cost, so ``review`` on benign text counts
against the guard, but only ``block`` counts as catching a ``block`` line):

- **recall** = block lines decided ``block`` / block lines
- **precision** = block lines decided ``block`` / lines decided ``block``
- **false-positive rate** = allow lines decided ``block`` *or* ``review`` / allow lines
- **flagged** = block lines decided ``block`` or ``review`` / block lines (what a
  review-everything-flagged deployment would catch)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from needle.errors import ConfigError
from needle.jsonvalue import JSONObject
from needle.textguard import Guard

__all__ = ["Counts", "Labelled", "Report", "evaluate", "format_report", "read_labels"]

LABELS = ("block", "allow")


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    label: str
    lang: str | None = None
    evasion: str | None = None
    line: int = 0


@dataclass(slots=True)
class Counts:
    """Decisions on block-labelled and allow-labelled lines."""

    block: int = 0  # lines labelled block
    allow: int = 0  # lines labelled allow
    caught: int = 0  # block -> block
    flagged: int = 0  # block -> review
    false_block: int = 0  # allow -> block
    false_review: int = 0  # allow -> review

    def add(self, label: str, decision: str) -> None:
        if label == "block":
            self.block += 1
            self.caught += decision == "block"
            self.flagged += decision == "review"
        else:
            self.allow += 1
            self.false_block += decision == "block"
            self.false_review += decision == "review"

    @property
    def recall(self) -> float | None:
        return self.caught / self.block if self.block else None

    @property
    def flagged_rate(self) -> float | None:
        return (self.caught + self.flagged) / self.block if self.block else None

    @property
    def precision(self) -> float | None:
        decided = self.caught + self.false_block
        return self.caught / decided if decided else None

    @property
    def fpr(self) -> float | None:
        return (self.false_block + self.false_review) / self.allow if self.allow else None

    def to_dict(self) -> JSONObject:
        return {
            "block": self.block,
            "allow": self.allow,
            "caught": self.caught,
            "flagged": self.flagged,
            "false_block": self.false_block,
            "false_review": self.false_review,
            "recall": self.recall,
            "flagged_rate": self.flagged_rate,
            "precision": self.precision,
            "fpr": self.fpr,
        }


@dataclass(slots=True)
class Report:
    overall: Counts = field(default_factory=Counts)
    by_language: dict[str, Counts] = field(default_factory=dict)
    by_evasion: dict[str, Counts] = field(default_factory=dict)
    errors: list[tuple[Labelled, str, float]] = field(default_factory=list)

    def to_dict(self) -> JSONObject:
        return {
            "overall": self.overall.to_dict(),
            "by_language": {k: v.to_dict() for k, v in sorted(self.by_language.items())},
            "by_evasion": {k: v.to_dict() for k, v in sorted(self.by_evasion.items())},
            "errors": [
                {"line": row.line, "text": row.text, "label": row.label, "decision": d, "score": s}
                for row, d, s in self.errors
            ],
        }


def read_labels(path: str | Path) -> list[Labelled]:
    """Read a labels file; a malformed line is an error naming the line and what to fix."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"labels file {p} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"labels file {p} is not UTF-8: {exc}") from exc
    rows = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}:{number}: not a JSON object ({exc.msg})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise ConfigError(f'{p}:{number}: each line needs a "text" string')
        label = data.get("label")
        if label not in LABELS:
            raise ConfigError(f'{p}:{number}: "label" must be "block" or "allow", not {label!r}')
        lang = data.get("lang")
        evasion = data.get("evasion")
        rows.append(
            Labelled(
                data["text"],
                str(label),
                str(lang) if lang else None,
                str(evasion) if evasion else None,
                number,
            )
        )
    if not rows:
        raise ConfigError(f"labels file {p} has no labelled lines")
    return rows


def evaluate(rows: Iterable[Labelled], guard: Guard | None = None) -> Report:
    """Run the guard over labelled rows and count its decisions."""
    g = guard or Guard()
    report = Report()
    for row in rows:
        result = g.check(row.text)
        decision = result.decision
        lang = row.lang or (result.languages[0] if result.languages else "und")
        evasion = row.evasion or "none"
        report.overall.add(row.label, decision)
        report.by_language.setdefault(lang, Counts()).add(row.label, decision)
        report.by_evasion.setdefault(evasion, Counts()).add(row.label, decision)
        wrong = (row.label == "block" and decision != "block") or (
            row.label == "allow" and decision != "allow"
        )
        if wrong:
            report.errors.append((row, decision, result.score))
    return report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _table(title: str, items: list[tuple[str, Counts]]) -> list[str]:
    lines = [
        f"| {title} | block | allow | recall | flagged | precision | FPR |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, c in items:
        lines.append(
            f"| {name} | {c.block} | {c.allow} | {_pct(c.recall)} | {_pct(c.flagged_rate)} | "
            f"{_pct(c.precision)} | {_pct(c.fpr)} |"
        )
    return lines


def format_report(report: Report, *, errors: int = 20) -> str:
    """Markdown tables: overall, per language, per evasion; then up to ``errors`` mistakes."""
    lines = _table("set", [("overall", report.overall)])
    lines.append("")
    lines += _table("language", sorted(report.by_language.items()))
    lines.append("")
    lines += _table("evasion", sorted(report.by_evasion.items()))
    if errors and report.errors:
        lines.append("")
        lines.append(
            f"misclassified ({len(report.errors)}; first {min(errors, len(report.errors))}):"
        )
        for row, decision, score in report.errors[:errors]:
            lines.append(f"  line {row.line}: {row.label} -> {decision} ({score:.2f}) {row.text!r}")
    return "\n".join(lines)
