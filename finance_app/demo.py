"""Demo data: four users, each with about a year of realistic and distinct transactions, and
a rollout in progress.

Every user shops at different merchants, so a leak between users is visible at a glance.
Deterministic (seeded per user) and idempotent.
"""
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from .admin import cohorts, settings
from .extensions import db
from .isolation.cache_keys import invalidate_namespaces
from .isolation.change_lock import serialised_change
from .models import Account, Transaction, User

DEMO_PASSWORD = "demo-password"
# Sign-ups join `newcomers`, isolated from the start like `staff`.
NEWCOMERS = "newcomers"
DEMO_ISOLATED_COHORTS = ("staff", NEWCOMERS)


@dataclass(frozen=True)
class DemoUser:
    email: str
    cohort: str
    is_admin: bool
    employer: str
    salary: int
    landlord: str
    rent: int
    merchants: dict  # category -> [(merchant, typical amount)]


DEMO_USERS = (
    DemoUser("alice@example.com", "staff", False, "Acme Robotics", 4850, "Dolores Park Lofts", 1650, {
        "Groceries": [("Whole Foods Market", 86), ("Rainbow Grocery", 42)],
        "Coffee": [("Blue Bottle Coffee", 6)],
        "Transport": [("Lyft", 19)],
        "Subscriptions": [("Netflix", 15.49), ("New York Times", 17)],
        "Fitness": [("Equinox", 215)],
        "Shopping": [("REI Co-op", 74), ("Powell's Books", 31)],
        "Restaurants": [("Zuni Cafe", 64), ("Tartine Bakery", 23)],
        "Utilities": [("PG&E", 96)],
    }),
    DemoUser("bob@example.com", "beta", False, "Globex Logistics", 3920, "Sunset Ridge Rentals", 1380, {
        "Groceries": [("Trader Joe's", 71), ("Costco Wholesale", 148)],
        "Coffee": [("Starbucks", 5.5)],
        "Transport": [("Uber", 23)],
        "Subscriptions": [("Spotify", 11.99), ("Xbox Game Pass", 16.99)],
        "Fitness": [("Planet Fitness", 25)],
        "Shopping": [("Best Buy", 129), ("Home Depot", 58)],
        "Restaurants": [("Chipotle", 14), ("In-N-Out Burger", 12)],
        "Utilities": [("Comcast Xfinity", 89)],
    }),
    DemoUser("carol@example.com", "general", False, "Initech Health", 4310, "Elmwood Housing Co-op", 1520, {
        "Groceries": [("Safeway", 78), ("Berkeley Bowl", 39)],
        "Coffee": [("Peet's Coffee", 5)],
        "Transport": [("BART Clipper", 12)],
        "Subscriptions": [("Hulu", 17.99), ("Audible", 14.95)],
        "Fitness": [("YogaWorks", 140)],
        "Shopping": [("Target", 63), ("Etsy", 35)],
        "Restaurants": [("Cheese Board Pizza", 28), ("Chez Panisse", 118)],
        "Utilities": [("East Bay MUD", 54)],
    }),
    DemoUser("admin@example.com", "staff", True, "finance_app Inc", 5200, "Noe Valley Properties", 1800, {
        "Groceries": [("Gus's Community Market", 67)],
        "Coffee": [("Sightglass Coffee", 5.75)],
        "Transport": [("Caltrain", 9.25)],
        "Subscriptions": [("GitHub", 4), ("1Password", 2.99)],
        "Fitness": [("Crunch Fitness", 29.99)],
        "Shopping": [("Apple Store", 199), ("Muji", 41)],
        "Restaurants": [("Souvla", 22), ("Nopa", 76)],
        "Utilities": [("Sonic Internet", 50)],
    }),
)

# How many purchases a month per category, roughly.
MONTHLY_VISITS = {"Groceries": 6, "Coffee": 9, "Transport": 5, "Fitness": 1, "Shopping": 2,
                  "Restaurants": 4, "Utilities": 1}


def generate_transactions(demo, end=None, months=12):
    """About a year of transactions for one demo user, as dicts (no owner set)."""
    rng = random.Random(demo.email)
    end = end or date.today()
    start = (end.replace(day=1) - timedelta(days=1)).replace(day=1)
    for _ in range(months - 1):
        start = (start - timedelta(days=1)).replace(day=1)
    rows = []
    month_start = start
    while month_start <= end:
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        days = (min(next_month, end + timedelta(days=1)) - month_start).days

        def on(day):
            return month_start + timedelta(days=min(day, days) - 1)

        rows.append(_row(on(1), demo.salary, f"SALARY {demo.employer.upper()}", demo.employer, "Salary"))
        rows.append(_row(on(1), -demo.rent, f"RENT {demo.landlord.upper()}", demo.landlord, "Rent"))
        for merchant, amount in demo.merchants["Subscriptions"]:
            rows.append(_row(on(rng.randint(2, 6)), -amount, f"{merchant.upper()} SUBSCRIPTION",
                             merchant, "Subscriptions"))
        for category, visits in MONTHLY_VISITS.items():
            for _ in range(max(0, int(rng.gauss(visits, visits / 4)))):
                merchant, typical = rng.choice(demo.merchants[category])
                amount = max(1, rng.gauss(typical, typical / 5))
                rows.append(_row(on(rng.randint(1, days)), -amount,
                                 f"{CARD} {merchant.upper()}", merchant, category))
        month_start = next_month
    rows = [r for r in rows if r["date"] <= end]
    # Leave some uncategorised, as real imports are.
    for r in rows:
        if r["category"] not in ("Salary", "Rent") and rng.random() < 0.12:
            r["category"] = None
    return sorted(rows, key=lambda r: r["date"])


CARD = "CARD PURCHASE"
DEMO_CURRENCY = "USD"


def _demo_accounts(user_id):
    """The demo user's checking account (salary, rent, subscriptions) and credit card (card
    purchases), made if missing."""
    accounts = []
    for name, kind in (("Checking", "checking"), ("Credit card", "card")):
        account = db.session.execute(select(Account).where(
            Account.user_id == user_id, Account.name == name)).scalar()
        if account is None:
            account = Account(user_id=user_id, name=name, kind=kind, currency=DEMO_CURRENCY)
            db.session.add(account)
            db.session.flush()
        accounts.append(account)
    return accounts


def _row(day, amount, description, merchant, category):
    return {"date": day, "amount": Decimal(str(amount)).quantize(Decimal("0.01")),
            "currency": DEMO_CURRENCY, "description": description, "merchant": merchant,
            "category": category}


def seed_demo(hash_password, define_demo_flag=None):
    """Create the demo users and their transactions; skip what exists. Returns counts."""
    created_users = created_rows = 0
    seeded = []
    for demo in DEMO_USERS:
        user = db.session.execute(select(User).where(User.email == demo.email)).scalar()
        if user is None:
            user = User(email=demo.email, password_hash=hash_password(DEMO_PASSWORD),
                        cohort=demo.cohort, is_admin=demo.is_admin)
            db.session.add(user)
            db.session.flush()
            created_users += 1
        has_rows = db.session.execute(
            select(func.count()).select_from(Transaction).where(Transaction.user_id == user.id)
        ).scalar()
        if not has_rows:
            rows = generate_transactions(demo)
            checking, card = _demo_accounts(user.id)
            db.session.add_all(Transaction(
                user_id=user.id, account_id=(card if r["description"].startswith(CARD) else
                                             checking).id, **r) for r in rows)
            created_rows += len(rows)
            seeded.append(user.id)
    db.session.commit()
    if seeded:  # on a running install, totals and aggregates cached before now miss these rows
        invalidate_namespaces(seeded)
    return created_users, created_rows


@serialised_change()
def seed_rollout(flags):
    """Define USE_USER_ISOLATION for cohorts staff and newcomers, and send sign-ups to
    newcomers: a new account starts on its own empty ledger, never on the shared one (bob and
    carol's). Only on a demo whose flag is not defined yet: an existing flag and sign-up
    choice are the admin's. Whether it defined the flag."""
    if not flags.define_isolation_if_missing(cohorts=DEMO_ISOLATED_COHORTS):
        return False
    if NEWCOMERS not in cohorts.known_cohorts():
        cohorts.add_cohort(NEWCOMERS)
    settings.store_signup_cohort(NEWCOMERS)
    return True
