"""Measuring needle's detectors on the user's own labelled data.

- ``needle.eval.guard``: the text guard on labelled prompts (precision, recall, false-block
  rate overall, per language and per evasion kind): ``needle eval guard``.
- ``needle.eval.perturb``: the text guard's adversarial harness, every labelled line rewritten
  by every evasion transform of ``needle.eval.transforms``: ``needle eval guard --perturb``.
- ``needle.eval.models``: the classifiers on labelled images (apparent-age error by age band;
  explicit-content ROC AUC and precision/recall at the policy's thresholds):
  ``needle eval age`` and ``needle eval explicit``.
- ``needle.eval.ai``: an AI-image detector on files labelled real or generated: the threshold
  at a false-positive rate on the user's real files, the true-positive rate there, and both
  per JPEG quality, size and source, written as the calibration the assessment reads:
  ``needle eval ai``.

Evaluation reads stages; no stage imports it (the flow runs one way). Each module keeps its
own names (each has a ``read_labels``), so they are reached through the module.
"""

from __future__ import annotations

from needle.eval import ai, guard, models, perturb, transforms

__all__ = ["ai", "guard", "models", "perturb", "transforms"]
