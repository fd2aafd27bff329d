"""Who is isolated, as SQL: the rule that makes isolation two-sided.

Once a user is isolated their rows belong to them alone, so the shared ledger of the users not
yet isolated must leave those rows out. That needs "is this owner isolated?" for every owner
of every row, inside the query — so it cannot ask the SDK user by user. Instead the flag
definition the SDK evaluates is translated here into one SQL condition over the `users`
table:

- each strategy is an alternative (any one enables), and inside a strategy every constraint
  must hold and the user's rollout bucket must be within the strategy's percentage;
- constraints on `cohort` (and `userId`) with IN / NOT_IN, optionally inverted, translate
  to `users.cohort IN (...)` (or `users.id IN (...)`);
- a percentage translates to `users.rollout_bucket <= percent`, where the bucket is computed
  per user exactly as the SDK normalises `userId` stickiness:
  `murmur3_32("<groupId>:<userId>", seed 0) % 100 + 1` (`rollout_bucket`).

Anything else — another operator or context field, a segment, a different groupId or
stickiness, a strategy type the SDK evaluates with inputs SQL does not have — cannot be
translated, and the rule *fails closed*: the shared ledger shows only unowned rows and the
viewer's own, and `reason` says why (the flag dashboard shows it). The SDK still decides, for
each request, whether its own user is isolated; `tests/isolation/test_visibility.py` proves
the translation gives the SDK's answers.

A leaf of the core: it imports no other module of `isolation/`.
"""
import hashlib
import json
from dataclasses import dataclass

import mmh3
from sqlalchemy import and_, false, inspect, not_, or_, true

ISOLATION_FLAG = "USE_USER_ISOLATION"
COHORT_FIELD = "cohort"
# Percentage rollouts are sticky on this group: the bucket stored per user is for it.
ROLLOUT_GROUP = ISOLATION_FLAG
# What the SDK does for these strategies, with the parameters read below.
PERCENT_STRATEGIES = ("flexibleRollout",)
ALWAYS_STRATEGIES = ("default",)
USER_STICKINESS = ("userId", "default")  # "default" is userId whenever a userId is given


def rollout_bucket(user_id, group=ROLLOUT_GROUP):
    """The user's bucket (1–100) of a percentage rollout sticky on userId, as the SDK
    computes it: the user is in a `P`% rollout exactly when bucket <= P."""
    return mmh3.hash(f"{group}:{user_id}", 0, signed=False) % 100 + 1


def has_bucket_column(connection):
    """Whether `users.rollout_bucket` exists yet: migration 0010 adds it, and this release's
    ops commands (the backfill runbook's `flask users create`, the dashboard's preflight)
    run on databases mid-upgrade too."""
    return any(c["name"] == "rollout_bucket" for c in inspect(connection).get_columns("users"))


class Untranslatable(ValueError):
    """A flag definition holds something that has no SQL translation here."""


@dataclass(frozen=True)
class Condition:
    """A constraint the rule can evaluate: `field` (cohort or userId) in `values`, or not."""

    field: str
    values: frozenset
    negated: bool

    def holds(self, user):
        value = user.cohort if self.field == COHORT_FIELD else str(user.id)
        return (value in self.values) != self.negated

    def sql_values(self):
        """The values as SQL compares them: cohorts as they are, user ids as integers (a
        value that is no id matches nobody)."""
        if self.field == COHORT_FIELD:
            return sorted(self.values)
        return sorted(int(v) for v in self.values if v.isascii() and v.isdigit())

    def sql(self, users):
        column = users.c.cohort if self.field == COHORT_FIELD else users.c.id
        condition = column.in_(self.sql_values())
        return not_(condition) if self.negated else condition


@dataclass(frozen=True)
class Alternative:
    """One strategy: all its conditions hold and the bucket is within `percent`."""

    conditions: tuple
    percent: int

    def holds(self, user):
        return (all(c.holds(user) for c in self.conditions)
                and (self.percent >= 100 or user.rollout_bucket <= self.percent))

    def sql(self, users):
        parts = [c.sql(users) for c in self.conditions]
        if self.percent <= 0:
            return false()
        if self.percent < 100:
            parts.append(users.c.rollout_bucket <= self.percent)
        return and_(true(), *parts)


@dataclass(frozen=True)
class IsolationRule:
    """Who USE_USER_ISOLATION isolates, for one flag definition.

    `alternatives` is None when everyone is isolated (no definition, or enabled without
    strategies) — the unknown flag fails closed — and empty when nobody is. With a `reason`
    the definition holds strategies that cannot be translated; `alternatives` then holds the
    ones that could, for display only.
    """

    alternatives: tuple = None
    reason: str = None  # why the definition cannot be translated (the rule then fails closed)
    digest: str = ""

    @property
    def translatable(self):
        return self.reason is None

    @property
    def everyone(self):
        return self.translatable and self.alternatives is None

    @property
    def nobody(self):
        return self.translatable and self.alternatives == ()

    def isolates(self, user):
        """Whether `user` (with id, cohort, rollout_bucket) is isolated; None when the rule
        cannot tell (untranslatable)."""
        if not self.translatable:
            return None
        if self.alternatives is None:
            return True
        return any(a.holds(user) for a in self.alternatives)

    def isolated_sql(self, users):
        """A condition over the `users` table: the user is isolated. Only for a translatable
        rule."""
        if self.alternatives is None:
            return true()
        return or_(false(), *[a.sql(users) for a in self.alternatives])

    def shared_owner_sql(self, users):
        """A condition over `users`: this owner's rows are on the shared ledger. Fails closed:
        an untranslatable rule puts nobody's rows there."""
        if not self.translatable:
            return false()
        return not_(self.isolated_sql(users))

    def to_json(self):
        """The rule as JSON, for the database's copy of `shared_owner_sql` (db_wall.py):
        {translatable, alternatives: null (everyone) | [{percent, conditions: [{field,
        values, negated}]}]}."""
        alternatives = None if self.alternatives is None else [
            {"percent": a.percent,
             "conditions": [{"field": c.field, "values": [str(v) for v in c.sql_values()],
                             "negated": c.negated}
                            for c in a.conditions]}
            for a in self.alternatives]
        return json.dumps({"translatable": self.translatable, "alternatives": alternatives},
                          sort_keys=True)

    def state(self):
        """The dashboard's view: {defined, cohorts, percent, everyone, translatable, reason}.

        Cohorts are those isolated whole (a cohort strategy at 100%); percent is the largest
        unconstrained percentage.
        """
        cohorts, percent = set(), 0
        for alternative in self.alternatives or ():
            cohort_conditions = [c for c in alternative.conditions
                                 if c.field == COHORT_FIELD and not c.negated]
            if not alternative.conditions:
                percent = max(percent, alternative.percent)
            elif (len(alternative.conditions) == 1 and cohort_conditions
                  and alternative.percent >= 100):
                cohorts |= cohort_conditions[0].values
        return {"cohorts": sorted(cohorts), "percent": 100 if self.everyone else percent,
                "everyone": self.everyone, "translatable": self.translatable,
                "untranslatable_reason": self.reason}


def rule_for(feature):
    """The rule for a USE_USER_ISOLATION definition in Unleash's client-API shape (a dict, or
    None when the flag is not defined)."""
    digest = hashlib.sha256(json.dumps(feature, sort_keys=True).encode()).hexdigest()[:16]
    if feature is None:
        return IsolationRule(None, digest=digest)
    if not feature.get("enabled"):
        return IsolationRule((), digest=digest)
    strategies = feature.get("strategies") or []
    if not strategies:
        return IsolationRule(None, digest=digest)
    alternatives, reasons = [], []
    for strategy in strategies:
        try:
            alternatives.append(_alternative(strategy, feature.get("name", ISOLATION_FLAG)))
        except Untranslatable as exc:
            reasons.append(str(exc))
    # An untranslatable rule keeps the strategies it could read, for the dashboard to show.
    return IsolationRule(tuple(alternatives), reason="; ".join(reasons) or None, digest=digest)


def rule_from_payload(payload):
    """The rule for the features payload (client-API JSON text) the SDK was handed."""
    features = json.loads(payload).get("features") or []
    return rule_for(next((f for f in features if f.get("name") == ISOLATION_FLAG), None))


def _alternative(strategy, feature_name):
    name = strategy.get("name")
    parameters = strategy.get("parameters") or {}
    if strategy.get("segments"):
        raise Untranslatable(f"strategy {name!r} uses segments")
    if strategy.get("disabled"):
        raise Untranslatable(f"strategy {name!r} is disabled in place")
    if name in ALWAYS_STRATEGIES:
        percent = 100
    elif name in PERCENT_STRATEGIES:
        stickiness = parameters.get("stickiness", "default")
        group = parameters.get("groupId") or feature_name
        if stickiness not in USER_STICKINESS:
            raise Untranslatable(f"strategy {name!r} is sticky on {stickiness!r}, not userId")
        if group != ROLLOUT_GROUP:
            raise Untranslatable(f"strategy {name!r} rolls out by group {group!r}, "
                                 f"not {ROLLOUT_GROUP!r}")
        try:
            percent = int(str(parameters.get("rollout", "100")).strip())
        except ValueError:
            raise Untranslatable(f"strategy {name!r} has rollout "
                                 f"{parameters.get('rollout')!r}") from None
        if not 0 <= percent <= 100:
            raise Untranslatable(f"strategy {name!r} has rollout {percent}")
    else:
        raise Untranslatable(f"strategy {name!r} has no SQL translation")
    return Alternative(tuple(_condition(c, name) for c in strategy.get("constraints") or []),
                       percent)


def _condition(constraint, strategy_name):
    field, operator = constraint.get("contextName"), constraint.get("operator")
    if field not in (COHORT_FIELD, "userId") or operator not in ("IN", "NOT_IN"):
        raise Untranslatable(f"strategy {strategy_name!r} has a constraint {field} {operator} "
                             "that has no SQL translation")
    values = constraint.get("values") or []
    if constraint.get("caseInsensitive") and any(v != v.lower() or v != v.upper()
                                                 for v in values):
        raise Untranslatable(f"strategy {strategy_name!r} compares {field} case-insensitively")
    negated = (operator == "NOT_IN") != bool(constraint.get("inverted"))
    return Condition(field, frozenset(str(v) for v in values), negated)
