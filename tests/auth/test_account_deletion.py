"""Deleting an account leaves nothing usable behind, on SQLite and PostgreSQL: its rows
(foreign keys cascade), tokens and sessions, cached principal, session and token records, its
cache namespace, the shared-ledger aggregates that counted its rows, its upload previews; and
its id is never given to anyone again."""
import hashlib
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.isolation.cache_keys import iter_cache_keys
from finance_app.models import ImportMapping
from tests.auth.sessions import replay, session_cookie, session_hashes
from tests.conftest import (
    PASSWORD,
    People,
    add_batch,
    add_transactions,
    add_user,
    app_on_fresh_database,
    csrf_token,
    login,
    set_isolation,
)
from tests.ingest.test_import_web import FIXTURES, post_file

OWNED_TABLES = ("transactions", "import_batches", "import_mappings", "api_tokens",
                "user_sessions")
SUMMARY = "/api/charts/summary?month=2024-11"


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def fresh_app(request, tmp_path):
    with app_on_fresh_database(tmp_path, request.param) as app:
        yield app


def owned_rows(app, user_id):
    """The account's rows per table, as the database has them."""
    with app.app_context(), db.engine.connect() as conn:
        counts = {table: conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE user_id = :u"),
                                      {"u": user_id}).scalar() for table in OWNED_TABLES}
        counts["users"] = conn.execute(sa.text("SELECT COUNT(*) FROM users WHERE id = :u"),
                                       {"u": user_id}).scalar()
    return counts


def cache_keys(app):
    with app.app_context():
        return set(iter_cache_keys())


def preview_owners(app):
    """Whose upload previews wait on disk (files `<user id>-<token>.csv`)."""
    folder = Path(app.config["INSTANCE_DIR"]) / "uploads"
    return {path.name.split("-")[0] for path in folder.glob("*.csv")}


def delete_account(client, via):
    if via == "web":
        response = client.post("/settings/delete", data={
            "password": PASSWORD, "csrf_token": csrf_token(client, "/settings")})
        assert response.status_code == 302 and response.headers["Location"] == "/signup"
    else:
        response = client.delete("/api/auth/account", json={"password": PASSWORD})
        assert response.status_code == 200 and response.json["deleted"] is True


@pytest.mark.parametrize("via", ["web", "json"])
def test_a_deleted_account_leaves_nothing_usable_behind(fresh_app, via):
    app = fresh_app
    people = People(app)
    # Dora has the highest id: the one SQLite would give again without AUTOINCREMENT.
    dora_id = add_user(app, "dora@example.com", "staff")
    dora_rows = add_transactions(app, dora_id, [
        (date(2024, 11, 5), "-30.00", "dora books", "Dora Books", "Books"),
        (date(2024, 11, 6), "-20.00", "dora lunch", "Dora Deli", "Food")])
    add_batch(app, dora_id, "dora-statement.csv", dora_rows[:1])
    with app.app_context(), unscoped("test fixture"):
        db.session.add(ImportMapping(user_id=dora_id, layout="x" * 64, mapping="{}"))
        db.session.commit()

    set_isolation(app, ["staff"])
    dora = login(app.test_client(), "dora@example.com")
    dora_elsewhere = login(app.test_client(), "dora@example.com")
    token = dora.post("/api/auth/tokens", json={"email": "dora@example.com",
                                                "password": PASSWORD}).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/me", headers=bearer).status_code == 200
    assert dora.get(SUMMARY).json["count"] == 2  # cached in her own namespace
    csv = (FIXTURES / "good" / "uk_monzo.csv").read_bytes()
    carol = people.client("carol")
    assert post_file(dora, "/import", csv).status_code == 200
    assert post_file(carol, "/import", csv).status_code == 200
    assert preview_owners(app) == {str(dora_id), str(people.ids["carol"])}

    set_isolation(app, [])  # the shared ledger: its aggregates count Dora's rows
    assert carol.get(SUMMARY).json["count"] == 8 + 2
    cookie, sessions = session_cookie(dora_elsewhere), session_hashes(app, dora_id)
    assert owned_rows(app, dora_id) == {"users": 1, "transactions": 2, "import_batches": 1,
                                        "import_mappings": 1, "api_tokens": 1,
                                        "user_sessions": 2}
    dora_keys = {f"user:{dora_id}:summary:2024-11", f"_gen:user:{dora_id}",
                 f"_principal:{dora_id}", f"_token:{hashlib.sha256(token.encode()).hexdigest()}",
                 *(f"_session:{h}" for h in sessions)}
    assert dora_keys <= cache_keys(app)

    delete_account(dora, via)

    assert set(owned_rows(app, dora_id).values()) == {0}
    assert carol.get("/api/transactions").json["total"] == 8  # nobody else's rows
    assert replay(app, cookie).get("/api/me").status_code == 401
    assert app.test_client().get("/api/me", headers=bearer).status_code == 401
    left = cache_keys(app)
    assert dora_keys.isdisjoint(left)
    assert not [key for key in left if key.startswith(f"user:{dora_id}:")]
    assert carol.get(SUMMARY).json["count"] == 8  # the shared ledger's aggregate went stale
    assert preview_owners(app) == {str(people.ids["carol"])}

    # The next sign-up gets a new id: the old cookie is not theirs, nor the old cache.
    newcomer = app.test_client()
    assert newcomer.post("/signup", data={
        "email": "newcomer@example.com", "password": PASSWORD,
        "csrf_token": csrf_token(newcomer, "/signup")}).status_code == 302
    login(newcomer, "newcomer@example.com")
    newcomer_id = newcomer.get("/api/me").json["id"]
    assert newcomer_id > dora_id
    assert replay(app, cookie).get("/api/me").status_code == 401
    set_isolation(app, ["staff", "general"])
    assert newcomer.get(SUMMARY).json["count"] == 0
