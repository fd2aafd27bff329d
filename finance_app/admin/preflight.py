"""Preflight: what enabling isolation for a cohort would change, and whether to do it now.

For a cohort (or, with no cohort, everyone a percentage rollout can reach: the users outside
the enabled cohorts), each user's view today: isolated users see their own rows; the others
see the whole shared ledger, so `would_vanish` = rows they see now that are not theirs
(other users' rows and unowned ones). Then the checks, each green, amber or red:

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
  (`flask cache purge-legacy`).
- rows_vanish — amber when any of the users would stop seeing rows they see today (expected
  when leaving the shared ledger, but they should be told); green when nobody loses a row.

The verdict is the worst check. Enabling a cohort (or raising the percentage) with a red
check is refused unless forced, with a reason, which the audit log keeps.

Facts that do not depend on the cohort are gathered once (`gather_facts`) so the dashboard
can run preflight for every cohort without repeating them.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, inspect, select, text

from ..extensions import db
from ..isolation import flag_service, unscoped
from ..isolation.cache_keys import legacy_data_keys
from ..isolation.scoping import guard_refusals_since
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
    total_rows: int
    own_rows: dict        # user id -> rows they own
    unowned: dict         # table -> rows without an owner
    revision: str
    head: str
    not_null_applied: bool
    legacy_cache_keys: int
    guard_refusals: int


@dataclass
class Report:
    cohort: str
    users: list
    checks: list = field(default_factory=list)

    @property
    def verdict(self):
        return max((c.status for c in self.checks), key=SEVERITY.get, default=GREEN)

    def red_checks(self):
        return [c for c in self.checks if c.status == RED]

    def to_json(self, facts):
        return {
            "cohort": self.cohort, "verdict": self.verdict, "users": self.users,
            "checks": [c.to_json() for c in self.checks],
            "unowned_rows": facts.unowned, "legacy_cache_keys": facts.legacy_cache_keys,
            "guard_refusals_24h": facts.guard_refusals,
            "migration": {"revision": facts.revision, "head": facts.head,
                          "not_null_applied": facts.not_null_applied},
        }


def migration_state():
    """(revision of the database, head of the code, whether 0003 is applied)."""
    scripts = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as conn:
        revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                    if inspect(conn).has_table("alembic_version") else None)
    applied = revision is not None and any(
        r.revision == NOT_NULL_REVISION for r in scripts.iterate_revisions(revision, "base"))
    return revision, scripts.get_current_head(), applied


def gather_facts():
    with unscoped("admin: preflight row counts"):
        total = db.session.execute(select(func.count()).select_from(Transaction)).scalar()
        own = dict(db.session.execute(
            select(Transaction.user_id, func.count()).where(Transaction.user_id.is_not(None))
            .group_by(Transaction.user_id)).all())
        unowned = {model.__tablename__: db.session.execute(
            select(func.count()).select_from(model).where(model.user_id.is_(None))).scalar()
            for model in UNOWNED_MODELS}
    revision, head, applied = migration_state()
    return Facts(
        total_rows=total, own_rows=own, unowned=unowned, revision=revision, head=head,
        not_null_applied=applied, legacy_cache_keys=sum(1 for _ in legacy_data_keys()),
        guard_refusals=guard_refusals_since(datetime.now(timezone.utc) - GUARD_WINDOW),
    )


def affected_users(cohort, state):
    """The cohort's users; with no cohort, everyone outside the enabled cohorts."""
    stmt = select(User.id, User.email, User.cohort).order_by(User.email)
    if cohort is not None:
        stmt = stmt.where(User.cohort == cohort)
    elif state["cohorts"]:
        stmt = stmt.where(User.cohort.not_in(state["cohorts"]))
    return db.session.execute(stmt).all()


def run(cohort=None, facts=None, state=None):
    """The preflight report for enabling `cohort` (None: raising the percentage)."""
    facts = facts or gather_facts()
    flags = flag_service()
    state = state or flags.isolation_state()
    users = []
    for user_id, email, user_cohort in affected_users(cohort, state):
        isolated = flags.isolation_for(user_id, user_cohort)
        own = facts.own_rows.get(user_id, 0)
        visible = own if isolated else facts.total_rows
        users.append({"id": user_id, "email": email, "isolated_now": isolated,
                      "own_rows": own, "visible_rows": visible, "would_vanish": visible - own})
    return Report(cohort=cohort, users=users, checks=[
        _unowned_check(facts), _migration_check(facts), _guard_check(facts),
        _legacy_keys_check(facts), _vanish_check(users),
    ])


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
        return Check("rows_vanish", GREEN, "Nobody would lose sight of any row.")
    rows = sum(u["would_vanish"] for u in losing)
    return Check("rows_vanish", AMBER,
                 f"{len(losing)} of {len(users)} user(s) would stop seeing {rows} row(s) of the "
                 "shared ledger that are not theirs.")
