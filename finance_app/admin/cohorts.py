"""Cohorts: which exist, who is in them, their isolation state, and finding users to move.

A cohort is *known* when it is in the `cohorts` table or some user carries it (`flask users
create --cohort` can name a new one). The dashboard also lists cohorts that only the flag
names (enabled directly in Unleash), so that whatever Unleash does is visible here.

Admins see user lists and counts only, never anyone's transactions.
"""
import re

from sqlalchemy import select

from ..errors import AppError
from ..extensions import db
from ..models import Cohort, User, normalise_email
from .schema import admin_tables_ready, require_admin_tables
from .settings import signup_cohort

COHORT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COHORT_NAME_RULE = ("use 1 to 64 lowercase letters, digits, '-' or '_', "
                    "starting with a letter or a digit")
DOMAIN_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
DOMAIN = re.compile(rf"^(?=.{{3,253}}$){DOMAIN_LABEL}(\.{DOMAIN_LABEL})+$")
# Separators of a pasted list of emails: spaces, new lines, commas, semicolons.
EMAIL_SEPARATORS = re.compile(r"[\s,;]+")

ON, OFF, PARTIAL = "on", "off", "partial"


def isolation_of(cohort, state):
    """"on" | "off" | "partial" for a cohort under a flag state (FlagService.isolation_state).

    Partial: the percentage rollout isolates some of the cohort's users, not all of them.
    """
    if state["everyone"] or cohort in state["cohorts"] or state["percent"] >= 100:
        return ON
    return PARTIAL if state["percent"] > 0 else OFF


def members():
    """{cohort: [{id, email}]} for every user, emails in order."""
    rows = db.session.execute(
        select(User.id, User.email, User.cohort).order_by(User.email)
    ).all()
    by_cohort = {}
    for user_id, email, cohort in rows:
        by_cohort.setdefault(cohort, []).append({"id": user_id, "email": email})
    return by_cohort


def known_cohorts():
    """Cohorts in the table or carried by a user."""
    carried = set(db.session.execute(select(User.cohort).distinct()).scalars())
    if not admin_tables_ready():
        return carried
    return carried | set(db.session.execute(select(Cohort.name)).scalars())


def list_cohorts(state):
    """[{name, users, isolation, enabled}] for every cohort, known or named by the flag."""
    by_cohort = members()
    names = known_cohorts() | set(state["cohorts"])
    return [{"name": name, "users": by_cohort.get(name, []), "isolation": isolation_of(name, state),
             "enabled": name in state["cohorts"]}
            for name in sorted(names)]


def require_listed(name, state):
    """404 unless the cohort is known or named by the flag (what the dashboard lists)."""
    if name not in known_cohorts() and name not in state["cohorts"]:
        raise AppError(404, "not_found", f"No cohort named {name!r}.")


def require_known(name, field="cohort"):
    if name not in known_cohorts():
        raise AppError(422, "validation_error",
                       f"{field}: no cohort named {name!r}; create it first.", field=field)


# Both inside a serialised change (`changes.py`), which commits them.
def add_cohort(name):
    db.session.add(Cohort(name=name))


def remove_cohort(name):
    """Remove an empty cohort from the table (the undo of creating it)."""
    users = db.session.execute(select(User.id).where(User.cohort == name).limit(1)).first()
    if users is not None:
        raise AppError(409, "cohort_in_use", f"Cohort {name!r} has users; move them out first.")
    if name == signup_cohort():
        raise AppError(409, "cohort_in_use", f"Sign-ups join cohort {name!r}; choose another "
                       "sign-up cohort first.")
    cohort = db.session.execute(select(Cohort).where(Cohort.name == name)).scalar()
    if cohort is not None:
        db.session.delete(cohort)


def cohort_exists(name):
    require_admin_tables()
    return db.session.execute(select(Cohort.id).where(Cohort.name == name)).first() is not None


def user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        raise AppError(404, "not_found", f"No user with id {user_id}.")
    return user


def users_by_id(user_ids):
    return {u.id: u for u in db.session.execute(
        select(User).where(User.id.in_(user_ids))).scalars()}


def split_emails(pasted):
    """A pasted list (text or a JSON list) as normalised emails, first occurrence order."""
    parts = pasted if isinstance(pasted, list) else EMAIL_SEPARATORS.split(pasted or "")
    emails = []
    for part in parts:
        email = normalise_email(part).strip("<>\"'")
        if email and email not in emails:
            emails.append(email)
    return emails


def users_for_emails(emails):
    """(users found, emails with no account) for a list of normalised emails."""
    found = {u.email: u for u in db.session.execute(
        select(User).where(User.email.in_(emails))).scalars()}
    return [found[e] for e in emails if e in found], [e for e in emails if e not in found]


def users_in_domain(domain):
    return db.session.execute(
        select(User).where(User.email.endswith("@" + domain, autoescape=True))
        .order_by(User.email)
    ).scalars().all()
