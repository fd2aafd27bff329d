"""Legacy installs to walk the rollout on, through the real commands.

`Install` drives one app on one database: `invoke("isolation", "status")` runs a command in
process, `flask(...)` runs the `flask` executable in a subprocess (an operator's shell), and
`ledger()` / `owners()` read the rows back with plain SQL, valid at every revision.
"""
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from finance_app.extensions import db
from finance_app.rollout import schema
from tests.conftest import make_app
from tests.support.services import fresh_postgres_database

LEGACY, NULLABLE = schema.LEGACY_REVISION, schema.OWNER_NULLABLE_REVISION
PROJECT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).with_name("flask")


@dataclass(frozen=True)
class Ledger:
    """What no rollout step may change."""

    transactions: int
    amount_sum: Decimal
    import_batches: int
    users: int


class Install:
    def __init__(self, app, url, instance_dir):
        self.app, self.url, self.instance_dir = app, url, instance_dir
        self.runner = app.test_cli_runner()

    def invoke(self, *args):
        return self.runner.invoke(args=[str(a) for a in args])

    def flask(self, *args, wait=True):
        """`flask ARGS` in a subprocess, as an operator runs it."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "UNLEASH_URL", "CACHE_DIR", "FINANCE_ENV")}
        env.update(FLASK_APP=str(PROJECT / "wsgi.py"), DATABASE_URL=self.url,
                   FINANCE_INSTANCE_DIR=str(self.instance_dir), PYTHONUNBUFFERED="1")
        command = [str(FLASK), *map(str, args)]
        if not wait:
            return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
        return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                              timeout=300)

    def sql(self, statement, **params):
        with self.app.app_context(), db.engine.begin() as conn:
            return conn.execute(sa.text(statement), params)

    def scalar(self, statement, **params):
        return self.sql(statement, **params).scalar()

    def ledger(self):
        with self.app.app_context(), db.engine.connect() as conn:
            count, total = conn.execute(sa.text(
                "SELECT COUNT(*), SUM(amount) FROM transactions")).one()
            batches = conn.execute(sa.text("SELECT COUNT(*) FROM import_batches")).scalar()
            users = conn.execute(sa.text("SELECT COUNT(*) FROM users")).scalar()
        return Ledger(count, Decimal(total or 0).quantize(Decimal("0.01")), batches, users)

    def unowned(self, table="transactions"):
        return self.scalar(f"SELECT COUNT(*) FROM {table} WHERE user_id IS NULL")

    def user_id(self, email):
        return self.scalar("SELECT id FROM users WHERE email = :e", e=email)

    def owners(self, table="transactions"):
        """{row id: owner email or None}"""
        rows = self.sql(f"SELECT t.id, u.email FROM {table} t "
                        "LEFT JOIN users u ON u.id = t.user_id")
        return dict(rows.all())

    def revision(self):
        with self.app.app_context():
            return schema.current_revision()

    def head(self):
        with self.app.app_context():
            heads = schema.head_revisions()
        assert len(heads) == 1, heads
        return heads[0]

    def columns(self, table):
        with self.app.app_context():
            return {c["name"] for c in sa.inspect(db.engine).get_columns(table)}

    def close(self):
        self.app.extensions["flags"].close()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def open_install(tmp_path, dialect):
    """An Install on a new, empty database; returns (install, drop or None)."""
    drop = None
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
    else:
        url, drop = fresh_postgres_database("finance_rollout")
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    app = make_app(instance, database_url=url)
    return Install(app, url, instance), drop


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def empty_install(request, tmp_path):
    """An app on an empty database, SQLite or PostgreSQL."""
    install, drop = open_install(tmp_path, request.param)
    try:
        yield install
    finally:
        install.close()
        if drop:
            drop()


@pytest.fixture
def empty_postgres_install(tmp_path):
    install, drop = open_install(tmp_path, "postgres")
    try:
        yield install
    finally:
        install.close()
        drop()


SMALL_ROWS = 4000


@pytest.fixture(scope="session")
def small_legacy_template(tmp_path_factory):
    """A SQLite legacy install of SMALL_ROWS rows upgraded to revision 2 (as `flask db
    upgrade` leaves it), built once and copied for each test."""
    folder = tmp_path_factory.mktemp("legacy-template")
    install, _ = open_install(folder, "sqlite")
    try:
        result = install.invoke("demo", "legacy-db", "--rows", SMALL_ROWS)
        assert result.exit_code == 0, result.output
        result = install.invoke("db", "upgrade", NULLABLE)
        assert result.exit_code == 0, result.output
    finally:
        install.close()
    return folder / "legacy.db"


@pytest.fixture
def small_legacy(tmp_path, small_legacy_template):
    """A copy of the small legacy install, at revision 2 with every row unowned."""
    shutil.copy(small_legacy_template, tmp_path / "legacy.db")
    install, _ = open_install(tmp_path, "sqlite")
    yield install
    install.close()
