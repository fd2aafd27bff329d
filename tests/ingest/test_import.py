"""POST /api/ingest end to end: fixtures, duplicates, atomicity, undo, isolation, mapping."""
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import ImportBatch, Transaction
from tests.conftest import add_user, login, set_isolation

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def upload(client, name_or_bytes, filename="upload.csv", query="", **form):
    data = (FIXTURES / name_or_bytes).read_bytes() if isinstance(name_or_bytes, str) \
        else name_or_bytes
    form = {k: v for k, v in form.items()}
    form["file"] = (io.BytesIO(data), filename)
    return client.post(f"/api/ingest{query}", data=form, content_type="multipart/form-data")


def ledger(app, user_id=None):
    with app.app_context():
        stmt = select(func.count(Transaction.id), func.coalesce(func.sum(Transaction.amount), 0),
                      func.min(Transaction.date), func.max(Transaction.date))
        if user_id is not None:
            stmt = stmt.where(Transaction.user_id == user_id)
        count, total, first, last = db.session.execute(stmt).one()
        batches = db.session.execute(select(func.count(ImportBatch.id))).scalar()
        return {"count": count, "sum": Decimal(total), "first": first, "last": last,
                "batches": batches}


@pytest.fixture
def erin(app):
    uid = add_user(app, "erin@example.com")
    client = login(app.test_client(), "erin@example.com")
    client.user_id = uid
    return client


@pytest.mark.parametrize("name", sorted(EXPECTED["good"]))
def test_good_fixture_imports_once(app, erin, name):
    expected = EXPECTED["good"][name]
    response = upload(erin, f"good/{name}", filename=name)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["rows"] == body["imported"] == expected["rows"]
    assert body["duplicates"] == 0 and body["errors"] == []
    assert isinstance(body["batch_id"], int)
    assert body["preview"][0]["date"] == expected["first_date"]
    assert body["preview"][0]["description"] == expected["first_description"]
    stored = ledger(app, erin.user_id)
    assert stored["count"] == expected["rows"]
    assert stored["sum"] == Decimal(expected["sum"])
    assert {stored["first"].isoformat(), stored["last"].isoformat()} >= {
        min(expected["first_date"], expected["last_date"]),
        max(expected["first_date"], expected["last_date"])} - {None}
    assert any("day" in w.lower() for w in body["warnings"]) == expected["ambiguous"]

    again = upload(erin, f"good/{name}", filename=name)
    assert again.status_code == 200  # nothing new: no import batch
    assert again.json["imported"] == 0 and again.json["duplicates"] == expected["rows"]
    assert ledger(app, erin.user_id)["count"] == expected["rows"]


@pytest.mark.parametrize("name", sorted(EXPECTED["broken"]))
def test_broken_fixture_is_refused_and_writes_nothing(app, erin, name):
    expected = EXPECTED["broken"][name]
    before = ledger(app)
    response = upload(erin, f"broken/{name}", filename=name)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    if expected["kind"] == "refused":
        assert error["code"] == "file_refused"
        assert expected["message"].lower() in error["message"].lower()
    else:
        assert error["code"] == "invalid_rows"
        assert [e["line"] for e in error["errors"]] == expected["error_lines"]
        assert all(e["message"] for e in error["errors"])
    assert ledger(app) == before


@pytest.mark.parametrize("name", [n for n, e in EXPECTED["broken"].items() if e["kind"] == "rows"])
def test_skipping_bad_lines_imports_the_rest(app, erin, name):
    expected = EXPECTED["broken"][name]
    response = upload(erin, f"broken/{name}", skip_bad_lines="1")
    assert response.status_code == 201
    assert response.json["imported"] == expected["good_rows"]
    assert [e["line"] for e in response.json["errors"]] == expected["error_lines"]
    assert ledger(app, erin.user_id)["count"] == expected["good_rows"]


def test_dry_run_previews_and_writes_nothing(app, erin):
    response = upload(erin, "good/uk_monzo.csv", query="?dry_run=1")
    assert response.status_code == 200
    assert response.json["batch_id"] is None
    assert response.json["rows"] == EXPECTED["good"]["uk_monzo.csv"]["rows"]
    assert len(response.json["preview"]) == min(20, response.json["rows"])
    assert ledger(app)["count"] == 0 and ledger(app)["batches"] == 0


IDENTICAL_ROWS = (b"Date,Description,Amount\n"
                  b"2024-03-01,Coffee,-3.50\n2024-03-01,Coffee,-3.50\n2024-03-02,Bread,-2.00\n")


def test_identical_rows_in_one_file_both_land_and_reimport_adds_nothing(app, erin):
    first = upload(erin, IDENTICAL_ROWS)
    assert first.json["imported"] == 3
    second = upload(erin, IDENTICAL_ROWS)
    assert second.json["imported"] == 0 and second.json["duplicates"] == 3
    # A later export that has one more identical coffee adds exactly that one.
    third = upload(erin, IDENTICAL_ROWS + b"2024-03-01,Coffee,-3.50\n")
    assert third.json["imported"] == 1 and third.json["duplicates"] == 3
    assert ledger(app, erin.user_id)["count"] == 4


def test_undo_removes_exactly_the_batch(app, erin):
    upload(erin, "good/us_bofa_checking.csv")
    second = upload(erin, "good/uk_monzo.csv").json
    before = ledger(app, erin.user_id)
    response = erin.delete(f"/api/ingest/batches/{second['batch_id']}")
    assert response.status_code == 200
    assert response.json == {"batch_id": second["batch_id"], "deleted": second["imported"]}
    after = ledger(app, erin.user_id)
    assert after["count"] == before["count"] - second["imported"]
    assert after["count"] == EXPECTED["good"]["us_bofa_checking.csv"]["rows"]
    assert after["batches"] == 1
    assert erin.delete(f"/api/ingest/batches/{second['batch_id']}").status_code == 404
    listed = erin.get("/api/ingest/batches").json
    assert [b["id"] for b in listed] != [] and second["batch_id"] not in [b["id"] for b in listed]


def test_an_import_is_private_when_isolated_and_shared_on_the_legacy_ledger(app, people):
    set_isolation(app, ["staff"])
    alice = people.client("alice")
    result = upload(alice, IDENTICAL_ROWS).json
    assert result["imported"] == 3

    def descriptions(client):
        return [t["description"] for t in client.get("/api/transactions?limit=500").json["items"]]

    bob, carol = people.client("bob"), people.client("carol")  # both on the shared ledger
    # Alice is isolated: her import is hers alone, on every ledger.
    assert "Bread" not in descriptions(bob) and "Bread" not in descriptions(carol)
    assert bob.delete(f"/api/ingest/batches/{result['batch_id']}").status_code == 404
    # Carol's import, made on the shared ledger, is shared with Bob until one of them is
    # isolated.
    shared = upload(carol, IDENTICAL_ROWS).json
    assert shared["imported"] == 3 and "Bread" in descriptions(bob)
    set_isolation(app, ["staff", "general"])
    assert "Bread" not in descriptions(bob)


def test_missing_file_field_is_400(erin):
    response = erin.post("/api/ingest", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "file" in response.json["error"]["message"]


@pytest.mark.parametrize("mapping,field_in_message", [
    ("not json", "mapping"), ('["a"]', "mapping"), ('{"amount": "No such column"}', "No such column"),
])
def test_bad_mapping_is_422_and_writes_nothing(app, erin, mapping, field_in_message):
    response = upload(erin, IDENTICAL_ROWS, mapping=mapping)
    assert response.status_code == 422
    assert field_in_message in json.dumps(response.json["error"])
    assert ledger(app)["count"] == 0


def test_mapping_override_is_remembered_for_the_same_layout(app, erin):
    data = (b"When,What,Money,Memo\n2024-03-01,Coffee shop,-3.50,note A\n"
            b"2024-03-02,Bakery,-2.00,note B\n")
    override = json.dumps({"date": "When", "amount": "Money", "description": "Memo"})
    first = upload(erin, data, mapping=override).json
    assert first["mapping"]["description"] == "Memo"
    assert sorted(t["description"] for t in erin.get("/api/transactions").json["items"]) == [
        "note A", "note B"]
    later = data.replace(b"2024-03", b"2024-04")
    second = upload(erin, later).json
    assert second["mapping"]["description"] == "Memo"


def test_too_large_file_is_413_and_writes_nothing(app_with):
    small = app_with(MAX_CONTENT_LENGTH=2048)
    add_user(small, "erin@example.com")
    client = login(small.test_client(), "erin@example.com")
    big = b"Date,Description,Amount\n" + b"2024-03-01,Coffee,-3.50\n" * 500
    response = upload(client, big)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert ledger(small)["count"] == 0


def test_a_crash_mid_import_leaves_nothing(app, erin, monkeypatch):
    from finance_app.ingest import service

    monkeypatch.setattr(service, "CHUNK_ROWS", 5)
    calls = {"n": 0}
    real = service.fingerprint

    def exploding(row, seen):
        calls["n"] += 1
        if calls["n"] == 12:  # two chunks are already inserted by now
            raise RuntimeError("disk on fire")
        return real(row, seen)

    monkeypatch.setattr(service, "fingerprint", exploding)
    with pytest.raises(RuntimeError):
        upload(erin, "good/us_bofa_checking.csv")
    assert ledger(app) == {"count": 0, "sum": Decimal(0), "first": None, "last": None,
                           "batches": 0}


@pytest.mark.parametrize("header, cells, currencies", [
    # A German export's amount header names the currency: not the app's default (USD).
    ("Buchungstag;Verwendungszweck;Betrag (EUR)", ["-12,50", "2500,00"], ["EUR", "EUR"]),
    ("Date;Description;Amount in GBP", ["-12.50", "2500.00"], ["GBP", "GBP"]),
    # A currency written with an amount wins over the header's.
    ("Date;Description;Amount [€]", ["-12.50", "2500.00 USD"], ["EUR", "USD"]),
    # A header that names none leaves the default.
    ("Date;Description;Amount", ["-12.50", "2500.00"], ["USD", "USD"]),
])
def test_the_currency_an_amount_header_names_is_the_rows(app, erin, header, cells, currencies):
    assert app.config["DEFAULT_CURRENCY"] == "USD"
    days = ["03.11.2024", "20.11.2024"] if header.startswith("Buchungstag") \
        else ["2024-11-03", "2024-11-20"]
    names = ["Coffee at the corner", "Salary November"]
    lines = [header] + [f"{day};{name};{cell}" for day, name, cell in zip(days, names, cells)]
    response = upload(erin, "\n".join(lines).encode())
    assert response.status_code == 201, response.json
    rows = erin.get("/api/transactions?sort=date").json["items"]
    assert [(r["description"], r["currency"]) for r in rows] == list(zip(names, currencies))
