"""The /transactions page: filters, pagination, inline category edit, delete, CSV export."""
import csv
import io

from tests.conftest import add_transactions, csrf_token
from tests.transactions.conftest import DANA_ROWS


def test_page_lists_and_filters(dana):
    page = dana.get("/transactions?month=2024-02")
    assert page.status_code == 200
    assert "Valentine dinner" in page.text and "Morning coffee" not in page.text
    assert "3 transactions" in page.text


def test_the_filter_form_sent_with_one_amount_bound_filters_by_it(dana):
    """The form sends every field: a blank Min or Max is no bound, not a bad amount."""
    page = dana.get("/transactions?q=&category=&month=&start=&end=&min=&max=-50")
    assert page.status_code == 200
    assert "2 transactions" in page.text  # the rent and the dinner
    assert "Valentine dinner" in page.text and "Morning coffee" not in page.text
    api = dana.get("/api/transactions?min=0&max=")
    assert api.status_code == 200
    assert sorted(i["description"] for i in api.json["items"]) == \
        ["January salary", "Refund headphones"]


def test_page_paginates_with_filters_kept(dana):
    page = dana.get("/transactions?limit=2&sort=date&q=e")
    assert "Next →" in page.text
    assert "offset=2" in page.text and "q=e" in page.text
    second = dana.get("/transactions?limit=2&sort=date&q=e&offset=2")
    assert "← Previous" in second.text


def test_bad_filter_shows_a_message_not_a_500(dana):
    page = dana.get("/transactions?month=2024-13")
    assert page.status_code == 400
    assert "month" in page.text


def test_inline_category_edit(dana):
    token = csrf_token(dana, "/transactions")
    response = dana.post(f"/transactions/{dana.ids[0]}/category",
                         data={"category": "Cafes", "csrf_token": token,
                               "next": "/transactions?q=coffee"})
    # Back to the edited row (its anchor), not the top of the page.
    assert response.status_code == 302
    assert response.headers["Location"] == f"/transactions?q=coffee#tx-{dana.ids[0]}"
    assert f'<tr id="tx-{dana.ids[0]}">' in dana.get("/transactions?q=coffee").text
    assert dana.get(f"/api/transactions/{dana.ids[0]}").json["category"] == "Cafes"
    assert dana.post(f"/transactions/{dana.ids[0]}/category",
                     data={"category": "x"}).status_code == 400  # no CSRF token


def test_next_after_edit_stays_on_the_transactions_page(dana):
    token = csrf_token(dana, "/transactions")
    response = dana.post(f"/transactions/{dana.ids[0]}/category",
                         data={"category": "Cafes", "csrf_token": token,
                               "next": "https://evil.example.com/"})
    assert response.headers["Location"] == f"/transactions#tx-{dana.ids[0]}"


def test_delete_asks_first_then_deletes(dana):
    confirm = dana.get(f"/transactions/{dana.ids[1]}/delete")
    assert confirm.status_code == 200 and "Delete this transaction?" in confirm.text
    assert dana.get(f"/api/transactions/{dana.ids[1]}").status_code == 200
    response = dana.post(f"/transactions/{dana.ids[1]}/delete",
                         data={"csrf_token": csrf_token(dana, "/transactions")})
    assert response.status_code == 302
    assert dana.get(f"/api/transactions/{dana.ids[1]}").status_code == 404


def test_export_follows_the_filter(dana):
    response = dana.get("/transactions/export.csv?month=2024-02&sort=date")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["description"] for r in rows] == [r[2] for r in DANA_ROWS if r[0].month == 2]
    assert rows[0]["amount"] == "-1200.00"


def test_export_neutralises_formulas(app, dana):
    add_transactions(app, dana.user_id, [
        (DANA_ROWS[0][0], "-1.00", '=HYPERLINK("http://evil","x")', "+cmd", "@SUM(A1)"),
        (DANA_ROWS[0][0], "-2.00", "-2+3", "\tTabbed", "Normal"),
    ])
    rows = list(csv.DictReader(io.StringIO(dana.get("/transactions/export.csv?sort=amount").text)))
    by_amount = {r["amount"]: r for r in rows}
    first, second = by_amount["-1.00"], by_amount["-2.00"]
    assert first["description"] == '\'=HYPERLINK("http://evil","x")'
    assert first["merchant"] == "'+cmd" and first["category"] == "'@SUM(A1)"
    assert second["description"] == "'-2+3" and second["merchant"] == "'\tTabbed"
    assert second["category"] == "Normal"
    assert by_amount["-1200.00"]["description"] == "Rent February"  # plain text untouched


def test_uncategorised_rows_can_be_filtered(dana):
    """Only rows without a category: the leap-day juice (and none other), on the page, in
    JSON and in the export; a category and "uncategorised" together are refused."""
    page = dana.get("/transactions?uncategorised=1")
    assert page.status_code == 200
    assert "1 transaction" in page.text and "Leap day 100% juice_bar" in page.text
    assert "Morning coffee" not in page.text
    assert 'name="uncategorised" value="1" checked' in page.text
    api = dana.get("/api/transactions?uncategorised=true")
    assert [i["description"] for i in api.json["items"]] == ["Leap day 100% juice_bar"]
    assert api.json["total"] == 1
    export = dana.get("/transactions/export.csv?uncategorised=1")
    assert [row["description"] for row in csv.DictReader(io.StringIO(export.text))] == \
        ["Leap day 100% juice_bar"]
    both = dana.get("/api/transactions?uncategorised=true&category=Coffee")
    assert both.status_code == 422 and "not both" in both.json["error"]["message"]
    # Unticked, the box adds nothing to the links the page builds.
    assert "uncategorised=False" not in dana.get("/transactions?limit=2").text


def test_column_headers_sort_and_reverse(dana):
    import html
    import re

    def headers(page):
        return {re.sub(r"\W", "", html.unescape(label)): (html.unescape(href), sort)
                for sort, href, label in re.findall(
                    r'<th[^>]*?(?: aria-sort="(\w+)")?>\s*<a href="([^"]+)">([^<]+)</a></th>',
                    page.text)}

    page = headers(dana.get("/transactions?q=e"))  # newest first by default
    assert page["Date"] == ("/transactions?q=e&sort=date&limit=50", "descending")
    assert page["Amount"] == ("/transactions?q=e&sort=-amount&limit=50", "")
    assert page["Description"] == ("/transactions?q=e&sort=description&limit=50", "")
    by_amount = dana.get("/transactions?q=e&sort=-amount&offset=2&limit=2")
    assert headers(by_amount)["Amount"] == ("/transactions?q=e&sort=amount&limit=2", "descending")
    rows = dana.get("/transactions?sort=amount").text
    assert rows.index("Rent February") < rows.index("Valentine dinner") < rows.index("January salary")
