"""Ops commands: `flask users create` and `flask demo seed`."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finance_app.admin.settings import signup_cohort
from finance_app.extensions import db
from finance_app.models import Transaction, User
from tests.conftest import add_user, login, set_isolation

# These tests look at the stored hash: the app's own scrypt, not the quick test hash.
pytestmark = pytest.mark.real_password_hashing

GOOD_PASSWORD = "a-long-enough-password"


@pytest.fixture
def flask_cli(runner):
    """Run `flask ARGS...` against the test app."""
    return lambda *args: runner.invoke(args=list(args))


def user_rows(app):
    with app.app_context():
        return {u.email: u for u in db.session.execute(select(User)).scalars()}


def count(app, model):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar()


# --- flask users create --------------------------------------------------------------------

def test_users_create(app, flask_cli):
    result = flask_cli("users", "create", "Dana.Smith@Example.COM",
                      "--password", GOOD_PASSWORD, "--admin", "--cohort", "beta")
    assert result.exit_code == 0, result.output
    assert "dana.smith@example.com" in result.output
    users = user_rows(app)
    assert list(users) == ["dana.smith@example.com"]  # normalised: lower case
    dana = users["dana.smith@example.com"]
    assert dana.cohort == "beta"
    assert dana.is_admin is True
    assert dana.password_hash.startswith("scrypt:")
    assert GOOD_PASSWORD not in dana.password_hash


def test_users_create_defaults_to_general_non_admin(app, flask_cli):
    result = flask_cli("users", "create", "erin@example.com",
                      "--password", GOOD_PASSWORD)
    assert result.exit_code == 0, result.output
    erin = user_rows(app)["erin@example.com"]
    assert erin.cohort == "general" and erin.is_admin is False


def test_users_create_refuses_a_duplicate_email(app, flask_cli):
    first = flask_cli("users", "create", "dana@example.com", "--password", GOOD_PASSWORD)
    assert first.exit_code == 0, first.output
    before = user_rows(app)["dana@example.com"].password_hash

    again = flask_cli("users", "create", "DANA@example.com",
                      "--password", "another-password", "--admin")
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert "Traceback" not in again.output
    users = user_rows(app)
    assert list(users) == ["dana@example.com"]
    assert users["dana@example.com"].password_hash == before  # untouched
    assert users["dana@example.com"].is_admin is False


@pytest.mark.parametrize("email, password, expected", [
    ("not-an-email", GOOD_PASSWORD, "email address is not valid"),
    ("dana@", GOOD_PASSWORD, "email address is not valid"),
    ("dana@example.com", "short", "at least 8 characters"),
    ("dana@example.com", "x" * 129, "at most 128 characters"),
])
def test_users_create_refuses_invalid_input(app, flask_cli, email, password, expected):
    result = flask_cli("users", "create", email, "--password", password)
    assert result.exit_code != 0
    assert expected in result.output
    assert "Traceback" not in result.output
    assert count(app, User) == 0


# --- flask demo seed -----------------------------------------------------------------------

DEMO = {  # email: (cohort, is_admin)
    "alice@example.com": ("staff", False),
    "bob@example.com": ("beta", False),
    "carol@example.com": ("general", False),
    "admin@example.com": ("staff", True),
}


def test_demo_seed(app, flask_cli):
    result = flask_cli("demo", "seed")
    assert result.exit_code == 0, result.output

    users = user_rows(app)
    assert {email: (u.cohort, u.is_admin) for email, u in users.items()} == DEMO
    assert all(u.password_hash.startswith("scrypt:") for u in users.values())

    merchants = {}
    with app.app_context():  # outside a request: the guard does not act, no scope() needed
        for email, user in users.items():
            rows = db.session.execute(
                select(Transaction).where(Transaction.user_id == user.id)
                .order_by(Transaction.date)
            ).scalars().all()
            assert len(rows) >= 250, email
            first, last = rows[0].date, rows[-1].date
            assert isinstance(first, date)
            assert (last - first).days >= 330, (email, first, last)
            for row in rows:
                assert isinstance(row.amount, Decimal)
                assert row.amount.as_tuple().exponent == -2, row.amount
                assert row.amount != 0
            assert any(r.amount > 0 for r in rows) and any(r.amount < 0 for r in rows)
            merchants[email] = {r.merchant for r in rows if r.merchant}
    assert all(merchants.values())

    # Every user shops elsewhere (rent and salary included), so a leak is obvious.
    emails = sorted(merchants)
    for i, a in enumerate(emails):
        for b in emails[i + 1:]:
            assert merchants[a].isdisjoint(merchants[b]), (a, b, merchants[a] & merchants[b])

    # Only cohorts staff and newcomers have isolation: a rollout in progress, with sign-ups
    # joining newcomers (tests/admin/test_signup_cohort.py signs one up).
    with app.app_context():
        state = app.extensions["flags"].isolation_state()
    assert state["defined"] is True
    assert state["cohorts"] == ["newcomers", "staff"]
    assert state["percent"] == 0
    with app.app_context():
        assert signup_cohort() == "newcomers"


def test_demo_seed_makes_what_was_cached_stale(app, flask_cli):
    """Seeding a running install gives an existing demo user rows: the totals and
    aggregates cached before must not hide them."""
    set_isolation(app, ["general"])  # defined: seeding keeps it, so Carol stays isolated
    add_user(app, "carol@example.com", "general")
    carol = login(app.test_client(), "carol@example.com")
    assert carol.get("/api/transactions").json["total"] == 0  # now cached
    assert flask_cli("demo", "seed").exit_code == 0
    with app.app_context():
        carols = db.session.execute(select(func.count()).select_from(Transaction).join(User)
                                    .where(User.email == "carol@example.com")).scalar()
    assert carols >= 250
    assert carol.get("/api/transactions").json["total"] == carols


def test_demo_seed_twice_creates_nothing_new(app, flask_cli):
    first = flask_cli("demo", "seed")
    assert first.exit_code == 0, first.output
    users, rows = count(app, User), count(app, Transaction)
    assert users == 4 and rows >= 4 * 250
    hashes = {e: u.password_hash for e, u in user_rows(app).items()}

    second = flask_cli("demo", "seed")
    assert second.exit_code == 0, second.output
    assert "0 users and 0 transactions created" in second.output
    assert (count(app, User), count(app, Transaction)) == (users, rows)
    assert {e: u.password_hash for e, u in user_rows(app).items()} == hashes
    with app.app_context():
        assert app.extensions["flags"].isolation_state()["cohorts"] == ["newcomers", "staff"]


def test_demo_seed_keeps_an_existing_isolation_flag(app, flask_cli):
    with app.app_context():
        app.extensions["flags"].set_isolation(["beta", "staff"], 25)
    result = flask_cli("demo", "seed")
    assert result.exit_code == 0, result.output
    with app.app_context():
        state = app.extensions["flags"].isolation_state()
        # The admin's flag, and so the admin's choice of sign-up cohort, stay as they were.
        assert signup_cohort() == "general"
    assert state["cohorts"] == ["beta", "staff"] and state["percent"] == 25
