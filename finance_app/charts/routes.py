"""Analytics JSON under /api/charts: the dashboard's charts and the assistant's summaries."""
from typing import Optional

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field, field_validator

from ..api import Body, parse_query
from ..isolation import DATA, access
from ..openapi import documented
from . import service
from ..months import Month

api_bp = Blueprint("charts_api", __name__, url_prefix="/api/charts")


class MonthQuery(Body):
    month: Optional[Month] = Field(
        default=None, examples=["2024-11"],
        description="YYYY-MM; the latest month with visible rows when left out or blank.")

    @field_validator("month", mode="before")
    @classmethod
    def blank_is_absent(cls, value):
        return None if isinstance(value, str) and not value.strip() else value


class TrendsQuery(Body):
    months: int = Field(default=12, ge=1, le=service.MAX_TREND_MONTHS,
                        description="How many months, ending with the latest month with rows.")


class MerchantsQuery(MonthQuery):
    month: Optional[Month] = Field(default=None, examples=["2024-11"],
                                   description="YYYY-MM; all visible rows when left out.")
    limit: int = Field(default=10, ge=1, le=service.MAX_MERCHANTS,
                       description="At most this many merchants, largest spend first.")


# Response shapes, for the OpenAPI document. Money is a decimal string; spending is positive.
class MonthSummary(BaseModel):
    month: str
    income: str
    expenses: str
    net: str
    count: int


class CategoryTotal(BaseModel):
    category: Optional[str] = Field(description="null: uncategorised spending")
    total: str
    count: int


class TrendMonth(BaseModel):
    month: str
    income: str
    expenses: str
    net: str


class MerchantTotal(BaseModel):
    merchant: str
    total: str
    count: int


@api_bp.get("/summary")
@access(DATA)
@documented(query=MonthQuery, response=MonthSummary)
def api_summary():
    """Income, expenses, net and row count of one month."""
    month = parse_query(MonthQuery).month or service.default_month()
    return jsonify(service.month_summary(month))


@api_bp.get("/categories")
@access(DATA)
@documented(query=MonthQuery, response=list[CategoryTotal])
def api_categories():
    """One month's spending per category, largest first."""
    month = parse_query(MonthQuery).month or service.default_month()
    return jsonify(service.category_totals(month))


@api_bp.get("/trends")
@access(DATA)
@documented(query=TrendsQuery, response=list[TrendMonth])
def api_trends():
    """Income, expenses and net per month, oldest first; months without rows are zeros."""
    return jsonify(service.monthly_trends(parse_query(TrendsQuery).months))


@api_bp.get("/merchants")
@access(DATA)
@documented(query=MerchantsQuery, response=list[MerchantTotal])
def api_merchants():
    """Spending per merchant, largest first, for one month or all visible rows."""
    query = parse_query(MerchantsQuery)
    return jsonify(service.top_merchants(query.month, query.limit))
