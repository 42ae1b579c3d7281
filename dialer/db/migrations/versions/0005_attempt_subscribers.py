"""attempts carry their subscriber (company and key); contacts lose their index by subscriber

The compliance gate reads a subscriber's attempts under its lock. It found them through the contacts
of the subscriber (an index on contacts (campaign_id, subscriber_key)), an index that every list
import fills for millions of rows and that every lease, attempt and close of a call writes again (an
update of a contact is a new row version, with an entry in each of its indexes). The attempt now
records its contact's company and subscriber key when it is inserted (a trigger: every writer gets
them, and they cannot disagree with the contact's; NULL only where the contact does not exist, which
the attempt's foreign key then refuses), indexed on attempts, one entry per call.

Revision ID: 0005_attempt_subscribers
Revises: 0004_cdr_mismatches
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_attempt_subscribers"
down_revision: str | None = "0004_cdr_mismatches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBSCRIBER_OF_CONTACT = """
CREATE FUNCTION attempts_subscriber() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT cp.company_id, c.subscriber_key INTO NEW.company_id, NEW.subscriber_key
      FROM contacts c JOIN campaigns cp ON cp.id = c.campaign_id
     WHERE c.id = NEW.contact_id;
    RETURN NEW;
END $$;

CREATE TRIGGER attempts_subscriber BEFORE INSERT OR UPDATE OF contact_id ON attempts
    FOR EACH ROW EXECUTE FUNCTION attempts_subscriber();
"""


def upgrade() -> None:
    op.add_column("attempts", sa.Column("company_id", sa.Integer(), nullable=True))
    op.add_column("attempts", sa.Column("subscriber_key", sa.Text(collation="C"), nullable=True))
    op.execute(
        """UPDATE attempts a SET company_id = cp.company_id, subscriber_key = c.subscriber_key
             FROM contacts c JOIN campaigns cp ON cp.id = c.campaign_id
            WHERE c.id = a.contact_id"""
    )
    op.execute(_SUBSCRIBER_OF_CONTACT)
    op.create_index("ix_attempts_subscriber", "attempts", ["company_id", "subscriber_key", "created_at"])
    op.drop_index("ix_contacts_subscriber", table_name="contacts")


def downgrade() -> None:
    op.create_index("ix_contacts_subscriber", "contacts", ["campaign_id", "subscriber_key"])
    op.drop_index("ix_attempts_subscriber", table_name="attempts")
    op.execute("DROP TRIGGER attempts_subscriber ON attempts")
    op.execute("DROP FUNCTION attempts_subscriber()")
    op.drop_column("attempts", "subscriber_key")
    op.drop_column("attempts", "company_id")
