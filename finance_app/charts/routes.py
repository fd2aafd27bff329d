"""Analytics JSON under /api/charts: the dashboard's charts and the assistant's summaries."""
from typing import Optional

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field, field_validator

from ..api import Body, parse_query
from ..isolation import DATA, access
from ..openapi import documented
from . import service
from ..months import Month
from ..transactions.money import Currency

api_bp = Blueprint("charts_api", __name__, url_prefix="/api/charts")


CURRENCY_FIELD = dict(default=None, description="The chart's currency (a 3-letter code); "
                     "the viewer's main currency (most visible rows) when left out.")


class MonthQuery(Body):
    month: Optional[Month] = Field(
        default=None, examples=["2024-11"],
        description="YYYY-MM; the latest month with visible rows when left out or blank.")

    @field_validator("month", mode="before")
    @classmethod
    def blank_is_absent(cls, value):
        return None if isinstance(value, str) and not value.strip() else value


class CategoriesQuery(MonthQuery):
    currency: Optional[Currency] = Field(**CURRENCY_FIELD)


class TrendsQuery(Body):
    months: int = Field(default=12, ge=1, le=service.MAX_TREND_MONTHS,
                        description="How many months, ending with the latest month with rows.")
    currency: Optional[Currency] = Field(**CURRENCY_FIELD)


class MerchantsQuery(CategoriesQuery):
    month: Optional[Month] = Field(default=None, examples=["2024-11"],
                                   description="YYYY-MM; all visible rows when left out.")
    limit: int = Field(default=10, ge=1, le=service.MAX_MERCHANTS,
                       description="At most this many merchants, largest spend first.")


# Response shapes, for the OpenAPI document. Money is a decimal string, in the currency named
# beside it (never two currencies added together); spending is positive.
class CurrencySummary(BaseModel):
    currency: str
    income: str
    expenses: str
    net: str
    count: int


class MonthSummary(BaseModel):
    month: str
    count: int = Field(description="Rows in the month, in every currency")
    currencies: list[CurrencySummary] = Field(
        description="One block per currency present in the month, most rows first")


class CategoryTotal(BaseModel):
    category: Optional[str] = Field(description="null: uncategorised spending")
    total: str
    count: int


class CategoryTotals(BaseModel):
    month: str
    currency: str
    categories: list[CategoryTotal]


class TrendMonth(BaseModel):
    month: str
    income: str
    expenses: str
    net: str


class Trend(BaseModel):
    currency: str
    trend: list[TrendMonth]


class MerchantTotal(BaseModel):
    merchant: str
    total: str
    count: int


class MerchantTotals(BaseModel):
    month: Optional[str] = Field(description="null: over all visible rows")
    currency: str
    merchants: list[MerchantTotal]


@api_bp.get("/summary")
@access(DATA)
@documented(query=MonthQuery, response=MonthSummary)
def api_summary():
    """Income, expenses, net and row count of one month, per currency."""
    month = parse_query(MonthQuery).month or service.default_month()
    return jsonify(service.month_summary(month))


@api_bp.get("/categories")
@access(DATA)
@documented(query=CategoriesQuery, response=CategoryTotals)
def api_categories():
    """One month's spending in one currency per category, largest first."""
    query = parse_query(CategoriesQuery)
    return jsonify(service.category_totals(query.month or service.default_month(),
                                           query.currency))


@api_bp.get("/trends")
@access(DATA)
@documented(query=TrendsQuery, response=Trend)
def api_trends():
    """Income, expenses and net in one currency per month, oldest first; months without
    rows are zeros."""
    query = parse_query(TrendsQuery)
    return jsonify(service.monthly_trends(query.months, currency=query.currency))


@api_bp.get("/merchants")
@access(DATA)
@documented(query=MerchantsQuery, response=MerchantTotals)
def api_merchants():
    """Spending in one currency per merchant, largest first, for one month or all visible
    rows."""
    query = parse_query(MerchantsQuery)
    return jsonify(service.top_merchants(query.month, query.limit, query.currency))
