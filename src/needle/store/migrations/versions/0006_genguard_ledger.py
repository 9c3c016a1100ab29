"""genguard ledger: signed, hash-chained entries of a generation service's guarded requests

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:20:00

For ``needle.genguard.ledger``: one row per guarded request (prompt, input, output, training
set) with its decision, the output's hashes, and the chain's hash and Ed25519 signature.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "genguard_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("prompt_sha256", sa.String(length=64), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("output_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdq", sa.JSON(), nullable=False),
        sa.Column("payload", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    with op.batch_alter_table("genguard_ledger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_genguard_ledger_request_id"), ["request_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_genguard_ledger_account"), ["account"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_genguard_ledger_output_sha256"), ["output_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_genguard_ledger_payload"), ["payload"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("genguard_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_genguard_ledger_payload"))
        batch_op.drop_index(batch_op.f("ix_genguard_ledger_output_sha256"))
        batch_op.drop_index(batch_op.f("ix_genguard_ledger_account"))
        batch_op.drop_index(batch_op.f("ix_genguard_ledger_request_id"))
    op.drop_table("genguard_ledger")
