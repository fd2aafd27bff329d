"""Money values from the API: decimal strings (or integers), never floats."""
from decimal import Decimal, InvalidOperation

MAX_WHOLE_DIGITS = 10  # Numeric(12, 2)


def parse_money(value):
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError('send amounts as decimal strings, like "12.34"')
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal amount") from None
    else:
        raise ValueError('send amounts as decimal strings, like "12.34"')
    if not amount.is_finite():
        raise ValueError("amount must be a finite number")
    if amount.as_tuple().exponent < -2:
        raise ValueError("amount has more than 2 decimal places")
    if abs(amount) >= Decimal(10) ** MAX_WHOLE_DIGITS:
        raise ValueError(f"amount must have at most {MAX_WHOLE_DIGITS} digits before the point")
    return amount.quantize(Decimal("0.01"))
