"""GET /api/openapi.json: a valid OpenAPI 3 document listing every JSON route of the app."""
import re

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from finance_app.isolation import ADMIN, DATA, PUBLIC, access
from finance_app.isolation.access import route_kind
from tests.conftest import add_transactions, add_user, login
from tests.suggest.conftest import UNCATEGORISED, categorised_rows
from tests.support.api_doc import bearer

IGNORED = {"HEAD", "OPTIONS"}


def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json


def openapi_path(rule):
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule)


def test_document_is_valid_openapi_3(client):
    doc = document(client)  # public: it documents, it holds no data
    validate(doc)
    assert doc["openapi"].startswith("3.")


def api_operations(app, admin):
    """(path, method) of every /api/ rule: the admin routes' too, or none of them."""
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
        and admin == (route_kind(app, rule.endpoint) == ADMIN)
        for method in rule.methods - IGNORED
    }


def listed(doc):
    return {(path, method) for path, item in doc["paths"].items() for method in item}


def test_the_public_document_lists_every_api_rule_but_the_admin_ones(app, people):
    public = api_operations(app, admin=False)
    assert ("/api/transactions/{tx_id}", "patch") in public  # a route this feature did not add
    assert len(public) >= 15 and api_operations(app, admin=True)
    for client in (app.test_client(), people.client("alice"), bearer(app, "bob@example.com")):
        doc = document(client)
        validate(doc)
        assert listed(doc) == public
        assert "/api/admin" not in str(doc)


def test_an_admin_gets_every_api_rule_with_each_method(app, people):
    everything = api_operations(app, admin=False) | api_operations(app, admin=True)
    for client in (people.client("admin"), bearer(app, "admin@example.com")):
        doc = document(client)
        validate(doc)
        assert listed(doc) == everything


def test_routes_added_later_appear_with_typed_path_parameters(app):
    def late(thing_id, slug):
        """A route registered after the app was built."""
        return {"thing": thing_id}

    app.add_url_rule("/api/late/<int:thing_id>/<slug>", "late.view", access(DATA)(late),
                     methods=["GET", "DELETE"])
    doc = document(app.test_client())
    validate(doc)
    item = doc["paths"]["/api/late/{thing_id}/{slug}"]
    assert set(item) == {"get", "delete"}
    get = item["get"]
    assert get["summary"] == "A route registered after the app was built."
    assert {p["name"]: p["schema"] for p in get["parameters"]} == {
        "thing_id": {"type": "integer", "minimum": 0, "maximum": 2 ** 31 - 1},
        "slug": {"type": "string"}}
    assert get["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    assert {"401", "404", "503"} <= set(get["responses"])


def test_security_follows_each_routes_access_kind(app, people):
    doc = document(people.client("admin"))
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in rule.methods - IGNORED:
            security = doc["paths"][openapi_path(rule.rule)][method.lower()]["security"]
            kind = route_kind(app, rule.endpoint)
            if kind == PUBLIC:
                assert security == []
            elif kind == DATA:
                assert {} not in security and {"bearerAuth": []} in security


def test_declared_schemas_and_the_error_shape(client):
    doc = document(client)
    schemas = doc["components"]["schemas"]
    assert set(schemas["ErrorResponse"]["properties"]) == {"error"}
    suggestions = doc["paths"]["/api/suggestions"]["get"]
    limit = next(p for p in suggestions["parameters"] if p["name"] == "limit")
    assert limit["in"] == "query" and limit["schema"]["maximum"] == 500
    ok = suggestions["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/SuggestionList"}
    assert set(schemas["SuggestionList"]["properties"]) == {"suggestions", "model"}
    tool = doc["paths"]["/api/agent/tools/{name}"]["post"]
    [name] = tool["parameters"]
    assert set(name["schema"]["enum"]) == {"search_transactions", "spending_summary",
                                           "category_breakdown", "top_merchants",
                                           "explain_month"}
    assert tool["requestBody"]["required"] is True
    for status in ("400", "401", "404", "422", "503"):
        error = tool["responses"][status]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorResponse"}
    # Every reference points at a component that exists.
    text = str(doc)
    for ref in set(re.findall(r"#/components/schemas/([\w.\-]+)", text)):
        assert ref in schemas, ref


def response_schema(doc, path, method, status):
    schema = doc["paths"][path][method]["responses"][status]["content"]["application/json"]
    # Resolve "#/components/..." against the document itself.
    return Draft202012Validator({**schema["schema"], "components": doc["components"]})


def test_real_responses_match_the_documented_schemas(app):
    uid = add_user(app, "doc@example.com", "staff")
    add_transactions(app, uid, categorised_rows() + [row for row, _ in UNCATEGORISED])
    client = login(app.test_client(), "doc@example.com")
    doc = document(client)

    listing = client.get("/api/suggestions").json
    assert listing["suggestions"]
    response_schema(doc, "/api/suggestions", "get", "200").validate(listing)
    row = listing["suggestions"][0]["transaction_id"]
    accepted = client.post(f"/api/suggestions/{row}/accept").json
    response_schema(doc, "/api/suggestions/{tx_id}/accept", "post", "200").validate(accepted)
    tools = client.get("/api/agent/tools").json
    response_schema(doc, "/api/agent/tools", "get", "200").validate(tools)
    ran = client.post("/api/agent/tools/top_merchants", json={}).json
    response_schema(doc, "/api/agent/tools/{name}", "post", "200").validate(ran)
    error = client.post("/api/agent/tools/top_merchants", json={"limit": 0}).json
    response_schema(doc, "/api/agent/tools/{name}", "post", "422").validate(error)
    accounts = client.get("/api/accounts").json
    response_schema(doc, "/api/accounts", "get", "200").validate(accounts)
    account = client.get(f"/api/accounts/{accounts[0]['id']}").json
    response_schema(doc, "/api/accounts/{account_id}", "get", "200").validate(account)
    # One account's list: each row with its running balance.
    page = client.get(f"/api/transactions?account={account['id']}").json
    assert page["items"][0]["running_balance"]
    response_schema(doc, "/api/transactions", "get", "200").validate(page)
