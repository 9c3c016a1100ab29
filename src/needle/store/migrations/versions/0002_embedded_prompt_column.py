"""embedded prompts in a column of their own

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00

Release 0.1.0 kept a file's embedded generator prompt inside ``details`` under the key
``_embedded_prompt`` and relied on exports dropping keys that start with ``_``. The prompt now
has its own column, ``embedded_prompt``, that no export reads; this migration moves every
stored prompt there and removes the key from ``details``. No record is added or removed.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_KEY = "_embedded_prompt"
BATCH = 1000


#: the columns this migration reads and writes
table = sa.table(
    "file_record",
    sa.column("id", sa.Integer),
    sa.column("details", sa.JSON),
    sa.column("embedded_prompt", sa.JSON),
)


def _load(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("file_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("embedded_prompt", sa.JSON(), nullable=True))

    bind = op.get_bind()
    # only rows whose details mention the old key need rewriting; JSON is compared as text
    # (the same cast works on SQLite and PostgreSQL)
    mentions = sa.cast(table.c.details, sa.Text).like(f'%"{OLD_KEY}"%')
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.details)
            .where(table.c.id > last, mentions)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for row_id, raw in rows:
            details = dict(_load(raw) or {})
            prompt = details.pop(OLD_KEY, None)
            bind.execute(
                sa.update(table)
                .where(table.c.id == row_id)
                .values(details=details, embedded_prompt=prompt)
            )
        last = rows[-1][0]


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(table.c.id, table.c.details, table.c.embedded_prompt).where(
            table.c.embedded_prompt.is_not(None)
        )
    ).all()
    for row_id, raw, prompt in rows:
        if _load(prompt) is None:  # JSON null
            continue
        details = dict(_load(raw) or {})
        details[OLD_KEY] = _load(prompt)
        bind.execute(sa.update(table).where(table.c.id == row_id).values(details=details))
    with op.batch_alter_table("file_record", schema=None) as batch_op:
        batch_op.drop_column("embedded_prompt")
