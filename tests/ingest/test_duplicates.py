"""Duplicates do not depend on the column mapping (issue 14): a stored row of the importer with
the same date and amount whose description is any text cell of an incoming row is that row
(ingest/duplicates.py). On SQLite and PostgreSQL (COPY behind the wall)."""
import json
from datetime import date

from finance_app.extensions import db
from finance_app.ingest import service
from finance_app.isolation import unscoped
from finance_app.models import Transaction
from tests.conftest import add_batch, add_transactions, add_user
from tests.ingest.test_import import upload
from tests.ingest.test_row_writing import backend_app, erin  # noqa: F401 (fixtures)

# Two text columns: which one is the description is the user's choice.
STATEMENT = (b"Date,Payee,Reference,Amount\n"
             b"2024-03-01,Corner Cafe,Card 1234 coffee,-3.50\n"
             b"2024-03-01,Corner Cafe,Card 1234 coffee,-3.50\n"
             b"2024-03-02,Bakery,Card 1234 bread,-2.10\n"
             b"2024-03-03,ACME Payroll,Salary March,2500.00\n")
BY_PAYEE = {"description": "Payee", "merchant": None}
BY_REFERENCE = {"description": "Reference", "merchant": None}


def descriptions(app, user_id):
    with app.app_context(), unscoped("test: reading what was written"):
        return sorted(db.session.execute(
            db.select(Transaction.description).where(Transaction.user_id == user_id)).scalars())


def test_the_same_file_under_another_mapping_is_all_duplicates(backend_app, erin):
    first = upload(erin, STATEMENT, mapping=json.dumps(BY_PAYEE))
    assert first.status_code == 201 and first.json["imported"] == 4
    # The description now comes from another column: still the same four rows.
    again = upload(erin, STATEMENT, mapping=json.dumps(BY_REFERENCE))
    assert again.status_code == 200, again.json
    assert again.json["duplicates"] == 4 and again.json["imported"] == 0
    assert again.json["batch_id"] is None
    assert descriptions(backend_app, erin.user_id) == [
        "ACME Payroll", "Bakery", "Corner Cafe", "Corner Cafe"]


def test_a_file_imported_before_the_change_is_recognised(backend_app, erin):
    """Rows as the old import stored them (description as then mapped, the old fingerprint):
    nothing about them is recomputed, and every mapping still recognises them."""
    seen = {}
    old_rows = [(date(2024, 3, 1), "-3.50", "Corner Cafe"),
                (date(2024, 3, 1), "-3.50", "Corner Cafe"),
                (date(2024, 3, 2), "-2.10", "Bakery"),
                (date(2024, 3, 3), "2500.00", "ACME Payroll")]
    ids = add_transactions(backend_app, erin.user_id, old_rows)
    add_batch(backend_app, erin.user_id, "march.csv", ids)
    with backend_app.app_context(), unscoped("test: the old import's fingerprints"):
        for tx_id, (day, amount, text) in zip(ids, old_rows):
            row = db.session.get(Transaction, tx_id)
            row.fingerprint = service.fingerprint(row, seen)
        db.session.commit()
    for mapping in (None, BY_PAYEE, BY_REFERENCE):
        again = upload(erin, STATEMENT, **({"mapping": json.dumps(mapping)} if mapping else {}))
        assert again.status_code == 200, again.json
        assert (again.json["duplicates"], again.json["imported"]) == (4, 0)


def test_each_stored_row_is_the_duplicate_of_one_incoming_row(backend_app, erin, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_ROWS", 1)  # the repeated coffee in two chunks
    add_transactions(backend_app, erin.user_id, [(date(2024, 3, 1), "-3.50", "corner  CAFE")])
    result = upload(erin, STATEMENT)
    assert result.status_code == 201
    # One stored coffee answers for one of the file's two; the other is new.
    assert (result.json["duplicates"], result.json["imported"]) == (1, 3)
    again = upload(erin, STATEMENT)
    assert (again.json["duplicates"], again.json["imported"]) == (4, 0)


def test_a_row_differing_in_amount_date_or_every_text_is_new(backend_app, erin):
    upload(erin, STATEMENT)
    changed = (b"Date,Payee,Reference,Amount\n"
               b"2024-03-01,Corner Cafe,Card 1234 coffee,-3.60\n"   # amount
               b"2024-03-05,Bakery,Card 1234 bread,-2.10\n"          # date
               b"2024-03-03,ACME Ltd,Salary April,2500.00\n"         # every text
               b"2024-03-02,Someone else,Card 1234 bread,-2.10\n")   # one text still equal
    result = upload(erin, changed)
    assert (result.json["imported"], result.json["duplicates"]) == (3, 1)


def test_another_users_rows_are_never_duplicates(backend_app, erin):
    uid = add_user(backend_app, "finn@example.com")
    add_transactions(backend_app, uid, [(date(2024, 3, 2), "-2.10", "Bakery")])
    result = upload(erin, STATEMENT)
    assert (result.json["imported"], result.json["duplicates"]) == (4, 0)


def test_rows_this_import_wrote_are_not_its_duplicates(backend_app, erin, monkeypatch):
    """With a chunk a row, the second coffee is checked after the first was written (on
    SQLite, into the table itself): the file's two identical rows both land."""
    monkeypatch.setattr(service, "CHUNK_ROWS", 1)
    add_transactions(backend_app, erin.user_id, [(date(2023, 1, 1), "-1.00", "Older row")])
    result = upload(erin, STATEMENT)
    assert (result.json["imported"], result.json["duplicates"]) == (4, 0)
