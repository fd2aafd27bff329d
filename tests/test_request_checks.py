"""Text that reaches the database may not hold a NUL character (PostgreSQL refuses them: each
was a 500), and a JSON body may not nest deeper than the app reads (100,000 levels were a
RecursionError, a 500): both are refused up front with a 4xx in the one error shape, and
nothing is written. The fields probed come from the OpenAPI document, so a body added later
is probed too."""
import io

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from tests.conftest import PASSWORD, People, app_on_fresh_database, csrf_token, set_isolation
from tests.support.api_doc import (
    alternatives,
    bearer,
    body_schemas,
    operations,
    resolve,
    text_fields,
)

NUL = "before\x00after"
REASON = "testing NUL bytes"
DEEP = "[" * 100_000 + "]" * 100_000

# One valid request per operation with a JSON body — (who, path parameters, body) — so that
# the NUL byte put in one of its text fields is the only thing wrong with it. Who: None
# (anonymous), "session" (carol's browser: account changes need one), "token" (alice's API
# token) or "admin" (the admin's API token).
VALID = {
    ("post", "/api/auth/signup"): (None, {}, {"email": "new@example.com",
                                              "password": "a long new password"}),
    ("post", "/api/auth/tokens"): (None, {}, {"email": "carol@example.com", "password": PASSWORD}),
    ("post", "/api/auth/password"): ("session", {}, {"current_password": PASSWORD,
                                                     "new_password": "another long password"}),
    ("delete", "/api/auth/account"): ("session", {}, {"password": PASSWORD}),
    ("post", "/api/transactions"): ("token", {}, {
        "date": "2024-11-05", "amount": "-3.00", "description": "tea", "merchant": "Tea Shop",
        "category": "Tea", "currency": "EUR"}),
    ("patch", "/api/transactions/{tx_id}"): ("token", {"tx_id": "row"}, {"description": "renamed"}),
    ("post", "/api/suggestions/{tx_id}/accept"): ("token", {"tx_id": "row"}, {"category": "Tea"}),
    ("post", "/api/suggestions/accept-all"): ("token", {}, {"min_confidence": 0.5}),
    ("post", "/api/rules"): ("token", {}, {"field": "merchant", "pattern": "tea",
                                           "category": "Tea"}),
    ("post", "/api/rules/{rule_id}/apply"): ("token", {"rule_id": "rule"}, {"overwrite": True}),
    ("post", "/api/accounts"): ("token", {}, {"name": "Savings", "kind": "savings",
                                              "currency": "EUR"}),
    ("patch", "/api/accounts/{account_id}"): ("token", {"account_id": "account"},
                                              {"name": "Giro"}),
    ("post", "/api/budgets"): ("token", {}, {"category": "Tea", "amount": "10.00",
                                             "currency": "EUR"}),
    ("patch", "/api/budgets/{budget_id}"): ("token", {"budget_id": "budget"},
                                            {"category": "Drinks"}),
    ("post", "/api/categories/rename"): ("token", {}, {"from": "Coffee", "to": "Drinks"}),
    ("post", "/api/agent/tools/{name}"): ("token", {"name": "search_transactions"},
                                          {"query": "coffee", "category": "Coffee"}),
    ("post", "/api/admin/cohorts"): ("admin", {}, {"name": "pilot", "reason": REASON}),
    ("post", "/api/admin/cohorts/{name}/users"): ("admin", {"name": "beta"}, {
        "emails": ["carol@example.com"], "reason": REASON}),
    ("put", "/api/admin/users/{user_id}/cohort"): ("admin", {"user_id": "carol"}, {
        "cohort": "beta", "reason": REASON}),
    ("put", "/api/admin/isolation/cohorts/{name}"): ("admin", {"name": "beta"}, {
        "enabled": True, "reason": REASON}),
    ("put", "/api/admin/isolation/rollout"): ("admin", {}, {"percent": 20, "reason": REASON}),
    ("put", "/api/admin/isolation/lock"): ("admin", {}, {"on": True, "reason": REASON}),
    ("put", "/api/admin/signup-cohort"): ("admin", {}, {"cohort": "beta", "reason": REASON}),
    ("post", "/api/admin/audit/{event_id}/revert"): ("admin", {"event_id": "event"}, {
        "reason": REASON}),
}


class World:
    """The four people on a staged rollout, an audit event, and a client per kind of caller."""

    def __init__(self, app):
        self.app = app
        self.people = People(app)
        set_isolation(app, ["staff"])
        self.admin = bearer(app, "admin@example.com")
        event = self.admin.post("/api/admin/cohorts", json={"name": "setup", "reason": REASON})
        assert event.status_code == 201, event.text
        rule = bearer(app, "alice@example.com").post("/api/rules", json={
            "field": "merchant", "pattern": "cafe", "category": "Coffee"})
        assert rule.status_code == 201, rule.text
        budget = bearer(app, "alice@example.com").post("/api/budgets", json={
            "category": "Coffee", "amount": "20.00", "currency": "EUR"})
        assert budget.status_code == 201, budget.text
        self.values = {"row": self.people.rows["alice"][0], "carol": self.people.ids["carol"],
                       "event": event.json["event"]["id"], "rule": rule.json["id"],
                       "budget": budget.json["id"],
                       "account": bearer(app, "alice@example.com").get(
                           "/api/accounts").json[0]["id"]}

    def client(self, who):
        if who is None:
            return self.app.test_client()
        if who == "session":
            return self.people.client("carol")
        if who == "token":
            return bearer(self.app, "alice@example.com")
        return self.admin

    def url(self, path, parameters):
        for name, value in parameters.items():
            path = path.replace("{" + name + "}", str(self.values.get(value, value)))
        return path

    def everything(self):
        """Every row of every table: what a refused request must leave as it was."""
        with self.app.app_context():
            return {table.name: sorted(map(repr, db.session.execute(select(table)).all()))
                    for table in db.metadata.sorted_tables}


@pytest.fixture
def world(app):
    return World(app)


def full_document(world):
    return world.admin.get("/api/openapi.json").json


def refused_for_nul(response, field):
    assert response.status_code == 422, response.text
    error = response.json["error"]
    assert error["code"] == "validation_error" and error["field"] == field, error
    assert "NUL" in error["message"]


def test_every_json_body_has_a_valid_request_here(world):
    doc = full_document(world)
    with_bodies = {(method, path) for method, path, operation in operations(doc)
                   if body_schemas(operation, doc)}
    assert with_bodies == set(VALID)


@pytest.mark.parametrize("operation", sorted(VALID), ids=" ".join)
def test_a_nul_byte_in_any_text_field_of_a_json_body_is_refused(world, operation):
    method, path = operation
    doc = full_document(world)
    who, parameters, body = VALID[operation]
    schemas = body_schemas(doc["paths"][path][method], doc)
    if path == "/api/agent/tools/{name}":  # one body per tool: the one of the tool named
        schemas = [resolve({"$ref": "#/components/schemas/SearchTransactionsArgs"}, doc)]
    # A body without text of its own (a flag, a number, a list of objects) gets the NUL in
    # place of one of its values: refused up front like any other.
    fields = {field for schema in schemas for field in text_fields(schema, doc)}
    no_text = not fields
    fields = fields or set(body)
    assert fields
    for field in sorted(fields):
        client = world.client(who)
        before = world.everything()
        prop = next(s["properties"][field] for s in schemas if field in s["properties"])
        text = [NUL] if not no_text and not any(alt.get("type") == "string"
                                                for alt in alternatives(prop, doc)) else NUL
        response = client.open(world.url(path, parameters), method=method.upper(),
                               json=body | {field: text})
        refused_for_nul(response, field)
        assert world.everything() == before, field


def test_a_nul_byte_in_any_query_parameter_is_refused(world):
    doc = full_document(world)
    probed = []
    for method, path, operation in operations(doc):
        for parameter in operation.get("parameters", ()):
            if parameter["in"] == "query" and any(
                    alt.get("type") == "string" for alt in alternatives(parameter["schema"], doc)):
                probed.append(parameter["name"])
                response = world.admin.open(f"{path}?{parameter['name']}={NUL}",
                                            method=method.upper())
                refused_for_nul(response, parameter["name"])
    assert {"q", "category", "month", "cohort"} <= set(probed)


@pytest.mark.parametrize("method,url,body,field", [
    ("GET", "/api/explain/month/2024-11\x00", None, "month"),
    ("POST", "/api/admin/cohorts/be\x00ta/users",
     {"emails": ["carol@example.com"], "reason": REASON}, "name"),
    ("PUT", "/api/admin/isolation/cohorts/be\x00ta", {"enabled": True, "reason": REASON},
     "name"),
    ("POST", "/api/agent/tools/search\x00", {"query": "coffee"}, "name"),
])
def test_a_nul_byte_in_a_path_is_refused(world, method, url, body, field):
    before = world.everything()
    refused_for_nul(world.admin.open(url, method=method, json=body), field)
    assert world.everything() == before


def form_post(client, path, page, **fields):
    return client.post(path, data={**fields, "csrf_token": csrf_token(client, page)})


def test_a_nul_byte_in_a_web_form_is_a_page_not_a_500(world):
    alice = world.people.client("alice")
    admin = world.people.client("admin")
    row = world.values["row"]
    before = world.everything()
    cases = [
        (alice.get(f"/transactions?q={NUL}"), "q"),
        (form_post(alice, f"/transactions/{row}/category", "/transactions", category=NUL),
         "category"),
        (form_post(alice, f"/suggestions/{row}/accept", "/suggestions", category=NUL),
         "category"),
        (form_post(admin, "/admin/flags/lock", "/admin/flags", on="true", reason=NUL), "reason"),
        (form_post(admin, "/admin/flags/cohorts", "/admin/flags", name="pilot", reason=NUL),
         "reason"),
    ]
    for response, field in cases:
        assert response.status_code == 422, (field, response.status_code)
        assert "text/html" in response.content_type
        assert "NUL" in response.text and field in response.text
    assert world.everything() == before


CSV = b"Date,Description,Amount\n2024-11-05,tea,-3.00\n"


def test_a_nul_byte_in_an_upload_file_name_is_refused(world):
    alice, alice_api = world.people.client("alice"), bearer(world.app, "alice@example.com")
    before = world.everything()
    api = alice_api.post(
        "/api/ingest", data={"file": (io.BytesIO(CSV), "state\x00ment.csv")},
        content_type="multipart/form-data")
    refused_for_nul(api, "file")
    page = alice.post("/import", data={"file": (io.BytesIO(CSV), "state\x00ment.csv"),
                                       "csrf_token": csrf_token(alice, "/import")},
                      content_type="multipart/form-data")
    assert page.status_code == 422 and "NUL" in page.text
    assert world.everything() == before


@pytest.mark.parametrize("operation", sorted(VALID), ids=" ".join)
def test_json_nested_too_deep_is_a_400(world, operation):
    method, path = operation
    who, parameters, _ = VALID[operation]
    client = world.client(who)
    before = world.everything()
    response = client.open(world.url(path, parameters), method=method.upper(),
                                      data=DEEP, content_type="application/json")
    assert response.status_code == 400, response.text
    assert response.json["error"]["code"] == "bad_request"
    assert "nested" in response.json["error"]["message"]
    assert world.everything() == before


def test_a_mapping_nested_too_deep_is_a_422(world):
    alice_api = bearer(world.app, "alice@example.com")
    before = world.everything()
    response = alice_api.post("/api/ingest", data={"file": (io.BytesIO(CSV), "s.csv"),
                                                   "mapping": DEEP},
                              content_type="multipart/form-data")
    assert response.status_code == 422 and response.json["error"]["field"] == "mapping"
    assert world.everything() == before


@pytest.mark.postgres
def test_on_postgresql_text_with_nul_is_refused_not_a_500(tmp_path):
    """Where the bug was: PostgreSQL refuses NUL in text, so each of these was a 500."""
    with app_on_fresh_database(tmp_path, "postgres") as app:
        world = World(app)
        alice = bearer(app, "alice@example.com")
        refused_for_nul(alice.get(f"/api/transactions?q={NUL}"), "q")
        refused_for_nul(alice.post("/api/transactions", json={
            "date": "2024-11-05", "amount": "-3.00", "description": NUL}), "description")
        refused_for_nul(alice.post("/api/agent/tools/search_transactions",
                                   json={"query": NUL}), "query")
        refused_for_nul(world.admin.put("/api/admin/isolation/lock",
                                        json={"on": True, "reason": NUL}), "reason")
