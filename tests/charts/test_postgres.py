"""The analytics and explanations on PostgreSQL: the same answers as the reference (and so
as on SQLite), isolated and on the shared ledger."""
import pytest

from tests.charts.ledger import (
    ALL_ROWS,
    ERIN_ROWS,
    Ledger,
    check_every_chart,
    check_month_explanations,
    check_transaction_explanations,
)
from tests.charts.test_currencies import MIA_ROWS, MONTHS, mia_client
from tests.conftest import set_isolation

pytestmark = pytest.mark.postgres


def test_every_answer_matches_the_reference_on_postgres(postgres_app):
    ledger = Ledger(postgres_app)
    for cohorts, rows, ids in ((["staff"], ERIN_ROWS, ledger.erin_ids),
                               ([], ALL_ROWS, ledger.erin_ids + ledger.frank_ids)):
        set_isolation(postgres_app, cohorts)
        erin = ledger.client("erin")
        check_every_chart(erin, rows)
        check_month_explanations(erin, rows)
        check_transaction_explanations(erin, rows, ids)


def test_currencies_are_kept_apart_on_postgres(postgres_app):
    mia = mia_client(postgres_app)
    check_every_chart(mia, MIA_ROWS, MONTHS)
    check_month_explanations(mia, MIA_ROWS, MONTHS)
    check_transaction_explanations(mia, MIA_ROWS, mia.ids)
