"""finance_app: personal finance with a staged rollout of per-user data isolation."""
import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from config import get_config

from .extensions import cache, csrf, db, limiter, login_manager


def create_app(config=None, **overrides):
    """Build the app. `config` is a config class or a name (development, testing, production)."""
    config_class = config if isinstance(config, type) else get_config(config)
    app = Flask(__name__)
    app.config.from_object(config_class)
    app.config.update(overrides)
    _check_config(app)
    _behind_proxies(app)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    app.config.update(_cache_settings(app.config))
    app.config.update(_rate_limit_settings(app.config))
    from .isolation.cache_epoch import install as install_cache_epoch

    app.extensions["cache_epoch"] = install_cache_epoch(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    from .observability import init_observability

    # First of all hooks: the request line and the response metrics cover every other one.
    init_observability(app)

    from .postgres import engine_options
    from .postgres import install as install_postgres

    # On PostgreSQL the driver runs in autocommit mode and `install_postgres` starts every
    # transaction (with its first statement): the two go together.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    db.init_app(app)
    from .deferred_migrate import install as install_migrate

    install_migrate(app, db, Path(__file__).resolve().parent.parent / "migrations")
    csrf.init_app(app)
    cache.init_app(app)
    limiter.init_app(app)
    from .text import install as install_text

    install_text(app)
    from .money_display import install as install_money_display

    install_money_display(app)
    # Templates ask `current_principal()`, not Flask-Login's `current_user`.
    login_manager.init_app(app, add_context_processor=False)

    from .isolation import init_access
    from .isolation.flags import make_flag_service

    from .isolation.db_wall import install as install_db_wall

    with app.app_context():
        install_postgres(db.engine)
        app.extensions["flags"] = make_flag_service(app, db.engine)
        install_db_wall(db.engine)
    init_access(app)
    from .bounds import init_bounds

    init_bounds(app)  # before the blueprints: their `<int:…>` rules take bounded ids

    from .errors import register_error_handlers

    register_error_handlers(app)
    from .auth.limits import answer_too_many_requests

    answer_too_many_requests(app)
    _protect_forms(app)

    from .accounts.routes import api_bp as accounts_api_bp
    from .accounts.routes import bp as accounts_bp
    from .admin.routes import api_bp as admin_api_bp
    from .admin.routes import bp as admin_bp
    from .agent.routes import api_bp as agent_api_bp
    from .auth.routes import api_bp as auth_api_bp
    from .auth.routes import bp as auth_bp
    from .budgets.routes import api_bp as budgets_api_bp
    from .budgets.routes import bp as budgets_bp
    from .charts.routes import api_bp as charts_api_bp
    from .dashboard.routes import bp as dashboard_bp
    from .explain.routes import api_bp as explain_api_bp
    from .explain.routes import bp as explain_bp
    from .health.routes import bp as health_bp
    from .ingest.routes import api_bp as ingest_api_bp
    from .ingest.routes import bp as ingest_bp
    from .observability.routes import bp as observability_bp
    from .openapi import bp as openapi_bp
    from .rules.routes import api_bp as rules_api_bp
    from .rules.routes import bp as rules_bp
    from .suggest.routes import api_bp as suggest_api_bp
    from .suggest.routes import bp as suggest_bp
    from .transactions.category_routes import api_bp as categories_api_bp
    from .transactions.category_routes import bp as categories_bp
    from .transactions.routes import api_bp as transactions_api_bp
    from .transactions.routes import bp as transactions_bp

    for blueprint in (health_bp, auth_bp, auth_api_bp, dashboard_bp, transactions_bp,
                      transactions_api_bp, ingest_bp, ingest_api_bp, suggest_bp, suggest_api_bp,
                      agent_api_bp, openapi_bp, charts_api_bp, explain_bp, explain_api_bp,
                      admin_bp, admin_api_bp, observability_bp, categories_bp, categories_api_bp,
                      budgets_bp, budgets_api_bp, rules_bp, rules_api_bp,
                      accounts_bp, accounts_api_bp):
        app.register_blueprint(blueprint)

    from .cli import register_cli

    register_cli(app)
    return app


def _protect_forms(app):
    """CSRF defence for every state change a browser's session cookie can authenticate. Web
    forms carry the `csrf_token` field. The JSON API wants the same token in the `X-CSRFToken`
    header (every signed-in page has it in its `csrf-token` meta tag) on each POST, PUT, PATCH
    and DELETE of a cookie session: the SameSite=Lax cookie also goes along with requests from
    other pages of the same site, which can send multipart forms and empty bodies without any
    CORS preflight. A request carrying `Authorization` is exempt: its identity is the token's,
    never the cookie's, and no page can add that header to another site's request. So is an
    anonymous /api/ request (a JSON sign-up, a password exchanged for a token): it acts for
    no signed-in user."""
    from flask import request
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    from .errors import AppError
    from .isolation.principal import current_session_id

    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    unsafe = set(app.config["WTF_CSRF_METHODS"])

    @app.before_request
    def csrf_for_cookie_sessions():
        # No route, no check: an unknown URL must answer 404 like a hidden admin page does,
        # not a CSRF 400 that would tell them apart.
        if request.endpoint is None or request.headers.get("Authorization") is not None:
            return
        if not request.path.startswith("/api/"):
            csrf.protect()
        elif request.method in unsafe and current_session_id() is not None:
            # The header only: reading a form field would consume the body the view reads.
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except ValidationError:
                raise AppError(403, "csrf_failed", "A signed-in browser session must send the "
                               "page's CSRF token in the X-CSRFToken header (the csrf-token meta "
                               "tag of every page); programs use an API token "
                               "('Authorization: Bearer <token>') instead.") from None


def _check_config(app):
    """Production never starts on a secret anyone could know, whatever the cookie settings:
    the session cookie is signed with it, so a known secret forges any sign-in."""
    from config import INSECURE_DEV_SECRET, MIN_SECRET_KEY_LENGTH

    if app.config["FINANCE_ENV"] != "production":
        return
    secret = app.config.get("SECRET_KEY") or ""
    if secret == INSECURE_DEV_SECRET or len(secret) < MIN_SECRET_KEY_LENGTH:
        raise RuntimeError(
            "FINANCE_ENV=production needs SECRET_KEY in the environment: a random value of at "
            f"least {MIN_SECRET_KEY_LENGTH} characters, not the development one (e.g. the output "
            "of `python -c 'import secrets; print(secrets.token_hex(32))'`). It signs the "
            "session cookies: anyone who knows it can sign in as any user.")


def _behind_proxies(app):
    """Behind a load balancer the connection comes from the balancer: the client's address
    (what the rate limits count per address) and scheme (https, which the CSRF check's
    Referer rule applies to) are the ones the balancer adds to X-Forwarded-For and
    X-Forwarded-Proto. Only the last TRUSTED_PROXY_HOPS values are read, the ones the app's
    own proxies added: a client's own header cannot pose as another address."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _cache_settings(config):
    from .cache_backend import FILE_CACHE_TYPE, REDIS_CACHE_TYPE

    if config.get("CACHE_TYPE"):
        return {}
    if config.get("REDIS_URL"):
        return {"CACHE_TYPE": REDIS_CACHE_TYPE, "CACHE_REDIS_URL": config["REDIS_URL"]}
    return {"CACHE_TYPE": FILE_CACHE_TYPE,
            "CACHE_DIR": config["CACHE_DIR"], "CACHE_THRESHOLD": 100_000}


def _rate_limit_settings(config):
    """Rate limits count in Redis when REDIS_URL is set (every worker and host shares them),
    else in this app's memory. In Redis their keys sit outside the cache's prefix (a cache
    purge leaves them) but carry it, so apps sharing one Redis keep their own counts."""
    if not config.get("REDIS_URL"):
        return {"RATELIMIT_STORAGE_URI": "memory://"}
    namespace = "LIMITS:" + config["CACHE_KEY_PREFIX"].rstrip(":")
    # A limit check never waits long on Redis: past a second it counts in memory instead.
    return {"RATELIMIT_STORAGE_URI": config["REDIS_URL"],
            "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": namespace, "socket_timeout": 1,
                                          "socket_connect_timeout": 1}}


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
