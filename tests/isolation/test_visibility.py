"""The visibility rule (who is isolated, as SQL) gives the SDK's own answers.

The SDK decides each request's own isolation; the rule decides, inside SQL, whose rows the
shared ledger leaves out. If the two disagreed, an isolated user's rows could show on the
shared ledger. So the rule is checked against the real SDK (UnleashClient, offline, on the
same definitions) for every user of a 10,000-user table, in Python and in SQL, on SQLite
and PostgreSQL.
"""
import tempfile
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from UnleashClient import UnleashClient
from UnleashClient.cache import FileCache
from UnleashClient.utils import InstanceAllowType

from finance_app.isolation.db_wall import SHARED_OWNERS_FUNCTION
from finance_app.isolation.visibility import ISOLATION_FLAG, rollout_bucket, rule_for
from finance_app.models import User
from tests.support.services import fresh_postgres_database

USERS = 10_000
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
COHORTS = ("staff", "beta", "general", "newcomers", "Staff")


def strategy(rollout=100, constraints=(), name="flexibleRollout", stickiness="default",
             group=ISOLATION_FLAG):
    parameters = ({"rollout": str(rollout), "stickiness": stickiness, "groupId": group}
                  if name == "flexibleRollout" else {})
    return {"name": name, "parameters": parameters, "constraints": list(constraints)}


def cohort_in(*values, operator="IN", inverted=False, field="cohort"):
    return {"contextName": field, "operator": operator, "values": list(values),
            "inverted": inverted, "caseInsensitive": False}


def feature(*strategies, enabled=True):
    return {"name": ISOLATION_FLAG, "type": "release", "project": "default",
            "enabled": enabled, "impressionData": False, "strategies": list(strategies)}


# The app's own definitions, and what could be made of them in Unleash's UI that still has
# an exact SQL translation.
TRANSLATABLE = {
    "undefined": None,
    "defined-off": feature(strategy(constraints=[cohort_in("staff")]), enabled=False),
    "enabled-without-strategies": feature(),
    "app-cohorts-and-percent": feature(strategy(constraints=[cohort_in("staff", "beta")]),
                                       strategy(37, stickiness="userId")),
    "percent-default-stickiness": feature(strategy(63)),
    "percent-zero": feature(strategy(0)),
    "not-in": feature(strategy(constraints=[cohort_in("general", operator="NOT_IN")])),
    "inverted-in": feature(strategy(constraints=[cohort_in("general", inverted=True)])),
    "default-strategy": feature(strategy(name="default", constraints=[cohort_in("beta")])),
    "cohort-and-percent": feature(strategy(50, constraints=[cohort_in("beta", "general")])),
    "user-ids": feature(strategy(constraints=[cohort_in("3", "17", "4242", field="userId")])),
}
UNTRANSLATABLE = {
    "other-group": feature(strategy(30, group="another-flag")),
    "session-stickiness": feature(strategy(30, stickiness="sessionId")),
    "other-strategy": feature(strategy(name="remoteAddress")),
    "other-field": feature(strategy(constraints=[cohort_in("a@b.c", field="email")])),
    "other-operator": feature(strategy(constraints=[cohort_in("sta", operator="STR_STARTS_WITH")])),
}


def users():
    return [SimpleNamespace(id=uid, cohort=COHORTS[uid % len(COHORTS)],
                            rollout_bucket=rollout_bucket(uid)) for uid in range(1, USERS + 1)]


def sdk_answers(definition, people):
    cache = FileCache("visibility-test", directory=tempfile.mkdtemp())
    cache.bootstrap_from_dict({"version": 2, "features": [definition] if definition else []})
    client = UnleashClient(url="http://sdk.invalid", app_name="visibility-test",
                           disable_metrics=True, disable_registration=True, cache=cache,
                           multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW)
    client.initialize_client(fetch_toggles=False)
    try:
        return {u.id: client.is_enabled(ISOLATION_FLAG,
                                         {"userId": str(u.id), "properties": {"cohort": u.cohort}},
                                         fallback_function=lambda *_: True)
                for u in people}
    finally:
        client.destroy()


@pytest.fixture(scope="module")
def people():
    return users()


def test_the_bucket_is_the_sdks_for_10000_ids(people):
    for percent in (1, 37, 99):
        answers = sdk_answers(feature(strategy(percent, stickiness="userId")), people)
        mismatches = [u.id for u in people if (u.rollout_bucket <= percent) != answers[u.id]]
        assert not mismatches, f"{len(mismatches)} ids differ at {percent}%: {mismatches[:10]}"
        assert 0 < sum(answers.values()) < USERS


@pytest.mark.parametrize("name", TRANSLATABLE)
def test_the_rule_gives_the_sdks_answer_for_every_user(people, name):
    definition = TRANSLATABLE[name]
    rule = rule_for(definition)
    assert rule.translatable
    answers = sdk_answers(definition, people)
    mismatches = [u.id for u in people if rule.isolates(u) != answers[u.id]]
    assert not mismatches, f"{len(mismatches)} users differ: {mismatches[:10]}"


@pytest.mark.parametrize("name", UNTRANSLATABLE)
def test_what_cannot_be_translated_is_said_and_fails_closed(name):
    rule = rule_for(UNTRANSLATABLE[name])
    assert not rule.translatable and rule.reason
    assert rule.isolates(SimpleNamespace(id=1, cohort="general", rollout_bucket=50)) is None
    # Nobody's rows are on the shared ledger.
    assert str(rule.shared_owner_sql(User.__table__)) == "false"


def _isolated_in_sql(engine, people, definitions):
    users_t = User.__table__
    with engine.begin() as conn:
        users_t.create(conn)
        conn.execute(users_t.insert(), [
            {"id": u.id, "email": f"u{u.id}@example.com", "password_hash": "x",
             "cohort": u.cohort, "rollout_bucket": u.rollout_bucket, "is_admin": False,
             "auth_version": 1, "created_at": CREATED} for u in people])
        for name, definition in definitions.items():
            rule = rule_for(definition)
            isolated = set(conn.execute(
                sa.select(users_t.c.id).where(rule.isolated_sql(users_t))).scalars())
            shared = set(conn.execute(
                sa.select(users_t.c.id).where(rule.shared_owner_sql(users_t))).scalars())
            yield name, isolated, shared


def _check_sql(engine, people):
    for name, isolated, shared in _isolated_in_sql(engine, people, TRANSLATABLE):
        answers = sdk_answers(TRANSLATABLE[name], people)
        assert isolated == {uid for uid, on in answers.items() if on}, name
        assert shared == {uid for uid, on in answers.items() if not on}, name


def test_the_sql_gives_the_sdks_answer_on_sqlite(people, tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rule.db'}")
    try:
        _check_sql(engine, people)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_sql_gives_the_sdks_answer_on_postgres(people):
    url, drop = fresh_postgres_database()
    engine = sa.create_engine(url)
    try:
        _check_sql(engine, people)
    finally:
        engine.dispose()
        drop()


@pytest.mark.postgres
def test_the_wall_function_gives_the_sdks_answer_on_postgres(people):
    """Row-level security's copy of the rule (isolation/db_wall.py), fed the JSON the app sets
    per transaction, puts on the shared ledger exactly the owners the SDK does not isolate —
    and nobody's under a definition it cannot translate."""
    url, drop = fresh_postgres_database()
    engine = sa.create_engine(url)
    shared_sql = sa.text("SELECT finance_shared_owners()")
    try:
        for _ in _isolated_in_sql(engine, people, {}):
            pass  # creates and fills `users`
        with engine.begin() as conn:
            conn.execute(sa.text(SHARED_OWNERS_FUNCTION))
            for name, definition in {**TRANSLATABLE, **UNTRANSLATABLE}.items():
                conn.execute(sa.text("SELECT set_config('finance.rule', :rule, true)"),
                             {"rule": rule_for(definition).to_json()})
                shared = set(conn.execute(shared_sql).scalars())
                if name in UNTRANSLATABLE:
                    assert shared == set(), name
                    continue
                answers = sdk_answers(definition, people)
                assert shared == {uid for uid, on in answers.items() if not on}, name
                assert 0 < len(shared) < USERS or name in (
                    "undefined", "enabled-without-strategies", "defined-off", "percent-zero"), name
    finally:
        engine.dispose()
        drop()
