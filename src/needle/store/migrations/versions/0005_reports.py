"""reports: a decision's industry classification, cases' account details, submissions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:35:19

For ``needle report``: NCMEC CyberTipline reports carry the classification a reviewer set
(A1/A2/B1/B2) and the reported account's details; every submission and each of its steps'
answers is kept.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_detail",
        sa.Column("case_name", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_name"),
    )
    op.create_table(
        "report_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("case_name", sa.String(length=200), nullable=True),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=True),
        sa.Column("file_ids", sa.JSON(), nullable=False),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_submission_case_name"), ["case_name"], unique=False
        )

    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("classification", sa.String(length=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.drop_column("classification")

    with op.batch_alter_table("report_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_submission_case_name"))

    op.drop_table("report_submission")
    op.drop_table("case_detail")
