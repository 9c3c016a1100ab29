"""needle: triage of known and novel abuse material, provenance, and generator guards.

The flow runs one way (see DESIGN.md): media -> signals -> matches -> classification ->
provenance -> assessment -> store -> review/report. Each stage is a subpackage named for
the noun it produces.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
