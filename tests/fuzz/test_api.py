"""Schemathesis over the public OpenAPI document, as a signed-in isolated user (an API token
of alice, whose cohort is enabled) on an app with rows, on SQLite and on PostgreSQL (which
refuses what SQLite stores: NUL characters, integers past 2^31): every operation gets generated
requests, valid and invalid; none may answer 5xx, and every response must match the
document (status, content type, schema). Derandomised and bounded, so CI is stable and
quick; the number of cases each operation got is printed at the end of the run."""
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from finance_app.extensions import db
from finance_app.openapi import build_document
from tests.conftest import People, app_on_fresh_database, make_app, set_isolation
from tests.support.fuzz_report import CASES_PROPERTY
from tests.support.api_doc import bearer

pytestmark = pytest.mark.slow  # about a minute for both databases

EXAMPLES_PER_OPERATION = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                                marks=pytest.mark.postgres)])
def fuzzed_app(request, tmp_path_factory):
    """The four people and their rows, cohort staff isolated; alice's token to send."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with app_on_fresh_database(folder, request.param) as app:
        People(app)
        set_isolation(app, ["staff"])
        app.fuzz_headers = dict(bearer(app, "alice@example.com").environ_base)
        yield app


def served_document():
    """The public document, as the app serves it to anyone but an admin. Schemathesis makes
    one test per operation when the module is collected, so the document comes from an app
    built here (its URL map is all it needs; it touches no database)."""
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder))
        try:
            with app.test_request_context():
                return build_document(app)
        finally:
            app.extensions["flags"].close()
            with app.app_context():
                db.engine.dispose()


DOCUMENT = served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(modes=["positive", "negative"], deterministic=True,
                                max_examples=EXAMPLES_PER_OPERATION)


def test_the_fuzzed_document_is_the_one_alice_gets(fuzzed_app):
    client = fuzzed_app.test_client()
    client.environ_base.update(fuzzed_app.fuzz_headers)
    assert client.get("/api/openapi.json").json == DOCUMENT


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_without_5xx_and_as_documented(case, fuzzed_app,
                                                               record_property):
    headers = {"Authorization": fuzzed_app.fuzz_headers["HTTP_AUTHORIZATION"]}
    case.call_and_validate(headers=headers, checks=CHECKS, app=fuzzed_app)
    record_property(CASES_PROPERTY, 1)
