"""Months are "YYYY-MM" in ASCII digits and nothing else (no Unicode digits, no trailing
newline), and the arithmetic on them never overflows a date."""
import pytest

from finance_app.months import bounds, checked_month, months_between, representable, shift

NOT_MONTHS = ["２０２４-11", "2024-１1", "٢٠٢٤-11", "2024-11\n", "2024-11\r\n", " 2024-11x",
              "2024-11\x00", "+2024-11", "2024-1"]


@pytest.mark.parametrize("text", NOT_MONTHS)
def test_only_ascii_months_are_months(text):
    with pytest.raises(ValueError):
        checked_month(text)
    with pytest.raises(ValueError):
        representable(text)


@pytest.mark.parametrize("url", [
    "/api/charts/summary?month=２０２４-11",
    "/api/charts/categories?month=2024-１1",
    "/api/charts/merchants?month=٢٠٢٤-11",
    "/api/transactions?month=２０２４-11",
    "/api/explain/month/2024-11%0A",
    "/api/explain/month/２０２４-11",
])
def test_routes_refuse_unicode_digits_and_a_trailing_newline(people, url):
    response = people.client("carol").get(url)
    assert response.status_code == 422, response.text
    assert response.json["error"]["field"] == "month"


def test_assistant_tools_refuse_them_too(people):
    carol = people.client("carol")
    response = carol.post("/api/agent/tools/spending_summary", json={"month": "２０２４-11"})
    assert response.status_code == 422 and response.json["error"]["field"] == "month"
    # Bodies and query strings have surrounding whitespace stripped, like every text field:
    # the month used is the plain one.
    response = carol.post("/api/agent/tools/spending_summary", json={"month": "2024-11\n"})
    assert response.json["result"]["month"] == "2024-11"


def test_the_arithmetic_reaches_the_last_representable_month():
    assert bounds("9999-12") == (bounds("9999-12")[0], bounds("9999-12")[0].replace(day=31))
    assert bounds("0001-01")[0].isoformat() == "0001-01-01"
    assert months_between("9999-11", "9999-12") == ["9999-11", "9999-12"]
    assert shift("9999-12", -12) == "9998-12"
    for beyond in (("9999-12", 1), ("0001-01", -1)):
        with pytest.raises(ValueError):
            shift(*beyond)
