"""Budgets: an amount per category for one month or every month, and how much of it the
month's spending has used.

Budgets are owned rows: every read goes through `scope()`, single rows through
`owned_or_404()`, creates are stamped with the signed-in user. What a budget has used is the
month's spending in its category and currency, taken from the analytics' category totals
(`charts.service.category_totals`): the same scoped, cached figures as the dashboard's, so
the two never disagree, and a write to transactions invalidates both at once. Nothing
cached is derived from budgets themselves, so a budget's own writes invalidate nothing
(moving the namespace's generation would only make every chart rebuild).
"""
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Optional

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ..api import Body, changes_something
from ..charts.service import category_totals
from ..errors import AppError
from ..extensions import db
from ..isolation import owned_or_404, scope
from ..models import Budget
from ..months import Month, bounds, month_of
from ..transactions.money import parse_money

HUNDRED = Decimal(100)


def known_currency(value):
    """`value` upper-cased if it is an ISO 4217 currency code; ValueError otherwise."""
    from babel.numbers import list_currencies  # only budget writes need Babel's tables

    code = value.strip().upper()
    if code not in list_currencies():
        raise ValueError(f"{value!r} is not a known currency code, like EUR or USD")
    return code


def blank_is_absent(value):
    """A form's empty field (or a blank query parameter) is a field left out."""
    return None if isinstance(value, str) and not value.strip() else value


# A month, or none: left out, null, or blank.
OptionalMonth = Annotated[Optional[Month], BeforeValidator(blank_is_absent)]


class BudgetsQuery(Body):
    month: OptionalMonth = Field(
        default=None, examples=["2024-11"],
        description="YYYY-MM; the latest month with visible rows when left out or blank.")


class BudgetIn(Body):
    """A budget as the API and the web form send it; `month` null or left out: every month."""

    category: str = Field(min_length=1, max_length=100)
    amount: Decimal = Field(description='A decimal string above zero, like "250.00".')
    currency: Optional[str] = Field(default=None, pattern=r"^[A-Za-z]{3}$",
                                    description="ISO 4217; the app's default when left out.")
    month: OptionalMonth = Field(default=None, examples=["2024-11"],
                                 description="YYYY-MM; null, blank or left out: every month.")

    @field_validator("amount", mode="before")
    @classmethod
    def positive_money(cls, value):
        amount = parse_money(value)
        if amount <= 0:
            raise ValueError("a budget must be more than 0")
        return amount

    @field_validator("currency", mode="after")
    @classmethod
    def currency_code(cls, value):
        return None if value is None else known_currency(value)

    @field_validator("currency", mode="before")
    @classmethod
    def blank_currency_is_absent(cls, value):
        return blank_is_absent(value)


class BudgetPatch(BudgetIn):
    category: Optional[str] = Field(default=None, min_length=1, max_length=100)
    amount: Optional[Decimal] = None

    @model_validator(mode="after")
    def something_to_change(self):
        return changes_something(self, ("category", "amount", "currency"))


class BudgetOut(BaseModel):
    """A budget as the API returns it (money as decimal strings)."""

    id: int
    category: str
    amount: str
    currency: str
    month: Optional[str] = Field(description="YYYY-MM, or null: every month")


class BudgetProgressOut(BudgetOut):
    spent: str = Field(description="The month's spending in this category and currency.")
    remaining: str = Field(description="amount - spent; negative when over budget.")
    percent: int = Field(description="spent as a whole percentage of amount (may pass 100).")
    over: bool


class BudgetMonth(BaseModel):
    month: str
    items: list[BudgetProgressOut]


@dataclass(frozen=True)
class Progress:
    """A budget that applies to a month, and how much of it that month's spending used."""

    budget: Budget
    spent: Decimal

    @property
    def remaining(self):
        return self.budget.amount - self.spent

    @property
    def over(self):
        return self.spent > self.budget.amount

    @property
    def percent(self):
        """Whole percent used, rounded down (a budget is "at 100 %" only once it is used up)."""
        return int(self.spent * HUNDRED // self.budget.amount)

    @property
    def bar_value(self):
        """The progress bar's value: full, not beyond, when over budget."""
        return min(self.spent, self.budget.amount)


# --- reads -----------------------------------------------------------------------------------

def all_budgets():
    """Every budget the caller may see, repeating ones first, then by month and category."""
    return db.session.execute(scope(select(Budget).order_by(
        Budget.month.asc().nulls_first(), Budget.category, Budget.id))).scalars().all()


def budgets_for(month):
    """The budgets that apply to `month` ("YYYY-MM"): each category's budget for that month,
    or else its repeating one, by category. On the shared ledger several owners' budgets
    are visible; each owner's month budget overrides only that owner's repeating one."""
    first = bounds(month)[0]
    rows = db.session.execute(scope(select(Budget).where(
        or_(Budget.month.is_(None), Budget.month == first)))).scalars().all()
    chosen = {}
    for budget in rows:
        key = (budget.user_id, budget.category)
        if key not in chosen or budget.month is not None:
            chosen[key] = budget
    return sorted(chosen.values(), key=lambda b: (b.category.casefold(), b.id))


def progress_for(month):
    """[Progress] of the budgets that apply to `month`."""
    budgets = budgets_for(month)
    spent_in = {currency: {row["category"]: Decimal(row["total"])
                           for row in category_totals(month, currency)["categories"]}
                for currency in {b.currency for b in budgets}}
    return [Progress(b, spent_in[b.currency].get(b.category, Decimal("0.00"))) for b in budgets]


def get_budget(budget_id):
    return owned_or_404(Budget, budget_id)


# --- writes ----------------------------------------------------------------------------------

def _first_day(month):
    return None if month is None else bounds(month)[0]


def _saved(budget):
    """Commit `budget`; a 409 naming the clash if its category and month have one already."""
    # Named before the commit: a rollback reloads the row's stored values.
    when = f"in {month_of(budget.month)}" if budget.month else "for every month"
    clash = f"There is a budget for {budget.category} {when} already; change that one instead."
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AppError(409, "conflict", clash, field="category") from None
    return budget


def create_budget(data, default_currency):
    budget = Budget(category=data.category, amount=data.amount,
                    currency=data.currency or default_currency.upper(),
                    month=_first_day(data.month))
    db.session.add(budget)  # the owner is stamped on flush
    return _saved(budget)


def update_budget(budget_id, patch):
    budget = owned_or_404(Budget, budget_id)
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        setattr(budget, name, _first_day(value) if name == "month" else value)
    return _saved(budget)


def delete_budget(budget_id):
    db.session.delete(owned_or_404(Budget, budget_id))
    db.session.commit()


# --- JSON ------------------------------------------------------------------------------------

def to_json(budget):
    return {"id": budget.id, "category": budget.category, "amount": str(budget.amount),
            "currency": budget.currency,
            "month": month_of(budget.month) if budget.month else None}


def progress_json(progress):
    return to_json(progress.budget) | {
        "spent": str(progress.spent), "remaining": str(progress.remaining),
        "percent": progress.percent, "over": progress.over}

