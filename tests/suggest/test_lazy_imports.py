"""scikit-learn (and numpy and scipy under it) load only when a suggestion is asked for: a
worker that never serves one does not pay seconds of start-up and tens of MB for them.

Nor does a worker load alembic (Flask-Migrate's, about 12 MB: finance_app/deferred_migrate.py)
or the OFX parser while it serves pages and the API: they load where used.

Run in a fresh interpreter, since this test process imports them for the other tests.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD, add_transactions, add_user
from tests.suggest.conftest import categorised_rows

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("sklearn", "numpy", "scipy")
NOT_FOR_SERVING = ("alembic", "flask_migrate", "ofxtools")  # migrations, OFX import

# argv: database URL, instance folder, e-mail, password. Prints, as JSON, the heavy libraries
# (and those serving never needs) loaded after the app has served everything but a
# suggestion, then after a suggestion.
SERVE = """
import json, re, sys
from finance_app import create_app

url, folder, email, password = sys.argv[1:]
heavy = %r
app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=folder,
                 CACHE_DIR=folder + "/cache", FLAG_REFRESH_SECONDS=60)
client = app.test_client()

def loaded():
    return [name for name in heavy if name in sys.modules]

def get(path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response

for path in ("/healthz", "/login", "/signup"):
    get(path)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', get("/login").text).group(1)
signed_in = client.post("/login", data={"email": email, "password": password,
                                        "csrf_token": token})
assert signed_in.status_code == 302, signed_in.status_code
# The suggestions page itself too: its script fetches the suggestions (/suggestions/table).
for path in ("/", "/transactions", "/api/transactions", "/api/charts/summary", "/settings",
             "/suggestions"):
    get(path)
before = loaded()
suggestions = get("/api/suggestions").json
print(json.dumps({"before": before, "ready": suggestions["model"]["ready"],
                  "after": loaded()}))
""" % (HEAVY + NOT_FOR_SERVING,)


def test_heavy_libraries_load_only_for_suggestions(app, tmp_path):
    user = add_user(app, "erin@example.com", "staff")
    add_transactions(app, user, categorised_rows())
    served = subprocess.run(
        [sys.executable, "-c", SERVE, app.config["SQLALCHEMY_DATABASE_URI"],
         str(tmp_path / "worker"), "erin@example.com", PASSWORD],
        cwd=REPO, env=os.environ, capture_output=True, text=True, timeout=120)
    assert served.returncode == 0, served.stderr[-3000:]
    result = json.loads(served.stdout.strip().splitlines()[-1])
    assert result["before"] == []
    assert result["ready"] is True  # a model was trained, so scikit-learn was needed
    assert "sklearn" in result["after"]
    assert not set(NOT_FOR_SERVING) & set(result["after"])
