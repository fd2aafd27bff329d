"""The data model (SQLAlchemy 2 typed style).

An *owned* model is any model with a `user_id`; they all inherit `Owned`, which is how the
isolation guard recognises them. Money is `Numeric(12, 2)` and travels as `Decimal`.
"""
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Optional

from flask import current_app
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    JSON,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from .extensions import db


def configured_currency():
    """DEFAULT_CURRENCY of the running app: the currency of a row that names none."""
    return current_app.config["DEFAULT_CURRENCY"]


def utcnow():
    return datetime.now(timezone.utc)


def as_utc(moment):
    """A time read back from the database, with its zone: SQLite keeps none, and every time
    the app stores is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def normalise_email(email):
    return (email or "").strip().lower()


class Owned:
    """Mixin for rows that belong to one user. Reads of these go through `scope()`."""

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        return mapped_column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        )


# SQLite reuses the highest free rowid unless a table says AUTOINCREMENT: a deleted account's
# id would be given to the next sign-up. Ids are never reused (PostgreSQL sequences never are).
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS
    # Not RETURNING server defaults on insert: rollout_bucket may not exist yet (see there).
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    cohort: Mapped[str] = mapped_column(
        String(64), nullable=False, default="general", server_default="general"
    )
    is_admin: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default="0"
    )
    # The user's bucket (1-100) of USE_USER_ISOLATION's percentage rollout, as the Unleash
    # SDK computes it, so SQL can tell who is isolated (isolation/visibility.py). Set right
    # after insert; 0 (not computed) counts as inside every percentage: fails closed.
    # Deferred, and left to the server default on insert, so that this release's ops
    # commands still read and create users mid-upgrade, before migration 0010 adds it.
    rollout_bucket: Mapped[int] = mapped_column(
        SmallInteger, nullable=False, server_default="0", deferred=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    def __repr__(self):
        return f"<User {self.id} {self.email} cohort={self.cohort}>"


class ImportBatch(Owned, db.Model):
    __tablename__ = "import_batches"
    __table_args__ = (
        Index("ix_import_batches_user_id", "user_id"),
        # The key that transactions name their batch and its owner by (see Transaction).
        UniqueConstraint("id", "user_id", name="uq_import_batches_id_user_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    # Rows imported by this batch (duplicates and skipped lines are not counted).
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class ImportMapping(Owned, db.Model):
    """The column mapping a user chose for a file layout (keyed by its header), remembered
    so that the next export from the same bank imports without questions."""

    __tablename__ = "import_mappings"
    __table_args__ = (
        UniqueConstraint("user_id", "layout", name="uq_import_mappings_user_id_layout"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layout: Mapped[str] = mapped_column(String(64), nullable=False)
    mapping: Mapped[str] = mapped_column(Text, nullable=False)
    # The account the layout's rows went into last time (offered first next time). Only ever
    # used after checking it is the user's own (accounts.service.own_account_or_404).
    account_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )


ACCOUNT_KINDS = ("checking", "card", "savings", "cash", "other")


class Account(Owned, db.Model):
    """Where a user's money sits (a bank account, a card, cash), in one currency. Every owned
    transaction belongs to one account of its owner."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_accounts_user_id_name"),
        # The key that transactions name their account and its owner by (see Transaction).
        UniqueConstraint("id", "user_id", name="uq_accounts_id_user_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="checking")
    # ISO 4217, three upper-case letters.
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    opening_balance: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), nullable=False, default=Decimal("0.00"), server_default="0"
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class Transaction(Owned, db.Model):
    __tablename__ = "transactions"
    __table_args__ = (
        # A user's rows by date (month aggregates), in the list's order (date DESC, id DESC).
        Index("ix_transactions_user_id_date_id", "user_id", "date", "id"),
        # The list's order where no user narrows it: the shared ledger.
        Index("ix_transactions_date_id", "date", "id"),
        # Duplicate detection on import looks fingerprints up per owner.
        Index("ix_transactions_user_id_fingerprint", "user_id", "fingerprint"),
        # A transaction's import batch belongs to the transaction's owner: the database
        # refuses a row in another owner's batch, so undoing a batch (and its cascade)
        # can only ever delete the batch owner's rows.
        ForeignKeyConstraint(
            ["import_batch_id", "user_id"], ["import_batches.id", "import_batches.user_id"],
            name="fk_transactions_import_batch_id_user_id_import_batches", ondelete="CASCADE",
        ),
        # Likewise a transaction's account is its owner's: a row can never sit in another
        # owner's account. An account with rows cannot be deleted (no cascade).
        ForeignKeyConstraint(
            ["account_id", "user_id"], ["accounts.id", "accounts.user_id"],
            name="fk_transactions_account_id_user_id_accounts",
        ),
        # Every owned row has an account; only rows with no owner (a database before
        # migration 0003) have none, as they have no owner to hold one.
        CheckConstraint("account_id IS NOT NULL OR user_id IS NULL",
                        name="account_when_owned"),
        # One account's rows in the list's order (the account filter, running balances).
        Index("ix_transactions_account_id_date_id", "account_id", "date", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    # A row created without a currency gets the configured DEFAULT_CURRENCY, the one source
    # of it. The schema's server default (EUR, from the legacy schema) only ever fills rows
    # written by plain SQL that names no currency, which the app does not write.
    currency: Mapped[str] = mapped_column(
        String(3), nullable=False, default=configured_currency, server_default="EUR"
    )
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    merchant: Mapped[Optional[str]] = mapped_column(String(200))
    category: Mapped[Optional[str]] = mapped_column(String(100))
    import_batch_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    account_id: Mapped[Optional[int]] = mapped_column(Integer)
    # Duplicate detection on import: a hash of date, amount and description.
    fingerprint: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    @classmethod
    def uncategorised(cls):
        """SQL: the row has no category (none, or a blank one from an older import)."""
        return or_(cls.category.is_(None), cls.category == "")


class Budget(Owned, db.Model):
    """How much a user means to spend in one category: in one month (`month` is its first
    day), or in every month (`month` NULL, a repeating budget). A month's own budget
    overrides the repeating one of the same category for that month."""

    __tablename__ = "budgets"
    __table_args__ = (
        # One budget per category and month. NULLs are distinct in a unique key on SQLite and
        # PostgreSQL alike, so the repeating budget (month NULL) has an index of its own.
        UniqueConstraint("user_id", "category", "month",
                         name="uq_budgets_user_id_category_month"),
        Index("uq_budgets_user_id_category_repeating", "user_id", "category", unique=True,
              sqlite_where=text("month IS NULL"), postgresql_where=text("month IS NULL")),
        CheckConstraint("amount > 0", name="ck_budgets_amount_positive"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    # No default here: creates pass the configured DEFAULT_CURRENCY (budgets/service.py).
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    month: Mapped[Optional[date]] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class Rule(Owned, db.Model):
    """"Always file rows whose `field` contains `pattern` under `category`" (rules/service.py).

    The pattern is kept lower-cased and stripped: it matches case-insensitively, so
    "Tesco" and "TESCO" are one rule, which the unique key then refuses twice."""

    __tablename__ = "rules"
    __table_args__ = (
        UniqueConstraint("user_id", "field", "pattern", name="uq_rules_user_id_field_pattern"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    field: Mapped[str] = mapped_column(String(20), nullable=False)  # merchant | description
    pattern: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class ApiToken(Owned, db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="api")
    # SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class UserSession(Owned, db.Model):
    """A signed-in browser session. The cookie carries a random session id; only its hash is
    kept, so a copy of this table cannot sign anyone in. Deleting the row ends the session."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SHA-256 of the session id.
    session_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # When the user signed in (with their password): the session's age for recent-sign-in
    # checks and its lifetime.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class FlagDefinition(db.Model):
    """Flag definitions of the embedded backend, one row a flag, in Unleash client-API JSON.

    Every process reloads them every few seconds, so a dashboard change on one host reaches
    all hosts that share the database.
    """

    __tablename__ = "flag_definitions"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )


class GuardEvent(db.Model):
    """An unscoped read of owned data that the guard refused (counted for preflight)."""

    __tablename__ = "guard_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
    user_id: Mapped[Optional[int]] = mapped_column(Integer)
    endpoint: Mapped[Optional[str]] = mapped_column(String(200))
    models: Mapped[str] = mapped_column(String(200), nullable=False)


class Cohort(db.Model):
    """A named group of users that isolation is enabled for as one step of the rollout.

    Users carry their cohort's name; this table lets a cohort exist before it has users.
    """

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class AuditEvent(db.Model):
    """One change made on the flag dashboard: who, when, what, before, after and why.

    Admin data, not owned: the actor is kept by id and email so the record outlives the
    account. A revert is an event of its own that names the event it reverted.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
    actor_id: Mapped[Optional[int]] = mapped_column(Integer)
    actor_email: Mapped[str] = mapped_column(String(254), nullable=False)
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    target: Mapped[str] = mapped_column(String(200), nullable=False)
    before: Mapped[Optional[dict]] = mapped_column(JSON)
    after: Mapped[Optional[dict]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    # At most once: two admins reverting the same event at the same time cannot both win.
    reverted_event_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("audit_events.id"), unique=True
    )


class CacheState(db.Model):
    """One row: the epoch of the shared cache's keys and the number of invalidations made,
    so that a cache flushed or restored from an older snapshot is noticed
    (isolation/cache_epoch.py)."""

    __tablename__ = "cache_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class AppSetting(db.Model):
    """An app-wide setting the admin chooses on the dashboard (e.g. the cohort sign-ups
    join), one row a key; changed through the audited dashboard changes only."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )


class MetricSample(db.Model):
    """Events of one kind (a denial, a refusal, an error: observability/metrics.py) for one
    cohort in one minute (UTC), added up over every process and host: the flag dashboard's
    last hour. Rows older than a day are pruned."""

    __tablename__ = "metric_samples"

    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    cohort: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
