"""The list path (`GET /api/transactions`, `/transactions`): every page and its total are
exactly the viewer's visible rows, on SQLite and on PostgreSQL (behind row-level security).

The count is `count(*)` and the shared ledger's order has an index of its own (migration
0014); on PostgreSQL the database is told to prefer index paths, so these statements run the
plans a large table gives them (index-only count, index-ordered page) on a few rows.
Isolated: Iris and Ivan (staff). Shared ledger: Sam and Sue (general), who see each other's
rows and their own, never Iris's or Ivan's.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest

from finance_app.extensions import db
from tests.conftest import add_transactions, add_user, login, set_isolation

OWNERS = {"iris": "staff", "ivan": "staff", "sam": "general", "sue": "general"}
ISOLATED = {"iris", "ivan"}
CATEGORIES = ("Food", "Rent", "Shop", None)


@dataclass(frozen=True)
class Row:
    id: int
    owner: str
    date: date
    amount: Decimal
    description: str
    category: str


def template(owner):
    """Twelve rows over two months, two a day (so the id decides their order)."""
    return [(date(2024, 2, 1) + timedelta(days=(i % 6) * 11), f"{(i * 37) % 200 - 120}.{i:02d}",
             f"{owner} {('rent', 'coffee', 'shoes')[i % 3]} {i}", f"{owner.title()} Shop",
             CATEGORIES[i % 4])
            for i in range(12)]


# query string, which rows it keeps
FILTERS = [
    ("", lambda r: True),
    ("q=RENT", lambda r: "rent" in r.description),
    ("q=sam", lambda r: r.owner == "sam"),
    ("category=Food", lambda r: r.category == "Food"),
    ("month=2024-02", lambda r: r.date.month == 2),
    ("start=2024-02-10&end=2024-03-05", lambda r: date(2024, 2, 10) <= r.date <= date(2024, 3, 5)),
    ("min=-50&max=0.5", lambda r: Decimal("-50") <= r.amount <= Decimal("0.5")),
    ("q=shoes&month=2024-03&min=-100", lambda r: "shoes" in r.description
     and r.date.month == 3 and r.amount >= -100),
]


class Ledger:
    def __init__(self, app):
        ids = {name: add_user(app, f"{name}@example.com", cohort)
               for name, cohort in OWNERS.items()}
        set_isolation(app, {"staff"})
        self.rows = []
        for name, uid in ids.items():
            made = template(name)
            for tx_id, (day, amount, description, _, category) in zip(
                    add_transactions(app, uid, made), made):
                self.rows.append(Row(tx_id, name, day, Decimal(amount), description, category))
        self.clients = {name: login(app.test_client(), f"{name}@example.com") for name in OWNERS}

    def visible(self, viewer, keep=lambda r: True, ascending=False):
        """The rows `viewer` may see that `keep` keeps, in the list's order."""
        owners = {viewer} if viewer in ISOLATED else set(OWNERS) - ISOLATED
        rows = [r for r in self.rows if r.owner in owners and keep(r)]
        return sorted(rows, key=lambda r: (r.date, r.id), reverse=not ascending)

    def every_page(self, viewer, query, limit=5):
        """Item ids of every page, and the totals the pages gave."""
        ids, totals, offset = [], set(), 0
        while True:
            response = self.clients[viewer].get(
                f"/api/transactions?{query}&limit={limit}&offset={offset}")
            assert response.status_code == 200, response.json
            totals.add(response.json["total"])
            if not response.json["items"]:
                return ids, totals
            ids += [item["id"] for item in response.json["items"]]
            offset += limit

    def total(self, viewer, query=""):
        return self.clients[viewer].get(f"/api/transactions?{query}").json["total"]


def prefer_index_paths(app):
    """Have PostgreSQL plan as it does on a large table: by index, with a visibility map
    (vacuumed, so an index-only scan can skip the table)."""
    with app.app_context():
        url = db.engine.url
        db.engine.dispose()  # the settings apply to connections made from now on
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{url.database}" SET enable_seqscan = off')
        conn.execute(f'ALTER DATABASE "{url.database}" SET enable_bitmapscan = off')
        conn.execute("VACUUM ANALYZE transactions")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request):
    app = request.getfixturevalue("app" if request.param == "sqlite" else "postgres_app")
    built = Ledger(app)
    if request.param == "postgres":
        prefer_index_paths(app)
    return built


@pytest.mark.parametrize("viewer", ["iris", "sam"], ids=["isolated", "shared-ledger"])
def test_every_page_and_total_are_exactly_the_visible_rows(ledger, viewer):
    for query, keep in FILTERS:
        expected = [r.id for r in ledger.visible(viewer, keep)]
        assert ledger.every_page(viewer, query) == (expected, {len(expected)}), query
    oldest_first = [r.id for r in ledger.visible(viewer, ascending=True)]
    assert ledger.every_page(viewer, "sort=date") == (oldest_first, {len(oldest_first)})


@pytest.mark.parametrize("viewer", ["iris", "sam"], ids=["isolated", "shared-ledger"])
def test_the_web_page_shows_the_same_total(ledger, viewer):
    page = ledger.clients[viewer].get("/transactions?month=2024-02")
    assert page.status_code == 200
    expected = len(ledger.visible(viewer, lambda r: r.date.month == 2))
    assert f"{expected} transactions" in page.text


def test_the_shared_ledger_never_counts_an_isolated_owners_rows(ledger):
    assert ledger.total("sam") == 24 and ledger.total("sue") == 24
    for marker in ("iris", "ivan"):
        response = ledger.clients["sam"].get(f"/api/transactions?q={marker}")
        assert response.json == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert ledger.total("iris") == 12 and ledger.total("iris", "q=sam") == 0


def test_a_write_changes_the_count_at_once(ledger):
    new = {"date": "2024-02-20", "amount": "-3.00", "description": "sam bus"}
    created = ledger.clients["sam"].post("/api/transactions", json=new)
    assert created.status_code == 201
    # A shared owner's row is on the shared ledger at once; an isolated viewer never sees it.
    assert [ledger.total(v) for v in ("sam", "sue", "iris")] == [25, 25, 12]
    assert [ledger.total(v, "month=2024-02&q=bus") for v in ("sam", "sue")] == [1, 1]

    assert ledger.clients["iris"].post("/api/transactions", json=new).status_code == 201
    assert [ledger.total(v) for v in ("sam", "sue", "iris", "ivan")] == [25, 25, 13, 12]

    removed = ledger.clients["sue"].delete(f"/api/transactions/{created.json['id']}")
    assert removed.status_code == 204
    assert [ledger.total(v) for v in ("sam", "sue", "iris")] == [24, 24, 13]
