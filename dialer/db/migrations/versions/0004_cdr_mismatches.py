"""CDR mismatches already counted, shared by every worker's reconciler

Revision ID: 0004_cdr_mismatches
Revises: 0003_bulk_contacts
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_cdr_mismatches"
down_revision: str | None = "0003_bulk_contacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cdr_mismatches",
        sa.Column("channel_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "kind", name=op.f("pk_cdr_mismatches")),
    )


def downgrade() -> None:
    op.drop_table("cdr_mismatches")
