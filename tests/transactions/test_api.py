"""GET/POST/PATCH/DELETE /api/transactions: filters, sorting, pagination, validation."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import Transaction
from tests.transactions.conftest import DANA_ROWS


def descriptions(response):
    assert response.status_code == 200, response.json
    return [item["description"] for item in response.json["items"]]


def expected(predicate, key=lambda r: (r[0],), reverse=True):
    rows = sorted((r for r in DANA_ROWS if predicate(r)), key=key, reverse=reverse)
    return [r[2] for r in rows]


@pytest.mark.parametrize("query,predicate", [
    ("q=COFFEE", lambda r: "coffee" in r[2].lower() or "coffee" in r[3].lower()),
    ("q=whole", lambda r: "whole" in r[3].lower()),
    ("q=100%25", lambda r: "100%" in r[2]),
    ("q=y_1", lambda r: False),  # _ is literal: as a wildcard it would match "day 100%"
    ("q=juice_", lambda r: "juice_" in r[2].lower()),
    ("category=Coffee", lambda r: r[4] == "Coffee"),
    ("month=2024-02", lambda r: r[0].month == 2),
    ("start=2024-02-01&end=2024-02-29", lambda r: r[0].month == 2),
    ("start=2024-03-01", lambda r: r[0].month >= 3),
    ("end=2024-01-31", lambda r: r[0].month == 1),
    ("min=0", lambda r: Decimal(r[1]) >= 0),
    ("max=-45.99", lambda r: Decimal(r[1]) <= Decimal("-45.99")),
    ("min=-100&max=-10", lambda r: Decimal("-100") <= Decimal(r[1]) <= Decimal("-10")),
    ("month=2024-02&max=-50", lambda r: r[0].month == 2 and Decimal(r[1]) <= -50),
])
def test_each_filter(dana, query, predicate):
    response = dana.get(f"/api/transactions?{query}")
    assert descriptions(response) == expected(predicate)
    assert response.json["total"] == len(expected(predicate))


@pytest.mark.parametrize("sort,key,reverse", [
    ("date", lambda r: r[0], False),
    ("-date", lambda r: r[0], True),
    ("amount", lambda r: Decimal(r[1]), False),
    ("-amount", lambda r: Decimal(r[1]), True),
    ("description", lambda r: r[2], False),
])
def test_sorting(dana, sort, key, reverse):
    got = descriptions(dana.get(f"/api/transactions?sort={sort}"))
    assert got == [r[2] for r in sorted(DANA_ROWS, key=key, reverse=reverse)]


def test_pagination_bounds(dana):
    page = dana.get("/api/transactions?limit=3&offset=0&sort=date").json
    assert page["total"] == 7 and page["limit"] == 3 and page["offset"] == 0
    assert [i["description"] for i in page["items"]] == [r[2] for r in DANA_ROWS[:3]]
    last = dana.get("/api/transactions?limit=3&offset=6&sort=date").json
    assert [i["description"] for i in last["items"]] == [DANA_ROWS[6][2]]
    beyond = dana.get("/api/transactions?limit=3&offset=100").json
    assert beyond["items"] == [] and beyond["total"] == 7
    assert dana.get("/api/transactions?limit=500").status_code == 200
    assert dana.get("/api/transactions").json["limit"] == 50


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"),
    ("offset=-1", "offset"), ("month=2024-13", "month"), ("month=24-01", "month"),
    ("month=9999-12", "month"), ("month=0000-01", "month"),
    ("start=2024-02-30", "start"), ("min=abc", "min"), ("sort=password", "sort"),
    ("start=2024-03-01&end=2024-01-01", None), ("min=10&max=1", None),
])
def test_bad_query_is_422_naming_the_field(dana, query, field):
    response = dana.get(f"/api/transactions?{query}")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    if field:
        assert response.json["error"]["field"] == field


def test_items_carry_decimal_strings(dana):
    item = dana.get(f"/api/transactions/{dana.ids[0]}").json
    assert item == {"id": dana.ids[0], "date": "2024-01-05", "amount": "-4.50", "currency": "USD",
                    "description": "Morning coffee", "merchant": "Blue Bottle",
                    "category": "Coffee", "import_batch_id": None,
                    "account_id": item["account_id"]}
    assert isinstance(item["account_id"], int)


def count_rows(app):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Transaction)).scalar()


def test_create_stamps_owner_and_defaults_currency(app, dana):
    response = dana.post("/api/transactions", json={
        "date": "2024-04-01", "amount": "-9.90", "description": "  Cinema  ", "category": ""})
    assert response.status_code == 201
    body = response.json
    assert body["amount"] == "-9.90" and body["currency"] == "USD"
    assert body["description"] == "Cinema" and body["category"] is None
    with app.app_context():
        row = db.session.get(Transaction, body["id"])
        assert row.user_id == dana.user_id and row.amount == Decimal("-9.90")


@pytest.mark.parametrize("body,field", [
    ({"amount": "1.00", "description": "x"}, "date"),
    ({"date": "2024-02-30", "amount": "1.00", "description": "x"}, "date"),
    ({"date": "2024-01-01", "amount": 1.5, "description": "x"}, "amount"),
    ({"date": "2024-01-01", "amount": "1.005", "description": "x"}, "amount"),
    ({"date": "2024-01-01", "amount": "abc", "description": "x"}, "amount"),
    ({"date": "2024-01-01", "amount": "NaN", "description": "x"}, "amount"),
    ({"date": "2024-01-01", "amount": "12345678901.00", "description": "x"}, "amount"),
    ({"date": "2024-01-01", "amount": "1.00", "description": ""}, "description"),
    ({"date": "2024-01-01", "amount": "1.00", "description": "x" * 501}, "description"),
    ({"date": "2024-01-01", "amount": "1.00", "description": "x", "currency": "EURO"}, "currency"),
    ({"date": "2024-01-01", "amount": "1.00", "description": "x", "user_id": 1}, "user_id"),
    # A list filter, not a field of a transaction.
    ({"date": "2024-01-01", "amount": "1.00", "description": "x", "uncategorised": True},
     "uncategorised"),
])
def test_create_validation_errors_write_nothing(app, dana, body, field):
    before = count_rows(app)
    response = dana.post("/api/transactions", json=body)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert count_rows(app) == before


def test_create_needs_a_json_object(app, dana):
    assert dana.post("/api/transactions", data="date=2024", content_type="text/plain").status_code == 400
    assert dana.post("/api/transactions", json=["a"]).status_code == 400


def test_patch_changes_only_what_is_sent(app, dana):
    response = dana.patch(f"/api/transactions/{dana.ids[0]}", json={"category": "Cafes",
                                                                    "amount": "-5"})
    assert response.status_code == 200
    assert response.json["category"] == "Cafes" and response.json["amount"] == "-5.00"
    assert response.json["description"] == "Morning coffee"


@pytest.mark.parametrize("body,field", [
    ({}, None), ({"amount": None}, None), ({"date": "yesterday"}, "date"),
    ({"amount": "1e400"}, "amount"), ({"id": 5}, "id"),
])
def test_patch_validation(app, dana, body, field):
    response = dana.patch(f"/api/transactions/{dana.ids[0]}", json=body)
    assert response.status_code == 422
    if field:
        assert response.json["error"]["field"] == field
    assert dana.get(f"/api/transactions/{dana.ids[0]}").json["amount"] == "-4.50"


def test_delete_then_404(app, dana):
    assert dana.delete(f"/api/transactions/{dana.ids[0]}").status_code == 204
    assert dana.get(f"/api/transactions/{dana.ids[0]}").status_code == 404
    assert dana.delete(f"/api/transactions/{dana.ids[0]}").status_code == 404
    assert count_rows(app) == len(DANA_ROWS) - 1


def test_unknown_ids_are_404(dana):
    for method in ("get", "patch", "delete"):
        response = getattr(dana, method)("/api/transactions/999999", json={"category": "x"})
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
    assert dana.get("/api/transactions/abc").status_code == 404


def test_writes_invalidate_cached_views(app, dana):
    """A write moves the writer's namespace to a new generation."""
    from finance_app.extensions import cache
    from finance_app.isolation.keys import generation_key

    with app.app_context():
        before = cache.get(generation_key(f"user:{dana.user_id}"))
        dana.patch(f"/api/transactions/{dana.ids[0]}", json={"category": "Cafes"})
        after = cache.get(generation_key(f"user:{dana.user_id}"))
        legacy = cache.get(generation_key("legacy"))
    assert after is not None and after != before and legacy is not None
