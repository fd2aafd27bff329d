"""Rules: "always file rows whose merchant (or description) contains X under category Y".

What a rule matches: a row whose `field` (merchant or description) contains the rule's
pattern, ignoring case. Patterns are stored lower-cased and stripped (`normalise_pattern`); SQL compares with `lower()` (`transactions.service.contains_text`),
an import with Python's `str.lower()` — the same for ASCII text (SQLite's `lower()` folds
only ASCII letters, so on SQLite "É" and "é" may differ where an import sees them equal).

Which rules a request sees and uses: its visible ones, read through `scope()` like every
owned model — an isolated user's own; on the shared ledger, the shared ledger's rules.
Another user's invisible rule is a 404.

Which rows a rule changes on demand — one query (`_targets`) for both the preview and the
apply, so a preview shows exactly what applying would change:
  the rows this request may see and change (the same `scope()` as the transactions list and
  its edits), whose field matches, and that have no category — or, when the caller asks to
  overwrite, whose category differs from the rule's.

On import (`categoriser`): a row from the file that has no category of its own gets the
category of the first matching rule the importer sees, the most specific first (the longest
pattern; then the oldest rule). A category the file gives is never overwritten.
"""
import dataclasses
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..api import Body
from ..errors import AppError
from ..extensions import db
from ..isolation import invalidate_after_write, owned_or_404, scope
from ..models import Rule, Transaction, as_utc
from ..transactions.service import LISTED, TransactionOut, contains_text, to_json

FIELDS = ("merchant", "description")
PREVIEW_ROWS = 20
# Most specific first: on import the first match wins.
RULE_ORDER = (func.length(Rule.pattern).desc(), Rule.id.asc())


def normalise_pattern(text):
    # Inner spaces are kept: bank text often has runs of them, and a pattern made from a
    # row's own text ("always do this") must match that row.
    return text.strip().lower()


class RuleIn(Body):
    field: Literal[FIELDS] = Field(description="Which text of a row the pattern is looked for in.")
    pattern: str = Field(min_length=1, max_length=200,
                         description="Text the field contains (any case).")
    category: str = Field(min_length=1, max_length=100)

    @field_validator("pattern")
    @classmethod
    def normalised(cls, value):
        value = normalise_pattern(value)
        if not value:
            raise ValueError("the pattern cannot be blank")
        return value


class Overwrite(Body):
    overwrite: bool = Field(default=False, description="Also change rows that have another "
                            "category (by default only uncategorised rows change).")


class RuleOut(BaseModel):
    id: int
    field: Literal[FIELDS]
    pattern: str
    category: str
    created_at: datetime


class RulePreview(BaseModel):
    rule: RuleOut
    overwrite: bool
    count: int = Field(description="How many rows applying the rule would change.")
    rows: list[TransactionOut] = Field(description=f"The first {PREVIEW_ROWS} of them, "
                                       "latest first.")


class RuleApplied(BaseModel):
    rule_id: int
    changed: int


def rule_json(rule):
    return RuleOut(id=rule.id, field=rule.field, pattern=rule.pattern, category=rule.category,
                   created_at=as_utc(rule.created_at)).model_dump(mode="json")


def describe(rule):
    """The rule in words, e.g. `merchant contains "tesco" → Groceries`."""
    return f"{rule.field} contains “{rule.pattern}” → {rule.category}"


def list_rules():
    return db.session.execute(scope(select(Rule).order_by(*RULE_ORDER))).scalars().all()


def get_rule(rule_id):
    return owned_or_404(Rule, rule_id)


def create_rule(data):
    """A rule owned by the caller; 409 if the caller already has the same one."""
    rule = Rule(field=data.field, pattern=data.pattern, category=data.category)
    db.session.add(rule)  # the owner is stamped on flush
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AppError(409, "rule_exists",
                       f"You already have a rule for {data.field} containing "
                       f"“{data.pattern}”.") from None
    # Nothing cached is derived from rules: no namespace goes stale.
    return rule


def delete_rule(rule_id):
    """Delete the rule; rows it categorised keep their category."""
    db.session.delete(get_rule(rule_id))
    db.session.commit()


def _matches(rule):
    return contains_text(getattr(Transaction, rule.field), rule.pattern)


def _targets(stmt, rule, overwrite):
    """`stmt` narrowed to the rows applying `rule` changes (see the module docstring)."""
    stmt = stmt.where(_matches(rule))
    if overwrite:
        return stmt.where(or_(Transaction.uncategorised(),
                              not_(Transaction.category == rule.category)))
    return stmt.where(Transaction.uncategorised())


def preview(rule_id, overwrite=False):
    """What applying the rule would change; writes nothing."""
    rule = get_rule(rule_id)
    count = db.session.execute(scope(
        _targets(select(func.count()).select_from(Transaction), rule, overwrite))).scalar()
    rows = db.session.execute(scope(
        _targets(select(*LISTED), rule, overwrite)
        .order_by(Transaction.date.desc(), Transaction.id.desc()).limit(PREVIEW_ROWS))).all()
    return RulePreview(rule=rule_json(rule), overwrite=overwrite, count=count,
                       rows=[to_json(row) for row in rows])


def apply(rule_id, overwrite=False):
    """Give the rule's category to the rows `preview` lists; returns how many changed."""
    rule = get_rule(rule_id)
    owners = db.session.execute(scope(
        _targets(select(Transaction.user_id).distinct(), rule, overwrite))).scalars().all()
    changed = db.session.execute(scope(
        _targets(update(Transaction), rule, overwrite).values(category=rule.category))
    ).rowcount if owners else 0
    db.session.commit()
    if changed:
        invalidate_after_write(owners)
    return RuleApplied(rule_id=rule.id, changed=changed)


def categoriser():
    """For an import: a function from a parsed row to (the row, the rule that categorised it
    or None). Rows that bring a category, or that no rule matches, come back as they are."""
    rules = [(rule, rule.field) for rule in list_rules()]
    if not rules:
        return _unchanged

    def categorise(row):
        if row.category:
            return row, None
        texts = {"merchant": (row.merchant or "").lower(), "description": row.description.lower()}
        for rule, field in rules:
            if rule.pattern in texts[field]:
                return dataclasses.replace(row, category=rule.category), rule
        return row, None

    return categorise


def _unchanged(row):
    return row, None


def suggestion_rule(merchant, description, category):
    """The rule "always do this" makes from an accepted suggestion: merchant contains the
    row's merchant, or description contains its description when it has no merchant. A
    visible rule for the same text is reused, its category changed to this one if need be
    (the user has just said what they want for that text)."""
    field, text = ("merchant", merchant) if merchant and merchant.strip() else (
        "description", description)
    data = RuleIn(field=field, pattern=text[:200], category=category)
    existing = db.session.execute(scope(select(Rule).where(
        Rule.field == data.field, Rule.pattern == data.pattern).order_by(Rule.id))).scalar()
    if existing is None:
        return create_rule(data)
    if existing.category != data.category:
        existing.category = data.category
        db.session.commit()
    return existing
