"""A scan for triage-report tests: benign synthesised pictures with injected priorities,
bank matches, AI provenance, unreadable files and decisions (see ``report.reviewed``)."""

from __future__ import annotations

from pathlib import Path

from needle.review import decide
from needle.store import Store
from report.reviewed import checkerboard, record, store_job

#: name -> (priority, bank, ai verdict, error reason)
FILES: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "known-a": ("critical", "bank-one", None, None),
    "known-b": ("critical", "bank-one", None, None),
    "known-c": ("critical", "bank-two", None, None),
    "ai-claimed": ("high", None, "claimed", None),
    "ai-likely": ("medium", None, "likely", None),
    "visual": ("high", None, None, None),
    "low": ("low", None, None, None),
    "plain-1": ("none", None, None, None),
    "plain-2": ("none", None, None, None),
    "broken": ("none", None, None, "corrupt"),
    "odd <b>name &amp;": ("low", None, None, "unsupported"),
}


def triage_job(store: Store, root: Path) -> tuple[int, dict[str, int]]:
    """The job's id and name -> file record id; two of the files carry decisions."""
    made = {}
    for seed, (name, (priority, bank, ai, error)) in enumerate(FILES.items()):
        made[name] = record(
            str(root / f"{name}.jpg"), 100 + seed, priority=priority, bank=bank, ai=ai,
            error_reason=error, picture=checkerboard() if name == "known-a" else None,
        )  # fmt: skip
    ids = store_job(store, root, list(made.values()))
    by_name = {name: ids[scan.file.path] for name, (scan, _) in made.items()}
    decide(store, by_name["known-a"], "abuse-real", "", "rita")
    decide(store, by_name["ai-claimed"], "abuse-ai", "", "rita")
    job = store.latest_job()
    assert job is not None
    return job.id, by_name
