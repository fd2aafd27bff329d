"""finance_app: personal finance with a staged rollout of per-user data isolation."""
import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from config import get_config

from .extensions import cache, csrf, db, login_manager, migrate


def create_app(config=None, **overrides):
    """Build the app. `config` is a config class or a name (development, testing, production)."""
    config_class = config if isinstance(config, type) else get_config(config)
    app = Flask(__name__)
    app.config.from_object(config_class)
    app.config.update(overrides)
    _check_config(app)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    app.config.update(_cache_settings(app.config))
    from .isolation.cache_epoch import install as install_cache_epoch

    app.extensions["cache_epoch"] = install_cache_epoch(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    cache.init_app(app)
    # Templates ask `current_principal()`, not Flask-Login's `current_user`.
    login_manager.init_app(app, add_context_processor=False)

    from .isolation import init_access
    from .isolation.flags import make_flag_service

    with app.app_context():
        app.extensions["flags"] = make_flag_service(app, db.engine)
    init_access(app)
    from .bounds import init_bounds

    init_bounds(app)  # before the blueprints: their `<int:…>` rules take bounded ids

    from .errors import register_error_handlers

    register_error_handlers(app)
    _protect_forms(app)

    from .admin.routes import api_bp as admin_api_bp
    from .admin.routes import bp as admin_bp
    from .agent.routes import api_bp as agent_api_bp
    from .auth.routes import api_bp as auth_api_bp
    from .auth.routes import bp as auth_bp
    from .charts.routes import api_bp as charts_api_bp
    from .dashboard.routes import bp as dashboard_bp
    from .explain.routes import api_bp as explain_api_bp
    from .explain.routes import bp as explain_bp
    from .health.routes import bp as health_bp
    from .ingest.routes import api_bp as ingest_api_bp
    from .ingest.routes import bp as ingest_bp
    from .openapi import bp as openapi_bp
    from .suggest.routes import api_bp as suggest_api_bp
    from .suggest.routes import bp as suggest_bp
    from .transactions.routes import api_bp as transactions_api_bp
    from .transactions.routes import bp as transactions_bp

    for blueprint in (health_bp, auth_bp, auth_api_bp, dashboard_bp, transactions_bp,
                      transactions_api_bp, ingest_bp, ingest_api_bp, suggest_bp, suggest_api_bp,
                      agent_api_bp, openapi_bp, charts_api_bp, explain_bp, explain_api_bp,
                      admin_bp, admin_api_bp):
        app.register_blueprint(blueprint)

    from .cli import register_cli

    register_cli(app)
    return app


def _protect_forms(app):
    """CSRF tokens on every web form post. The JSON API under /api/ authenticates with a
    bearer token or a SameSite=Lax cookie and takes only JSON or multipart bodies, so it is
    exempt as a whole (not view by view, which a new route could forget). So is a request
    with a bearer token anywhere: its identity is the token's, never the cookie's."""
    from flask import request

    from .errors import is_api_request

    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

    @app.before_request
    def csrf_for_forms():
        # No route, no check: an unknown URL must answer 404 like a hidden admin page does,
        # not a CSRF 400 that would tell them apart.
        if request.endpoint is not None and not is_api_request():
            csrf.protect()


def _check_config(app):
    from config import INSECURE_DEV_SECRET

    if not app.config.get("TESTING") and not app.debug and app.config.get("SESSION_COOKIE_SECURE"):
        if app.config["SECRET_KEY"] == INSECURE_DEV_SECRET:
            raise RuntimeError("Set SECRET_KEY in the environment for production.")


def _cache_settings(config):
    if config.get("CACHE_TYPE"):
        return {}
    if config.get("REDIS_URL"):
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": config["REDIS_URL"]}
    return {"CACHE_TYPE": "finance_app.cache_backend.ListableFileSystemCache",
            "CACHE_DIR": config["CACHE_DIR"], "CACHE_THRESHOLD": 100_000}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL: readers (other requests, the flag reload) are not blocked while an import
        # writes; a writer waits up to 5 s for another writer instead of failing at once.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
