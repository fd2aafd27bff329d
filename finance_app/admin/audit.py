"""The audit log: every dashboard change with who, when, what, before, after and why.

A change is recorded in the same database transaction that applies it, under the change lock
(`serialised_change`): the record and the change commit together or not at all, and its
`before` is the state the change was made on. (On the remote backend the flag itself lives
in Unleash: its Admin API write comes before that commit.) A revert is recorded like any
change, naming the event it reverts (at most once: the column is unique).
"""
from sqlalchemy import select

from ..errors import AppError
from ..extensions import db
from ..isolation import current_principal
from ..models import AuditEvent, as_utc
from .schema import admin_tables_ready, require_admin_tables

TARGET_LENGTH = 200


def record(action, target, before, after, reason, reverts=None, actor=None):
    """Add the change's event to the serialised change in progress (it commits with it).

    The actor is the signed-in admin or, for an ops command, `actor` (the command).
    """
    require_admin_tables()
    principal = current_principal()
    if principal is None and actor is None:
        raise RuntimeError("a recorded change needs a signed-in admin or an ops command")
    actor_id, actor_email = (principal.id, principal.email) if principal else (None, actor)
    event = AuditEvent(actor_id=actor_id, actor_email=actor_email, action=action,
                       target=target[:TARGET_LENGTH], before=before, after=after, reason=reason,
                       reverted_event_id=reverts)
    db.session.add(event)
    db.session.flush()  # the id, for the response
    return event


def event_or_404(event_id):
    require_admin_tables()
    event = db.session.get(AuditEvent, event_id)
    if event is None:
        raise AppError(404, "not_found", f"No audit event with id {event_id}.")
    return event


def reverting_event(event_id):
    """The id of the event that reverted `event_id`, or None."""
    return db.session.execute(
        select(AuditEvent.id).where(AuditEvent.reverted_event_id == event_id)).scalar()


def newest(limit=100, offset=0):
    """Events newest first, each with the id of the event that reverted it (or None)."""
    if not admin_tables_ready():
        return []
    events = db.session.execute(
        select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
    ).scalars().all()
    ids = [e.id for e in events]
    reverted_by = dict(db.session.execute(
        select(AuditEvent.reverted_event_id, AuditEvent.id)
        .where(AuditEvent.reverted_event_id.in_(ids))).all()) if ids else {}
    return [(event, reverted_by.get(event.id)) for event in events]


def to_json(event, reverted_by=None):
    created = as_utc(event.created_at)
    return {
        "id": event.id, "created_at": created.isoformat(),
        "actor": {"id": event.actor_id, "email": event.actor_email},
        "action": event.action, "target": event.target, "summary": summary(event),
        "before": event.before, "after": event.after, "reason": event.reason,
        "reverted_event_id": event.reverted_event_id, "reverted_by": reverted_by,
    }


def summary(event):
    """The change in words, for the log."""
    before, after = event.before or {}, event.after or {}
    action, target = event.action, event.target
    if action == "cohort.isolation":
        text = f"{'Enabled' if after['enabled'] else 'Disabled'} isolation for cohort {target}"
        if after.get("forced_checks"):
            text += f" (forced past: {', '.join(after['forced_checks'])})"
    elif action == "rollout.percent":
        text = f"Percentage rollout {before['percent']}% → {after['percent']}%"
    elif action == "lock":
        text = f"Emergency lock {'on' if after['on'] else 'off'}"
    elif action == "users.cohort":
        moves = sorted({(before["cohorts"][uid], cohort)
                        for uid, cohort in after["cohorts"].items()})
        arrows = ", ".join(f"{a} → {b}" for a, b in moves)
        text = f"Moved {target} ({arrows})"
    elif action == "cohort.exists":
        text = f"{'Created' if after['exists'] else 'Removed'} cohort {target}"
    elif action == "signup.cohort":
        text = f"Sign-ups join cohort {after['cohort']} (was {before['cohort']})"
    else:
        text = f"{action} {target}"
    if event.reverted_event_id:
        reverted = db.session.get(AuditEvent, event.reverted_event_id)
        if reverted is not None and reverted.reverted_event_id:
            # Reverting a revert applies the first change again: say so.
            text = (f"Redo of #{reverted.reverted_event_id} (revert of revert "
                    f"#{reverted.id}): {text}")
        else:
            text = f"Revert of #{event.reverted_event_id}: {text}"
    return text
