"""Fixtures (flaskr style): `app`, `client`, `runner`, users and signed-in clients.

Each test gets its own SQLite database, copied from one migrated at the start of the run,
its own cache folder and its own flag definitions.
"""
import re
import shutil
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from flask_migrate import upgrade
from werkzeug.datastructures import Headers

from finance_app import create_app
from werkzeug.security import generate_password_hash

import finance_app.auth.service as auth_service
from finance_app.accounts.service import default_name
from finance_app.auth.service import create_user
from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Account, ImportBatch, Transaction
from tests.support.services import fresh_postgres_database

# Fixtures shared across the tree: a real Unleash server, a private Redis, the browser, the
# analytics ledger; and the count of fuzzing cases at the end of the run.
pytest_plugins = ["tests.support.unleash_server", "tests.support.redis_server",
                  "tests.support.browser", "tests.charts.ledger", "tests.support.fuzz_report"]

PASSWORD = "correct horse battery"


class PageClient(FlaskClient):
    """A test client that, once signed in (`login`), sends its session's CSRF token with its
    calls to the JSON API as the app's own pages do (`X-CSRFToken`); its form posts carry
    the `csrf_token` field themselves."""

    api_csrf_token = None

    def open(self, *args, **kwargs):
        path = args[0] if args else None
        if self.api_csrf_token and isinstance(path, str) and path.startswith("/api/"):
            headers = Headers(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.api_csrf_token)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def make_app(tmp_path, database_url=None, **overrides):
    settings = dict(
        SQLALCHEMY_DATABASE_URI=database_url or f"sqlite:///{tmp_path / 'app.db'}",
        INSTANCE_DIR=str(tmp_path),
        CACHE_DIR=str(tmp_path / "cache"),
        # Background reloads are slow here: tests change flags through the API, which
        # applies the change in-process at once.
        FLAG_REFRESH_SECONDS=60,
    )
    settings.update(overrides)
    app = create_app("testing", **settings)
    app.test_client_class = PageClient
    return app


@pytest.fixture(autouse=True)
def quick_password_hashes(request, monkeypatch):
    """Users made by tests hash their password cheaply (scrypt costs ~0.1 s a hash, and most
    tests sign in several users). Tests about password storage opt out with the marker
    `real_password_hashing` and get Werkzeug's scrypt, as the app uses."""
    if request.node.get_closest_marker("real_password_hashing") is None:
        monkeypatch.setattr(auth_service, "hash_password",
                            lambda password: generate_password_hash(password, "pbkdf2:sha256:1000"))


@contextmanager
def app_on_fresh_database(tmp_path, backend, migrate=True, through=None, **overrides):
    """An app on a new, empty database — a SQLite file or a PostgreSQL database dropped
    afterwards — migrated to head unless `migrate` is false. `through(url)`, if given, is
    the URL the app reaches the database by (a proxy's)."""
    drop = None
    if backend == "postgres":
        url, drop = fresh_postgres_database()
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = make_app(tmp_path, database_url=through(url) if through else url, **overrides)
    try:
        if migrate:
            with app.app_context():
                upgrade()
        yield app
    finally:
        app.extensions["flags"].close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if drop is not None:
            drop()


@pytest.fixture
def postgres_app(tmp_path):
    """An app on a new PostgreSQL database migrated to head (dropped afterwards)."""
    with app_on_fresh_database(tmp_path, "postgres") as app:
        yield app


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    folder = tmp_path_factory.mktemp("template")
    app = make_app(folder)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    app.extensions["flags"].close()
    return folder / "app.db"


@pytest.fixture
def app_with(tmp_path, migrated_sqlite):
    """Apps of the test's own settings on a copy of the migrated test database:
    `app_with(REDIS_URL=...)`. Several share the one database (two hosts, say); each is
    closed after the test."""
    made = []

    def build(**overrides):
        if not (tmp_path / "app.db").exists():
            shutil.copy(migrated_sqlite, tmp_path / "app.db")
        made.append(make_app(tmp_path, **overrides))
        return made[-1]

    yield build
    for built in made:
        built.extensions["flags"].close()
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(app_with):
    return app_with()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, path="/login"):
    page = client.get(path)
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page.text)
    assert field, f"no CSRF token on {path}"
    return re.search(r'value="([^"]+)"', field.group(0)).group(1)


def login(client, email, password=PASSWORD):
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.text
    # Read in an app context of its own: requests inside one a test holds open share `g`,
    # where Flask-WTF keeps the token of the session before sign-in.
    with client.application.app_context():
        client.api_csrf_token = csrf_token(client, "/settings")
    return client


def add_user(app, email, cohort="general", is_admin=False, password=PASSWORD):
    with app.app_context():
        return create_user(email, password, cohort=cohort, is_admin=is_admin).id


def add_transactions(app, user_id, rows):
    """rows: (date, amount, description[, merchant, category[, currency]]) tuples; returns
    their ids. A row without a currency is in the app's DEFAULT_CURRENCY; each goes into its
    owner's main account in its currency."""
    with app.app_context(), unscoped("test fixture"):
        objs = []
        for row in rows:
            day, amount, description, *rest = row
            merchant = rest[0] if rest else None
            category = rest[1] if len(rest) > 1 else None
            currency = rest[2] if len(rest) > 2 else app.config["DEFAULT_CURRENCY"]
            objs.append(Transaction(user_id=user_id, date=day, amount=Decimal(amount),
                                    description=description, merchant=merchant,
                                    category=category, currency=currency,
                                    account_id=main_account(user_id, currency)))
        db.session.add_all(objs)
        db.session.commit()
        return [o.id for o in objs]


def main_account(user_id, currency):
    """The id of `user_id`'s first account in `currency`, made ("Main account") if they have
    none (every owned row is in an account of its owner); None for no owner. Inside an app
    context and `unscoped`."""
    if user_id is None:
        return None
    account_id = db.session.execute(select(Account.id).where(
        Account.user_id == user_id, Account.currency == currency).order_by(Account.id)).scalar()
    if account_id is None:
        taken = db.session.execute(select(Account.name).where(
            Account.user_id == user_id)).scalars().all()
        account = Account(user_id=user_id, currency=currency,
                          name=default_name(set(taken), currency))
        db.session.add(account)
        db.session.flush()
        account_id = account.id
    return account_id


def add_batch(app, user_id, filename, transaction_ids):
    """An import batch owning the given transactions; returns its id."""
    with app.app_context(), unscoped("test fixture"):
        batch = ImportBatch(user_id=user_id, filename=filename, row_count=len(transaction_ids))
        db.session.add(batch)
        db.session.flush()
        for tx_id in transaction_ids:
            db.session.get(Transaction, tx_id).import_batch_id = batch.id
        db.session.commit()
        return batch.id


def set_isolation(app, cohorts=(), percent=0):
    with app.app_context():
        app.extensions["flags"].set_isolation(cohorts, percent)


def write_definition(app, feature):
    """Store a flag definition as it is (as if written in Unleash's own UI) and reload."""
    from finance_app.isolation.change_lock import serialised_change

    flags = app.extensions["flags"]
    with app.app_context():
        with serialised_change():
            flags.backend.write_feature(feature)
        flags.refresh()


class People:
    """Alice (staff), Bob (beta), Carol (general) and an admin (staff), each with rows
    whose descriptions name their owner, so a leak is easy to assert on."""

    def __init__(self, app):
        self.app = app
        self.ids = {
            "alice": add_user(app, "alice@example.com", "staff"),
            "bob": add_user(app, "bob@example.com", "beta"),
            "carol": add_user(app, "carol@example.com", "general"),
            "admin": add_user(app, "admin@example.com", "staff", is_admin=True),
        }
        self.rows = {
            name: add_transactions(app, uid, [
                (date(2024, 11, 3), "-12.50", f"{name} coffee", f"{name.title()} Cafe", "Coffee"),
                (date(2024, 11, 20), "2500.00", f"{name} salary", f"{name.title()} Corp", "Salary"),
            ])
            for name, uid in self.ids.items()
        }
        # Each user's coffee row came from an import: "<name>-statement.csv".
        self.batches = {name: add_batch(app, uid, f"{name}-statement.csv", self.rows[name][:1])
                        for name, uid in self.ids.items()}

    def client(self, name):
        return login(self.app.test_client(), f"{name}@example.com")


@pytest.fixture
def people(app):
    return People(app)
