"""Category suggestions for the caller's uncategorised rows.

The model learns only from the categorised rows this request may see (`scope()`, the same
decision as the rest of the request) and is cached under the request's namespace: each
isolated user has a model of their own rows, the shared ledger one model of all rows, so
nothing learned from one user reaches another. A write moves its namespaces to a new cache
generation, so the next request retrains on the rows as they are now.
"""
from datetime import date
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import not_, select

from ..api import Body
from ..bounds import Id
from ..errors import AppError
from ..extensions import db
from ..isolation import cached, invalidate_after_write, owned_or_404, scope
from ..models import Transaction
from ..rules.service import suggestion_rule
from ..transactions.service import TransactionPatch, update_transaction
from .model import row_text, train

MODEL_KEY = "suggest-model:v1"
# The latest rows only: training stays fast on a long history, and recent habits count most.
MAX_TRAINING_ROWS = 20_000
# Uncategorised rows scored per request (the latest first) before ranking by confidence.
MAX_CANDIDATES = 5_000
MAX_LIMIT = 500
LATEST_FIRST = (Transaction.date.desc(), Transaction.id.desc())


class SuggestionQuery(Body):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, description="At most this many.")
    transaction_id: Optional[Id] = Field(
        default=None, description="Only the suggestion for this transaction (404 if it "
        "is not visible to you; none if it already has a category).")


class AcceptBody(Body):
    category: Optional[str] = Field(
        default=None, min_length=1, max_length=100,
        description="Use this category instead of the current suggestion.")
    always: bool = Field(default=False, description="Always do this: also make a rule that "
                         "files rows with this merchant (this description, when the row has "
                         "no merchant) under the category, on import and when applied.")


class AcceptItem(Body):
    transaction_id: Id
    category: str = Field(min_length=1, max_length=100)


class AcceptAllBody(Body):
    """Either the suggestions to accept, as shown (`items`), or every current suggestion at
    or above a confidence (`min_confidence`)."""

    items: Optional[list[AcceptItem]] = Field(default=None, min_length=1, max_length=MAX_LIMIT)
    min_confidence: Optional[float] = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def one_way(self):
        if (self.items is None) == (self.min_confidence is None):
            raise ValueError("send either items or min_confidence")
        if self.items and len({i.transaction_id for i in self.items}) != len(self.items):
            raise ValueError("each transaction_id at most once")
        return self


class Suggestion(BaseModel):
    transaction_id: int
    category: str
    confidence: float = Field(ge=0, le=1)
    date: date
    description: str
    merchant: Optional[str]
    amount: str = Field(description="Decimal string, e.g. \"-12.50\".")
    currency: str


class ModelInfo(BaseModel):
    ready: bool
    trained_on: int = Field(description="Categorised rows the model learned from.")
    categories: int = Field(description="Distinct categories it can suggest.")
    reason: Optional[str] = Field(description="Why there are no suggestions, when not ready.")


class SuggestionList(BaseModel):
    """Highest confidence first."""

    suggestions: list[Suggestion]
    model: ModelInfo


class Accepted(BaseModel):
    transaction_id: int
    category: str
    source: Literal["suggestion", "given"]
    confidence: Optional[float] = Field(description="The suggestion's, when one was accepted.")
    rule_id: Optional[int] = Field(default=None, description="The rule made (or reused) "
                                   "when `always` was sent.")


class AcceptedAll(BaseModel):
    accepted: int
    items: list[AcceptItem] = Field(description="What was saved.")


def _training_examples():
    rows = db.session.execute(scope(
        select(Transaction.description, Transaction.merchant, Transaction.category)
        .where(not_(Transaction.uncategorised())).order_by(*LATEST_FIRST).limit(MAX_TRAINING_ROWS)
    )).all()
    return [(row_text(description, merchant), category)
            for description, merchant, category in rows]


def current_model():
    """This namespace's model, trained on first use after a write."""
    return cached(MODEL_KEY, lambda: train(_training_examples()))


def latest_categorised(limit=10):
    """The latest categorised rows: what the suggestions learn from (shown on the page)."""
    return db.session.execute(scope(
        select(Transaction).where(not_(Transaction.uncategorised())).order_by(*LATEST_FIRST).limit(limit)
    )).scalars().all()


def suggestions(limit=50, transaction_id=None):
    if transaction_id is not None:
        owned_or_404(Transaction, transaction_id)
    model = current_model()
    rows = []
    if model.ready:
        stmt = select(Transaction).where(Transaction.uncategorised())
        if transaction_id is not None:
            stmt = stmt.where(Transaction.id == transaction_id)
        rows = db.session.execute(
            scope(stmt.order_by(*LATEST_FIRST).limit(MAX_CANDIDATES))).scalars().all()
    predictions = model.predict([row_text(r.description, r.merchant) for r in rows])
    ranked = sorted(zip(rows, predictions), key=lambda pair: -pair[1][1])[:limit]
    return SuggestionList(
        suggestions=[
            Suggestion(transaction_id=row.id, category=category,
                       confidence=round(confidence, 4), date=row.date,
                       description=row.description, merchant=row.merchant,
                       amount=str(row.amount), currency=row.currency)
            for row, (category, confidence) in ranked
        ],
        model=ModelInfo(**model.summary()),
    )


def accept(tx_id, category=None, always=False):
    """Set the row's category to `category`, or to the current suggestion when none is given;
    with `always`, also the rule that files rows like it the same way."""
    row = owned_or_404(Transaction, tx_id)
    confidence = None
    if category is None:
        if row.category:
            raise AppError(409, "already_categorised",
                           f"Transaction {tx_id} already has the category {row.category!r}; "
                           "send {\"category\": ...} to change it.")
        model = current_model()
        if not model.ready:
            raise AppError(409, "no_suggestion", model.reason)
        [(category, confidence)] = model.predict([row_text(row.description, row.merchant)])
    update_transaction(tx_id, TransactionPatch(category=category))
    rule = suggestion_rule(row.merchant, row.description, category) if always else None
    return Accepted(transaction_id=tx_id, category=category,
                    source="given" if confidence is None else "suggestion",
                    confidence=None if confidence is None else round(confidence, 4),
                    rule_id=rule.id if rule else None)


def accept_all(body):
    """Save many categories in one transaction: all of them, or (a row not visible: 404)
    none. With `min_confidence`, the current suggestions at or above it (among the latest
    MAX_CANDIDATES uncategorised rows, the ones the list scores)."""
    if body.min_confidence is not None:
        current = suggestions(MAX_CANDIDATES).suggestions
        items = [AcceptItem(transaction_id=s.transaction_id, category=s.category)
                 for s in current if s.confidence >= body.min_confidence]
    else:
        items = body.items
    wanted = {item.transaction_id: item.category for item in items}
    rows = db.session.execute(scope(
        select(Transaction).where(Transaction.id.in_(wanted)))).scalars().all() if wanted else []
    missing = set(wanted) - {row.id for row in rows}
    if missing:
        raise AppError(404, "not_found", f"No transaction with id {min(missing)}; nothing saved.")
    for row in rows:
        row.category = wanted[row.id]
    db.session.commit()
    if rows:
        invalidate_after_write({row.user_id for row in rows})
    return AcceptedAll(accepted=len(rows), items=items)
