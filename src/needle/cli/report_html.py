"""``needle report html``: the offline triage report of a scan (HTML, CSV, JSONL)."""

from __future__ import annotations

__all__ = ["command"]


def command() -> None:
    """Write the triage report."""
