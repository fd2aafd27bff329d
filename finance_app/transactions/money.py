"""Money values from the API: decimal strings (or integers), never floats."""
import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_WHOLE_DIGITS = 10  # Numeric(12, 2)
# A number as people write one: ASCII digits, an optional sign and decimal point. Not what
# Decimal() also takes — "1_000", Unicode digits, "1E1000000" (whose size alone overflows
# the decimal context: an exception no validation expected).
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_money(value):
    """`value` as a Decimal with two places; ValueError saying what is wrong otherwise."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError('send amounts as decimal strings, like "12.34"')
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("amount must be a finite number")
        value = format(value, "f")
    if not isinstance(value, str):
        raise ValueError('send amounts as decimal strings, like "12.34"')
    if not DECIMAL_TEXT.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not a decimal amount, like \"12.34\"")
    whole, _, fraction = value.strip().lstrip("+-").partition(".")
    if len(fraction) > 2:
        raise ValueError("amount has more than 2 decimal places")
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        raise ValueError(f"amount must have at most {MAX_WHOLE_DIGITS} digits before the point")
    return Decimal(value.strip()).quantize(Decimal("0.01"))


# A currency as the API takes one: a 3-letter code, any case, kept upper-case.
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", examples=["EUR"]),
                     AfterValidator(str.upper)]
