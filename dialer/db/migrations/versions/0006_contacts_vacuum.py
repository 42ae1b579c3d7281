"""contacts: vacuumed after a hundredth of the table changed, and always their indexes too

A lease walks the partial index of ready contacts from the oldest due time. Every contact leased,
held back or moved on leaves a dead entry at the head of that index, which each later lease steps
over until a vacuum removes it: with the defaults (a fifth of the table, and index cleanup skipped
when few pages changed) a ten-million-contact campaign would walk millions of them per lease by the
end of a day. Vacuum after 1 % of the table (at least 1,000 rows) has changed, indexes included.

Revision ID: 0006_contacts_vacuum
Revises: 0005_attempt_subscribers
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_contacts_vacuum"
down_revision: str | None = "0005_attempt_subscribers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = ("autovacuum_vacuum_scale_factor", "autovacuum_vacuum_threshold", "vacuum_index_cleanup")


def upgrade() -> None:
    op.execute(
        "ALTER TABLE contacts SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,"
        " vacuum_index_cleanup = on)"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE contacts RESET ({', '.join(_OPTIONS)})")
