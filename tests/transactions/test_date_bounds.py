"""Dates are between 1900-01-01 and ten years from today wherever the app takes one: a
transaction created or edited through the API, a filter, an assistant tool, a CSV import.
A date outside is a 422 naming the field (or a line error of the import), and nothing is
written."""
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.ingest.parsing import ParsedRow, RowError, parse_upload
from finance_app.models import Transaction


def ten_years_from_today():
    today = date.today()
    try:
        return today.replace(year=today.year + 10)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 10, day=28)


LAST = ten_years_from_today()
OUTSIDE = [date(1899, 12, 31), LAST + timedelta(days=1), date(9999, 12, 31), date(1, 1, 1)]
INSIDE = [date(1900, 1, 1), LAST]


def rows(app):
    with app.app_context():
        return db.session.execute(select(func.count(Transaction.id))).scalar()


@pytest.mark.parametrize("day", OUTSIDE, ids=str)
def test_create_and_edit_refuse_a_date_outside_the_range(app, dana, day):
    before = rows(app)
    created = dana.post("/api/transactions", json={"date": day.isoformat(), "amount": "-1.00",
                                                   "description": "far"})
    assert created.status_code == 422 and created.json["error"]["field"] == "date"
    assert "1900-01-01" in created.json["error"]["message"]
    edited = dana.patch(f"/api/transactions/{dana.ids[0]}", json={"date": day.isoformat()})
    assert edited.status_code == 422 and edited.json["error"]["field"] == "date"
    assert dana.get(f"/api/transactions/{dana.ids[0]}").json["date"] == "2024-01-05"
    assert rows(app) == before


@pytest.mark.parametrize("day", INSIDE, ids=str)
def test_the_ends_of_the_range_are_accepted(dana, day):
    created = dana.post("/api/transactions", json={"date": day.isoformat(), "amount": "-1.00",
                                                   "description": "edge"})
    assert created.status_code == 201 and created.json["date"] == day.isoformat()


@pytest.mark.parametrize("day", OUTSIDE[:3], ids=str)
def test_filters_and_tools_refuse_it_too(dana, day):
    for query in (f"start={day}", f"end={day}"):
        response = dana.get(f"/api/transactions?{query}")
        assert response.status_code == 422, query
        assert dana.get(f"/transactions?{query}").status_code == 400
    tool = dana.post("/api/agent/tools/search_transactions", json={"query": "x", "end": str(day)})
    assert tool.status_code == 422 and tool.json["error"]["field"] == "end"


def csv_with(day):
    return f"Date,Description,Amount\n2024-03-01,fine,-1.00\n{day},far,-2.00\n".encode()


@pytest.mark.parametrize("day", [date(1899, 12, 31), LAST + timedelta(days=1),
                                 date(2099, 1, 1)], ids=str)
def test_an_imported_line_dated_outside_the_range_is_a_line_error(app, dana, day):
    upload = parse_upload(io.BytesIO(csv_with(day)), 1 << 20)
    items = list(upload.rows())
    assert isinstance(items[0], ParsedRow)
    assert isinstance(items[1], RowError) and items[1].line == 3
    assert day.isoformat() in items[1].message and "1900-01-01" in items[1].message

    before = rows(app)
    response = dana.post("/api/ingest", data={"file": (io.BytesIO(csv_with(day)), "far.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 422, response.text
    assert rows(app) == before
