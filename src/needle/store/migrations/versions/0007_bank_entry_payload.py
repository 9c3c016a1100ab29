"""bank entry payload: the whole value of an entry keyed by its digest (vPDQ); video shares

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 10:00:00

A vPDQ entry's value is a whole video's frame hashes (kilobytes), more than ``value``
(``String(512)``, part of the unique key) holds: such an entry keeps the value's sha256 in
``value`` and the value itself in ``payload`` (``needle.store.store``). Null for every other
entry. Each bank gets the two shares a video match needs (``vpdq_query_percent``, 80, and
``vpdq_compared_percent``, 0: the vPDQ reference Python bindings' defaults).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bank_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
    with op.batch_alter_table("bank", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vpdq_query_percent", sa.Float(), nullable=False, server_default="80")
        )
        batch_op.add_column(
            sa.Column("vpdq_compared_percent", sa.Float(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("bank", schema=None) as batch_op:
        batch_op.drop_column("vpdq_compared_percent")
        batch_op.drop_column("vpdq_query_percent")
    with op.batch_alter_table("bank_entry", schema=None) as batch_op:
        batch_op.drop_column("payload")
