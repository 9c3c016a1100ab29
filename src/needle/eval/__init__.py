"""Measuring needle's detectors on the user's own labelled data.

- ``needle.eval.guard``: the text guard on labelled prompts (precision, recall, false-block
  rate overall, per language and per evasion kind): ``needle eval guard``.
- ``needle.eval.models``: the classifiers on labelled images (apparent-age error by age band;
  explicit-content ROC AUC and precision/recall at the policy's thresholds):
  ``needle eval age`` and ``needle eval explicit``.

Evaluation reads stages; no stage imports it (the flow runs one way). Each module keeps its
own names (both have a ``read_labels``), so they are reached through the module.
"""

from __future__ import annotations

from needle.eval import guard, models

__all__ = ["guard", "models"]
