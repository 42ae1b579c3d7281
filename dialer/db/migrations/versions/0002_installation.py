"""installation identity (a random secret tagging this database's ChannelIds)

Revision ID: 0002_installation
Revises: 0001_initial
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_installation"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "secret",
            sa.String(length=32),
            server_default=sa.text("md5(random()::text || clock_timestamp()::text)"),
            nullable=False,
        ),
        sa.CheckConstraint("id", name=op.f("ck_installation_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.execute("INSERT INTO installation DEFAULT VALUES")


def downgrade() -> None:
    op.drop_table("installation")
