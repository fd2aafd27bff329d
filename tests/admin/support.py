"""Helpers for the flag dashboard tests: what a user sees, what the admin API reports, and
the database-side facts (audit rows, guard refusals) the assertions compare against."""
from datetime import datetime, timezone

from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import AuditEvent, GuardEvent, User

REASON = "rollout step agreed in the ops channel"


def seen_descriptions(client):
    """The descriptions this user's ledger shows (JSON API), as a set."""
    response = client.get("/api/transactions?limit=500")
    assert response.status_code == 200, response.text
    return {row["description"] for row in response.json["items"]}


def own_rows(name):
    return {f"{name} coffee", f"{name} salary"}


def shared_ledger(isolated=("alice", "admin")):
    """The shared ledger's rows while the `isolated` users (default: cohort staff) are
    isolated: everyone else's."""
    return set().union(*(own_rows(n) for n in ("alice", "bob", "carol", "admin")
                         if n not in isolated))


def isolation(admin):
    response = admin.get("/api/admin/isolation")
    assert response.status_code == 200, response.text
    return response.json


def cohort_rows(admin):
    response = admin.get("/api/admin/cohorts")
    assert response.status_code == 200, response.text
    return {row["name"]: row for row in response.json}


def audit_log(admin):
    response = admin.get("/api/admin/audit")
    assert response.status_code == 200, response.text
    return response.json


def enable(admin, cohort, enabled=True, **extra):
    return admin.put(f"/api/admin/isolation/cohorts/{cohort}",
                     json={"enabled": enabled, "reason": REASON, **extra})


def revert(admin, event_id, **extra):
    return admin.post(f"/api/admin/audit/{event_id}/revert", json={"reason": "undo", **extra})


def preflight(admin, cohort=None):
    path = "/api/admin/isolation/preflight" + (f"?cohort={cohort}" if cohort else "")
    response = admin.get(path)
    assert response.status_code == 200, response.text
    return response.json


def checks(report):
    return {check["name"]: check["status"] for check in report["checks"]}


def audit_count(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(AuditEvent)).scalar()


def cohort_of(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).cohort


def add_guard_refusal(app, when=None):
    """A refusal as the guard records it (the guard itself is tested in tests/isolation)."""
    with app.app_context():
        db.session.add(GuardEvent(user_id=None, endpoint="somewhere.unscoped",
                                  models="transactions",
                                  created_at=when or datetime.now(timezone.utc)))
        db.session.commit()
