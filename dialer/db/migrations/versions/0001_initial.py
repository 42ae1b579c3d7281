"""initial schema

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asterisk_cdr",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("unique_id", sa.String(length=100), nullable=False),
        sa.Column("linked_id", sa.String(length=100), nullable=True),
        sa.Column("server", sa.String(length=100), nullable=True),
        sa.Column("disposition", sa.String(length=24), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("billsec", sa.Integer(), nullable=True),
        sa.Column(
            "raw",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asterisk_cdr")),
        sa.UniqueConstraint("unique_id", name=op.f("uq_asterisk_cdr_unique_id")),
    )
    op.create_index("ix_asterisk_cdr_start", "asterisk_cdr", ["start_at"], unique=False)
    op.create_table(
        "cdr",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.String(length=100), nullable=False),
        sa.Column("linked_id", sa.String(length=100), nullable=True),
        sa.Column("attempt_id", sa.BigInteger(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.BigInteger(), nullable=True),
        sa.Column("subscriber_key", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("trunk", sa.String(length=100), nullable=True),
        sa.Column("worker_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ring_seconds", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("billsec", sa.Integer(), server_default="0", nullable=False),
        sa.Column("disposition", sa.String(length=24), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("amd_status", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=16), server_default="dialer", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cdr")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_cdr_channel_id")),
    )
    op.create_index("ix_cdr_campaign_created", "cdr", ["campaign_id", "created_at"], unique=False)
    op.create_index("ix_cdr_created", "cdr", ["created_at"], unique=False)
    op.create_index("ix_cdr_company_created", "cdr", ["company_id", "created_at"], unique=False)
    op.create_table(
        "companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="Europe/Moscow", nullable=False),
        sa.Column("rules", sa.String(length=64), server_default="fz230-twin", nullable=False),
        sa.Column("rules_toml", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["companies.id"],
            name=op.f("fk_companies_parent_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("name", name=op.f("uq_companies_name")),
    )
    op.create_table(
        "registry_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_registry_files_sha256")),
    )
    op.create_table(
        "trunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("ami_url", sa.Text(), nullable=False),
        sa.Column("dial_template", sa.Text(), nullable=False),
        sa.Column("cps_limit", sa.Numeric(precision=8, scale=3), server_default="10", nullable=False),
        sa.Column("max_channels", sa.Integer(), server_default="30", nullable=False),
        sa.Column("caller_id", sa.String(length=100), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("cps_limit > 0", name=op.f("ck_trunks_cps_positive")),
        sa.CheckConstraint("max_channels > 0", name=op.f("ck_trunks_channels_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trunks")),
        sa.UniqueConstraint("name", name=op.f("uq_trunks_name")),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "heartbeat_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("campaign_ids", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False),
        sa.Column("trunk_ids", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False),
        sa.Column(
            "shares", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("rules", sa.String(length=64), server_default="fz230-twin", nullable=False),
        sa.Column("rules_toml", sa.Text(), nullable=True),
        sa.Column("cps_limit", sa.Numeric(precision=8, scale=3), nullable=True),
        sa.Column("max_channels", sa.Integer(), nullable=True),
        sa.Column("max_attempts", sa.Integer(), server_default="3", nullable=False),
        sa.Column(
            "retry_delays",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("subscriber_column", sa.String(length=100), server_default="additional", nullable=False),
        sa.Column("answered_context", sa.String(length=80), server_default="dialer-answered", nullable=False),
        sa.Column("caller_id", sa.String(length=100), nullable=True),
        sa.Column("dial_timeout_s", sa.Integer(), server_default="30", nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("schedule", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'running', 'paused', 'stopped', 'finished')",
            name=op.f("ck_campaigns_status"),
        ),
        sa.CheckConstraint("max_attempts > 0", name=op.f("ck_campaigns_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_campaigns_company_id_companies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "dnc",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_dnc_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("company_id", "phone", name=op.f("pk_dnc")),
    )
    op.create_table(
        "registry_ranges",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("range_start", sa.BigInteger(), nullable=False),
        sa.Column("range_end", sa.BigInteger(), nullable=False),
        sa.Column("operator", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("territory", sa.Text(), nullable=True),
        sa.Column("inn", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["registry_files.id"],
            name=op.f("fk_registry_ranges_file_id_registry_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_ranges")),
    )
    op.create_index("ix_registry_ranges_start", "registry_ranges", ["file_id", "range_start"], unique=False)
    op.create_table(
        "call_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("invalid", sa.Integer(), server_default="0", nullable=False),
        sa.Column("dnc", sa.Integer(), server_default="0", nullable=False),
        sa.Column("timezone_unknown", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reject_report", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_call_lists_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_lists")),
    )
    op.create_table(
        "campaign_trunks",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("trunk_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_trunks_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trunk_id"], ["trunks.id"], name=op.f("fk_campaign_trunks_trunk_id_trunks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "trunk_id", name=op.f("pk_campaign_trunks")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("call_list_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("subscriber_key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "extra",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("tz_source", sa.String(length=16), nullable=False),
        sa.Column(
            "tz_candidates", postgresql.ARRAY(sa.String(length=64)), server_default="{}", nullable=False
        ),
        sa.Column("state", sa.String(length=16), server_default="ready", nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_outcome", sa.String(length=24), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "state IN ('ready', 'dialing', 'done', 'failed', 'excluded')", name=op.f("ck_contacts_state")
        ),
        sa.ForeignKeyConstraint(
            ["call_list_id"],
            ["call_lists.id"],
            name=op.f("fk_contacts_call_list_id_call_lists"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_contacts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("campaign_id", "phone", name="uq_contacts_campaign_phone"),
    )
    op.create_index(
        "ix_contacts_eligible",
        "contacts",
        ["campaign_id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'ready'"),
    )
    op.create_index(
        "ix_contacts_lease_expiry",
        "contacts",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("state = 'dialing'"),
    )
    op.create_index("ix_contacts_subscriber", "contacts", ["campaign_id", "subscriber_key"], unique=False)
    op.create_table(
        "attempts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("trunk_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("channel_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="originating", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("amd_status", sa.String(length=16), nullable=True),
        sa.Column("amd_cause", sa.String(length=64), nullable=True),
        sa.Column("billsec", sa.Integer(), nullable=True),
        sa.Column("ring_seconds", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.CheckConstraint(
            "state IN ('originating', 'ringing', 'answered', 'ended', 'lost')", name=op.f("ck_attempts_state")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_attempts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_attempts_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trunk_id"], ["trunks.id"], name=op.f("fk_attempts_trunk_id_trunks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_attempts_channel_id")),
    )
    op.create_index("ix_attempts_campaign_created", "attempts", ["campaign_id", "created_at"], unique=False)
    op.create_index(op.f("ix_attempts_contact_id"), "attempts", ["contact_id"], unique=False)
    op.create_index(
        "ix_attempts_open",
        "attempts",
        ["worker_id"],
        unique=False,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "decision_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("worker_id", sa.String(length=100), nullable=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column(
            "reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("next_allowed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_decision_log_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_log")),
    )
    op.create_index("ix_decision_log_contact", "decision_log", ["contact_id", "at"], unique=False)
    op.create_table(
        "compliance_ledger",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_key", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.BigInteger(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("human", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_compliance_ledger_attempt_id_attempts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_compliance_ledger_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_compliance_ledger_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_ledger")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_compliance_ledger_attempt_id")),
    )
    op.create_index(
        "ix_ledger_subscriber",
        "compliance_ledger",
        ["company_id", "subscriber_key", "answered_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_subscriber", table_name="compliance_ledger")
    op.drop_table("compliance_ledger")
    op.drop_index("ix_decision_log_contact", table_name="decision_log")
    op.drop_table("decision_log")
    op.drop_index("ix_attempts_open", table_name="attempts", postgresql_where=sa.text("ended_at IS NULL"))
    op.drop_index(op.f("ix_attempts_contact_id"), table_name="attempts")
    op.drop_index("ix_attempts_campaign_created", table_name="attempts")
    op.drop_table("attempts")
    op.drop_index("ix_contacts_subscriber", table_name="contacts")
    op.drop_index(
        "ix_contacts_lease_expiry", table_name="contacts", postgresql_where=sa.text("state = 'dialing'")
    )
    op.drop_index("ix_contacts_eligible", table_name="contacts", postgresql_where=sa.text("state = 'ready'"))
    op.drop_table("contacts")
    op.drop_table("campaign_trunks")
    op.drop_table("call_lists")
    op.drop_index("ix_registry_ranges_start", table_name="registry_ranges")
    op.drop_table("registry_ranges")
    op.drop_table("dnc")
    op.drop_table("campaigns")
    op.drop_table("workers")
    op.drop_table("trunks")
    op.drop_table("registry_files")
    op.drop_table("companies")
    op.drop_index("ix_cdr_company_created", table_name="cdr")
    op.drop_index("ix_cdr_created", table_name="cdr")
    op.drop_index("ix_cdr_campaign_created", table_name="cdr")
    op.drop_table("cdr")
    op.drop_index("ix_asterisk_cdr_start", table_name="asterisk_cdr")
    op.drop_table("asterisk_cdr")
