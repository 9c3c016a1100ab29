"""Guard for image-generation services: the signed ledger of guarded requests.

In: each guarded request's record (account, prompt digest, decision, the output's hashes and
watermark payload). Out: ``LedgerEntry`` rows, hash-chained and signed with Ed25519
(``needle.genguard.keys``), and ``LedgerBreak``s naming every edited, deleted, inserted,
reordered or re-signed entry (``needle ledger verify``); signed ``Checkpoint``s a third party
keeps to prove later, with the public key alone, that the ledger was not rewritten.
"""

from __future__ import annotations

from needle.genguard.keys import Signer, Verifier, generate_key, load_signer, load_verifier
from needle.genguard.ledger import (
    GENESIS,
    Checkpoint,
    Ledger,
    LedgerBreak,
    LedgerCheck,
    LedgerEntry,
    LedgerRecord,
    read_export,
    text_digest,
    verify_entries,
)

__all__ = [
    "GENESIS",
    "Checkpoint",
    "Ledger",
    "LedgerBreak",
    "LedgerCheck",
    "LedgerEntry",
    "LedgerRecord",
    "Signer",
    "Verifier",
    "generate_key",
    "load_signer",
    "load_verifier",
    "read_export",
    "text_digest",
    "verify_entries",
]
