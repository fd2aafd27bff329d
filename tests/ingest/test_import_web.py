"""The web import: upload → preview → confirm, progress, undo."""
import io
import re
from pathlib import Path

from tests.conftest import add_user, csrf_token, login

FIXTURES = Path(__file__).parent / "fixtures"


def post_file(client, path, data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/import"),
                                   "file": (io.BytesIO(data), "bank.csv")},
                       content_type="multipart/form-data")


def test_upload_preview_confirm_then_undo(app):
    add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    data = (FIXTURES / "good" / "uk_monzo.csv").read_bytes()
    preview = post_file(erin, "/import", data)
    assert preview.status_code == 200
    assert "Preview: bank.csv" in preview.text
    assert erin.get("/api/transactions").json["total"] == 0  # nothing saved by a preview
    token = re.search(r'/import/([0-9a-f]{32})/confirm', preview.text).group(1)
    assert erin.get(f"/import/{token}/progress").json == {"processed": 0}

    done = erin.post(f"/import/{token}/confirm", data={"csrf_token": csrf_token(erin, "/import")})
    batch_id = erin.get("/api/ingest/batches").json[0]["id"]
    # The result leads to the rows the import added.
    assert done.status_code == 302
    assert done.headers["Location"] == f"/transactions?batch={batch_id}"
    total = erin.get("/api/transactions").json["total"]
    assert total > 0
    # The upload is gone once imported: confirming again is a clear 404.
    assert erin.post(f"/import/{token}/confirm",
                     data={"csrf_token": csrf_token(erin, "/import")}).status_code == 404

    batch = erin.get("/api/ingest/batches").json[0]
    undone = erin.post(f"/import/batches/{batch['id']}/undo",
                       data={"csrf_token": csrf_token(erin, "/import")})
    assert undone.status_code == 302
    assert erin.get("/api/transactions").json["total"] == 0


def test_another_session_cannot_confirm_my_upload(app):
    add_user(app, "erin@example.com")
    add_user(app, "finn@example.com")
    erin = login(app.test_client(), "erin@example.com")
    preview = post_file(erin, "/import", (FIXTURES / "good" / "uk_monzo.csv").read_bytes())
    token = re.search(r'/import/([0-9a-f]{32})/confirm', preview.text).group(1)
    finn = login(app.test_client(), "finn@example.com")
    form = {"csrf_token": csrf_token(finn, "/import")}
    for path in (f"/import/{token}/confirm", f"/import/{token}/preview"):
        assert finn.post(path, data=form).status_code == 404
    assert finn.get(f"/import/{token}/progress").status_code == 404
    assert finn.get("/api/transactions").json["total"] == 0
    # Finn's own upload is his: it shows his preview, not Erin's pending file.
    mine = post_file(finn, "/import", b"Date,Description,Amount\n2024-03-01,Finn tea,-1.00\n")
    assert "Finn tea" in mine.text and token not in mine.text
    assert erin.get("/api/transactions").json["total"] == 0


def test_a_refused_file_shows_the_reason(app):
    add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    response = post_file(erin, "/import", (FIXTURES / "broken" / "png_image.csv").read_bytes())
    assert response.status_code == 422
    assert "PNG image" in response.text


def test_bad_lines_are_listed_and_can_be_skipped(app):
    add_user(app, "erin@example.com")
    erin = login(app.test_client(), "erin@example.com")
    preview = post_file(erin, "/import", (FIXTURES / "broken" / "ragged_rows.csv").read_bytes())
    assert preview.status_code == 200
    assert "Line 3:" in preview.text and "Line 5:" in preview.text
    token = re.search(r'/import/([0-9a-f]{32})/confirm', preview.text).group(1)
    refused = erin.post(f"/import/{token}/confirm", data={"csrf_token": csrf_token(erin, "/import")})
    assert refused.status_code == 422
    assert erin.get("/api/transactions").json["total"] == 0
    skipped = erin.post(f"/import/{token}/confirm", data={
        "csrf_token": csrf_token(erin, "/import"), "skip_bad_lines": "1"})
    assert skipped.status_code == 302
    assert erin.get("/api/transactions").json["total"] == 3
