"""Accounts: a user's bank accounts, cards and cash, each in one currency, and their balances.

Reads go through `scope()` (the one visibility rule: a shared-ledger viewer sees the shared
ledger's accounts, an isolated one only their own); single accounts through `owned_or_404()`.
Where a row is put into an account (a new transaction, an import) the account must be the
caller's own, whatever the flag: `own_account_or_404`.
"""
from datetime import datetime
from decimal import Decimal
from typing import Literal, Optional

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..api import Body
from ..errors import AppError
from ..extensions import db
from ..isolation import cached, current_principal, invalidate_after_write, owned_or_404, scope
from ..models import ACCOUNT_KINDS, Account, Transaction, as_utc
from ..transactions.money import parse_money

DEFAULT_NAME = "Main account"
CURRENCY_PATTERN = r"^[A-Za-z]{3}$"

Kind = Literal[ACCOUNT_KINDS]


class AccountIn(Body):
    name: str = Field(min_length=1, max_length=100)
    kind: Kind = "checking"
    currency: str = Field(pattern=CURRENCY_PATTERN)
    opening_balance: Decimal = Decimal("0.00")

    @field_validator("currency")
    @classmethod
    def upper(cls, value):
        return value.upper()

    @field_validator("opening_balance", mode="before")
    @classmethod
    def money(cls, value):
        return parse_money(value)


class AccountPatch(Body):
    name: Optional[str] = Field(default=None, min_length=1, max_length=100)
    kind: Optional[Kind] = None

    @model_validator(mode="after")
    def something_to_change(self):
        if not self.model_fields_set:
            raise ValueError("send name or kind")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be empty")
        return self


class AccountOut(BaseModel):
    """An account as the API returns it (money as decimal strings, in its currency)."""

    id: int
    name: str
    kind: str
    currency: str
    opening_balance: str
    balance: str
    created_at: datetime


def _balances():
    """{account id: balance} of the visible accounts: the opening balance plus the sum of
    the account's rows. One aggregate over the visible rows, cached in the request's
    namespace like every figure derived from rows (a write moves it to a new generation)."""
    def build():
        balance = Account.opening_balance + func.coalesce(func.sum(Transaction.amount), 0)
        rows = db.session.execute(scope(
            select(Account.id, balance)
            .outerjoin(Transaction, Transaction.account_id == Account.id)
            .group_by(Account.id))).all()
        return [(account_id, str(_cents(total))) for account_id, total in rows]
    return {account_id: Decimal(total)
            for account_id, total in cached("summary:account-balances", build)}


def list_accounts():
    """The caller's visible accounts with their balances: [(Account, Decimal)] by name."""
    balances = _balances()
    return [(account, balances.get(account.id, account.opening_balance))
            for account in visible_accounts()]


def visible_accounts():
    """The caller's visible accounts by name, without balances (a choice of account: no sum
    over their rows)."""
    return db.session.execute(scope(select(Account).order_by(Account.name, Account.id))
                              ).scalars().all()


def account_with_balance(account_id):
    account = owned_or_404(Account, account_id)
    return account, _balances().get(account.id, account.opening_balance)


def _cents(value):
    return Decimal(value).quantize(Decimal("0.01"))


def get_account(account_id):
    """A visible account (404 otherwise)."""
    return owned_or_404(Account, account_id)


def own_account_or_404(account_id):
    """One of the caller's own accounts, whatever the flag: rows are only ever put into their
    owner's account (the database refuses anything else: the foreign key (account_id,
    user_id)). Another's answers 404 like a row the caller cannot see."""
    account = db.session.execute(scope(select(Account).where(
        Account.id == account_id, Account.user_id == current_principal().id))).scalar()
    if account is None:
        raise AppError(404, "not_found", f"No account with id {account_id}.")
    return account


def own_accounts():
    """The caller's own accounts (the ones rows can go into), by name."""
    return db.session.execute(scope(select(Account).where(
        Account.user_id == current_principal().id).order_by(Account.name, Account.id))
    ).scalars().all()


def default_account(currency):
    """The caller's account for rows in `currency` that name none: their first account in
    that currency, created ("Main account") when they have none."""
    currency = currency.upper()
    for account in own_accounts():
        if account.currency == currency:
            return account
    taken = {account.name for account in own_accounts()}
    account = Account(name=default_name(taken, currency), kind="checking", currency=currency)
    db.session.add(account)  # the owner is stamped on flush
    db.session.flush()
    return account


def default_name(taken, currency):
    """A default account's name, given the names its owner has already."""
    return DEFAULT_NAME if DEFAULT_NAME not in taken else f"{DEFAULT_NAME} ({currency})"


def create_account(data):
    account = Account(name=data.name, kind=data.kind, currency=data.currency,
                      opening_balance=data.opening_balance)
    db.session.add(account)
    _commit_named(data.name)
    invalidate_after_write([account.user_id])
    return account


def update_account(account_id, patch):
    account = owned_or_404(Account, account_id)
    for name in patch.model_fields_set:
        setattr(account, name, getattr(patch, name))
    _commit_named(account.name)
    invalidate_after_write([account.user_id])
    return account


def _commit_named(name):
    try:
        db.session.commit()
    except IntegrityError:  # uq_accounts_user_id_name
        db.session.rollback()
        raise AppError(409, "conflict", f"You already have an account named “{name}”.",
                       field="name") from None


def delete_account(account_id):
    """Delete an account that holds no transactions (409 otherwise: move or delete them
    first; nothing is deleted with it)."""
    account = owned_or_404(Account, account_id)
    rows = db.session.execute(scope(select(func.count()).select_from(Transaction).where(
        Transaction.account_id == account.id))).scalar()
    if rows:
        raise AppError(409, "conflict",
                       f"“{account.name}” still holds {rows} transaction{'s' * (rows != 1)}; "
                       "delete them or undo their import first.")
    owner = account.user_id
    db.session.delete(account)
    db.session.commit()
    invalidate_after_write([owner])


def to_json(account, balance):
    """An account as AccountOut describes it."""
    return {"id": account.id, "name": account.name, "kind": account.kind,
            "currency": account.currency, "opening_balance": str(account.opening_balance),
            "balance": str(balance), "created_at": as_utc(account.created_at).isoformat()}
