"""The data model (SQLAlchemy 2 typed style).

An *owned* model is any model with a `user_id`; they all inherit `Owned`, which is how the
isolation guard recognises them. Money is `Numeric(12, 2)` and travels as `Decimal`.
"""
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Optional

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    JSON,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from .extensions import db


def utcnow():
    return datetime.now(timezone.utc)


def normalise_email(email):
    return (email or "").strip().lower()


class Owned:
    """Mixin for rows that belong to one user. Reads of these go through `scope()`."""

    @declared_attr
    def user_id(cls) -> Mapped[int]:
        return mapped_column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        )


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    cohort: Mapped[str] = mapped_column(
        String(64), nullable=False, default="general", server_default="general"
    )
    is_admin: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default="0"
    )
    # Bumped on a password change: sessions signed in before it stop working.
    auth_version: Mapped[int] = mapped_column(
        Integer, nullable=False, default=1, server_default="1"
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    def __repr__(self):
        return f"<User {self.id} {self.email} cohort={self.cohort}>"


class ImportBatch(Owned, db.Model):
    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_user_id", "user_id"),)

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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layout: Mapped[str] = mapped_column(String(64), nullable=False)
    mapping: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )


class Transaction(Owned, db.Model):
    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_user_id_date", "user_id", "date"),
        # Duplicate detection on import looks fingerprints up per owner.
        Index("ix_transactions_user_id_fingerprint", "user_id", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(
        String(3), nullable=False, default="EUR", server_default="EUR"
    )
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    merchant: Mapped[Optional[str]] = mapped_column(String(200))
    category: Mapped[Optional[str]] = mapped_column(String(100))
    import_batch_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("import_batches.id", ondelete="CASCADE"), index=True
    )
    # Duplicate detection on import: a hash of date, amount and description.
    fingerprint: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )


class ApiToken(Owned, db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="api")
    # SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
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


class AppSetting(db.Model):
    """An app-wide setting the admin chooses on the dashboard (e.g. the cohort sign-ups
    join), one row a key; changed through the audited dashboard changes only."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )
