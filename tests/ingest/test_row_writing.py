"""An import's rows are written by COPY on PostgreSQL and executemany on SQLite
(ingest/writing.py); everything around the write is one code path, so the same behaviour
holds on both: the right rows with the right owner, duplicates (in the file and against the
ledger), undo, atomicity, isolation. On PostgreSQL the COPY runs behind the wall."""
import io
from datetime import date
from decimal import Decimal

import pytest
from flask import jsonify, request
from sqlalchemy import select, text

from finance_app.accounts.service import default_account
from finance_app.extensions import db
from finance_app.ingest import service, writing
from finance_app.isolation import unscoped
from finance_app.isolation.db_wall import WALL_ROLE
from finance_app.models import ImportBatch, Transaction, utcnow
from tests.conftest import add_transactions, add_user, app_on_fresh_database, login, set_isolation
from tests.isolation.conftest import probe_route
from tests.observability.support import csv_upload, scrape

STATEMENT = [("2024-03-01", "Coffee", "-3.50"), ("2024-03-01", "Coffee", "-3.50"),
             ("2024-03-02", "Bread", "-2.10"), ("2024-03-03", "Salary", "2500.00"),
             ("2024-03-04", "Rent", "-900.00")]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_app(request, tmp_path):
    with app_on_fresh_database(tmp_path, request.param) as app:
        yield app


@pytest.fixture
def small_chunks(monkeypatch):
    """Several chunks per file: on PostgreSQL, several COPYs into one staging table."""
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)


def signed_in(app, email):
    uid = add_user(app, email)
    client = login(app.test_client(), email)
    client.user_id = uid
    return client


@pytest.fixture
def erin(backend_app):
    return signed_in(backend_app, "erin@example.com")


@pytest.fixture
def dave(backend_app):
    """Another user, with rows of his own (one the same as a row of STATEMENT)."""
    client = signed_in(backend_app, "dave@example.com")
    client.row_ids = add_transactions(backend_app, client.user_id, [
        (date(2024, 3, 2), "-2.10", "Bread"), (date(2024, 2, 1), "-40.00", "dave groceries")])
    return client


def stored(app, **where):
    """Every transaction (or those matching `where`) as comparable tuples, in id order."""
    with app.app_context(), unscoped("test: reading what was written"):
        stmt = select(Transaction).filter_by(**where).order_by(Transaction.id)
        return [(t.user_id, t.date.isoformat(), t.amount, t.description, t.currency,
                 t.import_batch_id) for t in db.session.execute(stmt).scalars()]


def batches(app):
    with app.app_context(), unscoped("test: reading what was written"):
        return db.session.execute(select(ImportBatch.id, ImportBatch.user_id,
                                         ImportBatch.row_count)).all()


def as_stored(app, user_id, rows, batch_id):
    currency = app.config["DEFAULT_CURRENCY"]  # the file names none
    return [(user_id, day, Decimal(amount), text, currency, batch_id)
            for day, text, amount in rows]


def test_an_import_writes_its_rows_for_the_importer(backend_app, erin, dave, small_chunks):
    monitor = backend_app.test_client()
    before = scrape(monitor)
    response = csv_upload(erin, STATEMENT)
    assert response.status_code == 201, response.json
    body = response.json
    # Dave's identical Bread is his: no duplicate of Erin's.
    assert (body["imported"], body["duplicates"]) == (5, 0)
    assert stored(backend_app, user_id=erin.user_id) == \
        as_stored(backend_app, erin.user_id, STATEMENT, body["batch_id"])
    assert (body["batch_id"], erin.user_id, 5) in batches(backend_app)
    after = scrape(monitor)
    assert after.delta(before, "finance_import_rows_total", outcome="imported") == 5


def test_a_reimport_finds_every_row_and_leaves_no_batch(backend_app, erin, small_chunks):
    first = csv_upload(erin, STATEMENT).json
    again = csv_upload(erin, STATEMENT)
    assert again.status_code == 200
    assert (again.json["imported"], again.json["duplicates"], again.json["batch_id"]) == \
        (0, 5, None)
    assert len(stored(backend_app)) == 5
    assert batches(backend_app) == [(first["batch_id"], erin.user_id, 5)]


def test_rows_repeated_in_a_file_all_land_once(backend_app, erin, small_chunks):
    # The file's two identical coffees are two rows; a later export with a third coffee and
    # a new row adds exactly those two.
    csv_upload(erin, STATEMENT)
    later = STATEMENT + [("2024-03-01", "Coffee", "-3.50"), ("2024-03-05", "Books", "-12.00")]
    response = csv_upload(erin, later).json
    assert (response["imported"], response["duplicates"]) == (2, 5)
    assert stored(backend_app, import_batch_id=response["batch_id"]) == as_stored(
        backend_app, erin.user_id, later[-2:], response["batch_id"])


def test_undo_removes_exactly_the_batch_rows(backend_app, erin, dave, small_chunks):
    first = csv_upload(erin, STATEMENT).json
    second = csv_upload(erin, [("2024-04-01", "Train", "-19.90"),
                               ("2024-04-02", "Lunch", "-8.40")]).json
    others = stored(backend_app, user_id=dave.user_id)
    response = erin.delete(f"/api/ingest/batches/{second['batch_id']}")
    assert response.json == {"batch_id": second["batch_id"], "deleted": 2}
    assert stored(backend_app, user_id=erin.user_id) == \
        as_stored(backend_app, erin.user_id, STATEMENT, first["batch_id"])
    assert stored(backend_app, user_id=dave.user_id) == others
    assert [b[0] for b in batches(backend_app)] == [first["batch_id"]]


def test_a_failure_after_the_rows_are_written_leaves_nothing(backend_app, erin, dave,
                                                             small_chunks, monkeypatch):
    before = stored(backend_app)

    def fail(columns, mapping, account_id):  # after every row is written, before the commit
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "_remember_mapping", fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        csv_upload(erin, STATEMENT)
    assert stored(backend_app) == before and batches(backend_app) == []


def test_another_users_rows_are_untouched_and_unseen(backend_app, erin, dave, small_chunks):
    set_isolation(backend_app, ["general"])  # both isolated: private ledgers
    his = stored(backend_app, user_id=dave.user_id)
    assert csv_upload(erin, STATEMENT).json["imported"] == 5
    assert stored(backend_app, user_id=dave.user_id) == his
    seen_by_dave = dave.get("/api/transactions?limit=500").json["items"]
    assert sorted(t["id"] for t in seen_by_dave) == dave.row_ids
    seen_by_erin = erin.get("/api/transactions?limit=500").json["items"]
    assert len(seen_by_erin) == 5 and not set(dave.row_ids) & {t["id"] for t in seen_by_erin}


# --- PostgreSQL: the COPY behind the wall -----------------------------------------------------

@pytest.fixture
def write_probe(postgres_app):
    """A data route writing one row for the posted owner through the import's writer, as
    the first statements of its transaction; it answers the role the COPY ran as."""
    @probe_route(postgres_app, "/api/_probe/write-row", methods=("POST",))
    def write_row():
        writer = writing.row_writer(db.session, {
            "user_id": request.json["owner"], "import_batch_id": None, "created_at": utcnow()})
        # In the caller's account: for another owner the wall's policy refuses the row
        # before the foreign key (account_id, user_id) would.
        account_id = default_account("EUR").id
        writer.write([(account_id, date(2024, 11, 1), Decimal("-1.00"), "EUR", "planted", None,
                       None, None)])
        driver = db.session.connection().connection.driver_connection
        role = driver.execute("SELECT current_user").fetchone()[0]
        writer.finish()
        db.session.commit()
        return jsonify(writer=type(writer).__name__, role=role)

    return postgres_app


@pytest.mark.postgres
def test_the_copy_runs_as_the_wall_role_and_refuses_another_owner(write_probe):
    app = write_probe
    erin, dave = signed_in(app, "erin@example.com"), signed_in(app, "dave@example.com")
    own = erin.post("/api/_probe/write-row", json={"owner": erin.user_id})
    assert own.status_code == 200, own.text
    assert own.json == {"writer": "CopyWriter", "role": WALL_ROLE}
    assert stored(app, user_id=erin.user_id) == [
        (erin.user_id, "2024-11-01", Decimal("-1.00"), "planted", "EUR", None)]
    # The wall's INSERT policy refuses the row; the refusal answers like an unknown row.
    planted = erin.post("/api/_probe/write-row", json={"owner": dave.user_id})
    assert planted.status_code == 404 and planted.json["error"]["code"] == "not_found"
    assert stored(app, user_id=dave.user_id) == []


def test_every_column_lands_and_the_import_stamps_its_rows_alike(backend_app, erin,
                                                                  small_chunks):
    # Each row's own values, empty ones included, through the (binary, on PostgreSQL) COPY;
    # owner, batch and time once per import, added by the INSERT.
    body = ("Date,Description,Amount,Currency,Merchant,Category\n"
            "2024-05-01,Coffee,-3.50,GBP,Café Olé,Eating out\n"
            "2024-05-02,Bread,-2.10,EUR,,\n"
            "2024-05-03,Salary,2500.00,USD,ACME Ltd,Income\n")
    response = erin.post("/api/ingest", data={"file": (io.BytesIO(body.encode()), "b.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    batch_id = response.json["batch_id"]
    with backend_app.app_context(), unscoped("test: reading what was written"):
        rows = db.session.execute(select(Transaction).order_by(Transaction.id)).scalars().all()
        got = [(t.date.isoformat(), t.amount, t.currency, t.description, t.merchant,
                t.category, t.user_id, t.import_batch_id) for t in rows]
        fingerprints = [t.fingerprint for t in rows]
        times = {t.created_at for t in rows}
    assert got == [
        ("2024-05-01", Decimal("-3.50"), "GBP", "Coffee", "Café Olé", "Eating out",
         erin.user_id, batch_id),
        ("2024-05-02", Decimal("-2.10"), "EUR", "Bread", None, None, erin.user_id, batch_id),
        ("2024-05-03", Decimal("2500.00"), "USD", "Salary", "ACME Ltd", "Income",
         erin.user_id, batch_id)]
    assert len(set(fingerprints)) == 3 and all(len(fp) == 64 for fp in fingerprints)
    assert len(times) == 1 and None not in times


def test_a_writer_needs_every_stamp(backend_app):
    with backend_app.app_context():
        with pytest.raises(ValueError, match="stamps must name exactly"):
            writing.row_writer(db.session, {"user_id": 1, "created_at": utcnow()})


@pytest.mark.postgres
def test_a_bulk_import_refreshes_the_planner_statistics(postgres_app, monkeypatch):
    # Run as the login role (the table's owner): as the wall's role PostgreSQL would skip
    # the table with only a warning, and the statistics would stay those of before.
    monkeypatch.setattr(service, "BULK_ROWS", 5)
    erin = signed_in(postgres_app, "erin@example.com")

    def counted_rows():  # what the planner believes the table holds; -1: never analysed
        with postgres_app.app_context():
            return db.session.execute(text(
                "SELECT reltuples FROM pg_class WHERE relname = 'transactions'")).scalar()

    assert counted_rows() == -1
    assert csv_upload(erin, STATEMENT).json["imported"] == 5
    assert counted_rows() == 5
