"""Every change an admin makes on the flag dashboard: applied, audited, revertable.

Every change runs under the app database's change lock (`serialised_change`, shared by every
worker and host) as one database transaction: it reads the state of its target, runs
preflight, records the audit event and applies the change, then commits. So the recorded
`before` is exactly the state the change was made on, two admins changing at the same moment
never lose one another's change, and the record and the change commit together or not at all
(a bulk move of 400 users moves all of them, with one event, or nobody).

Flag changes go through `flag_service()`, so the embedded and the remote Unleash backend
behave the same (remote: the Admin API, read back from Unleash, inside the lock). Cohort moves
write the users' cohorts in the change's transaction; once it has committed, the moved users'
cached principals are dropped (their next request has the new cohort) and the cache
namespaces they leave or join are made stale.

A flag service that cannot be reached or refuses (remote backend) raises FlagServiceError,
which the routes answer with a 503; the change and its record roll back.

Each change reads the state of its target first; asking for the state it already has changes
nothing and records nothing. Otherwise it is recorded (who, why, before, after) and applied.
Changes that isolate more users (enabling a cohort, raising the percentage) run preflight
first and are refused on a red check unless forced.

While the flag is undefined (a fresh install: isolation on for everyone, failing closed) or
enabled without any strategy, staged changes are refused: defining the staged flag would
switch isolation *off* for everyone not named by the change.

Revert restores the state before an event, for that event's target only. It is refused when
the target has changed since the event (it would silently undo the later change) and when the
event was already reverted. A revert is itself an event, naming the one it reverted.
"""
from dataclasses import dataclass
from typing import Callable

from ..errors import AppError
from ..isolation import flag_service, forget_principal
from ..isolation.cache_keys import invalidate_namespaces
from ..isolation.change_lock import after_commit, serialised_change
from ..isolation.decision import lock_sources
from ..isolation.flags import FlagServiceError
from ..isolation.lock_override import store_override
from . import audit, cohorts, preflight, settings

CHANGED_SINCE = ("The {what} has changed since event {id} (it is now {current}, the event left "
                 "it at {recorded}); a revert would undo that later change. Make the change "
                 "you want directly instead.")


def staged_state():
    """The flag state, if it can take a staged change (see the module docstring)."""
    state = flag_service().isolation_state()
    if not state["translatable"]:
        raise AppError(409, "untranslatable_flag", (
            "USE_USER_ISOLATION holds what the app cannot translate into SQL "
            f"({state['untranslatable_reason']}); a staged change would overwrite it. Remove "
            "it in Unleash first (meanwhile the shared ledger shows only unowned rows and each "
            "viewer's own)."))
    if state["everyone"]:
        raise AppError(409, "isolation_everywhere", (
            "Isolation is on for everyone: USE_USER_ISOLATION is not defined (which fails "
            "closed) or has no strategy. A staged change would switch isolation off for "
            "everyone it does not name, so none is made. Define the staged flag first "
            "(an upgraded install gets it with no cohort enabled)."))
    return state


def _preflight_or_refuse(cohort, state, force, percent=None):
    """Names of the red checks overridden by `force`; 409 if there are some and no force."""
    red = preflight.run(cohort, state=state, percent=percent).red_checks()
    if red and not force:
        what = f"cohort {cohort}" if cohort else "the percentage rollout"
        raise AppError(
            409, "preflight_failed",
            f"Preflight for {what} has red checks: {' '.join(c.message for c in red)} "
            "To go ahead anyway, send force with a reason.",
            checks=[c.to_json() for c in red])
    return [c.name for c in red]


# --- isolation ----------------------------------------------------------------------------

@serialised_change()
def set_cohort_isolation(cohort, enabled, reason, force=False, reverts=None):
    """Enable or disable isolation for one cohort.

    The event also keeps the cohorts the flag enabled before and after (`enabled_cohorts`),
    so the log replays the flag's history; a revert restores only this cohort's `enabled`.
    """
    state = staged_state()
    cohorts.require_listed(cohort, state)
    before = {"enabled": cohort in state["cohorts"]}
    if before["enabled"] == enabled:
        return None
    after = {"enabled": enabled}
    if enabled:
        forced = _preflight_or_refuse(cohort, state, force)
        if forced:
            after["forced_checks"] = forced
    enabled_before = set(state["cohorts"])
    before["enabled_cohorts"] = sorted(enabled_before)
    after["enabled_cohorts"] = sorted(
        enabled_before | {cohort} if enabled else enabled_before - {cohort})
    event = audit.record("cohort.isolation", cohort, before, after, reason, reverts)
    flag_service().enable_cohort(cohort, enabled)
    return event


@serialised_change()
def set_rollout(percent, reason, force=False, reverts=None):
    state = staged_state()
    before = {"percent": state["percent"]}
    if before["percent"] == percent:
        return None
    after = {"percent": percent}
    if percent > before["percent"]:
        forced = _preflight_or_refuse(None, state, force, percent)
        if forced:
            after["forced_checks"] = forced
    event = audit.record("rollout.percent", "rollout", before, after, reason, reverts)
    flag_service().set_percent(percent)
    return event


def lock_held(sources):
    """Whether the override or the flag holds the lock (`lock_sources()`): what a lock
    change engages or lifts (the environment's setting is outside its reach)."""
    return sources["override"] or sources["flag"]


@serialised_change()
def set_lock(on, reason, force=False, reverts=None, actor=None):
    """Engage or lift the emergency lock (`isolation/lock_override.py`).

    Engaging writes the override in the app's database, whether or not the flag service can
    be reached. Lifting clears the override and switches the EMERGENCY_DATA_LOCK flag off as
    well when that holds the lock too (flipped in Unleash, or engaged by an earlier
    release): a lock reported lifted is lifted. If the flag holds it and the flag service
    cannot be reached, nothing is lifted (FlagServiceError, a 503). The EMERGENCY_DATA_LOCK
    setting of an environment is outside any change. Every process follows within
    FLAG_REFRESH_SECONDS; this one at once.
    """
    sources = lock_sources()
    before = {"on": lock_held(sources)}
    if before["on"] == on:
        return None
    event = audit.record("lock", "lock", before, {"on": on}, reason, reverts, actor=actor)
    store_override(on)
    if not on and sources["flag"]:
        try:
            flag_service().set_lock(False)
        except FlagServiceError as exc:
            raise FlagServiceError(f"the EMERGENCY_DATA_LOCK flag holds the lock as well and "
                                   f"could not be switched off, so nothing was lifted: {exc}"
                                   ) from exc
    after_commit(flag_service().lock_override.reload)
    return event


# --- cohorts, users and sign-ups ----------------------------------------------------------

@serialised_change()
def create_cohort(name, reason):
    if name in cohorts.known_cohorts():
        raise AppError(409, "conflict", f"Cohort {name!r} already exists.")
    return set_cohort_exists(name, True, reason)


@serialised_change()
def set_cohort_exists(name, exists, reason, force=False, reverts=None):
    before = {"exists": cohorts.cohort_exists(name)}
    if before["exists"] == exists:
        return None
    event = audit.record("cohort.exists", name, before, {"exists": exists}, reason, reverts)
    if exists:
        cohorts.add_cohort(name)
    else:
        cohorts.remove_cohort(name)
    return event


@serialised_change()
def set_signup_cohort(cohort, reason, force=False, reverts=None):
    """Choose the cohort new accounts join (see `settings.py`)."""
    cohorts.require_known(cohort)
    before = {"cohort": settings.signup_cohort()}
    if before["cohort"] == cohort:
        return None
    event = audit.record("signup.cohort", "signup", before, {"cohort": cohort}, reason, reverts)
    settings.store_signup_cohort(cohort)
    return event


@serialised_change()
def move_user(user_id, cohort, reason):
    user = cohorts.user_or_404(user_id)
    cohorts.require_known(cohort)
    return user, move_users([user], cohort, reason)


@serialised_change()
def move_many(cohort, reason, emails=None, domain=None):
    """Move the users with these emails, or every user of an email domain, to `cohort`.

    Emails with no account are reported, not fatal: the known ones move (one event).
    """
    cohorts.require_known(cohort)
    if domain is not None:
        users, unknown = cohorts.users_in_domain(domain), []
    else:
        users, unknown = cohorts.users_for_emails(emails)
    report = {
        "cohort": cohort, "unknown": unknown,
        "moved": [{"id": u.id, "email": u.email, "from": u.cohort}
                  for u in users if u.cohort != cohort],
        "already_there": [u.email for u in users if u.cohort == cohort],
    }
    report["event"] = move_users(users, cohort, reason)
    return report


def move_users(users, cohort, reason):
    """Move users to `cohort`; the event (None if all were there already)."""
    return set_user_cohorts({str(u.id): cohort for u in users}, reason)


@serialised_change()
def set_user_cohorts(wanted, reason, force=False, reverts=None):
    """wanted: {user id (str): cohort}. Users that no longer exist are left out.

    Every user's new cohort and the one event commit together: all or nothing.
    """
    users = cohorts.users_by_id([int(uid) for uid in wanted])
    moving = [u for u in users.values() if u.cohort != wanted[str(u.id)]]
    if not moving:
        return None
    moving.sort(key=lambda u: u.email)
    before = {"cohorts": {str(u.id): u.cohort for u in moving}}
    after = {"cohorts": {str(u.id): wanted[str(u.id)] for u in moving}}
    target = (moving[0].email if len(moving) == 1
              else f"{len(moving)} users: " + ", ".join(u.email for u in moving))
    event = audit.record("users.cohort", target, before, after, reason, reverts)
    for user in moving:
        user.cohort = after["cohorts"][str(user.id)]
    moved = [u.id for u in moving]
    after_commit(lambda: _moved(moved))
    return event


def _moved(user_ids):
    """After a move commits: each moved user's next request has the new cohort, and what the
    cache holds for the namespaces they leave or join (theirs, the shared ledger's) is stale."""
    for user_id in user_ids:
        forget_principal(user_id)
    invalidate_namespaces(user_ids)


def _current_user_cohorts(after):
    users = cohorts.users_by_id([int(uid) for uid in after["cohorts"]])
    return {"cohorts": {str(uid): user.cohort for uid, user in users.items()}}


# --- revert -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Revertable:
    current: Callable   # (target, event.after) -> the target's state now, shaped like `after`
    restore: Callable   # (target, state, reason, force, reverts) -> the new event or None


ACTIONS = {
    "cohort.isolation": Revertable(
        lambda target, after: {"enabled": target in flag_service().isolation_state()["cohorts"]},
        lambda target, state, *rest: set_cohort_isolation(target, state["enabled"], *rest)),
    "rollout.percent": Revertable(
        lambda target, after: {"percent": flag_service().isolation_state()["percent"]},
        lambda target, state, *rest: set_rollout(state["percent"], *rest)),
    "lock": Revertable(
        lambda target, after: {"on": lock_held(lock_sources())},
        lambda target, state, *rest: set_lock(state["on"], *rest)),
    "users.cohort": Revertable(
        lambda target, after: _current_user_cohorts(after),
        lambda target, state, *rest: set_user_cohorts(state["cohorts"], *rest)),
    "cohort.exists": Revertable(
        lambda target, after: {"exists": cohorts.cohort_exists(target)},
        lambda target, state, *rest: set_cohort_exists(target, state["exists"], *rest)),
    "signup.cohort": Revertable(
        lambda target, after: {"cohort": settings.signup_cohort()},
        lambda target, state, *rest: set_signup_cohort(state["cohort"], *rest)),
}


def _unchanged(current, recorded):
    """Whether the state now is what the event left, on every key `current` has (the users
    of a move that still exist)."""
    for key, value in current.items():
        if isinstance(value, dict):
            if any(recorded[key].get(k) != v for k, v in value.items()):
                return False
        elif recorded.get(key) != value:
            return False
    return True


@serialised_change()
def revert(event_id, reason, force=False):
    event = audit.event_or_404(event_id)
    reverted_by = audit.reverting_event(event.id)
    if reverted_by is not None:
        raise AppError(409, "already_reverted",
                       f"Event {event.id} was already reverted by event {reverted_by}.",
                       reverted_by=reverted_by)
    action = ACTIONS[event.action]
    current = action.current(event.target, event.after)
    if not _unchanged(current, event.after):
        raise AppError(409, "changed_since", CHANGED_SINCE.format(
            what=f"{event.action} of {event.target}", id=event.id, current=current,
            recorded=event.after), current=current)
    restored = action.restore(event.target, event.before, reason, force, event.id)
    if restored is None:
        raise AppError(409, "nothing_to_revert",
                       f"Event {event.id} has nothing left to revert (its users are gone).")
    return restored
