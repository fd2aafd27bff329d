"""OFX and QFX import (issue 14): OFX 1 (SGML), OFX 2 (XML) and QFX through ofxtools into the
CSV's preview, duplicates and undo, on SQLite and PostgreSQL, JSON and web."""
import io
import json
import re
from decimal import Decimal

import pytest

from finance_app.ingest.ofx import parse_statement
from finance_app.ingest.parsing import FileRefused
from tests.conftest import csrf_token
from tests.ingest.test_row_writing import backend_app, erin  # noqa: F401 (fixtures)
from tests.ingest.test_import import FIXTURES, ledger, upload

OFX = FIXTURES / "ofx"
# file → (transactions, currency, account, total, first date, last date)
STATEMENTS = {
    "checking_v1.ofx": (4, "USD", "000123456789", "1291.00", "2024-03-02", "2024-03-20"),
    "savings_v2.ofx": (3, "EUR", "DE89370400440532013000", "115.37", "2024-04-02", "2024-04-30"),
    "card.qfx": (3, "GBP", "4111111111111111", "22.81", "2024-05-03", "2024-05-20"),
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_a_statement_parses_into_rows_with_its_currency_and_account(name):
    count, currency, account, total, first, last = STATEMENTS[name]
    with parse_statement((OFX / name).open("rb"), 1 << 20) as statement:
        rows = list(statement.rows())
    assert (statement.kind, statement.currency, statement.account_ref) == ("ofx", currency, account)
    assert statement.row_count == len(rows) == count
    assert sum(r.amount for r in rows) == Decimal(total)
    assert min(r.date for r in rows).isoformat() == first
    assert max(r.date for r in rows).isoformat() == last
    assert all(r.fitid and r.currency == currency and r.description for r in rows)


def test_names_and_memos_become_merchant_and_description():
    with parse_statement((OFX / "checking_v1.ofx").open("rb"), 1 << 20) as statement:
        rent = list(statement.rows())[3]
    assert (rent.merchant, rent.description) == ("RENT MARCH", "RENT MARCH Check 1042")
    # 12:00 EST on 20 March is 17:00 UTC: the bank's own day is kept in any case.
    assert rent.date.isoformat() == "2024-03-20"
    with parse_statement((OFX / "savings_v2.ofx").open("rb"), 1 << 20) as statement:
        fee = list(statement.rows())[2]
    assert (fee.merchant, fee.description) == (None, "Café Crème Kontoführung")


BROKEN = {
    "header only": (b"OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1>", "header"),
    "not a number": ((OFX / "card.qfx").read_bytes().replace(b"<TRNAMT>-12.99", b"<TRNAMT>abc"),
                     "should be a number"),
    "bad date": ((OFX / "card.qfx").read_bytes().replace(b"<DTPOSTED>20240503",
                                                         b"<DTPOSTED>2024XX03"), "2024XX03"),
    "cut short": ((OFX / "savings_v2.ofx").read_bytes()[:900], "cannot be read"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_statement_is_refused_with_a_reason(name):
    data, reason = BROKEN[name]
    with pytest.raises(FileRefused, match=re.escape(reason)):
        parse_statement(io.BytesIO(data), 1 << 20)


def test_a_transaction_with_three_decimals_is_a_bad_line_naming_its_fitid():
    data = (OFX / "card.qfx").read_bytes().replace(b"<TRNAMT>-12.99", b"<TRNAMT>-12.999")
    with parse_statement(io.BytesIO(data), 1 << 20) as statement:
        first = next(statement.rows())
    assert first.line == 1 and "more than 2 decimal places" in first.message
    assert "CC240503A" in first.message


# --- through the import, JSON ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_api_import_reimport_and_undo(backend_app, erin, name):
    count, currency, account, total, first, last = STATEMENTS[name]
    preview = upload(erin, f"ofx/{name}", filename=name, query="?dry_run=1")
    assert preview.status_code == 200 and preview.json["batch_id"] is None
    assert ledger(backend_app, erin.user_id)["count"] == 0  # a preview writes nothing
    done = upload(erin, f"ofx/{name}", filename=name)
    assert done.status_code == 201, done.json
    body = done.json
    assert (body["kind"], body["currency"], body["account_ref"]) == ("ofx", currency, account)
    assert body["imported"] == count and body["mapping"] is None
    assert (body["first_date"], body["last_date"]) == (first, last)
    assert body["totals"] == {currency: total}
    rows = erin.get(body["transactions_url"]).json
    assert rows["total"] == count and {r["currency"] for r in rows["items"]} == {currency}

    again = upload(erin, f"ofx/{name}", filename=name)
    assert again.status_code == 200
    assert (again.json["imported"], again.json["duplicates"]) == (0, count)
    assert ledger(backend_app, erin.user_id)["batches"] == 1

    undone = erin.delete(f"/api/ingest/batches/{body['batch_id']}")
    assert undone.status_code == 200 and undone.json["deleted"] == count
    assert ledger(backend_app, erin.user_id)["count"] == 0


def test_the_same_fitid_in_another_account_is_another_transaction(backend_app, erin):
    data = (OFX / "card.qfx").read_bytes()
    assert upload(erin, data, filename="card.qfx").json["imported"] == 3
    other = data.replace(b"<ACCTID>4111111111111111", b"<ACCTID>5500000000000004")
    assert upload(erin, other, filename="card2.qfx").json["imported"] == 3


def test_two_transactions_alike_but_for_their_fitid_both_land(backend_app, erin):
    """Two coffees of the same price on the same day: their FITIDs tell them apart."""
    body = upload(erin, "ofx/checking_v1.ofx", filename="checking.ofx").json
    coffees = erin.get(body["transactions_url"] + "&q=blue+bottle").json
    assert coffees["total"] == 2


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_api_broken_statement_is_a_clear_422_and_writes_nothing(backend_app, erin, name):
    data, reason = BROKEN[name]
    response = upload(erin, data, filename="statement.ofx")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "file_refused"
    assert reason in response.json["error"]["message"]
    stored = ledger(backend_app, erin.user_id)
    assert (stored["count"], stored["batches"]) == (0, 0)


def test_an_ofx_file_named_csv_is_read_as_ofx_and_a_mapping_for_it_is_refused(backend_app, erin):
    as_csv = upload(erin, "ofx/savings_v2.ofx", filename="export.csv", query="?dry_run=1")
    assert as_csv.status_code == 200 and as_csv.json["kind"] == "ofx"
    mapped = upload(erin, "ofx/savings_v2.ofx", filename="s.ofx",
                    mapping=json.dumps({"description": "NAME"}))
    assert mapped.status_code == 422 and "no columns to map" in mapped.json["error"]["message"]
    assert ledger(backend_app, erin.user_id)["count"] == 0


# --- through the import, web -------------------------------------------------------------------

def post_statement(client, name):
    return client.post("/import", data={"csrf_token": csrf_token(client, "/import"),
                                        "file": ((OFX / name).open("rb"), name)},
                       content_type="multipart/form-data")


def test_web_preview_confirm_reimport_and_undo(backend_app, erin):
    preview = post_statement(erin, "card.qfx")
    assert preview.status_code == 200
    page = preview.text
    assert "Preview: card.qfx" in page and "4111111111111111" in page and "GBP" in page
    assert 'name="map_date"' not in page  # nothing to map
    assert "2024-05-03 to 2024-05-20, total £22.81" in page
    token = re.search(r"/import/([0-9a-f]{32})/confirm", page).group(1)
    done = erin.post(f"/import/{token}/confirm", data={"csrf_token": csrf_token(erin, "/import")})
    assert done.status_code == 302 and "/transactions?batch=" in done.headers["Location"]
    listed = erin.get(done.headers["Location"])
    assert "NETFLIX.COM" in listed.text and "Only the rows of one import" in listed.text

    again = post_statement(erin, "card.qfx")
    assert "Nothing new to import" in again.text and 'id="confirm-import"' not in again.text

    batch = erin.get("/api/ingest/batches").json[0]
    erin.post(f"/import/batches/{batch['id']}/undo",
              data={"csrf_token": csrf_token(erin, "/import")})
    assert ledger(backend_app, erin.user_id)["count"] == 0


def test_web_broken_statement_shows_the_reason_and_writes_nothing(backend_app, erin):
    response = erin.post("/import", data={
        "csrf_token": csrf_token(erin, "/import"),
        "file": (io.BytesIO(BROKEN["not a number"][0]), "card.qfx")},
        content_type="multipart/form-data")
    assert response.status_code == 422 and "should be a number" in response.text
    assert ledger(backend_app, erin.user_id)["count"] == 0
