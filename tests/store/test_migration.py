"""A database written by the previous release (schema 0001) upgrades with no record lost, and
its embedded prompts move out of ``details`` into their private column."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from needle.store import Store
from needle.store.engine import alembic_config, create_engine

PROMPT = {"prompt": "a lighthouse at dusk", "negative_prompt": "blurry"}


def _old_release_database(url: str, files: int) -> None:
    """What needle 0.1.0 wrote: schema 0001, the prompt under ``details['_embedded_prompt']``."""
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        now = "2026-11-30 12:00:00+00:00"
        connection.execute(
            sa.text(
                "INSERT INTO scan_job (id, roots, fingerprint, options, status, created_at) "
                "VALUES (1, :roots, :fp, :options, 'complete', :now)"
            ),
            {"roots": json.dumps(["/case"]), "fp": "f" * 64, "options": "{}", "now": now},
        )
        for i in range(files):
            details = {"reasons": [{"text": f"reason {i}", "kind": "match"}]}
            if i % 3 == 0:
                details["_embedded_prompt"] = PROMPT
                details["provenance"] = {"generator": "AUTOMATIC1111", "has_prompt": True}
            connection.execute(
                sa.text(
                    "INSERT INTO file_record (id, job_id, path, path_key, size, md5, details, "
                    "priority, created_at) VALUES (:id, 1, :path, :key, :size, :md5, :details, "
                    "'none', :now)"
                ),
                {
                    "id": i + 1,
                    "path": f"/case/{i:04d}.png",
                    "key": f"{i:040d}",
                    "size": i,
                    "md5": f"{i:032x}",
                    "details": json.dumps(details),
                    "now": now,
                },
            )
        connection.execute(
            sa.text(
                "INSERT INTO match (file_id, bank, signal_type, value, distance, threshold, "
                "labels) VALUES (1, 'known', 'md5', :md5, 0, 0, '[]')"
            ),
            {"md5": f"{0:032x}"},
        )
    engine.dispose()


def test_a_previous_release_database_upgrades_without_losing_a_record(db_url: str) -> None:
    files = 2500  # more than one batch of the data migration
    _old_release_database(db_url, files)
    with Store(db_url) as store:
        records = list(store.iter_records(1))
    assert [r.path for r in records] == [f"/case/{i:04d}.png" for i in range(files)]
    assert [r.md5 for r in records] == [f"{i:032x}" for i in range(files)]
    assert [r.reasons[0]["text"] for r in records] == [f"reason {i}" for i in range(files)]
    assert records[0].matches[0].bank == "known"
    with_prompt = [r for r in records if r.embedded_prompt is not None]
    assert len(with_prompt) == len(range(0, files, 3))
    for record in with_prompt:
        assert record.embedded_prompt.prompt == PROMPT["prompt"]  # type: ignore[union-attr]
        assert record.embedded_prompt.negative_prompt == PROMPT["negative_prompt"]  # type: ignore[union-attr]
        assert record.provenance == {"generator": "AUTOMATIC1111", "has_prompt": True}
    for record in records:
        exported = json.dumps(record.to_dict())
        assert PROMPT["prompt"] not in exported and "_embedded_prompt" not in exported


def test_details_keep_no_private_key_after_the_upgrade(db_url: str) -> None:
    _old_release_database(db_url, 6)
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.connect() as connection:
        texts = connection.execute(sa.text("SELECT details FROM file_record")).scalars().all()
    engine.dispose()
    assert texts and all("_embedded_prompt" not in str(t) for t in texts)


def test_the_head_revision_is_alembic_s_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from needle.store.engine import HEAD_REVISION, MIGRATIONS

    scripts = Config()
    scripts.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(scripts).get_current_head() == HEAD_REVISION


def test_a_current_database_opens_without_loading_alembic(tmp_path: Path) -> None:
    """Every command that opens the store saves the 0.2 s Alembic costs to load."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'n.db'}"
    Store(url).close()  # created and migrated
    code = (
        "import sys; from needle.store import Store; "
        f"Store({url!r}).close(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
