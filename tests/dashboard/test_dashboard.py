"""The dashboard page: summary cards, chart data, the month's explanation, the latest rows;
the upload panel for a user with nothing to show; Chart.js served locally."""
import json
import re
from datetime import date

import pytest

from finance_app.money_display import format_money
from tests.charts import ledger as ref
from tests.charts.ledger import ALL_ROWS, ERIN_ROWS, FRANK_ROWS, get
from tests.conftest import add_transactions, add_user, login, set_isolation


def shown(amount, currency="USD"):
    """`amount` as the page writes it for a browser that names no language (en_US)."""
    return format_money(amount, currency, "en_US")


def usd_block(rows, month):
    """The USD block of the month's summary (all of the charts ledger's rows are in USD)."""
    return ref.totals(rows, month)


def chart_data(page):
    match = re.search(r'<script type="application/json" id="dashboard-data"[^>]*>(.*?)</script>',
                      page.text, re.S)
    assert match, "no chart data on the page"
    return json.loads(match.group(1))


def test_cards_charts_and_explanation_for_the_latest_month(app, ledger):
    erin = ledger.client("erin")  # isolated (fresh install)
    page = erin.get("/")
    assert page.status_code == 200
    april = usd_block(ERIN_ROWS, "2024-04")
    assert "$3,279.00" in page.text  # the income: a symbol and grouping
    for value in (april["income"], april["expenses"], april["net"]):
        assert shown(value) in page.text
    assert chart_data(page) == {
        "trends": get(erin, "/api/charts/trends?months=12"),
        "categories": ref.categories(ERIN_ROWS, "2024-04"),
        "merchants": ref.merchants(ERIN_ROWS, "2024-04", 8),
    }
    # The explanation's headline, its money written for the page.
    assert (f"In 2024-04 you spent {shown(april['expenses'])} and received "
            f"{shown(april['income'])}; that is") in page.text
    assert "New recurring charges" in page.text and "Netflix" in page.text
    for canvas in ("trend-chart", "category-chart", "merchant-chart"):
        assert f'id="{canvas}"' in page.text
    assert 'class="badge private"' in page.text
    assert f'href="/explain/transactions/{ledger.erin_ids[-1]}"' in page.text


def test_another_month_and_its_neighbours(app, ledger):
    erin = ledger.client("erin")
    page = erin.get("/?month=2024-03")
    assert shown(usd_block(ERIN_ROWS, "2024-03")["expenses"]) in page.text
    assert chart_data(page)["categories"] == ref.categories(ERIN_ROWS, "2024-03")
    # The trend ends with the month shown, and the latest rows are that month's.
    assert chart_data(page)["trends"]["trend"][-1]["month"] == "2024-03"
    assert (chart_data(page)["trends"]["trend"]
            == get(erin, "/api/charts/trends?months=13")["trend"][:-1])
    listed = set(map(int, re.findall(r'href="/explain/transactions/(\d+)"', page.text)))
    march = {tx_id for tx_id, row in zip(ledger.erin_ids, ERIN_ROWS)
             if ref.month_of(row) == "2024-03"}
    assert listed and listed <= march
    assert 'href="/transactions?month=2024-03"' in page.text
    assert 'href="/?month=2024-02"' in page.text and 'href="/?month=2024-04"' in page.text
    # The latest month has no "next" link; an empty month says so instead of drawing.
    assert 'rel="next"' not in erin.get("/").text
    empty = erin.get("/?month=2024-02")
    assert "No spending in USD in 2024-02." in empty.text
    assert 'id="category-chart"' not in empty.text


def test_a_bad_month_shows_the_latest_month_with_a_message(app, ledger):
    erin = ledger.client("erin")
    for bad in ("2024-13", "x", "1800-01", "２０２４-04"):
        response = erin.get(f"/?month={bad}")
        assert response.status_code == 400  # never a redirect: it could only come back here
        assert "Month: month must" in response.text
        assert chart_data(response)["trends"]["trend"][-1]["month"] == "2024-04"


def test_isolated_dashboard_shows_none_of_another_users_rows(app, ledger):
    set_isolation(app, ["staff"])
    page = ledger.client("erin").get("/?month=2024-04")
    assert "Frank" not in page.text and "Sailing" not in page.text


def test_shared_dashboard_shows_the_shared_ledger(app, ledger):
    set_isolation(app, [])
    page = ledger.client("frank").get("/?month=2024-04")  # general: shared ledger
    assert 'class="badge shared"' in page.text
    assert shown(usd_block(ALL_ROWS, "2024-04")["expenses"]) in page.text
    assert {m["merchant"] for m in chart_data(page)["merchants"]["merchants"]} >= {
        "Fresh Market", "Frank Yacht Club"}


def test_shared_dashboard_leaves_out_isolated_users(app, ledger):
    set_isolation(app, ["staff"])  # Erin's rows are hers alone
    page = ledger.client("frank").get("/?month=2024-04")
    assert 'class="badge shared"' in page.text
    assert shown(usd_block(FRANK_ROWS, "2024-04")["expenses"]) in page.text
    merchants = {m["merchant"] for m in chart_data(page)["merchants"]["merchants"]}
    assert "Frank Yacht Club" in merchants and "Fresh Market" not in merchants


def test_a_user_with_nothing_visible_gets_the_upload_panel(app, ledger):
    add_user(app, "gina@example.com")
    page = login(app.test_client(), "gina@example.com").get("/")
    assert page.status_code == 200
    assert 'id="upload-panel"' in page.text and 'type="file"' in page.text
    assert "dashboard-data" not in page.text and "<canvas" not in page.text


def test_chart_js_is_served_locally(app, ledger):
    page = ledger.client("erin").get("/")
    sources = re.findall(r'<script[^>]*src="([^"]+)"', page.text)
    # (confirm.js and tables.js: every page's, for forms that ask before they are sent and
    # for tables that become cards on a phone)
    assert sources == ["/static/confirm.js", "/static/tables.js",
                       "/static/vendor/chart.umd.min.js", "/static/dashboard.js"]
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # nothing from a CDN
    library = app.test_client().get("/static/vendor/chart.umd.min.js")
    assert library.status_code == 200 and b"Chart.js v4" in library.data
    assert app.test_client().get("/static/dashboard.js").status_code == 200


@pytest.mark.parametrize("far", [date(9999, 12, 31), date(1, 1, 1)])
def test_a_shared_ledger_row_dated_out_of_range_breaks_nobody(app, people, far):
    """A row dated 9999-12-31 (or year 1) on the shared ledger, from before dates were
    bounded, once sent everyone on that ledger into a redirect loop and made trends a 500:
    the dashboard and every chart open on the latest month of the accepted date range."""
    set_isolation(app, ["staff"])
    add_transactions(app, people.ids["bob"], [(far, "-1.00", "far away", "Far", "Odd")])
    carol = people.client("carol")
    page = carol.get("/")
    assert page.status_code == 200, page.headers.get("Location")
    assert chart_data(page)["trends"]["trend"][-1]["month"] == "2024-11"
    # The row itself is still listed (the dashboard lists the month's), for its owner to fix.
    assert "far away" in carol.get("/transactions").text
    for url in ("/api/charts/trends?months=36", "/api/charts/summary",
                "/api/charts/categories", "/api/charts/merchants"):
        response = carol.get(url)
        assert response.status_code == 200, (url, response.text)
    assert carol.get("/api/charts/trends?months=36").json["trend"][-1]["month"] == "2024-11"
    assert carol.get("/api/charts/summary").json["month"] == "2024-11"


def test_every_chart_has_its_numbers_as_a_table(app, ledger):
    """The charts are pictures: their data is also on the page as tables (screen readers,
    exact values), row for row."""
    erin = ledger.client("erin")
    page = erin.get("/")
    data = chart_data(page)

    def table_rows(table_id):
        body = re.search(rf'<table[^>]*id="{table_id}">.*?<tbody>(.*?)</tbody>', page.text, re.S)
        assert body, table_id
        return [re.findall(r"<td[^>]*>([^<]*)</td>", row)
                for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]

    assert table_rows("trend-table") == [
        [t["month"], shown(t["income"]), shown(t["expenses"]), shown(t["net"])]
        for t in data["trends"]["trend"]]
    assert table_rows("category-table") == [
        [c["category"] or "Uncategorised", shown(c["total"])]
        for c in data["categories"]["categories"]]
    assert table_rows("merchant-table") == [[m["merchant"], shown(m["total"])]
                                            for m in data["merchants"]["merchants"]]
    assert data["categories"]["categories"] and data["merchants"]["merchants"]
