"""A re-import with nothing new says so and creates no import batch (JSON and web)."""
import re

from tests.conftest import add_user, csrf_token, login
from tests.ingest.test_import import FIXTURES, ledger, upload
from tests.ingest.test_import_web import post_file

STATEMENT = "good/uk_monzo.csv"


def test_api_reimport_answers_nothing_new_without_a_batch(app):
    uid = add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    first = upload(erin, STATEMENT)
    assert first.status_code == 201 and first.json["imported"] > 0
    before = ledger(app, uid)

    again = upload(erin, STATEMENT)
    assert again.status_code == 200, again.text
    assert again.json["imported"] == 0 and again.json["batch_id"] is None
    assert again.json["duplicates"] == first.json["imported"]
    assert "nothing new" in again.json["message"].lower()
    assert ledger(app, uid) == before  # no rows, no batch
    assert len(erin.get("/api/ingest/batches").json) == 1


def test_web_reimport_answers_nothing_new_without_a_batch(app):
    add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    data = (FIXTURES / STATEMENT).read_bytes()

    def confirm():
        preview = post_file(erin, "/import", data)
        token = re.search(r"/import/([0-9a-f]{32})/confirm", preview.text).group(1)
        return erin.post(f"/import/{token}/confirm",
                         data={"csrf_token": csrf_token(erin, "/import")},
                         follow_redirects=True)

    assert "Imported" in confirm().text
    page = confirm()
    assert page.status_code == 200
    assert "Nothing new" in page.text
    assert len(erin.get("/api/ingest/batches").json) == 1


def test_web_preview_of_nothing_new_says_so_and_offers_no_import_button(app):
    add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    assert upload(erin, STATEMENT).status_code == 201
    preview = post_file(erin, "/import", (FIXTURES / STATEMENT).read_bytes())
    assert preview.status_code == 200
    assert "Nothing new to import" in preview.text
    assert 'id="confirm-import"' not in preview.text and "Import 0" not in preview.text
    # A confirm sent anyway (an old tab, a script) creates no batch.
    token = re.search(r"/import/([0-9a-f]{32})/confirm", preview.text).group(1)
    forced = erin.post(f"/import/{token}/confirm", data={"csrf_token": csrf_token(erin, "/import")})
    assert forced.status_code == 302
    assert len(erin.get("/api/ingest/batches").json) == 1


def test_web_preview_of_new_rows_offers_the_import_button(app):
    add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    preview = post_file(erin, "/import", (FIXTURES / STATEMENT).read_bytes())
    assert 'id="confirm-import"' in preview.text and "Nothing new" not in preview.text
