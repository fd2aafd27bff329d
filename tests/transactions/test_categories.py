"""Category management: counts per visible category, rename and merge (API and web), on
exactly the rows the viewer may change, with the caches that counted them made stale."""
from datetime import date

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.isolation import unscoped
from finance_app.models import Transaction
from tests.conftest import add_transactions, csrf_token, set_isolation
from tests.isolation.matrix_ledger import MatrixLedger

DANA_COUNTS = {"categories": [
    {"name": "Coffee", "count": 1}, {"name": "Groceries", "count": 1},
    {"name": "Rent", "count": 1}, {"name": "Restaurants", "count": 1},
    {"name": "Salary", "count": 1}, {"name": "Shopping", "count": 1},
], "uncategorised": 1}


def categories_of(app, user_id):
    """Every category of the user's rows, as stored."""
    with app.app_context(), unscoped("test: a user's rows"):
        return sorted(db.session.execute(select(Transaction.category).where(
            Transaction.user_id == user_id)).scalars(), key=str)


def test_list_counts_rows_per_category(dana):
    response = dana.get("/api/categories")
    assert response.status_code == 200
    assert response.json == DANA_COUNTS


def test_a_blank_category_counts_as_uncategorised(app, dana):
    add_transactions(app, dana.user_id, [(date(2024, 3, 1), "-1.00", "old import", None, "")])
    assert dana.get("/api/categories").json["uncategorised"] == 2


def test_rename_changes_every_row_of_the_category_and_answers_how_many(app, dana):
    add_transactions(app, dana.user_id, [(date(2024, 3, 9), "-3.00", "Latte", None, "Coffee")])
    response = dana.post("/api/categories/rename", json={"from": "Coffee", "to": "Cafés"})
    assert response.status_code == 200 and response.json == {"changed": 2}
    names = [c["name"] for c in dana.get("/api/categories").json["categories"]]
    assert "Cafés" in names and "Coffee" not in names
    assert categories_of(app, dana.user_id).count("Cafés") == 2


def test_rename_onto_a_name_in_use_merges(dana):
    response = dana.post("/api/categories/rename", json={"from": "Restaurants", "to": "Groceries"})
    assert response.json == {"changed": 1}
    counts = {c["name"]: c["count"] for c in dana.get("/api/categories").json["categories"]}
    assert counts["Groceries"] == 2 and "Restaurants" not in counts


def test_rename_of_a_category_nobody_visible_has_changes_nothing(app, dana):
    before = categories_of(app, dana.user_id)
    response = dana.post("/api/categories/rename", json={"from": "Nope", "to": "Other"})
    assert response.status_code == 200 and response.json == {"changed": 0}
    assert categories_of(app, dana.user_id) == before


@pytest.mark.parametrize("body, field", [
    ({"from": "Coffee", "to": ""}, "to"),
    ({"from": "Coffee", "to": "   "}, "to"),
    ({"from": "", "to": "Tea"}, "from"),
    ({"from": "Coffee", "to": "x" * 101}, "to"),
    ({"from": "Coffee"}, "to"),
    ({"from": "Coffee", "to": "Coffee"}, None),
    ({"from": "Coffee", "to": "Tea", "extra": 1}, "extra"),
    ({"from": "Coffee", "to": 5}, "to"),
    ({"source": "Coffee", "to": "Tea"}, "from"),  # the Python name is not a second spelling
])
def test_bad_rename_is_a_422_and_changes_nothing(app, dana, body, field):
    before = categories_of(app, dana.user_id)
    response = dana.post("/api/categories/rename", json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["field"] == field
    assert categories_of(app, dana.user_id) == before


def test_rename_makes_cached_counts_and_charts_stale(dana):
    """Counts, charts (and suggestions: the same generations) built before the rename are
    not served after it."""
    charts = "/api/charts/categories?month=2024-02"
    assert "Rent" in {c["category"] for c in dana.get(charts).json["categories"]}
    assert dana.get("/api/categories").json == DANA_COUNTS
    dana.post("/api/categories/rename", json={"from": "Rent", "to": "Housing"})
    assert "Housing" in {c["category"] for c in dana.get(charts).json["categories"]}
    assert "Housing" in {c["name"] for c in dana.get("/api/categories").json["categories"]}


def test_rename_retrains_the_suggestions(app):
    """A model trained before the rename suggests the new name after it, never the old."""
    from tests.suggest.conftest import Ledger

    erin = Ledger(app, "erin@example.com", "staff")
    tesco = erin.uncategorised[0]

    def suggested():
        result = erin.client.get(f"/api/suggestions?transaction_id={tesco}").json
        return [s["category"] for s in result["suggestions"]]

    assert suggested() == ["Groceries"]  # the model is trained and cached now
    assert erin.client.post("/api/categories/rename",
                            json={"from": "Groceries", "to": "Food shop"}).json == {"changed": 10}
    assert suggested() == ["Food shop"]


# --- visibility --------------------------------------------------------------------------

def test_an_isolated_viewer_renames_only_their_own_rows(app, people):
    set_isolation(app, ["staff"])
    response = people.client("alice").post("/api/categories/rename",
                                           json={"from": "Coffee", "to": "Mine"})
    assert response.json == {"changed": 1}
    assert "Mine" in categories_of(app, people.ids["alice"])
    for other in ("bob", "carol", "admin"):
        assert "Mine" not in categories_of(app, people.ids[other])


def test_a_shared_ledger_viewer_renames_the_shared_rows_never_an_isolated_owners(app, people):
    set_isolation(app, ["staff"])  # alice and admin isolated; bob and carol share
    response = people.client("carol").post("/api/categories/rename",
                                           json={"from": "Coffee", "to": "Ours"})
    assert response.json == {"changed": 2}
    assert "Ours" in categories_of(app, people.ids["bob"])
    assert "Ours" in categories_of(app, people.ids["carol"])
    assert "Coffee" in categories_of(app, people.ids["alice"])
    assert "Coffee" in categories_of(app, people.ids["admin"])


def test_pages_show_only_visible_categories(app):
    """The route matrix's covered pages (/categories, the merge confirmation, the manual
    entry form's category list): each owner's coffee gets a category of its own, and each
    viewer's pages name exactly those of the owners they may see, with their counts."""
    from tests.isolation.route_matrix import OWNERS, SEES, VIEWERS

    matrix = MatrixLedger(app)
    with app.app_context(), unscoped("test: owner-named categories"):
        for owner in OWNERS:
            db.session.get(Transaction, matrix.owned["row"][owner]).category = f"{owner}-only"
        db.session.commit()
    for viewer in VIEWERS:
        client = matrix.client(viewer)
        reached = {o for o in OWNERS if o == viewer or OWNERS[o] in SEES[OWNERS[viewer]]}
        for path in ("/categories", "/transactions/new"):
            page = client.get(path)
            assert page.status_code == 200, (viewer, path)
            assert {o for o in OWNERS if f"{o}-only" in page.text} == reached, (viewer, path)
        index = client.get("/categories").text
        salaries = index.split(">Salary</a>", 1)[1].split("</td>", 2)[1]
        assert salaries.endswith(f">{len(reached)}"), (viewer, salaries)
        # Every owner has a salary: the target's count is of the visible ones only.
        merge = client.get(f"/categories/merge?from={viewer}-only&into=Salary").text
        assert "<strong>1</strong> transaction will move" in merge
        assert f"which has <strong>{len(reached)}</strong> already" in merge
        assert {o for o in OWNERS if f"{o}-only" in merge} == {viewer}


# --- the web page --------------------------------------------------------------------------

def counts_on_page(client):
    """Category → count as the /categories table shows them."""
    import re

    page = client.get("/categories").text
    rows = re.findall(r'<td><a href="[^"]*">([^<]+)</a></td>\s*<td class="num count">(\d+)</td>',
                      page)
    return {name: int(n) for name, n in rows}


def test_the_page_lists_categories_with_counts_and_uncategorised(dana):
    assert counts_on_page(dana) == {"Coffee": 1, "Groceries": 1, "Restaurants": 1, "Rent": 1,
                                    "Salary": 1, "Shopping": 1, "Uncategorised": 1}
    assert 'href="/categories"' in dana.get("/transactions").text  # in the navigation


def test_rename_on_the_page(app, dana):
    token = csrf_token(dana, "/categories")
    response = dana.post("/categories/rename", data={"from": "Rent", "to": "Housing",
                                                     "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/categories"
    page = dana.get("/categories").text
    assert "Renamed “Rent” to “Housing”: 1 row changed." in page
    assert counts_on_page(dana)["Housing"] == 1 and "Rent" not in counts_on_page(dana)


def test_a_rename_onto_a_name_in_use_asks_first_with_the_counts(app, dana):
    add_transactions(app, dana.user_id, [(date(2024, 3, 2), "-9.00", "Pizza", None, "Restaurants")])
    token = csrf_token(dana, "/categories")
    asked = dana.post("/categories/rename", data={"from": "Restaurants", "to": "Groceries",
                                                  "csrf_token": token})
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/categories/merge?from=Restaurants&into=Groceries"
    assert counts_on_page(dana)["Restaurants"] == 2  # nothing merged yet
    confirm = dana.get(asked.headers["Location"])
    assert "<strong>2</strong> transactions will move" in confirm.text
    assert "which has <strong>1</strong> already" in confirm.text
    assert "<strong>3</strong> in all" in confirm.text
    done = dana.post("/categories/rename", data={"from": "Restaurants", "to": "Groceries",
                                                 "confirmed": "1", "csrf_token": token})
    assert done.status_code == 302
    assert "Merged “Restaurants” into “Groceries”: 2 rows moved." in dana.get("/categories").text
    counts = counts_on_page(dana)
    assert counts["Groceries"] == 3 and "Restaurants" not in counts


def test_the_forms_offer_the_categories_with_counts(app, dana):
    add_transactions(app, dana.user_id, [(date(2024, 3, 2), "-9.00", "Pizza", None, "Restaurants")])
    page = dana.get("/categories").text
    rename = page.split('id="rename-form"', 1)[1].split("</form>", 1)[0]
    assert '<option value="Restaurants">Restaurants (2)</option>' in rename
    merge = page.split('id="merge-form"', 1)[1].split("</form>", 1)[0]
    assert '<option value="Restaurants">Restaurants (2)</option>' in merge
    # "into" starts on another category than "from" (the first), so a merge is never onto itself.
    assert '<option value="Groceries" selected>' in merge
    confirm = dana.get("/categories/merge?from=Coffee&into=Groceries")
    assert confirm.status_code == 200 and "Merge “Coffee” into “Groceries”?" in confirm.text


@pytest.mark.parametrize("form", [{"from": "Rent", "to": ""}, {"from": "Rent", "to": "Rent"},
                                  {"from": "Rent", "to": "y" * 101}, {"to": "Housing"}])
def test_a_bad_rename_on_the_page_says_why_and_changes_nothing(app, dana, form):
    before = categories_of(app, dana.user_id)
    response = dana.post("/categories/rename",
                         data=dict(form, csrf_token=csrf_token(dana, "/categories")))
    assert response.status_code == 302
    page = dana.get(response.headers["Location"]).text
    assert 'class="flash error"' in page
    assert categories_of(app, dana.user_id) == before


def test_a_bad_merge_link_goes_back_to_the_list(dana):
    response = dana.get("/categories/merge?from=Rent&into=Rent")
    assert response.status_code == 302 and response.headers["Location"] == "/categories"


def test_rename_needs_the_csrf_token(app, dana):
    before = categories_of(app, dana.user_id)
    assert dana.post("/categories/rename", data={"from": "Rent", "to": "X"}).status_code == 400
    assert categories_of(app, dana.user_id) == before


@pytest.mark.postgres
def test_rename_on_postgres_changes_exactly_the_visible_rows(postgres_app):
    """With the row-level security policies behind scope(): the same rows as on SQLite."""
    from tests.conftest import People

    people = People(postgres_app)
    set_isolation(postgres_app, ["staff"])
    carol = people.client("carol").post("/api/categories/rename",
                                        json={"from": "Coffee", "to": "Ours"})
    alice = people.client("alice").post("/api/categories/rename",
                                        json={"from": "Coffee", "to": "Mine"})
    assert (carol.json, alice.json) == ({"changed": 2}, {"changed": 1})
    assert {name: categories_of(postgres_app, uid)[0] for name, uid in people.ids.items()} == \
        {"alice": "Mine", "bob": "Ours", "carol": "Ours", "admin": "Coffee"}
    assert people.client("carol").get("/api/categories").json["categories"][0] == \
        {"name": "Ours", "count": 2}
