"""Reports read from the store: JSONL triage export; NCMEC CyberTipline reports live in
``needle.report.cybertip`` (imported on use: it needs the ``report`` extra to send)."""

from __future__ import annotations

from needle.report.jsonl import write_jsonl

__all__ = ["write_jsonl"]
