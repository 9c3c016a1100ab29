"""Reports read from the store, for people outside needle.

- ``needle.report.cybertip``: NCMEC CyberTipline reports, one per reported account, previewed
  and sent with every step kept and audited (imported on use: sending needs the ``report``
  extra).
- ``needle.report.vics``: Project VIC VICS 1.3 / 2.0 exports of reviewed items.
- ``needle.report.triage``: the offline triage report of a scan (one self-contained HTML file,
  CSV and JSONL of every row).
- ``needle.report.jsonl``: the JSONL export of a scan's records.
"""

from __future__ import annotations

from needle.report.jsonl import write_jsonl
from needle.report.triage import write_triage_report
from needle.report.vics import build_vics, write_vics

__all__ = ["build_vics", "write_jsonl", "write_triage_report", "write_vics"]
