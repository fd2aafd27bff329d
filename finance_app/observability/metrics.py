"""The app's Prometheus metrics, and the one function per event that counts it.

Under gunicorn with PROMETHEUS_MULTIPROC_DIR set, prometheus_client keeps every process's
values in files of that folder and a scrape adds them up (`exposition()`); without it (`make
run`, tests) they live in this process's default registry. The variable is read when
prometheus_client is first imported: set it in the environment gunicorn starts with
(gunicorn.conf.py marks a dead worker's live gauges dead).

Labels stay bounded: cohorts (a handful, named by admins), endpoints and blueprints (the URL
map), status codes, cache key kinds (`keys.DATA_KEY_KINDS`) — never a user id, an email or
anything a caller typed.

Events that matter for a rollout step (denials, refusals, errors) are also added to this
app's per-minute samples (`samples.py`, `app.extensions["metric_samples"]`), which the flag
dashboard charts over the last hour. A leaf: it imports nothing of the app, so the isolation
core can count where it decides.
"""
import os

from flask import current_app, has_app_context
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

SAMPLES = "metric_samples"
# The cohort label of a request nobody is signed in to (never a cohort's name: those are
# lower-case letters, digits, '_' and '-').
NO_COHORT = "(anonymous)"
# What the dashboard charts, per cohort and minute.
DENIED_401, DENIED_404, DENIED_429 = "denied_401", "denied_404", "denied_429"
GUARD_REFUSAL, POLICY_REFUSAL, ERROR_5XX = "guard_refusal", "policy_refusal", "error_5xx"
SAMPLE_KINDS = (DENIED_401, DENIED_404, DENIED_429, GUARD_REFUSAL, POLICY_REFUSAL, ERROR_5XX)
DENIALS = {401: DENIED_401, 404: DENIED_404, 429: DENIED_429}

DECISIONS = Counter("finance_isolation_decisions", "Isolation decisions (one per request "
                    "that asks), by the user's cohort and outcome (on: isolated).",
                    ["cohort", "outcome"])
GUARD_REFUSALS = Counter("finance_guard_refusals", "Unscoped reads of owned tables the "
                         "application guard refused.", ["cohort", "endpoint"])
POLICY_REFUSALS = Counter("finance_policy_refusals", "Statements a PostgreSQL row-level "
                          "security policy refused (SQLSTATE 42501), answered 404.",
                          ["cohort", "endpoint"])
RESPONSES = Counter("finance_responses", "Responses by blueprint, status code and the "
                    "cohort of the signed-in user.", ["blueprint", "status", "cohort"])
FLAG_DEFINITIONS_AGE = Gauge(
    "finance_flag_definitions_age_seconds", "Seconds since this process last loaded flag "
    "definitions successfully (since its flag client started, if it never has).",
    multiprocess_mode="liveall")
CACHE_LOOKUPS = Counter("finance_cache_lookups", "Cached data lookups by key kind and "
                        "result (hit, miss).", ["kind", "result"])
IMPORT_ROWS = Counter("finance_import_rows", "Rows of committed CSV imports by outcome "
                      "(imported, duplicate, skipped: bad lines the user chose to skip).",
                      ["outcome"])
BACKFILL_ASSIGNED = Counter("finance_backfill_rows_assigned", "Unowned transactions the "
                            "backfill gave an owner (committed batches).")
# The most recent value of any process: the backfill runs in an ops command, not a worker.
BACKFILL_REMAINING = Gauge("finance_backfill_rows_remaining", "Transactions the running (or "
                           "last) backfill has still to assign.", multiprocess_mode="mostrecent")


def cohort_of(principal):
    return principal.cohort if principal is not None else NO_COHORT


def decided(principal, isolated):
    DECISIONS.labels(cohort_of(principal), "on" if isolated else "off").inc()


def guard_refused(principal, endpoint):
    GUARD_REFUSALS.labels(cohort_of(principal), endpoint or "unrouted").inc()
    _sample(principal, GUARD_REFUSAL)


def policy_refused(principal, endpoint):
    POLICY_REFUSALS.labels(cohort_of(principal), endpoint or "unrouted").inc()
    _sample(principal, POLICY_REFUSAL)


def responded(principal, blueprint, status):
    RESPONSES.labels(blueprint, str(status), cohort_of(principal)).inc()
    if status in DENIALS:
        _sample(principal, DENIALS[status])
    elif status >= 500:
        _sample(principal, ERROR_5XX)


def cache_looked_up(kind, hit):
    CACHE_LOOKUPS.labels(kind, "hit" if hit else "miss").inc()


def import_committed(imported, duplicates, skipped):
    for outcome, rows in (("imported", imported), ("duplicate", duplicates),
                          ("skipped", skipped)):
        IMPORT_ROWS.labels(outcome).inc(rows)


def backfill_progress(assigned, remaining):
    BACKFILL_ASSIGNED.inc(assigned)
    BACKFILL_REMAINING.set(remaining)


def flag_definitions_age(seconds):
    FLAG_DEFINITIONS_AGE.set(seconds)


def _sample(principal, kind):
    samples = current_app.extensions.get(SAMPLES) if has_app_context() else None
    if samples is not None:
        samples.add(cohort_of(principal), kind)


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def exposition():
    """Every process's metrics (multiprocess mode), or this process's, in the text format."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
