"""Cache keys switch namespace with the decision; writes invalidate the right namespaces."""
import pytest

from finance_app.cache_backend import REDIS_CACHE_TYPE
from finance_app.extensions import db
from finance_app.isolation import cached, invalidate_after_write, ns_key, sign_in
from finance_app.models import User
from tests.conftest import set_isolation


class Request:
    """A request signed in as one user, with a fresh decision."""

    def __init__(self, app, user_id):
        self.app, self.user_id = app, user_id

    def __enter__(self):
        self.ctx = self.app.test_request_context("/api/x")
        self.ctx.push()
        sign_in(db.session.get(User, self.user_id))
        return self

    def __exit__(self, *exc):
        self.ctx.pop()


def test_key_namespace_follows_the_decision(app, people):
    set_isolation(app, ["staff"])
    with Request(app, people.ids["alice"]):
        assert ns_key("summary:2024-11") == f"user:{people.ids['alice']}:summary:2024-11"
    with Request(app, people.ids["carol"]):
        assert ns_key("summary:2024-11") == "summary:2024-11"
    set_isolation(app, ["staff", "general"])
    with Request(app, people.ids["carol"]):
        assert ns_key("summary:2024-11") == f"user:{people.ids['carol']}:summary:2024-11"


def test_unregistered_key_kinds_are_refused(app, people):
    with Request(app, people.ids["alice"]), pytest.raises(ValueError, match="DATA_KEY_KINDS"):
        ns_key("whatever:1")


def test_cached_values_are_per_namespace(app, people):
    set_isolation(app, ["staff"])
    builds = []

    def build(label):
        def _build():
            builds.append(label)
            return label
        return _build

    with Request(app, people.ids["alice"]):
        assert cached("summary:2024-11", build("alice")) == "alice"
        assert cached("summary:2024-11", build("alice-again")) == "alice"  # hit
    with Request(app, people.ids["carol"]):
        assert cached("summary:2024-11", build("legacy")) == "legacy"      # own namespace
    with Request(app, people.ids["bob"]):
        assert cached("summary:2024-11", build("legacy-bob")) == "legacy"  # shared ledger
    assert builds == ["alice", "legacy"]


def test_a_write_invalidates_writer_and_legacy_but_not_others(app, people):
    set_isolation(app, ["staff"])
    keys = "summary:2024-11"
    with Request(app, people.ids["alice"]):
        cached(keys, lambda: "alice v1")
    with Request(app, people.ids["admin"]):
        cached(keys, lambda: "admin v1")
    with Request(app, people.ids["carol"]):
        cached(keys, lambda: "legacy v1")

    with Request(app, people.ids["alice"]):
        invalidate_after_write()
        assert cached(keys, lambda: "alice v2") == "alice v2"
    with Request(app, people.ids["carol"]):
        assert cached(keys, lambda: "legacy v2") == "legacy v2"
    with Request(app, people.ids["admin"]):
        assert cached(keys, lambda: "admin v2") == "admin v1"


def test_a_legacy_write_to_someone_elses_row_invalidates_that_owner(app, people):
    set_isolation(app, ["staff"])
    with Request(app, people.ids["alice"]):
        cached("summary:2024-11", lambda: "alice v1")
    with Request(app, people.ids["carol"]):  # shared ledger: may edit alice's row
        invalidate_after_write(owner_ids=[people.ids["alice"]])
    with Request(app, people.ids["alice"]):
        assert cached("summary:2024-11", lambda: "alice v2") == "alice v2"


def _fill(app, people):
    from finance_app.extensions import cache

    set_isolation(app, ["staff"])
    with Request(app, people.ids["alice"]):
        cached("summary:2024-11", lambda: "alice")
        cached("categories:2024-11", lambda: "alice")
    with Request(app, people.ids["carol"]):
        cached("summary:2024-11", lambda: "legacy")
        cached("trends:12", lambda: "legacy")
    with app.app_context():
        cache.set("_principal:999", {"id": 999})


def _keys(app):
    """The cache's keys, but the invalidation counter of the cache epoch (Redis only)."""
    from finance_app.isolation.cache_epoch import COUNTER_KEY
    from finance_app.isolation.cache_keys import iter_cache_keys

    with app.app_context():
        return set(iter_cache_keys()) - {COUNTER_KEY}


def _purge_scenario(app, people):
    from finance_app.isolation.cache_keys import purge_legacy_data_keys

    _fill(app, people)
    alice = people.ids["alice"]
    before = _keys(app)
    assert {"summary:2024-11", "trends:12", f"user:{alice}:summary:2024-11",
            f"user:{alice}:categories:2024-11", "_principal:999"} <= before
    with app.app_context():
        assert purge_legacy_data_keys(dry_run=True) == 2
        assert _keys(app) == before
        assert purge_legacy_data_keys() == 2
    after = _keys(app)
    assert after == before - {"summary:2024-11", "trends:12"}


def test_legacy_keys_are_listed_and_purged_on_the_file_cache(app, people):
    _purge_scenario(app, people)


@pytest.fixture
def shared_redis_app(app_with):
    """An app on the shared Redis under a key prefix of its own; its keys go afterwards."""
    import uuid

    from finance_app.extensions import cache
    from finance_app.isolation.cache_keys import iter_cache_keys
    from tests.support.services import REDIS_URL, port_open, require

    require("Redis", port_open("127.0.0.1", 6379))
    app = app_with(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=f"t{uuid.uuid4().hex[:8]}:")
    assert app.config["CACHE_TYPE"] == REDIS_CACHE_TYPE
    yield app
    with app.app_context():
        keys = list(iter_cache_keys())
        if keys:
            cache.delete_many(*keys)


@pytest.mark.redis
def test_legacy_keys_are_listed_and_purged_on_redis(shared_redis_app):
    from tests.conftest import People

    _purge_scenario(shared_redis_app, People(shared_redis_app))


def _drop_scenario(app, people):
    from finance_app.extensions import cache
    from finance_app.isolation.cache_keys import drop_user_namespace

    _fill(app, people)
    alice, admin = people.ids["alice"], people.ids["admin"]
    with Request(app, admin):
        cached("summary:2024-11", lambda: "admin")
    with app.app_context():  # a namespace whose id starts with alice's must stay
        cache.set(f"user:{alice}0:summary:2024-11", "someone else")
        legacy_generation = cache.get("_gen:legacy")
    before = _keys(app)
    alices = {f"user:{alice}:summary:2024-11", f"user:{alice}:categories:2024-11",
              f"_gen:user:{alice}"}
    assert alices <= before
    with app.app_context():
        drop_user_namespace(alice)
        assert cache.get("_gen:legacy") not in (None, legacy_generation)
    assert _keys(app) == before - alices
    with Request(app, people.ids["carol"]):  # the shared ledger's aggregates are rebuilt
        assert cached("summary:2024-11", lambda: "legacy v2") == "legacy v2"
    with Request(app, admin):
        assert cached("summary:2024-11", lambda: "admin v2") == "admin"


def test_a_deleted_accounts_namespace_is_dropped_on_the_file_cache(app, people):
    _drop_scenario(app, people)


@pytest.mark.redis
def test_a_deleted_accounts_namespace_is_dropped_on_redis(shared_redis_app):
    from tests.conftest import People

    _drop_scenario(shared_redis_app, People(shared_redis_app))
