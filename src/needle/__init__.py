"""needle: triage of known and novel abuse material, provenance, and generator guards.

The flow runs one way (docs/architecture.md): in worker processes read -> decode -> signals
-> classify -> provenance -> text guard; in the scan process match -> assess -> store; then
review and reports. Each stage is a subpackage named for the noun it produces.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
