"""Reviewed items for the CyberTipline tests: benign synthesised pictures, decisions recorded.

Nothing here shows anything but gradients and rectangles (``conftest.synth_image``); what makes
an item reportable is the decision written for it (``abuse-real``, ``abuse-ai``), never what
it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conftest import image_bytes, synth_image
from needle.review import add_to_case, decide, set_case_details
from needle.store import Store
from review.flagged import file_ids, flagged, store_flagged

REVIEWER = "rev"
ACCOUNT = {
    "esp_user_id": "u-100",
    "screen_name": "user100",
    "email": "u100@example.com",
    "display_name": "User 100",
    "profile_url": "https://example.com/u/100",
    "ip": "192.0.2.10",
    "signed_up": "2024-01-01",
}


@dataclass(frozen=True)
class Seeded:
    folder: Path
    ids: dict[str, int]
    data: dict[str, bytes]


def seed(store: Store, tmp_path: Path) -> Seeded:
    """Four files: a (abuse-real, A1) and b (abuse-ai) in case acct-1 with d (not abuse);
    c (abuse-real, B2, its metadata claims a generator) in no case. Case acct-2 is an account
    with details and no files."""
    folder = tmp_path / "media"
    folder.mkdir()
    data: dict[str, bytes] = {}
    records = []
    for seed_no, name in enumerate("abcd"):
        data[name] = image_bytes(synth_image(100 + seed_no, (96, 64)))
        (folder / f"{name}.jpg").write_bytes(data[name])
        records.append(
            flagged(
                str(folder / f"{name}.jpg"), "high", data=data[name], with_provenance=name == "c"
            )
        )
    job = store_flagged(store, [str(folder)], records)
    ids = {Path(path).stem: file_id for path, file_id in file_ids(store, job).items()}
    decide(store, ids["a"], "abuse-real", "", REVIEWER, classification="A1")
    decide(store, ids["b"], "abuse-ai", "", REVIEWER)
    decide(store, ids["c"], "abuse-real", "", REVIEWER, classification="B2")
    decide(store, ids["d"], "not-abuse", "", REVIEWER)
    for name in "abd":
        add_to_case(store, "acct-1", ids[name], REVIEWER)
    set_case_details(store, "acct-1", dict(ACCOUNT), REVIEWER)
    set_case_details(store, "acct-2", {"esp_user_id": "u-200", "screen_name": "user200"}, REVIEWER)
    return Seeded(folder, ids, data)


def write_config(path: Path, base_url: str | None = None, **extra: str) -> Path:
    """An [ncmec] config with a reporter; ``base_url`` points it at a local server."""
    environment = extra.pop("environment", "test")
    lines = ["[ncmec]", f'environment = "{environment}"', 'esp_name = "Example Photos"']
    if base_url:
        lines.append(f'base_url = "{base_url}"')
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    lines += [
        "publicly_available = false",
        "[ncmec.reporter]",
        'first_name = "Sam"',
        'last_name = "Doe"',
        'email = "reports@example.org"',
        'phone = "+1 555 0100"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
