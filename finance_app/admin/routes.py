"""The flag dashboard: JSON under /api/admin/ and the web page at /admin/flags (admins only;
everyone else gets a 404)."""
import re

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..api import parse_body, parse_query, validation_error
from ..errors import AppError, error_response
from ..isolation import ADMIN, access, flag_service
from ..isolation.flags import FlagServiceError
from ..openapi import documented
from . import audit, changes, cohorts, overview, preflight
from .bodies import (
    AuditQuery,
    BulkMove,
    CohortIn,
    CohortMove,
    IsolationChange,
    LockChange,
    PreflightQuery,
    RevertIn,
    RolloutChange,
)

PERCENT_FORM = re.compile(r"[0-9]{1,3}")

bp = Blueprint("admin", __name__, url_prefix="/admin")
api_bp = Blueprint("admin_api", __name__, url_prefix="/api/admin")


def _flag_service_message(exc):
    return f"The flag service could not be reached or refused: {exc}"


# Remote backend: reading or changing the flag goes through Unleash's Admin API.
@bp.errorhandler(FlagServiceError)
@api_bp.errorhandler(FlagServiceError)
def flag_service_error(exc):
    return error_response(503, "flag_service_error", _flag_service_message(exc))


def _event(event):
    return audit.to_json(event) if event is not None else None


def _changed(event, status=200):
    return jsonify(changed=event is not None, event=_event(event),
                   isolation=overview.flag_overview()), status


# --- JSON ---------------------------------------------------------------------------------

@api_bp.get("/cohorts")
@access(ADMIN)
def api_cohorts():
    """Every cohort with its users and isolation state (on, off or partial)."""
    return jsonify(cohorts.list_cohorts(flag_service().isolation_state()))


@api_bp.post("/cohorts")
@access(ADMIN)
@documented(body=CohortIn)
def api_create_cohort():
    """Create a cohort (it may have no users yet)."""
    body = parse_body(CohortIn)
    return _changed(changes.create_cohort(body.name, body.reason), 201)


@api_bp.post("/cohorts/<name>/users")
@access(ADMIN)
@documented(body=BulkMove)
def api_move_users(name):
    """Move users to a cohort in bulk: a pasted list of emails, or an email domain."""
    body = parse_body(BulkMove)
    report = changes.move_many(name, body.reason, emails=body.emails, domain=body.domain)
    return jsonify(report | {"event": _event(report["event"])})


@api_bp.put("/users/<int:user_id>/cohort")
@access(ADMIN)
@documented(body=CohortMove)
def api_move_user(user_id):
    """Move one user to a cohort; it applies from their next request."""
    body = parse_body(CohortMove)
    user, event = changes.move_user(user_id, body.cohort, body.reason)
    return jsonify(user={"id": user.id, "email": user.email, "cohort": user.cohort},
                   changed=event is not None, event=_event(event))


@api_bp.get("/signup-cohort")
@access(ADMIN)
def api_signup_cohort():
    """The cohort new accounts join, and its isolation (on, off or partial)."""
    return jsonify(overview.signup_overview(flag_service().isolation_state()))


@api_bp.put("/signup-cohort")
@access(ADMIN)
@documented(body=CohortMove)
def api_set_signup_cohort():
    """Choose the cohort new accounts join (web and API sign-up)."""
    body = parse_body(CohortMove)
    event = changes.set_signup_cohort(body.cohort, body.reason)
    return jsonify(changed=event is not None, event=_event(event),
                   signup=overview.signup_overview(flag_service().isolation_state()))


@api_bp.get("/isolation")
@access(ADMIN)
def api_isolation():
    """The isolation flag as the backend has it, the lock, and the backend's health."""
    return jsonify(overview.flag_overview())


@api_bp.put("/isolation/cohorts/<name>")
@access(ADMIN)
@documented(body=IsolationChange)
def api_cohort_isolation(name):
    """Enable or disable isolation for a cohort (enabling runs preflight first)."""
    body = parse_body(IsolationChange)
    return _changed(changes.set_cohort_isolation(name, body.enabled, body.reason, body.force))


@api_bp.put("/isolation/rollout")
@access(ADMIN)
@documented(body=RolloutChange)
def api_rollout():
    """Set the sticky percentage of everyone outside the enabled cohorts."""
    body = parse_body(RolloutChange)
    return _changed(changes.set_rollout(body.percent, body.reason, body.force))


@api_bp.put("/isolation/lock")
@access(ADMIN)
@documented(body=LockChange)
def api_lock():
    """Engage or release the emergency lock on data endpoints."""
    body = parse_body(LockChange)
    return _changed(changes.set_lock(body.on, body.reason))


@api_bp.get("/isolation/preflight")
@access(ADMIN)
@documented(query=PreflightQuery)
def api_preflight():
    """What enabling a cohort would change, and whether it is safe now."""
    query = parse_query(PreflightQuery)
    facts = preflight.gather_facts()
    state = flag_service().isolation_state()
    if query.cohort is not None:
        cohorts.require_listed(query.cohort, state)
    return jsonify(preflight.run(query.cohort, facts=facts, state=state,
                                 percent=query.percent).to_json(facts))


@api_bp.get("/audit")
@access(ADMIN)
@documented(query=AuditQuery)
def api_audit():
    """Every dashboard change, newest first."""
    query = parse_query(AuditQuery)
    return jsonify([audit.to_json(event, reverted_by)
                    for event, reverted_by in audit.newest(query.limit, query.offset)])


@api_bp.post("/audit/<int:event_id>/revert")
@access(ADMIN)
@documented(body=RevertIn)
def api_revert(event_id):
    """Restore the state before an audited change (itself audited)."""
    body = parse_body(RevertIn)
    return _changed(changes.revert(event_id, body.reason, body.force), 201)


# --- web ----------------------------------------------------------------------------------
# Each form posts here and comes back to the dashboard with what happened (or why not).

@bp.get("/flags")
@access(ADMIN)
def flags():
    return render_template("admin/flags.html", **overview.dashboard())


def _form_change(model, fields, change, done):
    """Validate the form with the API's body model, make the change, flash the outcome."""
    try:
        result = change(model.model_validate(fields))
    except ValidationError as exc:
        flash(validation_error(exc).description, "error")
    except AppError as exc:
        flash(exc.description, "error")
    except FlagServiceError as exc:
        flash(_flag_service_message(exc), "error")
    else:
        flash(done(result), "success")
    return redirect(url_for("admin.flags"))


def _reason():
    return request.form.get("reason", "")


def _ticked(name):
    return request.form.get(name) in ("1", "on", "true")


def _outcome(event):
    return audit.summary(event) + "." if event is not None else "Nothing to change."


@bp.post("/flags/cohorts")
@access(ADMIN)
def create_cohort():
    return _form_change(
        CohortIn, {"name": request.form.get("name", ""), "reason": _reason()},
        lambda body: changes.create_cohort(body.name, body.reason), _outcome)


@bp.post("/flags/cohorts/<name>/isolation")
@access(ADMIN)
def cohort_isolation(name):
    return _form_change(
        IsolationChange,
        {"enabled": request.form.get("enabled") == "true", "force": _ticked("force"),
         "reason": _reason()},
        lambda body: changes.set_cohort_isolation(name, body.enabled, body.reason, body.force),
        _outcome)


@bp.post("/flags/users")
@access(ADMIN)
def move_users():
    def moved(report):
        text = f"Moved {len(report['moved'])} user(s) to {report['cohort']}."
        if report["already_there"]:
            text += f" Already there: {', '.join(report['already_there'])}."
        if report["unknown"]:
            text += f" No account for: {', '.join(report['unknown'])}."
        return text

    return _form_change(
        BulkMove,
        {"emails": request.form.get("emails") or None, "domain": request.form.get("domain"),
         "reason": _reason()},
        lambda body: changes.move_many(request.form.get("cohort", ""), body.reason,
                                       emails=body.emails, domain=body.domain),
        moved)


@bp.post("/flags/signup-cohort")
@access(ADMIN)
def signup_cohort():
    return _form_change(
        CohortMove, {"cohort": request.form.get("cohort", ""), "reason": _reason()},
        lambda body: changes.set_signup_cohort(body.cohort, body.reason), _outcome)


@bp.post("/flags/rollout")
@access(ADMIN)
def rollout():
    percent = request.form.get("percent", "").strip()
    return _form_change(
        RolloutChange,
        # ASCII digits only: str.isdigit() also says yes to "²", which int() refuses. Three
        # at most: a longer number is out of range anyway, and the model says so.
        {"percent": int(percent) if PERCENT_FORM.fullmatch(percent) else percent,
         "force": _ticked("force"), "reason": _reason()},
        lambda body: changes.set_rollout(body.percent, body.reason, body.force), _outcome)


@bp.post("/flags/lock")
@access(ADMIN)
def lock():
    return _form_change(
        LockChange, {"on": request.form.get("on") == "true", "reason": _reason()},
        lambda body: changes.set_lock(body.on, body.reason), _outcome)


@bp.post("/flags/audit/<int:event_id>/revert")
@access(ADMIN)
def revert(event_id):
    return _form_change(
        RevertIn, {"force": _ticked("force"), "reason": _reason()},
        lambda body: changes.revert(event_id, body.reason, body.force), _outcome)
