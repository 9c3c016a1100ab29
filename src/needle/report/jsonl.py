"""One JSON object per file of a scan job, written atomically (temp file, then rename).

Fields: ``path``, ``size``, ``md5``, ``sha1``, ``sha256``, ``pdq``, ``pdq_quality``,
``matches`` (``bank``, ``signal_type``, ``value``, ``distance``, ``threshold``, ``transform``,
``labels``), ``error``, ``error_reason``, image ``format``/``width``/``height``, and the
results of later stages when they ran (``priority``, ``reasons``, ``classifications``, ...).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from needle.store import Store

__all__ = ["write_jsonl"]


def write_jsonl(store: Store, job_id: int, path: str | Path) -> int:
    """Write every record of ``job_id`` to ``path`` (``-`` for stdout). Returns the count."""
    if str(path) == "-":
        count = 0
        for record in store.iter_records(job_id):
            print(json.dumps(record.to_dict(), ensure_ascii=False))
            count += 1
        return count
    target = Path(path)
    temp = target.with_name(f".{target.name}.tmp")
    count = 0
    with open(temp, "w", encoding="utf-8") as handle:
        for record in store.iter_records(job_id):
            handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    return count
