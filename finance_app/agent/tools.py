"""The tools an assistant can call.

Each tool is a name, a description, a pydantic model of its arguments (whose JSON Schema the
assistant reads, and which validates what it sends) and a function over the same services
the API uses, so a tool sees exactly what its caller could see: every read goes through
`scope()` and the namespaced cache there, never around them.
"""
from dataclasses import dataclass
from typing import Callable, Optional

from pydantic import Field, field_validator

from ..api import Body
from ..bounds import Day
from ..charts import service as charts
from ..months import MONTH_PATTERN, Month
from ..explain import service as explain
from ..transactions.money import Currency
from ..transactions.service import Filters, list_transactions, to_json

MONTH_FIELD = dict(description="A month as YYYY-MM.", examples=["2024-11"],
                   json_schema_extra={"pattern": MONTH_PATTERN.pattern})
CURRENCY_FIELD = dict(default=None, description="Only amounts in this currency (a 3-letter "
                     "code); the user's main currency (most transactions) when left out. "
                     "Amounts in two currencies are never added together.")
MAX_SEARCH_RESULTS = 100


class SearchTransactionsArgs(Body):
    query: str = Field(min_length=1, max_length=200,
                       description="Text to find in the description or merchant "
                                   "(case-insensitive).")
    start: Optional[Day] = Field(default=None, description="Earliest date, YYYY-MM-DD.")
    end: Optional[Day] = Field(default=None, description="Latest date, YYYY-MM-DD.")
    category: Optional[str] = Field(default=None, min_length=1, max_length=100,
                                    description="Only this category (exact match).")
    limit: int = Field(default=20, ge=1, le=MAX_SEARCH_RESULTS, strict=True,
                       description="At most this many rows, newest first.")

    @field_validator("end")
    @classmethod
    def not_before_start(cls, end, info):
        start = info.data.get("start")
        if start and end and end < start:
            raise ValueError("end must be on or after start")
        return end


class MonthArgs(Body):
    month: Month = Field(**MONTH_FIELD)


class CategoryArgs(MonthArgs):
    currency: Optional[Currency] = Field(**CURRENCY_FIELD)


class TopMerchantsArgs(Body):
    month: Optional[Month] = Field(default=None, **{**MONTH_FIELD, "description":
                                   "A month as YYYY-MM; all visible rows when left out."})
    currency: Optional[Currency] = Field(**CURRENCY_FIELD)
    limit: int = Field(default=10, ge=1, le=charts.MAX_MERCHANTS, strict=True,
                       description="At most this many merchants, largest spend first.")


def search_transactions(args):
    items, total = list_transactions(Filters(q=args.query, start=args.start, end=args.end,
                                             category=args.category, limit=args.limit))
    return {"items": [to_json(tx) for tx in items], "total": total}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type
    run: Callable

    def describe(self):
        return {"name": self.name, "description": self.description,
                "parameters": self.arguments.model_json_schema()}


TOOLS = {tool.name: tool for tool in (
    Tool("search_transactions",
         "Find the user's transactions whose description or merchant contains `query`, "
         "optionally within dates and a category. Returns {items, total}; amounts are "
         "decimal strings, negative for spending.",
         SearchTransactionsArgs, search_transactions),
    Tool("spending_summary",
         "Income, expenses, net and the number of transactions in one month, one block per "
         "currency (most transactions first): {month, count, currencies: [{currency, income, "
         "expenses, net, count}]}.",
         MonthArgs, lambda args: charts.month_summary(args.month)),
    Tool("category_breakdown",
         "Spending in one currency per category in one month, largest first (category null: "
         "uncategorised): {month, currency, categories}.",
         CategoryArgs, lambda args: charts.category_totals(args.month, args.currency)),
    Tool("top_merchants",
         "The merchants where the most money in one currency went, in one month or over all "
         "time: {month, currency, merchants}.",
         TopMerchantsArgs,
         lambda args: charts.top_merchants(args.month, args.limit, args.currency)),
    Tool("explain_month",
         "Why a month differs from the one before, each currency against itself: a "
         "headline, the categories and merchants that changed most, and new recurring "
         "charges.",
         MonthArgs, lambda args: explain.explain_month(args.month)),
)}
