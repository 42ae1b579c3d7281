"""call_lists: when a list was withdrawn from its campaign

`dialer lists withdraw` takes a call list out of its campaign: its waiting contacts are excluded at
once, and the compliance gate excludes those that were in a call then when they come up again.
`dialer lists restore` gives them back. NULL: the list is in use.

Revision ID: 0009_call_list_withdrawn
Revises: 0008_subscriber_zones
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_call_list_withdrawn"
down_revision: str | None = "0008_subscriber_zones"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("call_lists", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("call_lists", "withdrawn_at")
