"""Configuration classes, read from the environment.

`create_app()` takes one of these (or a name: development, testing, production). Nothing in
the testing variant switches isolation checks off: the guard raises there as in development.
"""
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = Path(os.environ.get("FINANCE_INSTANCE_DIR", PROJECT_ROOT / "instance"))

INSECURE_DEV_SECRET = "dev-only-insecure-secret"
# Production refuses a shorter SECRET_KEY: it signs the session cookie, so a guessable one lets
# anyone forge a sign-in.
MIN_SECRET_KEY_LENGTH = 32


def _env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(url):
    """Normalise a DATABASE_URL: psycopg 3 is our PostgreSQL driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class BaseConfig:
    FINANCE_ENV = "development"  # which variant this is (the environment variable's value)
    SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_DEV_SECRET)
    INSTANCE_DIR = str(DEFAULT_INSTANCE_DIR)
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_INSTANCE_DIR / 'finance.db'}")
    )
    # A failing statement's error (logged) names its SQL, never its parameters: those are
    # bank data (descriptions, amounts, merchants). No pool_pre_ping: on PostgreSQL a dead
    # pooled connection is found without a round trip (finance_app/postgres.py); a SQLite
    # connection does not die.
    SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True}

    # Cache: Redis when REDIS_URL is set, otherwise a file-system cache that every worker
    # process on this host shares (a per-process cache could not be invalidated by a write
    # handled in another worker).
    REDIS_URL = os.environ.get("REDIS_URL")
    CACHE_DIR = os.environ.get("CACHE_DIR", str(DEFAULT_INSTANCE_DIR / "cache"))
    CACHE_DEFAULT_TIMEOUT = int(os.environ.get("CACHE_DEFAULT_TIMEOUT", "600"))
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "finance:")
    # How long a Redis command may take before the cache counts as unavailable (and is
    # bypassed: requests are then served from the database).
    CACHE_REDIS_TIMEOUT_SECONDS = float(os.environ.get("CACHE_REDIS_TIMEOUT_SECONDS", "1"))

    # Flags. Embedded (no server) unless UNLEASH_URL is set.
    UNLEASH_URL = os.environ.get("UNLEASH_URL")
    UNLEASH_API_TOKEN = os.environ.get("UNLEASH_API_TOKEN")
    UNLEASH_ADMIN_TOKEN = os.environ.get("UNLEASH_ADMIN_TOKEN")
    UNLEASH_ENVIRONMENT = os.environ.get("UNLEASH_ENVIRONMENT", "development")
    UNLEASH_PROJECT = os.environ.get("UNLEASH_PROJECT", "default")
    UNLEASH_APP_NAME = os.environ.get("UNLEASH_APP_NAME", "finance_app")
    # How often each process re-reads flag definitions (embedded: from the database;
    # remote: from the Unleash server). A dashboard change reaches every process within it.
    FLAG_REFRESH_SECONDS = int(os.environ.get("FLAG_REFRESH_SECONDS", "2"))
    # Start-up never waits longer than this on the flag service.
    FLAG_STARTUP_TIMEOUT_SECONDS = int(os.environ.get("FLAG_STARTUP_TIMEOUT_SECONDS", "3"))

    # Emergency lock by configuration (the EMERGENCY_DATA_LOCK flag is the other switch).
    EMERGENCY_DATA_LOCK = _env_bool("EMERGENCY_DATA_LOCK")
    # What the guard does with an unscoped read of an owned model while isolation is on:
    # "raise" (IsolationViolation, loud) or "refuse" (answer an error and count it).
    ISOLATION_GUARD_MODE = "raise"

    # The currency of a row that names none (a create without one, an import whose file
    # says none): the one source of it — the model's default reads it (models.py).
    DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "USD").upper()
    # Amounts on pages are formatted for the browser's Accept-Language among the supported
    # locales (money_display.py), else for this one.
    DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "en_US")
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
    # An upload previewed but never confirmed is removed after this long.
    IMPORT_PREVIEW_MAX_AGE_HOURS = float(os.environ.get("IMPORT_PREVIEW_MAX_AGE_HOURS", "24"))
    # Where those uploads wait (unset: `uploads` in the instance folder). The confirm request
    # must find the file its preview saved: hosts behind one load balancer share this folder,
    # or the balancer keeps each browser's import on one host.
    IMPORT_PREVIEW_DIR = os.environ.get("IMPORT_PREVIEW_DIR")

    # How many proxies (load balancers) in front of the app each add the client to
    # X-Forwarded-For and the scheme to X-Forwarded-Proto. 0: none, the connection's address
    # is the client's (the rate limits count per client address).
    TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Principal (id, cohort, admin) cache lifetime; changes invalidate it at once anyway.
    PRINCIPAL_CACHE_SECONDS = 3600
    # Creating an API token needs a sign-in this recent or the password in the same request.
    FRESH_SIGN_IN_MINUTES = int(os.environ.get("FRESH_SIGN_IN_MINUTES", "15"))

    # Rate limits (auth/limits.py), as Flask-Limiter reads them ("5 per 15 minutes"); counted
    # in Redis when REDIS_URL is set (every worker and host shares them), else in memory.
    # Failed password checks (sign-in, token, password change, account deletion) count
    # against the account and against the client address; every sign-up counts.
    RATE_LIMIT_PASSWORD_FAILURES_PER_ACCOUNT = os.environ.get(
        "RATE_LIMIT_PASSWORD_FAILURES_PER_ACCOUNT", "5 per 15 minutes")
    RATE_LIMIT_PASSWORD_FAILURES_PER_ADDRESS = os.environ.get(
        "RATE_LIMIT_PASSWORD_FAILURES_PER_ADDRESS", "20 per 15 minutes")
    RATE_LIMIT_SIGN_UPS_PER_ADDRESS = os.environ.get("RATE_LIMIT_SIGN_UPS_PER_ADDRESS",
                                                     "10 per hour")
    RATE_LIMIT_SIGN_UPS_PER_EMAIL = os.environ.get("RATE_LIMIT_SIGN_UPS_PER_EMAIL", "3 per hour")


class DevelopmentConfig(BaseConfig):
    DEBUG = False


class TestingConfig(BaseConfig):
    FINANCE_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"
    # Tests pass their own database and cache directory; CSRF and the rate limits stay on
    # (they are tested; each test's app counts in a memory store of its own).


class ProductionConfig(BaseConfig):
    FINANCE_ENV = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    ISOLATION_GUARD_MODE = "refuse"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name=None):
    name = name or os.environ.get("FINANCE_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown FINANCE_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
