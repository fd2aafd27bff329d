"""Bad chart parameters: a 422 naming the field, never a 500, nothing written."""
import pytest
from sqlalchemy import func, select

from finance_app.extensions import db
from finance_app.models import Transaction


BAD = [
    ("/api/charts/summary?month=2024-13", "month"),
    ("/api/charts/summary?month=2024-1", "month"),
    ("/api/charts/summary?month=24-01", "month"),
    ("/api/charts/summary?month=1899-12", "month"),
    ("/api/charts/summary?month=3000-01", "month"),
    ("/api/charts/summary?month=2024-04-01", "month"),
    ("/api/charts/summary?month=%00", "month"),
    ("/api/charts/summary?mnth=2024-04", "mnth"),
    ("/api/charts/categories?month=April", "month"),
    ("/api/charts/trends?months=0", "months"),
    ("/api/charts/trends?months=37", "months"),
    ("/api/charts/trends?months=abc", "months"),
    ("/api/charts/trends?months=1.5", "months"),
    ("/api/charts/trends?months=-3", "months"),
    ("/api/charts/trends?months=99999999999999999999999", "months"),
    ("/api/charts/merchants?limit=0", "limit"),
    ("/api/charts/merchants?limit=51", "limit"),
    ("/api/charts/merchants?limit=ten", "limit"),
    ("/api/charts/merchants?month=2024-00", "month"),
]


def test_bad_parameters_are_422_naming_the_field(app, ledger):
    erin = ledger.client("erin")
    with app.app_context():
        before = db.session.execute(select(func.count(Transaction.id))).scalar()
    for url, field in BAD:
        response = erin.get(url)
        assert response.status_code == 422, (url, response.text)
        assert response.json["error"]["code"] == "validation_error", url
        assert response.json["error"]["field"] == field, url
    with app.app_context():
        assert db.session.execute(select(func.count(Transaction.id))).scalar() == before


def test_only_get(ledger):
    erin = ledger.client("erin")
    for url in ("/api/charts/summary", "/api/charts/categories", "/api/charts/trends",
                "/api/charts/merchants"):
        assert erin.post(url, json={}).status_code == 405, url


def test_services_refuse_bad_arguments_from_other_callers(app, ledger):
    """The assistant tools call the services directly: bad arguments are 422s there too."""
    from finance_app.charts import service
    from finance_app.errors import AppError

    with app.test_request_context():
        for call, field in [(lambda: service.month_summary("2024-13"), "month"),
                            (lambda: service.category_totals(None), "month"),
                            (lambda: service.monthly_trends(0), "months"),
                            (lambda: service.top_merchants("2024-01", 500), "limit")]:
            with pytest.raises(AppError) as caught:
                call()
            assert caught.value.code == 422 and caught.value.details["field"] == field
