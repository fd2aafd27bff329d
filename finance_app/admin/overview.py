"""What the dashboard shows, read back from the flag backend on every view (so a change made
in Unleash's own UI shows up here): the isolation state, the lock, the backend and its
health, every cohort with its users and preflight verdict, preflight per user, the last hour
of denials, refusals and errors per cohort, the cohort sign-ups join, and the audit log."""
from ..isolation import flag_service
from ..isolation.decision import lock_sources
from ..isolation.flags import FlagServiceError
from ..observability.samples import last_hour
from . import audit, cohorts, preflight, settings
from .changes import lock_held
from .schema import admin_tables_ready


def flag_overview():
    """The flag state, the lock and the backend's health. While the flag service cannot be
    reached, the dashboard still shows (and can change) the lock, and the isolation state
    as this process last loaded it, saying so (`unreachable`)."""
    flags = flag_service()
    try:
        state, unreachable = flags.isolation_state(), None
    except FlagServiceError as exc:
        state, unreachable = flags.loaded_isolation_state(), str(exc)
    sources = lock_sources()
    return {**state, "unreachable": unreachable, "lock": lock_held(sources),
            "lock_override": sources["override"], "lock_flag": sources["flag"],
            "lock_by_config": sources["config"], "backend": flags.health()}


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
        "user_readiness": preflight.user_readiness([row["preflight"] for row in rows]),
        "known_cohorts": sorted(cohorts.known_cohorts()), "signup": signup_overview(overview),
        "rollout_preflight": preflight.run(None, facts=facts, state=overview).to_json(facts),
        "last_hour": last_hour(),
        "events": [audit.to_json(event, reverted_by)
                   for event, reverted_by in audit.newest(audit_limit)],
    }
