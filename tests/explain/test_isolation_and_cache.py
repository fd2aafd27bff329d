"""Explanations hold none of another user's rows when isolated (another user's transaction
is a 404), the shared ledger's when not; they are cached and refreshed by writes."""
from datetime import date

import pytest
from sqlalchemy import delete

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Transaction
from tests.charts.ledger import ERIN_ROWS, month_explanation, sql_statements
from tests.conftest import set_isolation

FRANK_ONLY = ("Frank", "Sailing", "Restaurants")


def test_isolated_explanations_hold_none_of_another_users_rows(app, ledger):
    set_isolation(app, ["staff"])
    erin = ledger.client("erin")
    for month in ("2024-03", "2024-04", "2024-05"):
        answer = erin.get(f"/api/explain/month/{month}")
        assert answer.status_code == 200
        assert not any(word in answer.text for word in FRANK_ONLY), month
    # Netflix is new for Erin; on her private ledger Frank's identical charges do not count.
    april = erin.get("/api/explain/month/2024-04").json
    assert [r["merchant"] for r in april["new_recurring"]] == ["Netflix"]
    netflix = erin.get(f"/api/explain/transactions/{ledger.erin_ids[23]}").json
    assert netflix["others"] == 1  # her March charge, not Frank's two


@pytest.mark.parametrize("url", ["/api/explain/transactions/{id}", "/explain/transactions/{id}"])
def test_another_users_transaction_is_404_when_isolated(app, ledger, url):
    set_isolation(app, ["staff"])
    erin = ledger.client("erin")
    frank_row = ledger.frank_ids[4]  # the sailing club
    response = erin.get(url.format(id=frank_row))
    assert response.status_code == 404
    assert "Frank" not in response.text and "Sailing" not in response.text
    assert erin.get(url.format(id=ledger.erin_ids[0])).status_code == 200
    assert erin.get(url.format(id=999_999)).status_code == 404


def test_the_shared_ledger_explains_everyones_rows(app, ledger):
    set_isolation(app, [])
    erin = ledger.client("erin")
    sailing = erin.get(f"/api/explain/transactions/{ledger.frank_ids[4]}")
    assert sailing.status_code == 200
    assert sailing.json["transaction"]["merchant"] == "Frank Yacht Club"
    april = erin.get("/api/explain/month/2024-04").json
    assert "Sailing" in [d["name"] for d in april["drivers"]]
    # Frank's Netflix charges share the merchant: two a month is not a new subscription.
    assert april["new_recurring"] == []
    netflix = erin.get(f"/api/explain/transactions/{ledger.erin_ids[23]}").json
    assert netflix["others"] == 3


def test_explanations_are_cached_and_refreshed_by_writes(app, ledger):
    erin = ledger.client("erin")
    urls = ["/api/explain/month/2024-04", f"/api/explain/transactions/{ledger.erin_ids[30]}"]
    first = [erin.get(url).json for url in urls]
    with sql_statements(app) as statements:
        assert [erin.get(url).json for url in urls] == first
    # From the cache: only the transaction's ownership check runs (one row by id).
    [ownership_check] = statements
    assert "FROM transactions" in ownership_check and "WHERE transactions.id = ?" in ownership_check
    # Another espresso at Corner Coffee: the beans' explanation and April's drivers change.
    created = erin.post("/api/transactions", json={
        "date": "2024-04-25", "amount": "-4.00", "description": "Espresso",
        "merchant": "Corner Coffee", "category": "Coffee"})
    assert created.status_code == 201
    beans = erin.get(urls[1]).json
    assert beans["others"] == first[1]["others"] + 1
    month = erin.get(urls[0]).json
    rows = ERIN_ROWS + [(date(2024, 4, 25), "-4.00", "Espresso", "Corner Coffee", "Coffee")]
    assert month != first[0]
    assert {k: month[k] for k in ("drivers", "new_recurring")} == {
        k: month_explanation(rows, "2024-04")[k] for k in ("drivers", "new_recurring")}
    # A deleted transaction is no longer explained.
    assert erin.delete(f"/api/transactions/{ledger.erin_ids[30]}").status_code == 204
    assert erin.get(urls[1]).status_code == 404


@pytest.mark.parametrize("isolated", [True, False], ids=["isolated", "shared-ledger"])
def test_a_cached_explanation_never_answers_for_a_row_the_request_may_not_see(app, ledger,
                                                                               isolated):
    """Ownership is checked before the cache is read: an explanation cached while the row was
    visible is not served once it is gone, even when nothing made the cache stale."""
    set_isolation(app, ["staff"] if isolated else [])
    erin = ledger.client("erin")
    url = f"/api/explain/transactions/{ledger.erin_ids[30]}"
    assert erin.get(url).status_code == 200  # now cached
    with app.app_context(), unscoped("test: a row gone behind the cache's back"):
        db.session.execute(delete(Transaction).where(Transaction.id == ledger.erin_ids[30]))
        db.session.commit()
    assert erin.get(url).status_code == 404


@pytest.mark.parametrize("url,status,field", [
    ("/api/explain/month/2024-13", 422, "month"),
    ("/api/explain/month/2024-1", 422, "month"),
    ("/api/explain/month/april", 422, "month"),
    ("/api/explain/month/1899-12", 422, "month"),
    ("/api/explain/transactions/abc", 404, None),
    ("/api/explain/transactions/-1", 404, None),
    ("/api/explain/transactions/0", 404, None),
])
def test_bad_paths(app, ledger, url, status, field):
    response = ledger.client("erin").get(url)
    assert response.status_code == status, response.text
    assert response.json["error"].get("field") == field


def test_a_web_page_explains_a_transaction(app, ledger):
    erin = ledger.client("erin")
    page = erin.get(f"/explain/transactions/{ledger.erin_ids[30]}")
    assert page.status_code == 200
    assert "3.00× the usual amount" in page.text and "Corner Coffee" in page.text
    assert "Espresso beans" in page.text
    assert 'href="/?month=2024-04"' in page.text
