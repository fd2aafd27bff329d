"""`scope()`, ownership stamping and the guard.

- `scope(stmt)` is the one way to read owned rows. With isolation on it restricts every owned
  entity in the statement (joins and aliases included) to the signed-in user. With isolation
  off it restricts them to the shared ledger: unowned rows, rows of owners who are not
  isolated, and the viewer's own — an isolated user's rows are theirs alone (two-sided; who
  is isolated comes from `visibility.py` as SQL). Either way it marks the statement as scoped.
- The guard (`do_orm_execute`) refuses any ORM SELECT/UPDATE/DELETE touching an owned table
  in a request — isolated or on the shared ledger, which must not show isolated users' rows
  either — unless the statement went through `scope()` or runs inside `unscoped(reason)`, the
  one named, logged escape hatch (admin aggregates, ops).
- Creates are stamped with the signed-in user whatever the flag; a row can never be created
  for, or moved to, another user from a request. Where a request acts for a user who has
  just proved who they are but is not signed in yet (a token issued for email and
  password), `on_behalf_of(user_id)` names that user for the stamp.
"""
import logging
from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app, has_request_context, request
from sqlalchemy import event, func, inspect, or_, select, update
from sqlalchemy.orm import Session, with_loader_criteria
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.util import find_tables

from ..errors import AppError
from ..extensions import db
from ..models import GuardEvent, Owned, User, utcnow
from ..observability import metrics
from .decision import isolation_on, visibility_rule
from .escape import unscoped, unscoped_reason
from .principal import current_principal
from .visibility import has_bucket_column, rollout_bucket

log = logging.getLogger(__name__)

SCOPED = "isolation_scoped"
_acting_for = ContextVar("acting_for", default=None)


class IsolationViolation(RuntimeError):
    """Owned rows were read or written in a way that could cross users."""


def owned_tables():
    return {m.local_table.name for m in db.Model.registry.mappers if issubclass(m.class_, Owned)}


def scope(stmt):
    """Restrict every owned entity in `stmt` to the rows this request may see: the user's own
    when isolated; otherwise the shared ledger (see `shared_ledger_owners`)."""
    if not has_request_context():
        raise IsolationViolation("scope() needs a request; ops code uses unscoped(reason)")
    principal = current_principal()
    if principal is None:  # isolation is on for anonymous requests: fail closed
        raise AppError(401, "unauthorized", "Sign in to see your data.")
    user_id = principal.id
    if isolation_on():
        criteria = lambda cls: cls.user_id == user_id  # noqa: E731
    else:
        rule = visibility_rule()
        if rule.nobody:  # nobody is isolated: the shared ledger is every row
            return stmt.execution_options(**{SCOPED: True})
        owners = shared_ledger_owners(rule)
        criteria = lambda cls: or_(  # noqa: E731
            cls.user_id.is_(None), cls.user_id == user_id, cls.user_id.in_(owners))
    scoped = stmt.options(with_loader_criteria(Owned, criteria, include_aliases=True))
    if scoped.is_dml:
        # A bulk UPDATE/DELETE would otherwise synchronise the session by first SELECTing
        # the rows it matches — a read the guard cannot tell from an unscoped one. Objects
        # already loaded are not refreshed: callers commit and read again.
        scoped = scoped.execution_options(synchronize_session=False)
    return scoped.execution_options(**{SCOPED: True})


def shared_ledger_owners(rule):
    """The users whose rows are on the shared ledger: those the rule does not isolate (nobody,
    when the rule cannot be translated). The shared ledger is their rows, the unowned rows
    and the viewer's own."""
    users = User.__table__
    return select(users.c.id).where(rule.shared_owner_sql(users))


@contextmanager
def on_behalf_of(user_id):
    """Creates inside are stamped with `user_id`, not the signed-in principal (if any): for a
    request that has just checked this user's credentials (reads still need scope())."""
    token = _acting_for.set(user_id)
    try:
        yield
    finally:
        _acting_for.reset(token)


def acting_for():
    """The user `on_behalf_of` names, or None."""
    return _acting_for.get()


def owned_or_404(model, row_id):
    """The row with this id if this request may see it; otherwise 404, never 403, so that
    another user's ids cannot be probed for existence."""
    row = db.session.execute(scope(select(model).where(model.id == row_id))).scalar()
    if row is None:
        raise AppError(404, "not_found", f"No {model.__name__.lower()} with id {row_id}.")
    return row


def _tables_in(state):
    tables = find_tables(state.statement, include_aliases=True, include_joins=True,
                         include_selects=True, include_crud=True)
    names = set()
    for table in tables:
        element = getattr(table, "element", table)  # an alias names its table
        name = getattr(element, "name", None)
        if name:
            names.add(name)
    return names


@event.listens_for(Session, "do_orm_execute")
def _guard(state):
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # A refresh of an object already in the session re-reads a row the request already had.
    if state.is_column_load or state.execution_options.get(SCOPED):
        return
    if unscoped_reason() is not None or not has_request_context():
        return
    # Whatever this request's decision: on the shared ledger too an unscoped read would show
    # isolated users' rows.
    touched = _tables_in(state) & owned_tables()
    if touched:
        _refuse(", ".join(sorted(touched)))


def _refuse(tables):
    principal = current_principal()
    message = f"unscoped query on owned table(s) {tables} at {request.endpoint}"
    _count_refusal(principal.id if principal else None, tables)
    metrics.guard_refused(principal, request.endpoint)
    log.error("isolation guard: %s", message)
    if current_app.config["ISOLATION_GUARD_MODE"] == "raise":
        raise IsolationViolation(message)
    raise AppError(500, "isolation_refused",
                   "This request was refused to protect your data; the team has been alerted.")


def _count_refusal(user_id, tables):
    # Its own connection and transaction: the request's own session may be rolled back.
    try:
        with db.engine.begin() as conn:
            conn.execute(GuardEvent.__table__.insert().values(
                user_id=user_id, endpoint=(request.endpoint or "")[:200], models=tables[:200],
                created_at=utcnow(),
            ))
    except Exception:  # counting must never hide the refusal itself
        log.exception("could not record a guard refusal")


@event.listens_for(Session, "before_flush")
def _stamp_owner(session, flush_context, instances):
    if not has_request_context() or unscoped_reason() is not None:
        return
    owner_id = None
    for obj in session.new:
        if isinstance(obj, Owned):
            if owner_id is None:
                principal = current_principal()
                owner_id = acting_for() or (principal.id if principal else None)
            if owner_id is None:
                raise IsolationViolation("an owned row cannot be created without a signed-in user")
            if obj.user_id is None:
                obj.user_id = owner_id
            elif obj.user_id != owner_id:
                raise IsolationViolation("an owned row can only be created for the signed-in user")
    for obj in session.dirty:
        if isinstance(obj, Owned) and inspect(obj).attrs.user_id.history.has_changes():
            raise IsolationViolation("a row's owner cannot be changed from a request")


@event.listens_for(User, "after_insert")
def _store_rollout_bucket(mapper, connection, user):
    # The bucket hashes the user's id, which exists only now; same transaction as the insert.
    # Mid-upgrade (before migration 0010, which computes every existing user's) there is no
    # column yet: `flask users create` is part of the backfill runbook.
    users = User.__table__
    if not has_bucket_column(connection):
        return
    bucket = rollout_bucket(user.id)
    connection.execute(update(users).where(users.c.id == user.id).values(rollout_bucket=bucket))
    set_committed_value(user, "rollout_bucket", bucket)


def guard_refusals_since(moment):
    return db.session.execute(
        select(func.count()).select_from(GuardEvent).where(GuardEvent.created_at >= moment)
    ).scalar()
