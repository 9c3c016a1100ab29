"""The audit log of ``needle serve``: every sign-in, view, reveal, decision, export and admin
action, appended as a hash chain that ``verify`` checks (``needle audit verify``).

In: who did what to which item, from where. Out: ``AuditEntry`` rows, and ``AuditBreak``s
naming the first row that was edited, deleted or reordered.
"""

from __future__ import annotations

from needle.audit.chain import GENESIS, AuditBreak, AuditEntry, AuditLog, entry_hash

__all__ = ["GENESIS", "AuditBreak", "AuditEntry", "AuditLog", "entry_hash"]
