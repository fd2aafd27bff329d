"""Ids, limits and offsets are bounded on every route: an id beyond the id columns' range is
the 404 of a row that does not exist (PostgreSQL's INTEGER stops at 2^31 - 1, SQLite's at
2^63 - 1: before the bound both were 500s), and every integer parameter has a documented
maximum, past which the answer is a 422 naming it — never a 500 from the database."""
import re

import pytest

from tests.conftest import People, app_on_fresh_database, csrf_token
from tests.support.api_doc import bearer, integer_parameters, integer_schema

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
TOO_LARGE_IDS = [2 ** 31, 2 ** 63, 10 ** 30]
IGNORED = {"HEAD", "OPTIONS"}
MAX_ID = 2 ** 31 - 1  # the largest INTEGER of PostgreSQL


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    """An app with the four people and their rows, on each database."""
    with app_on_fresh_database(tmp_path_factory.mktemp(request.param), request.param) as app:
        yield app, People(app)


@pytest.fixture(scope="module")
def admin(world):
    """The admin twice: a signed-in browser (for pages) and an API token (for /api/)."""
    app, people = world
    return people.client("admin"), bearer(app, "admin@example.com")


def rules_with_ids(app):
    return [(rule, method) for rule in app.url_map.iter_rules() if "<int:" in rule.rule
            for method in sorted(rule.methods - IGNORED)]


def fill(rule_text, number):
    """The rule with `number` in each int argument and a plausible word in the others."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: str(number) if m[1] == "int" else "x", rule_text)


def send(admin, method, url):
    browser, api = admin
    if url.startswith("/api/"):
        return api.open(url, method=method, json={})
    data = {"csrf_token": csrf_token(browser, "/")} if method == "POST" else None
    return browser.open(url, method=method, data=data)


@pytest.mark.parametrize("number", TOO_LARGE_IDS)
def test_an_id_beyond_the_id_columns_is_a_404_on_every_route(world, admin, number):
    app, _ = world
    probed = rules_with_ids(app)
    assert len(probed) >= 15  # every route taking an id, web and JSON
    for rule, method in probed:
        response = send(admin, method, fill(rule.rule, number))
        assert response.status_code == 404, (method, rule.rule, response.status_code)


def test_the_largest_id_is_an_ordinary_id(world, admin):
    app, _ = world
    for rule, method in rules_with_ids(app):
        response = send(admin, method, fill(rule.rule, MAX_ID))
        # Reads find no such row; writes may first refuse the empty body they are sent.
        assert response.status_code == 404 if method in ("GET", "DELETE") else (
            response.status_code < 500), (method, rule.rule, response.status_code)


def test_every_integer_parameter_has_a_maximum_and_past_it_is_refused(world, admin):
    app, _ = world
    doc = admin[1].get("/api/openapi.json").json
    parameters = integer_parameters(doc)
    assert {p["name"] for _, _, p in parameters} >= {"tx_id", "limit", "offset",
                                                     "transaction_id", "months"}
    for method, path, parameter in parameters:
        schema = integer_schema(parameter["schema"], doc)
        assert "maximum" in schema, (method, path, parameter["name"])
        largest = schema["maximum"]
        for value, refused in ((largest, False), (largest + 1, True), (2 ** 63, True)):
            if parameter["in"] == "path":
                url = re.sub("{" + parameter["name"] + "}", str(value), path)
            else:
                url = f"{path}?{parameter['name']}={value}"
            url = re.sub(r"{\w+}", "1", url)
            response = admin[1].open(url, method=method.upper(), json={})
            assert response.status_code < 500, (url, response.text)
            if refused and parameter["in"] == "path":
                assert response.status_code == 404, url
            elif refused:
                assert response.status_code == 422, (url, response.text)
                assert response.json["error"]["field"] == parameter["name"]
            elif parameter["in"] == "query" and method == "get":
                assert response.status_code in (200, 404), (url, response.text)


@pytest.mark.parametrize("query", ["offset=9223372036854775808", "limit=100000",
                                   "offset=99999999999999999999999999"])
def test_pages_and_the_export_refuse_unbounded_paging(world, admin, query):
    browser, _ = admin
    assert browser.get(f"/transactions?{query}").status_code == 400
    assert browser.get(f"/transactions/export.csv?{query}").status_code == 422
