"""GET /api/agent/tools and POST /api/agent/tools/<name>: schemas, results checked against
the rows themselves, isolation, validation, token auth."""
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from finance_app.agent.tools import TOOLS
from finance_app.extensions import db
from finance_app.models import Transaction
from tests.conftest import PASSWORD, add_transactions, add_user, login, set_isolation

TOOL_NAMES = ["search_transactions", "spending_summary", "category_breakdown", "top_merchants",
              "explain_month"]


@pytest.fixture
def solo(app):
    """One signed-in user with a few rows: enough for validation (cheaper than `people`)."""
    uid = add_user(app, "solo@example.com")
    add_transactions(app, uid, [(date(2024, 11, 3), "-4.00", "solo coffee", "Solo Cafe", "Coffee")])
    return login(app.test_client(), "solo@example.com")


def run(client, name, args, **kwargs):
    return client.post(f"/api/agent/tools/{name}", json=args, **kwargs)


def result_of(response, name):
    assert response.status_code == 200, response.json
    assert response.json["tool"] == name
    return response.json["result"]


def visible_rows(app, people, viewer, isolated):
    """The rows `viewer` may see with cohort staff isolated, read straight from the table
    (not through the app): their own, or the shared ledger of bob (beta) and carol
    (general) — alice's and admin's rows are theirs alone."""
    owners = [viewer] if isolated else ["bob", "carol"]
    with app.app_context():
        return db.session.execute(select(Transaction).where(
            Transaction.user_id.in_([people.ids[name] for name in owners]))).scalars().all()


def test_tools_are_listed_with_json_schema_parameters(client):
    response = client.get("/api/agent/tools")  # a catalogue: no sign-in needed
    assert response.status_code == 200
    listed = {tool["name"]: tool for tool in response.json}
    assert sorted(listed) == sorted(TOOL_NAMES)
    for tool in listed.values():
        assert tool["description"]
        Draft202012Validator.check_schema(tool["parameters"])
        assert tool["parameters"]["type"] == "object"
        assert tool["parameters"]["additionalProperties"] is False
    assert listed["search_transactions"]["parameters"]["required"] == ["query"]
    assert listed["spending_summary"]["parameters"]["required"] == ["month"]
    assert "required" not in listed["top_merchants"]["parameters"]


# Arguments, and whether they are valid: the published schema and the endpoint must agree.
EXAMPLES = [
    ("search_transactions", {"query": "coffee"}, True),
    ("search_transactions", {"query": "coffee", "start": "2024-11-01", "end": "2024-11-30",
                             "category": "Coffee", "limit": 100}, True),
    ("search_transactions", {"query": 5}, False),
    ("search_transactions", {}, False),
    ("search_transactions", {"query": ""}, False),
    ("search_transactions", {"query": "x", "limit": 0}, False),
    ("search_transactions", {"query": "x", "limit": 101}, False),
    ("search_transactions", {"query": "x", "limit": "5"}, False),
    ("search_transactions", {"query": "x", "start": "yesterday"}, False),
    ("search_transactions", {"query": "x", "category": ""}, False),
    ("search_transactions", {"query": "x", "page": 2}, False),
    ("spending_summary", {"month": "2024-11"}, True),
    ("spending_summary", {"month": "2024-13"}, False),
    ("spending_summary", {"month": 202411}, False),
    ("spending_summary", {}, False),
    ("category_breakdown", {"month": "2024-11"}, True),
    ("category_breakdown", {"month": "Nov 2024"}, False),
    ("top_merchants", {}, True),
    ("top_merchants", {"month": None, "limit": 50}, True),
    ("top_merchants", {"month": "2024-11", "limit": 51}, False),
    ("top_merchants", {"limit": True}, False),
    ("explain_month", {"month": "2024-11"}, True),
    ("explain_month", {"month": "2024-11", "verbose": True}, False),
]


@pytest.mark.parametrize("name,args,valid", EXAMPLES)
def test_schema_and_endpoint_agree(solo, name, args, valid):
    schema = TOOLS[name].describe()["parameters"]
    checker = Draft202012Validator.FORMAT_CHECKER
    assert Draft202012Validator(schema, format_checker=checker).is_valid(args) is valid
    response = run(solo, name, args)
    assert response.status_code == (200 if valid else 422), response.json


@pytest.mark.parametrize("name,args,field", [
    ("search_transactions", {"query": 5}, "query"),
    ("search_transactions", {}, "query"),
    ("search_transactions", {"query": "x", "limit": "5"}, "limit"),
    ("search_transactions", {"query": "x", "limit": 101}, "limit"),
    ("search_transactions", {"query": "x", "start": "2024-02-30"}, "start"),
    ("search_transactions", {"query": "x", "start": "2024-02-01", "end": "2024-01-01"}, "end"),
    ("search_transactions", {"query": "x", "page": 2}, "page"),
    ("spending_summary", {"month": "2024-13"}, "month"),
    ("spending_summary", {"month": "1850-01"}, "month"),
    ("category_breakdown", {"month": ["2024-11"]}, "month"),
    ("top_merchants", {"limit": 0}, "limit"),
    ("top_merchants", {"month": "2024-1"}, "month"),
    ("explain_month", {}, "month"),
    ("explain_month", {"month": "2024-11", "x": 1}, "x"),
])
def test_validation_errors_name_the_field(app, solo, name, args, field):
    with app.app_context():
        before = db.session.execute(select(func.count(Transaction.id))).scalar()
    response = run(solo, name, args)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["field"] == field
    with app.app_context():
        assert db.session.execute(select(func.count(Transaction.id))).scalar() == before


@pytest.mark.parametrize("kwargs", [
    dict(data="[1, 2]", content_type="application/json"),
    dict(data='"month"', content_type="application/json"),
    dict(data="{not json", content_type="application/json"),
    dict(data="month=2024-11", content_type="application/x-www-form-urlencoded"),
    dict(),
])
def test_body_that_is_not_an_object_is_400(solo, kwargs):
    response = solo.post("/api/agent/tools/spending_summary", **kwargs)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"


def test_unknown_tool_is_404(solo):
    response = run(solo, "drop_tables", {})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_tool"
    assert response.json["error"]["tools"] == sorted(TOOL_NAMES)
    assert solo.get("/api/agent/tools/spending_summary").status_code == 405


def test_running_a_tool_needs_sign_in(app):
    response = run(app.test_client(), "search_transactions", {"query": "coffee"})
    assert response.status_code == 401


# --- results, against the rows themselves ---------------------------------------------------

@pytest.mark.parametrize("viewer,isolated", [("alice", True), ("carol", False)])
def test_search_transactions(app, people, viewer, isolated):
    set_isolation(app, ["staff"])  # alice isolated, carol on the shared ledger
    client = people.client(viewer)
    result = result_of(run(client, "search_transactions", {"query": "COFFEE"}),
                       "search_transactions")
    expected = sorted(r.description for r in visible_rows(app, people, viewer, isolated)
                      if "coffee" in r.description.lower() or "coffee" in r.merchant.lower())
    assert sorted(item["description"] for item in result["items"]) == expected
    assert result["total"] == len(expected)
    # The same rows as the transactions API with the same filter.
    listed = client.get("/api/transactions?q=COFFEE").json
    assert result["items"] == listed["items"] and result["total"] == listed["total"]
    assert len(expected) == (1 if isolated else 2)


def test_search_filters_and_limit(app, people):
    set_isolation(app, [])  # everyone on the shared ledger
    client = people.client("carol")
    salaries = result_of(run(client, "search_transactions", {
        "query": "a", "category": "Salary", "start": "2024-11-20", "end": "2024-11-20",
        "limit": 3}), "search_transactions")
    assert salaries["total"] == 4 and len(salaries["items"]) == 3
    assert {item["category"] for item in salaries["items"]} == {"Salary"}
    nothing = result_of(run(client, "search_transactions", {"query": "coffee",
                                                            "end": "2024-11-02"}),
                        "search_transactions")
    assert nothing == {"items": [], "total": 0}


@pytest.mark.parametrize("viewer,isolated", [("alice", True), ("carol", False)])
def test_summary_breakdown_and_merchants_match_the_rows(app, people, viewer, isolated):
    set_isolation(app, ["staff"])
    client = people.client(viewer)
    rows = [r for r in visible_rows(app, people, viewer, isolated)
            if (r.date.year, r.date.month) == (2024, 11)]
    income = sum((r.amount for r in rows if r.amount > 0), Decimal("0"))
    spent = sum((-r.amount for r in rows if r.amount < 0), Decimal("0"))

    summary = result_of(run(client, "spending_summary", {"month": "2024-11"}),
                        "spending_summary")
    assert summary == {"month": "2024-11", "count": len(rows), "currencies": [{
        "currency": "USD", "income": f"{income:.2f}", "expenses": f"{spent:.2f}",
        "net": f"{income - spent:.2f}", "count": len(rows)}]}

    per_category, per_merchant = defaultdict(Decimal), defaultdict(Decimal)
    for r in rows:
        if r.amount < 0:
            per_category[r.category] += -r.amount
            per_merchant[r.merchant] += -r.amount
    breakdown = result_of(run(client, "category_breakdown", {"month": "2024-11"}),
                          "category_breakdown")
    assert breakdown["currency"] == "USD"
    assert ({b["category"]: Decimal(b["total"]) for b in breakdown["categories"]}
            == dict(per_category))
    merchants = result_of(run(client, "top_merchants", {"limit": 50}), "top_merchants")
    assert merchants["currency"] == "USD"
    assert ({m["merchant"]: Decimal(m["total"]) for m in merchants["merchants"]}
            == dict(per_merchant))
    assert len(merchants["merchants"]) == (1 if isolated else 2)


def test_isolated_tool_results_hold_none_of_another_users_rows(app, people):
    set_isolation(app, ["staff"])
    alice = people.client("alice")
    calls = [("search_transactions", {"query": "a", "limit": 100}),
             ("spending_summary", {"month": "2024-11"}),
             ("category_breakdown", {"month": "2024-11"}),
             ("top_merchants", {}),
             ("explain_month", {"month": "2024-11"})]
    for name, args in calls:
        response = run(alice, name, args)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        if name in ("search_transactions", "top_merchants"):  # these name rows or merchants
            assert "alice" in text.lower()
        for other in ("bob", "carol", "admin"):
            assert other not in text.lower(), (name, other)
    month = result_of(run(alice, "explain_month", {"month": "2024-11"}), "explain_month")
    assert month["month"] == "2024-11"
    shared_month = result_of(run(people.client("carol"), "explain_month", {"month": "2024-11"}),
                             "explain_month")
    assert shared_month["headline"] != month["headline"]  # 4 ledgers' spending, not alice's


def test_bearer_token_works_and_sees_only_the_owners_rows(app, people):
    set_isolation(app, ["staff"])
    token = app.test_client().post("/api/auth/tokens", json={
        "email": "alice@example.com", "password": PASSWORD}).json["token"]
    client = app.test_client()  # no session cookie at all
    response = run(client, "search_transactions", {"query": "coffee"},
                   headers={"Authorization": f"Bearer {token}"})
    items = result_of(response, "search_transactions")["items"]
    assert [item["description"] for item in items] == ["alice coffee"]
    assert response.headers["Cache-Control"] == "private, no-store"
    bad = run(client, "search_transactions", {"query": "coffee"},
              headers={"Authorization": "Bearer fa_not-a-token"})
    assert bad.status_code == 401
