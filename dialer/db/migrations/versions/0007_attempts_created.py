"""attempts: an index on when they were made

The CDR reconciliation looks for the attempts of its window (the last two hours, every minute in each
worker) that were closed with no CDR row on either side, to rebuild that row from the attempt. Without
this index that is a scan of every attempt ever made. Built concurrently: writes to attempts go on.

Revision ID: 0007_attempts_created
Revises: 0006_contacts_vacuum
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_attempts_created"
down_revision: str | None = "0006_contacts_vacuum"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index("ix_attempts_created", "attempts", ["created_at"], postgresql_concurrently=True,
                        if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_attempts_created", table_name="attempts", postgresql_concurrently=True, if_exists=True)
