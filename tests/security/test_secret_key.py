"""Production refuses to start without a real SECRET_KEY, whatever the cookie settings.

The session cookie is signed with SECRET_KEY: with the public development value (or any
short, guessable one) anyone can forge a cookie that signs them in as another user."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from config import INSECURE_DEV_SECRET
from finance_app import create_app

PROJECT = Path(__file__).resolve().parents[2]


def production_app(tmp_path, **overrides):
    return create_app("production", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'prod.db'}",
                      INSTANCE_DIR=str(tmp_path), CACHE_DIR=str(tmp_path / "cache"), **overrides)


@pytest.mark.parametrize("secure_cookie", [True, False], ids=["secure-cookie", "plain-cookie"])
@pytest.mark.parametrize("secret", [None, "", INSECURE_DEV_SECRET, "changeme", "x" * 31],
                         ids=["unset", "empty", "development-value", "weak", "31-chars"])
def test_production_refuses_a_missing_or_weak_secret(tmp_path, secret, secure_cookie):
    with pytest.raises(RuntimeError, match="SECRET_KEY") as refused:
        production_app(tmp_path, SECRET_KEY=secret, SESSION_COOKIE_SECURE=secure_cookie)
    assert "32 characters" in str(refused.value)


def test_production_starts_with_a_real_secret(tmp_path):
    app = production_app(tmp_path, SECRET_KEY=secrets.token_hex(32), SESSION_COOKIE_SECURE=False)
    app.extensions["flags"].close()


def test_the_production_server_does_not_start_without_secret_key(tmp_path):
    """What the issue did: FINANCE_ENV=production, SESSION_COOKIE_SECURE=0, no SECRET_KEY —
    the WSGI entry point (what gunicorn imports) exits with the reason, serving nothing."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "REDIS_URL",
                                                              "UNLEASH_URL", "DATABASE_URL")}
    env.update(FINANCE_ENV="production", SESSION_COOKIE_SECURE="0",
               FINANCE_INSTANCE_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}")
    started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=PROJECT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode != 0
    assert "SECRET_KEY" in started.stderr and "32 characters" in started.stderr
