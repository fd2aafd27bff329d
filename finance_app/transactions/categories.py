"""Categories: the viewer's visible categories with their row counts, and renaming one across
exactly the rows the viewer may change. Merging is renaming onto a name already in use.

A category is not a table of its own: it is the text on each transaction. So "the viewer's
categories" are those of the rows `scope()` admits, and a rename is one bulk UPDATE through
`scope()` — the same visibility rule as every read and single-row write (and, on
PostgreSQL, the row-level security policies besides).
"""
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select, update

from ..api import Body
from ..extensions import db
from ..isolation import cached, invalidate_after_write, scope
from ..models import Transaction

MAX_NAME = 100  # Transaction.category's length, as TransactionIn allows it
COUNTS_KEY = "category-counts"


class CategoryCount(BaseModel):
    name: str
    count: int


class CategoryList(BaseModel):
    """Every category on the rows you can see, by name, and how many rows have none."""

    categories: list[CategoryCount]
    uncategorised: int


class RenameBody(Body):
    """Rename category `from` to `to` on every row you can see; a `to` already in use
    merges the two."""

    # "from" is a Python keyword: the field is `source`, spelled "from" in JSON (only).
    source: str = Field(alias="from", min_length=1, max_length=MAX_NAME)
    to: str = Field(min_length=1, max_length=MAX_NAME)

    @model_validator(mode="after")
    def different_names(self):
        if self.source == self.to:
            raise ValueError("'from' and 'to' are the same category")
        return self


class Renamed(BaseModel):
    changed: int  # how many rows now carry the new name


def category_counts():
    """The viewer's visible categories as (name, row count) pairs sorted by name, and the
    count of visible rows without one. Cached per namespace: every write makes it stale."""
    def count():
        stmt = scope(select(Transaction.category, func.count()).group_by(Transaction.category))
        rows = db.session.execute(stmt).all()
        named = sorted((name, n) for name, n in rows if name)  # "" is uncategorised too
        return named, sum(n for name, n in rows if not name)

    return cached(COUNTS_KEY, count)


def category_list():
    named, uncategorised = category_counts()
    return CategoryList(categories=[CategoryCount(name=name, count=n) for name, n in named],
                        uncategorised=uncategorised)


def count_of(name):
    """How many visible rows carry category `name` (0 if none)."""
    return dict(category_counts()[0]).get(name, 0)


def rename_category(source, to):
    """Give every visible row of category `source` the category `to`; returns how many
    rows changed. Rows the viewer cannot see keep their category, whatever it is."""
    stmt = (update(Transaction).where(Transaction.category == source).values(category=to)
            .returning(Transaction.user_id))
    owners = db.session.execute(scope(stmt)).scalars().all()
    db.session.commit()
    if owners:
        invalidate_after_write(set(owners))
    return len(owners)
