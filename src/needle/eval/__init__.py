"""Measuring needle's detectors on the user's own labelled data.

Evaluation reads stages; no stage imports it (the flow runs one way).
"""

from __future__ import annotations

__all__: list[str] = []
