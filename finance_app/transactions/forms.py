"""The web form of one transaction: add (`TransactionForm`) and edit (`EditForm`).

The form only carries text; the API's own bodies (`TransactionIn`, `TransactionPatch`)
validate it, so the page and `POST/PATCH /api/transactions` accept exactly the same values.
A field named as a body field goes to the body by itself: adding one to the page is one
line here (and the template lays out whatever fields the form has).

The amount is entered as a positive number with an Expense/Income choice that defaults to
Expense, rather than as a signed number: most entries are expenses, and a signed field
turns every forgotten minus into income, silently. A sign typed anyway is refused, since
"-12" with Income chosen could mean either.
"""
from flask_wtf import FlaskForm
from pydantic import ValidationError
from wtforms import RadioField, SelectChoice, StringField

from .service import TransactionIn

EXPENSE, INCOME = "expense", "income"
SIGNS = ("-", "+")

# Friendlier words than pydantic's for the mistakes people make in a form.
MESSAGES = {
    "missing": "This field is required.",
    "string_too_short": "This field is required.",
    "date_from_datetime_parsing": "Enter a date as YYYY-MM-DD, like 2024-03-15.",
    "date_parsing": "Enter a date as YYYY-MM-DD, like 2024-03-15.",
    "date_from_datetime_inexact": "Enter a date as YYYY-MM-DD, like 2024-03-15.",
    "string_pattern_mismatch": "Enter a three-letter currency code, like EUR.",  # the only one
}


def _limits(name):
    """The browser-side hint of the body's own length limit for a text field."""
    for rule in TransactionIn.model_fields[name].metadata:
        if getattr(rule, "max_length", None):
            return {"maxlength": rule.max_length}
    return {}


class TransactionForm(FlaskForm):
    kind = RadioField("Type", choices=[SelectChoice(EXPENSE, "Expense (money out)"),
                                       SelectChoice(INCOME, "Income (money in)")],
                      default=EXPENSE)
    amount = StringField("Amount", render_kw={"inputmode": "decimal", "placeholder": "12.34",
                                              "required": True})
    date = StringField("Date", render_kw={"type": "date", "required": True})
    description = StringField("Description", render_kw={"required": True,
                                                        **_limits("description")})
    merchant = StringField("Merchant", render_kw=_limits("merchant"))
    category = StringField("Category", render_kw={"list": "category-options",
                                                  **_limits("category")})
    currency = StringField("Currency", render_kw={"maxlength": 3, "size": 4,
                                                  "autocapitalize": "characters"})

    def fill_from(self, tx):
        """Show an existing row: its amount as Expense/Income and a positive number."""
        self.kind.data = EXPENSE if tx.amount < 0 else INCOME
        self.amount.data = str(abs(tx.amount))
        for name, field in self._fields.items():
            if name not in ("kind", "amount") and hasattr(tx, name):
                value = getattr(tx, name)
                field.data = "" if value is None else str(value)

    def to_body(self, model):
        """The form's values validated by `model` (a body of the API), or None with the
        problems added to the fields' errors."""
        if not self.validate():  # the CSRF token and the Expense/Income choice
            return None
        amount = (self.amount.data or "").strip()
        if amount.startswith(SIGNS):
            self.amount.errors.append("Enter the amount without a sign, and choose Expense "
                                      "or Income.")
            return None
        values = {name: field.data for name, field in self._fields.items()
                  if name in model.model_fields}
        try:
            body = model.model_validate(values)
        except ValidationError as exc:
            self._add_errors(exc)
            return None
        if self.kind.data == EXPENSE and body.amount:  # 0 stays 0, not -0.00
            body.amount = -body.amount
        return body

    def _add_errors(self, exc):
        for error in exc.errors():
            name = error["loc"][0] if error["loc"] else None
            message = MESSAGES.get(error["type"]) or error["msg"].removeprefix("Value error, ")
            field = self._fields.get(name)
            if field is None:
                self.form_errors.append(message)
            else:
                field.errors.append(message)


class EditForm(TransactionForm):
    """An existing row's fields; its currency stays as it was imported or entered."""

    currency = None
