"""What an import adds, in dates and totals per currency (preview and result, web and API),
and the way to its rows: /transactions?batch=<id> (issue 14)."""
import re

from tests.conftest import add_user, csrf_token, login
from tests.ingest.test_import import upload
from tests.ingest.test_import_web import post_file

TWO_CURRENCIES = (b"Date,Description,Amount,Currency\n"
                  b"2024-03-05,Coffee,-3.50,EUR\n"
                  b"2024-03-01,Salary,2500.00,EUR\n"
                  b"2024-03-09,Book,-12.00,GBP\n"
                  b"2024-03-07,Lunch,-10.25,EUR\n")


def signed_in(app, email="erin@example.com"):
    add_user(app, email)
    return login(app.test_client(), email)


def test_api_preview_and_result_give_dates_and_totals_per_currency(app):
    erin = signed_in(app)
    preview = upload(erin, TWO_CURRENCIES, query="?dry_run=1").json
    done = upload(erin, TWO_CURRENCIES).json
    for body in (preview, done):
        assert (body["first_date"], body["last_date"]) == ("2024-03-01", "2024-03-09")
        # Never added across currencies.
        assert body["totals"] == {"EUR": "2486.25", "GBP": "-12.00"}
    assert preview["transactions_url"] is None
    assert done["transactions_url"] == f"/api/transactions?batch={done['batch_id']}"


def test_the_summary_covers_only_the_rows_added(app):
    erin = signed_in(app)
    upload(erin, TWO_CURRENCIES)
    more = TWO_CURRENCIES + b"2024-03-20,Rent,-900.00,EUR\n"
    body = upload(erin, more).json
    assert (body["imported"], body["duplicates"]) == (1, 4)
    assert (body["first_date"], body["last_date"], body["totals"]) == (
        "2024-03-20", "2024-03-20", {"EUR": "-900.00"})
    nothing = upload(erin, more).json
    assert (nothing["first_date"], nothing["totals"]) == (None, {})


def test_web_preview_and_result_show_dates_and_totals(app):
    erin = signed_in(app)
    preview = post_file(erin, "/import", TWO_CURRENCIES)
    summary = "2024-03-01 to 2024-03-09, total €2,486.25 and −£12.00"
    assert summary in preview.text
    token = re.search(r"/import/([0-9a-f]{32})/confirm", preview.text).group(1)
    done = erin.post(f"/import/{token}/confirm", data={"csrf_token": csrf_token(erin, "/import")},
                     follow_redirects=True)
    assert f"Imported 4 transaction(s) from bank.csv ({summary})" in done.text


def test_the_batch_filter_lists_one_imports_rows_in_the_api_and_the_page(app):
    erin = signed_in(app)
    first = upload(erin, TWO_CURRENCIES).json
    second = upload(erin, b"Date,Description,Amount\n2024-04-01,Bus ticket,-2.80\n").json
    rows = erin.get(first["transactions_url"]).json
    assert rows["total"] == 4
    assert {r["import_batch_id"] for r in rows["items"]} == {first["batch_id"]}
    assert erin.get(f"/api/transactions?batch={second['batch_id']}").json["total"] == 1
    page = erin.get(f"/transactions?batch={second['batch_id']}")
    assert "Bus ticket" in page.text and "Coffee" not in page.text
    assert "Only the rows of one import" in page.text
    # The import history links each import to its rows.
    history = erin.get("/import").text
    assert f'href="/transactions?batch={first["batch_id"]}"' in history
    listed = erin.get("/api/ingest/batches").json
    assert {b["transactions_url"] for b in listed} == {first["transactions_url"],
                                                       second["transactions_url"]}


def test_a_bad_batch_filter_is_a_clear_error(app):
    erin = signed_in(app)
    response = erin.get("/api/transactions?batch=abc")
    assert response.status_code == 422 and "batch" in response.json["error"]["message"]
    assert erin.get("/transactions?batch=0").status_code == 400


def test_another_users_batch_lists_nothing(app):
    erin = signed_in(app)
    batch = upload(erin, TWO_CURRENCIES).json["batch_id"]
    finn = signed_in(app, "finn@example.com")
    assert finn.get(f"/api/transactions?batch={batch}").json["total"] == 0


def test_a_batch_id_beyond_the_id_column_is_a_clear_error_not_a_database_error(app):
    erin = signed_in(app)
    response = erin.get(f"/api/transactions?batch={2 ** 31}")
    assert response.status_code == 422 and "batch" in response.json["error"]["message"]
