"""scan jobs name the process running them

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00

A second scan of the same roots used to join a running job and fail on its first duplicate
record. Jobs now record their owner and a heartbeat; a job without them (every job of an
older release) is treated as having no live owner.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan_job", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("owner")
