"""`flask db …` and `app.extensions["migrate"]` work as Flask-Migrate's own, though
Flask-Migrate (and alembic) load only when first used (finance_app/deferred_migrate.py;
tests/suggest/test_lazy_imports.py checks that serving never loads them)."""
from pathlib import Path

from sqlalchemy import text

from finance_app.deferred_migrate import _DeferredConfig
from finance_app.extensions import db
from tests.conftest import app_on_fresh_database, make_app

HEAD = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "migrations" / "versions")
              .glob("0*.py"))[-1].removesuffix(".py")


def test_flask_db_runs_flask_migrates_commands(tmp_path):
    with app_on_fresh_database(tmp_path, "sqlite", migrate=False) as app:
        runner = app.test_cli_runner()
        listed = runner.invoke(args=["--help"])
        assert "Perform database migrations." in listed.output
        helped = runner.invoke(args=["db", "--help"])
        assert helped.exit_code == 0, helped.output
        assert "upgrade" in helped.output and "--x-arg" in helped.output  # its own options
        upgraded = runner.invoke(args=["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        with app.app_context():
            assert db.session.execute(text("SELECT version_num FROM alembic_version")
                                      ).scalar() == HEAD

def test_the_migrate_extension_is_flask_migrates_once_used(tmp_path):
    app = make_app(tmp_path)
    try:
        stand_in = app.extensions["migrate"]
        assert isinstance(stand_in, _DeferredConfig)
        assert stand_in.directory.endswith("migrations")
        with app.app_context():
            config = stand_in.migrate.get_config()  # what flask_migrate.upgrade() reads
        assert config.get_main_option("script_location") == stand_in.directory
        assert type(app.extensions["migrate"]).__module__ == "flask_migrate"
        assert app.extensions["migrate"].configure_args["render_as_batch"] is True
    finally:
        app.extensions["flags"].close()
