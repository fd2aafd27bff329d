"""Preflight: what enabling isolation for a cohort (or raising the percentage) would change,
and whether to do it now.

Isolation is two-sided: an isolated user sees only their own rows, and the shared ledger of
everyone else leaves those rows out. So a step changes two views:
- the users it isolates stop seeing the shared ledger: each one's `would_vanish` = rows they
  see today that are not theirs (unowned rows and other non-isolated owners' rows);
- the users who stay on the shared ledger stop seeing the newly isolated users' rows.

Who is isolated now comes from the flag definition the backend holds, through the same
visibility rule that `scope()` runs as SQL (isolation/visibility.py). For a cohort the step
isolates its users; for a percentage `p` (default: 100, everyone a percentage can reach) the
users outside the enabled cohorts whose rollout bucket is within `p`.

Then the checks, each green, amber or red:
- translatable — red when the definition holds something the app cannot translate into SQL
  (a strategy added in Unleash's own UI): the shared ledger is then restricted to unowned
  rows and each viewer's own, and staged changes are refused until it is removed.
- unowned_rows — red when any transaction or import batch has no owner (possible before
  migration 0003): nobody isolated sees them, so they would vanish for everyone enabled.
  Fix: `flask isolation backfill`.
- not_null_migration — green when 0003 (user_id NOT NULL) is applied; red when it is not
  and unowned rows exist; amber when it is not but every row has an owner
  (`flask db upgrade`).
- guard_refusals — red when the guard refused an unscoped read of owned data in the last
  24 h: some code path still reads without scope(), and enabling more users would break it
  for them.
- legacy_cache_keys — amber when legacy (shared-namespace) data keys are in the cache:
  isolated users never read them, but they hold shared data until purged
  (`flask cache purge-legacy`); amber too while the cache is unavailable (not counted).
- rows_vanish — amber when a user the step isolates would stop seeing rows they see today.
- others_lose_rows — amber when users who stay on the shared ledger would stop seeing rows
  of the users the step isolates (expected, but they should be told).

The verdict is the worst check. Enabling a cohort (or raising the percentage) with a red
check is refused unless forced, with a reason, which the audit log keeps.

Facts that do not depend on the step are gathered once (`gather_facts`) so the dashboard
can run preflight for every cohort without repeating them.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import func, inspect, literal, select, text

from ..cache_backend import CacheUnavailable
from ..extensions import db
from ..isolation import flag_service, unscoped
from ..isolation.cache_keys import legacy_data_keys
from ..isolation.scoping import guard_refusals_since
from ..isolation.visibility import has_bucket_column
from ..models import ImportBatch, Transaction, User

GREEN, AMBER, RED = "green", "amber", "red"
SEVERITY = {GREEN: 0, AMBER: 1, RED: 2}
NOT_NULL_REVISION = "0003_owner_not_null"
UNOWNED_MODELS = (Transaction, ImportBatch)
GUARD_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    message: str

    def to_json(self):
        return {"name": self.name, "status": self.status, "message": self.message}


@dataclass
class Facts:
    users: list           # (id, email, cohort, rollout_bucket) of every user
    own_rows: dict        # user id -> transactions they own
    unowned: dict         # table -> rows without an owner
    rule: object          # the visibility rule of the definition the backend holds
    revision: str
    head: str
    not_null_applied: bool
    legacy_cache_keys: int  # None: the cache is unavailable, so they could not be counted
    guard_refusals: int

    def isolated_now(self, user):
        return bool(self.rule.isolates(user))

    @property
    def shared_rows(self):
        """Transactions on the shared ledger now (every non-isolated user sees them all)."""
        if not self.rule.translatable:
            return self.unowned["transactions"]  # it fails closed: unowned and one's own
        return self.unowned["transactions"] + sum(
            self.own_rows.get(u.id, 0) for u in self.users if not self.isolated_now(u))


@dataclass
class Report:
    cohort: str
    users: list
    others: dict          # {users still on the shared ledger after, rows leaving it}
    checks: list = field(default_factory=list)

    @property
    def verdict(self):
        return max((c.status for c in self.checks), key=SEVERITY.get, default=GREEN)

    def red_checks(self):
        return [c for c in self.checks if c.status == RED]

    def to_json(self, facts):
        return {
            "cohort": self.cohort, "verdict": self.verdict, "users": self.users,
            "shared_ledger_after": self.others,
            "checks": [c.to_json() for c in self.checks],
            "unowned_rows": facts.unowned, "legacy_cache_keys": facts.legacy_cache_keys,
            "guard_refusals_24h": facts.guard_refusals,
            "migration": {"revision": facts.revision, "head": facts.head,
                          "not_null_applied": facts.not_null_applied},
        }


def migration_state():
    """(revision of the database, head of the code, whether 0003 is applied)."""
    from alembic.script import ScriptDirectory  # alembic only where used (a worker's memory)

    scripts = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as conn:
        revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                    if inspect(conn).has_table("alembic_version") else None)
    applied = revision is not None and any(
        r.revision == NOT_NULL_REVISION for r in scripts.iterate_revisions(revision, "base"))
    return revision, scripts.get_current_head(), applied


def gather_facts():
    with unscoped("admin: preflight row counts"):
        own = dict(db.session.execute(
            select(Transaction.user_id, func.count()).where(Transaction.user_id.is_not(None))
            .group_by(Transaction.user_id)).all())
        unowned = {model.__tablename__: db.session.execute(
            select(func.count()).select_from(model).where(model.user_id.is_(None))).scalar()
            for model in UNOWNED_MODELS}
    # Mid-upgrade there are no buckets yet: 0 counts as inside every percentage (fails closed).
    bucket = (User.rollout_bucket if has_bucket_column(db.session.connection())
              else literal(0).label("rollout_bucket"))
    users = db.session.execute(
        select(User.id, User.email, User.cohort, bucket).order_by(User.email)).all()
    revision, head, applied = migration_state()
    return Facts(
        users=users, own_rows=own, unowned=unowned, rule=flag_service().isolation_rule(),
        revision=revision, head=head, not_null_applied=applied,
        legacy_cache_keys=_count_legacy_keys(),
        guard_refusals=guard_refusals_since(datetime.now(timezone.utc) - GUARD_WINDOW),
    )


def _count_legacy_keys():
    try:
        return sum(1 for _ in legacy_data_keys())
    except CacheUnavailable:
        return None


def _step(cohort, percent, state):
    """(users the step concerns, predicate: isolated once the step is taken)."""
    if cohort is not None:
        return (lambda u: u.cohort == cohort), (lambda u: u.cohort == cohort)
    percent = 100 if percent is None else percent
    outside = lambda u: u.cohort not in state["cohorts"]  # noqa: E731
    return outside, (lambda u: outside(u) and u.rollout_bucket <= percent)


def run(cohort=None, facts=None, state=None, percent=None):
    """The preflight report for enabling `cohort` (None: raising the percentage to
    `percent`, default 100)."""
    facts = facts or gather_facts()
    state = state or flag_service().isolation_state()
    concerned, isolated_by_step = _step(cohort, percent, state)
    shared = facts.shared_rows
    users, leaving = [], 0
    for user in facts.users:
        if not concerned(user):
            continue
        isolated = facts.isolated_now(user)
        own = facts.own_rows.get(user.id, 0)
        newly = not isolated and isolated_by_step(user)
        visible = own if isolated else shared
        leaving += own if newly else 0
        users.append({"id": user.id, "email": user.email, "isolated_now": isolated,
                      "isolated_after": isolated or isolated_by_step(user), "own_rows": own,
                      "visible_rows": visible, "would_vanish": visible - own if newly else 0})
    staying = sum(1 for u in facts.users
                  if not facts.isolated_now(u) and not isolated_by_step(u))
    return Report(cohort=cohort, users=users, others={"users": staying, "rows_leaving": leaving},
                  checks=[_translatable_check(facts), _unowned_check(facts),
                          _migration_check(facts), _guard_check(facts),
                          _legacy_keys_check(facts), _vanish_check(users),
                          _others_check(staying, leaving)])


def _translatable_check(facts):
    if facts.rule.translatable:
        return Check("translatable", GREEN, "The flag definition translates into SQL.")
    return Check("translatable", RED,
                 f"USE_USER_ISOLATION holds what the app cannot translate into SQL "
                 f"({facts.rule.reason}), so the shared ledger shows only unowned rows and "
                 "each viewer's own. Remove that strategy in Unleash.")


def _unowned_check(facts):
    unowned = {table: n for table, n in facts.unowned.items() if n}
    if not unowned:
        return Check("unowned_rows", GREEN, "Every row has an owner.")
    described = ", ".join(f"{n} in {table}" for table, n in unowned.items())
    return Check("unowned_rows", RED, f"Rows without an owner ({described}) would vanish for "
                 "every isolated user. Assign them with `flask isolation backfill` first.")


def _migration_check(facts):
    if facts.not_null_applied:
        return Check("not_null_migration", GREEN,
                     f"user_id is NOT NULL (database at {facts.revision}).")
    if any(facts.unowned.values()):
        return Check("not_null_migration", RED,
                     f"Migration {NOT_NULL_REVISION} is not applied (database at "
                     f"{facts.revision}) and unowned rows remain.")
    return Check("not_null_migration", AMBER,
                 f"Migration {NOT_NULL_REVISION} is not applied (database at {facts.revision}); "
                 "every row has an owner, so run `flask db upgrade`.")


def _guard_check(facts):
    if facts.guard_refusals:
        return Check("guard_refusals", RED,
                     f"The isolation guard refused {facts.guard_refusals} unscoped read(s) in the "
                     "last 24 h: some code path still reads owned data without scope().")
    return Check("guard_refusals", GREEN, "No guard refusals in the last 24 h.")


def _legacy_keys_check(facts):
    if facts.legacy_cache_keys is None:
        return Check("legacy_cache_keys", AMBER,
                     "The cache is unavailable, so its legacy data keys could not be counted; "
                     "run preflight again once it is back.")
    if facts.legacy_cache_keys:
        return Check("legacy_cache_keys", AMBER,
                     f"{facts.legacy_cache_keys} legacy data key(s) in the cache hold shared data; "
                     "purge them with `flask cache purge-legacy` once the rollout is done.")
    return Check("legacy_cache_keys", GREEN, "No legacy data keys in the cache.")


def _vanish_check(users):
    if not users:
        return Check("rows_vanish", GREEN, "No users would be affected.")
    losing = [u for u in users if u["would_vanish"]]
    if not losing:
        return Check("rows_vanish", GREEN, "Nobody isolated by this step loses sight of a row.")
    rows = sum(u["would_vanish"] for u in losing)
    return Check("rows_vanish", AMBER,
                 f"{len(losing)} of {len(users)} user(s) would stop seeing {rows} row(s) of the "
                 "shared ledger that are not theirs.")


def _others_check(staying, leaving):
    if not leaving or not staying:
        return Check("others_lose_rows", GREEN,
                     "Nobody on the shared ledger loses sight of a row.")
    return Check("others_lose_rows", AMBER,
                 f"{leaving} row(s) of the users this step isolates leave the shared ledger: "
                 f"the {staying} user(s) still on it stop seeing them.")


# Users listed on the dashboard, those with something to say first; every user is counted.
USERS_SHOWN = 200


def user_readiness(reports, shown=None):
    """Preflight per user, from the reports of every cohort (`Report.to_json`): for each user
    whether the step of their cohort would isolate them (or already has), what blocks it (the
    cohort's red checks) and what it warns them of (rows of the shared ledger they would stop
    seeing). Users not isolated yet with blockers come first, then with warnings, then by email.
    """
    users = []
    for report in reports:
        blockers = [c["name"] for c in report["checks"] if c["status"] == RED]
        for user in report["users"]:
            pending = not user["isolated_now"]
            warnings = ([f"would stop seeing {user['would_vanish']} row(s) of the shared ledger "
                         "that are not theirs"] if user["would_vanish"] else [])
            users.append({"email": user["email"], "cohort": report["cohort"],
                          "isolated_now": user["isolated_now"],
                          "would_be_isolated": user["isolated_after"],
                          "own_rows": user["own_rows"],
                          "blockers": blockers if pending else [], "warnings": warnings})
    users.sort(key=lambda u: (not u["blockers"], not u["warnings"], u["email"]))
    summary = {
        "users": len(users),
        "isolated_now": sum(u["isolated_now"] for u in users),
        "would_be_isolated": sum(u["would_be_isolated"] and not u["isolated_now"] for u in users),
        "warned": sum(bool(u["warnings"]) for u in users),
        "blocked": sum(bool(u["blockers"]) for u in users),
    }
    return {"summary": summary, "users": users[:shown or USERS_SHOWN]}
