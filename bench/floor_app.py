"""The floor `make bench` compares the app with: a minimal Flask + psycopg app answering the
transactions list's first page with the same SQL, and nothing else.

    gunicorn -w 2 bench.floor_app:app   (DATABASE_URL, REDIS_URL in the environment)

What it does per request is what the app must do at the least: one token lookup (the
bearer token's SHA-256 in Redis, the database on a miss, as the app keeps identity), the
list's total (kept in Redis once counted: the app keeps it per cache generation, and the
benchmark writes nothing while it measures), and the page, on one pooled connection per
worker in autocommit — no ORM, no sessions, no row-level security, no flags, no metrics.
It reads only the viewer's own rows (`user_id = viewer`): compare it with an isolated user.
"""
import hashlib
import json
import os

import psycopg
import redis
from flask import Flask, Response, request

app = Flask(__name__)
_conn = None
_redis = redis.Redis.from_url(os.environ["REDIS_URL"])
PREFIX = os.environ.get("FLOOR_KEY_PREFIX", "floor:")

PAGE = ("SELECT id, date, amount, currency, description, merchant, category, import_batch_id "
        "FROM transactions WHERE user_id = %s ORDER BY date DESC, id DESC LIMIT %s OFFSET %s")
COUNT = "SELECT count(*) FROM transactions WHERE user_id = %s"
FIELDS = ("id", "date", "amount", "currency", "description", "merchant", "category",
          "import_batch_id")


def connection():
    global _conn
    if _conn is None or _conn.closed:  # one per worker, made after gunicorn's fork
        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        _conn = psycopg.connect(url, autocommit=True)
    return _conn


def viewer():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    user_id = _redis.get(PREFIX + "token:" + token_hash)
    if user_id is None:
        row = connection().execute("SELECT user_id FROM api_tokens WHERE token_hash = %s",
                                   (token_hash,)).fetchone()
        if row is None:
            return None
        user_id = row[0]
        _redis.set(PREFIX + "token:" + token_hash, user_id, ex=3600)
    return int(user_id)


@app.get("/api/transactions")
def first_page():
    user_id = viewer()
    if user_id is None:
        return Response('{"error": "unauthorized"}', 401, mimetype="application/json")
    limit = min(int(request.args.get("limit", 50)), 500)
    offset = int(request.args.get("offset", 0))
    total = _redis.get(PREFIX + f"count:{user_id}")
    if total is None:
        total = connection().execute(COUNT, (user_id,)).fetchone()[0]
        _redis.set(PREFIX + f"count:{user_id}", total, ex=600)
    rows = connection().execute(PAGE, (user_id, limit, offset)).fetchall()
    items = [dict(zip(FIELDS, (r[0], r[1].isoformat(), str(r[2]), *r[3:]))) for r in rows]
    body = json.dumps({"items": items, "total": int(total), "limit": limit, "offset": offset})
    return Response(body, mimetype="application/json")
