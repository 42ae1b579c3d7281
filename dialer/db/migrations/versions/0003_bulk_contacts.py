"""contacts for bulk loads: phone numbers and subscriber keys in the "C" collation; the references of
contacts to campaigns and call lists checked once per statement instead of once per row

Phone numbers and subscriber keys are identifiers, compared byte by byte: the "C" collation makes
their indexes independent of the server's locale and cheaper to maintain (no strcoll, abbreviated
keys). PostgreSQL checks a foreign key row by row (a query and a row lock per inserted row), which
doubled the cost of importing a call list; the same references are kept by statement-level triggers
with transition tables: one set-based check per INSERT or COPY statement, locking each parent row
once (FOR KEY SHARE, as a foreign key does), and the parents' ON DELETE actions as triggers.

Revision ID: 0003_bulk_contacts
Revises: 0002_installation
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_bulk_contacts"
down_revision: str | None = "0002_installation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IDENTIFIERS = (
    ("contacts", "phone", "varchar(20)"),
    ("contacts", "subscriber_key", "text"),
    ("compliance_ledger", "phone", "varchar(20)"),
    ("compliance_ledger", "subscriber_key", "text"),
    ("cdr", "phone", "varchar(20)"),
    ("cdr", "subscriber_key", "text"),
    ("dnc", "phone", "varchar(20)"),
)

# One parent's check: lock the referenced rows as a foreign key would, then name a missing one.
_CHECK_PARENT = """
    PERFORM 1 FROM {table} WHERE id = ANY ({ids}) FOR KEY SHARE;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < coalesce(cardinality({ids}), 0) THEN
        SELECT min(i) INTO missing FROM unnest({ids}) i WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE id = i);
        RAISE EXCEPTION 'insert or update on table "contacts" violates its reference to "{table}"'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'contacts',
                  DETAIL = format('Key ({column})=(%s) is not present in table "{table}".', missing);
    END IF;"""

_REFERENCES = f"""
CREATE FUNCTION contacts_check_references(campaign_ids integer[], list_ids integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    locked bigint;
    missing integer;
BEGIN{_CHECK_PARENT.format(table="campaigns", ids="campaign_ids", column="campaign_id")}
{_CHECK_PARENT.format(table="call_lists", ids="list_ids", column="call_list_id")}
END $$;

CREATE FUNCTION contacts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    campaign_ids integer[];
    list_ids integer[];
BEGIN
    SELECT array_agg(DISTINCT campaign_id), array_agg(DISTINCT call_list_id) FILTER (WHERE call_list_id IS NOT NULL)
    INTO campaign_ids, list_ids FROM inserted;
    PERFORM contacts_check_references(campaign_ids, list_ids);
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_references_inserted AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION contacts_inserted();

-- Row by row for the rare update of a reference (a whole-statement trigger would fire on every lease).
CREATE FUNCTION contacts_reference_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM contacts_check_references(ARRAY[NEW.campaign_id], array_remove(ARRAY[NEW.call_list_id], NULL));
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_references_updated AFTER UPDATE OF campaign_id, call_list_id ON contacts
    FOR EACH ROW WHEN (NEW.campaign_id IS DISTINCT FROM OLD.campaign_id
                       OR NEW.call_list_id IS DISTINCT FROM OLD.call_list_id)
    EXECUTE FUNCTION contacts_reference_updated();

-- ON DELETE CASCADE
CREATE FUNCTION campaigns_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contacts WHERE campaign_id IN (SELECT id FROM deleted);
    RETURN NULL;
END $$;

CREATE TRIGGER campaigns_delete_contacts AFTER DELETE ON campaigns
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION campaigns_deleted();

-- ON DELETE SET NULL
CREATE FUNCTION call_lists_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contacts SET call_list_id = NULL WHERE call_list_id IN (SELECT id FROM deleted);
    RETURN NULL;
END $$;

CREATE TRIGGER call_lists_release_contacts AFTER DELETE ON call_lists
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION call_lists_deleted();

-- A campaign or call list whose id is referenced keeps it (a foreign key's ON UPDATE NO ACTION).
CREATE FUNCTION contacts_parent_id_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM contacts WHERE
               CASE TG_TABLE_NAME WHEN 'campaigns' THEN campaign_id ELSE call_list_id END = OLD.id) THEN
        RAISE EXCEPTION 'update on table "%" violates the reference from "contacts"', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER campaigns_id_referenced AFTER UPDATE OF id ON campaigns
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION contacts_parent_id_updated();
CREATE TRIGGER call_lists_id_referenced AFTER UPDATE OF id ON call_lists
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION contacts_parent_id_updated();
"""

_DROP_REFERENCES = """
DROP TRIGGER call_lists_id_referenced ON call_lists;
DROP TRIGGER campaigns_id_referenced ON campaigns;
DROP FUNCTION contacts_parent_id_updated();
DROP TRIGGER call_lists_release_contacts ON call_lists;
DROP FUNCTION call_lists_deleted();
DROP TRIGGER campaigns_delete_contacts ON campaigns;
DROP FUNCTION campaigns_deleted();
DROP TRIGGER contacts_references_updated ON contacts;
DROP FUNCTION contacts_reference_updated();
DROP TRIGGER contacts_references_inserted ON contacts;
DROP FUNCTION contacts_inserted();
DROP FUNCTION contacts_check_references(integer[], integer[]);
"""


def _collate(collation: str) -> None:
    for table, column, type_ in _IDENTIFIERS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE {type_} COLLATE "{collation}"')


def upgrade() -> None:
    _collate("C")
    op.drop_constraint("fk_contacts_campaign_id_campaigns", "contacts", type_="foreignkey")
    op.drop_constraint("fk_contacts_call_list_id_call_lists", "contacts", type_="foreignkey")
    op.execute(_REFERENCES)


def downgrade() -> None:
    op.execute(_DROP_REFERENCES)
    op.create_foreign_key(
        "fk_contacts_call_list_id_call_lists", "contacts", "call_lists", ["call_list_id"], ["id"], ondelete="SET NULL"
    )
    op.create_foreign_key(
        "fk_contacts_campaign_id_campaigns", "contacts", "campaigns", ["campaign_id"], ["id"], ondelete="CASCADE"
    )
    _collate("default")
