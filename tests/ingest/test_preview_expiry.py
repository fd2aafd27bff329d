"""Unconfirmed upload previews expire: older than IMPORT_PREVIEW_MAX_AGE_HOURS they are
removed on the next upload or by `flask ingest expire-previews`, and confirming one is a
clear 410."""
import os
import re
import time

from finance_app.ingest.previews import upload_dir
from tests.conftest import add_user, csrf_token, login
from tests.ingest.test_import import FIXTURES
from tests.ingest.test_import_web import post_file

DATA = (FIXTURES / "good" / "uk_monzo.csv").read_bytes()
TWO_DAYS = 2 * 24 * 3600


def preview(client):
    page = post_file(client, "/import", DATA)
    assert page.status_code == 200, page.text
    return re.search(r"/import/([0-9a-f]{32})/confirm", page.text).group(1)


def file_of(app, token):
    [path] = upload_dir(app).glob(f"*-{token}.csv")
    return path


def age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_next_upload_removes_expired_previews(app):
    add_user(app, "erin@example.com")
    add_user(app, "finn@example.com")
    erin = login(app.test_client(), "erin@example.com")
    finn = login(app.test_client(), "finn@example.com")
    old, recent = file_of(app, preview(erin)), file_of(app, preview(erin))
    age(old, TWO_DAYS)

    newest = file_of(app, preview(finn))  # anyone's upload sweeps the folder
    assert not old.exists()
    assert recent.exists() and newest.exists()


def test_confirming_an_expired_preview_is_410_and_imports_nothing(app):
    add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    token = preview(erin)
    age(file_of(app, token), TWO_DAYS)

    response = erin.post(f"/import/{token}/confirm",
                         data={"csrf_token": csrf_token(erin, "/import")})
    assert response.status_code == 410
    assert "expired" in response.text and "upload the file again" in response.text
    assert erin.get("/api/transactions").json["total"] == 0
    assert list(upload_dir(app).glob("*.csv")) == []


def test_flask_command_removes_expired_previews(app, runner):
    add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    old, recent = file_of(app, preview(erin)), file_of(app, preview(erin))
    age(old, TWO_DAYS)

    result = runner.invoke(args=["ingest", "expire-previews"])
    assert result.exit_code == 0, result.output
    assert "1 expired upload preview(s) removed" in result.output
    assert not old.exists() and recent.exists()
