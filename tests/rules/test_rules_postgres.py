"""Rules on PostgreSQL, behind the row-level security wall: the same isolation of rules and
of the rows they change, and rules applied to an import written through COPY."""
import pytest

from tests.conftest import People
from tests.rules import test_rule_isolation as isolation
from tests.rules.conftest import Rita
from tests.rules.test_rules_on_import import CSV, imported
from tests.ingest.test_import import upload

pytestmark = pytest.mark.postgres


def test_rule_isolation_on_postgres(postgres_app):
    people = People(postgres_app)
    ledger = isolation.rules_ledger(people)
    isolation.test_lists_show_only_visible_rules(people, ledger)
    isolation.test_applying_changes_only_rows_the_viewer_may_change(people, ledger)
    # Then every rule route of the API (its owner's call last: the DELETE goes last).
    for method, path in isolation.RULE_ID_ROUTES[:4]:
        isolation.test_another_users_rule_is_a_404_and_unchanged(people, ledger, method, path)


def test_rules_file_an_import_on_postgres(postgres_app):
    rita = Rita(postgres_app)
    rita.create(pattern="tesco")
    rita.create(pattern="tesco express", category="Convenience")
    assert upload(rita.client, CSV).json["by_rules"] == 2
    assert imported(postgres_app, rita.user_id) == {
        "CARD PAYMENT 1": "Groceries", "CARD PAYMENT 2": "Convenience",
        "CARD PAYMENT 3": "Snacks", "PRET A MANGER": None}
