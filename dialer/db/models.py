"""The PostgreSQL schema of the product (dialer owns it; cdr/ imports it)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Phone numbers and subscriber keys are identifiers: compared byte by byte, whatever the server's locale.
Phone = String(20, collation="C")
Identifier = Text(collation="C")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
    }


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"


class ContactState(enum.StrEnum):
    READY = "ready"  # waiting for next_attempt_at
    DIALING = "dialing"  # an attempt is in flight (leased by a worker)
    DONE = "done"  # completed: answered, or configured as final
    FAILED = "failed"  # attempts exhausted or number invalid
    EXCLUDED = "excluded"  # do-not-call or removed


class ExcludedBy(enum.StrEnum):
    """Why a contact is excluded, in its `last_outcome`."""

    DO_NOT_CALL = "do-not-call"  # the company's do-not-call list (`dnc remove` gives it back)
    BLOCKED = "blocked"  # compliance: no calling window ever opens for it
    WITHDRAWN = "withdrawn"  # its call list was withdrawn from the campaign (`dialer lists restore` gives it back)


# A contact's last outcome as its latest attempt left it (NULL before its first call), for a contact an
# exclusion gives back (`dnc remove`, `lists restore`); `c` is the contact's alias in the statement.
LAST_ATTEMPT_OUTCOME_SQL = (
    "(SELECT a.outcome FROM attempts a WHERE a.contact_id = c.id ORDER BY a.created_at DESC, a.id DESC LIMIT 1)"
)


class AttemptState(enum.StrEnum):
    ORIGINATING = "originating"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"
    LOST = "lost"


def _check_in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), server_default="Europe/Moscow")
    rules: Mapped[str] = mapped_column(String(64), server_default="fz230-twin")
    rules_toml: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Trunk(Base):
    __tablename__ = "trunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    ami_url: Mapped[str] = mapped_column(Text)
    dial_template: Mapped[str] = mapped_column(Text)
    cps_limit: Mapped[Decimal] = mapped_column(Numeric(8, 3), server_default="10")
    max_channels: Mapped[int] = mapped_column(Integer, server_default="30")
    caller_id: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint("cps_limit > 0", name="cps_positive"),
        CheckConstraint("max_channels > 0", name="channels_positive"),
    )


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), server_default=CampaignStatus.DRAFT.value)
    rules: Mapped[str] = mapped_column(String(64), server_default="fz230-twin")
    rules_toml: Mapped[str | None] = mapped_column(Text)
    cps_limit: Mapped[Decimal | None] = mapped_column(Numeric(8, 3))
    max_channels: Mapped[int | None] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="3")
    retry_delays: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    subscriber_column: Mapped[str] = mapped_column(String(100), server_default="additional")
    answered_context: Mapped[str] = mapped_column(String(80), server_default="dialer-answered")
    caller_id: Mapped[str | None] = mapped_column(String(100))
    dial_timeout_s: Mapped[int] = mapped_column(Integer, server_default="30")
    settings: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint(_check_in("status", CampaignStatus), name="status"),
        CheckConstraint("max_attempts > 0", name="attempts_positive"),
    )


class CampaignTrunk(Base):
    __tablename__ = "campaign_trunks"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    trunk_id: Mapped[int] = mapped_column(ForeignKey("trunks.id", ondelete="RESTRICT"), primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, server_default="0")


class CallList(Base):
    __tablename__ = "call_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(server_default=func.now())
    total: Mapped[int] = mapped_column(Integer, server_default="0")
    imported: Mapped[int] = mapped_column(Integer, server_default="0")
    duplicates: Mapped[int] = mapped_column(Integer, server_default="0")
    invalid: Mapped[int] = mapped_column(Integer, server_default="0")
    dnc: Mapped[int] = mapped_column(Integer, server_default="0")
    timezone_unknown: Mapped[int] = mapped_column(Integer, server_default="0")
    reject_report: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column()  # `dialer lists withdraw`; NULL: in use


class Contact(Base):
    """A number to dial. Loaded in bulk (millions per call list), so its references to campaigns
    (ON DELETE CASCADE) and call lists (ON DELETE SET NULL) are kept by statement-level triggers
    (migration 0003_bulk_contacts) rather than foreign keys checked row by row."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer)
    call_list_id: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(Phone)
    subscriber_key: Mapped[str] = mapped_column(Identifier)
    name: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    timezone: Mapped[str | None] = mapped_column(String(64))
    tz_source: Mapped[str] = mapped_column(String(16))
    tz_candidates: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default="{}")
    # Every zone of the subscriber's numbers in this campaign when they span several (the window must be
    # open in each: where the subscriber lives is unknown); NULL when they are in one (see the import).
    subscriber_zones: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))
    state: Mapped[str] = mapped_column(String(16), server_default=ContactState.READY.value)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_outcome: Mapped[str | None] = mapped_column(String(24))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_contacts_campaign_phone"),
        CheckConstraint(_check_in("state", ContactState), name="state"),
        # "next eligible contacts of campaign X" is an index scan on this partial index.
        Index(
            "ix_contacts_eligible",
            "campaign_id",
            "next_attempt_at",
            postgresql_where=text("state = 'ready'"),
        ),
        Index(
            "ix_contacts_lease_expiry",
            "lease_expires_at",
            postgresql_where=text("state = 'dialing'"),
        ),
    )


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    trunk_id: Mapped[int | None] = mapped_column(ForeignKey("trunks.id", ondelete="SET NULL"))
    worker_id: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(16), server_default=AttemptState.ORIGINATING.value)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    answered_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(24))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    amd_status: Mapped[str | None] = mapped_column(String(16))
    amd_cause: Mapped[str | None] = mapped_column(String(64))
    billsec: Mapped[int | None] = mapped_column(Integer)
    ring_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    # The contact's company and subscriber, set on insert by a trigger (migration 0005): the gate reads
    # a subscriber's attempts by them.
    company_id: Mapped[int | None] = mapped_column(Integer, server_default=FetchedValue())
    subscriber_key: Mapped[str | None] = mapped_column(Identifier, server_default=FetchedValue())

    __table_args__ = (
        CheckConstraint(_check_in("state", AttemptState), name="state"),
        Index("ix_attempts_subscriber", "company_id", "subscriber_key", "created_at"),
        Index("ix_attempts_open", "worker_id", postgresql_where=text("ended_at IS NULL")),
        Index("ix_attempts_campaign_created", "campaign_id", "created_at"),
        Index("ix_attempts_created", "created_at"),  # the CDR reconciliation's window (cdr.reconcile)
    )


class DecisionLog(Base):
    """Every time a contact was held back by compliance or pacing, and why (`dialer contacts why`)."""

    __tablename__ = "decision_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    worker_id: Mapped[str | None] = mapped_column(String(100))
    allowed: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    next_allowed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_decision_log_contact", "contact_id", "at"),)


class ComplianceLedger(Base):
    """Answered-by-human calls per subscriber: what the FZ-230 caps count. The database is the truth."""

    __tablename__ = "compliance_ledger"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    subscriber_key: Mapped[str] = mapped_column(Identifier)
    phone: Mapped[str] = mapped_column(Phone)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="SET NULL"), unique=True
    )
    answered_at: Mapped[datetime] = mapped_column()
    human: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (Index("ix_ledger_subscriber", "company_id", "subscriber_key", "answered_at"),)


class Cdr(Base):
    """One row per attempt, written by the dialer (cdr/writer)."""

    __tablename__ = "cdr"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(100), unique=True)
    linked_id: Mapped[str | None] = mapped_column(String(100))
    attempt_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    subscriber_key: Mapped[str | None] = mapped_column(Identifier)
    phone: Mapped[str] = mapped_column(Phone)
    trunk: Mapped[str | None] = mapped_column(String(100))
    worker_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    ring_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    billsec: Mapped[int] = mapped_column(Integer, server_default="0")
    disposition: Mapped[str | None] = mapped_column(String(24))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    amd_status: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16), server_default="dialer")

    __table_args__ = (
        Index("ix_cdr_created", "created_at"),
        Index("ix_cdr_campaign_created", "campaign_id", "created_at"),
        Index("ix_cdr_company_created", "company_id", "created_at"),
    )


class AsteriskCdr(Base):
    """Asterisk's own CDR (`cdr_manager` Cdr events), kept for reconciliation."""

    __tablename__ = "asterisk_cdr"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    unique_id: Mapped[str] = mapped_column(String(100), unique=True)
    linked_id: Mapped[str | None] = mapped_column(String(100))
    server: Mapped[str | None] = mapped_column(String(100))
    disposition: Mapped[str | None] = mapped_column(String(24))
    start_at: Mapped[datetime | None] = mapped_column()
    answer_at: Mapped[datetime | None] = mapped_column()
    end_at: Mapped[datetime | None] = mapped_column()
    duration: Mapped[int | None] = mapped_column(Integer)
    billsec: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index("ix_asterisk_cdr_start", "start_at"),)


class CdrMismatch(Base):
    """A mismatch between the dialer's CDR and Asterisk's, counted once in dialer_cdr_mismatch_total
    by whichever worker's reconciler found it first."""

    __tablename__ = "cdr_mismatches"

    channel_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    found_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DncEntry(Base):
    __tablename__ = "dnc"

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str] = mapped_column(Phone, primary_key=True)
    source: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())


class RegistryFile(Base):
    __tablename__ = "registry_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    file_date: Mapped[datetime | None] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    row_count: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(server_default=func.now())


class RegistryRange(Base):
    __tablename__ = "registry_ranges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("registry_files.id", ondelete="CASCADE"))
    range_start: Mapped[int] = mapped_column(BigInteger)
    range_end: Mapped[int] = mapped_column(BigInteger)
    operator: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    territory: Mapped[str | None] = mapped_column(Text)
    inn: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (Index("ix_registry_ranges_start", "file_id", "range_start"),)


class Worker(Base):
    """A running worker process; its heartbeat renews its pacing shares and contact leases."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(server_default=func.now())
    stopped_at: Mapped[datetime | None] = mapped_column()
    # What the worker serves: pacing budgets are shared among the live workers serving a trunk/campaign.
    campaign_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    trunk_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default="{}")
    # The limits this worker gives itself now ({"trunk:<id>": {"channels": n, "cps": x}, "campaign:<id>": ...}).
    shares: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))


class Installation(Base):
    """One row: this database's random identity. Workers tag their ChannelIds with it
    (dialer.reservations.installation_prefix), whatever address they reach the server by."""

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id", name="single_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    secret: Mapped[str] = mapped_column(
        String(32), server_default=text("md5(random()::text || clock_timestamp()::text)")
    )
