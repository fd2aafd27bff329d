"""Gunicorn entry point: `gunicorn wsgi:app` (FINANCE_ENV=production in production).

The flag client is created lazily in each worker process, so `--preload` is safe.
"""
from finance_app import create_app

app = create_app()
