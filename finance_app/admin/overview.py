"""What the dashboard shows, read back from the flag backend on every view (so a change made
in Unleash's own UI shows up here): the isolation state, the lock, the backend and its
health, every cohort with its users and preflight verdict, the cohort sign-ups join, and the
audit log."""
from flask import current_app

from ..isolation import flag_service
from . import audit, cohorts, preflight, settings
from .schema import admin_tables_ready


def flag_overview():
    flags = flag_service()
    return {**flags.isolation_state(), "lock": flags.lock_state(),
            "lock_by_config": bool(current_app.config.get("EMERGENCY_DATA_LOCK")),
            "backend": flags.health()}


def signup_overview(state):
    """The cohort sign-ups join and its isolation under the flag `state`."""
    cohort = settings.signup_cohort()
    return {"cohort": cohort, "isolation": cohorts.isolation_of(cohort, state)}


def dashboard(audit_limit=100):
    overview = flag_overview()
    facts = preflight.gather_facts()
    rows = cohorts.list_cohorts(overview)
    for row in rows:
        row["preflight"] = preflight.run(row["name"], facts=facts, state=overview).to_json(facts)
    return {
        "overview": overview, "cohorts": rows, "migration_pending": not admin_tables_ready(),
        "known_cohorts": sorted(cohorts.known_cohorts()), "signup": signup_overview(overview),
        "rollout_preflight": preflight.run(None, facts=facts, state=overview).to_json(facts),
        "events": [audit.to_json(event, reverted_by)
                   for event, reverted_by in audit.newest(audit_limit)],
    }
