"""contacts: every zone of the subscriber's numbers, when they are not all in one

A subscriber (the list's id column) may have numbers registered in several time zones (a Moscow mobile
and a Vladivostok one). Where the subscriber lives is unknown, so the calling window must be open in
each of them, as for a number whose own zone is uncertain. The import fills this column for the
subscribers of its campaign whose numbers span more than one zone; NULL otherwise.

Revision ID: 0008_subscriber_zones
Revises: 0007_attempts_created
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0008_subscriber_zones"
down_revision: str | None = "0007_attempts_created"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("subscriber_zones", ARRAY(sa.String(64)), nullable=True))


def downgrade() -> None:
    op.drop_column("contacts", "subscriber_zones")
