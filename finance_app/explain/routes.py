"""Explanations: JSON under /api/explain, and a page per transaction on the web."""
from typing import Annotated, Literal, Optional

from flask import Blueprint, jsonify, render_template
from pydantic import BaseModel, Field

from ..months import MONTH_PATTERN, checked_month
from ..errors import AppError
from ..isolation import DATA, access
from ..money_display import format_money
from ..openapi import documented
from . import service

api_bp = Blueprint("explain_api", __name__, url_prefix="/api/explain")
bp = Blueprint("explain", __name__)

MonthInPath = Annotated[str, Field(pattern=MONTH_PATTERN.pattern, examples=["2024-11"])]


# Response shapes, for the OpenAPI document. Money is a decimal string; spending is positive.
class Driver(BaseModel):
    kind: Literal["category", "merchant"]
    currency: str = Field(description="of all three amounts: months are compared in one currency")
    name: Optional[str] = Field(description="null: uncategorised spending")
    current: str
    previous: str
    delta: str


class RecurringCharge(BaseModel):
    merchant: str
    currency: str
    category: Optional[str]
    amount: str
    previous_amount: str


class MonthExplanation(BaseModel):
    month: str
    headline: str
    previous_month: str
    drivers: list[Driver]
    new_recurring: list[RecurringCharge]


class Basis(BaseModel):
    kind: Literal["merchant", "category"]
    name: str


class TransactionExplanation(BaseModel):
    transaction: dict
    kind: Literal["expense", "income"]
    compared_with: Optional[Basis]
    others: int
    average: Optional[str]
    median: Optional[str]
    min: Optional[str]
    max: Optional[str]
    ratio: Optional[str] = Field(description="this amount / the median of the others")
    verdict: Literal["usual", "higher", "lower", "first", "no_basis"]
    summary: str


def _month_from_path(month):
    try:
        return checked_month(month)
    except ValueError as exc:
        raise AppError(422, "validation_error", f"month: {exc}", field="month") from None


@api_bp.get("/month/<month>")
@access(DATA)
@documented(response=MonthExplanation, path={"month": MonthInPath})
def api_month(month):
    """Why a month looks the way it does, against the month before.

    The biggest changes in spending (categories, then merchants) and new recurring charges.
    """
    return jsonify(service.explain_month(_month_from_path(month)))


@api_bp.get("/transactions/<int:tx_id>")
@access(DATA)
@documented(response=TransactionExplanation)
def api_transaction(tx_id):
    """How one transaction compares with the usual amount at its merchant (or category)."""
    return jsonify(service.explain_transaction(tx_id))


@bp.get("/explain/transactions/<int:tx_id>")
@access(DATA)
def transaction(tx_id):
    return render_template("explain/transaction.html",
                           explanation=service.explain_transaction(tx_id, format_money))
