"""Request bodies of the admin API (the web forms are validated with the same models).

Every change carries a reason: the audit log keeps it next to who made the change.
"""
from typing import Optional, Union

from pydantic import Field, StrictBool, field_validator

from ..api import Body
from ..bounds import Offset
from .cohorts import COHORT_NAME, COHORT_NAME_RULE, DOMAIN, split_emails

MAX_BULK_EMAILS = 5000


class Reasoned(Body):
    reason: str = Field(min_length=1, max_length=500)


class CohortIn(Reasoned):
    name: str = Field(max_length=64)

    @field_validator("name")
    @classmethod
    def cohort_name(cls, value):
        if not COHORT_NAME.match(value):
            raise ValueError(COHORT_NAME_RULE)
        return value


class CohortMove(Reasoned):
    """A cohort to move users to, or for sign-ups to join."""

    cohort: str = Field(min_length=1, max_length=64)


class BulkMove(Reasoned):
    """Exactly one of: `emails` (a pasted list, or a JSON list) or an email `domain`."""

    emails: Optional[Union[str, list[str]]] = None
    # Validated even when absent: the "exactly one" rule is reported on this field.
    domain: Optional[str] = Field(default=None, max_length=253, validate_default=True)

    @field_validator("emails")
    @classmethod
    def email_list(cls, value):
        if value is None:
            return None
        emails = split_emails(value)
        if len(emails) > MAX_BULK_EMAILS:
            raise ValueError(f"at most {MAX_BULK_EMAILS} emails at a time")
        return emails or None

    @field_validator("domain")
    @classmethod
    def email_domain(cls, value, info):
        domain = (value or "").strip().lower().removeprefix("@") or None
        if (domain is None) == (info.data.get("emails") is None):
            raise ValueError("give either emails (a pasted list) or an email domain")
        if domain is not None and not DOMAIN.match(domain):
            raise ValueError("not an email domain (e.g. example.com)")
        return domain


class IsolationChange(Reasoned):
    enabled: StrictBool
    force: StrictBool = False


class RolloutChange(Reasoned):
    percent: int = Field(ge=0, le=100, strict=True)
    force: StrictBool = False


class LockChange(Reasoned):
    on: StrictBool


class RevertIn(Reasoned):
    force: StrictBool = False


class PreflightQuery(Body):
    cohort: Optional[str] = Field(default=None, max_length=64)
    percent: Optional[int] = Field(
        default=None, ge=0, le=100,
        description="Without a cohort: the percentage to raise to (default 100).")


class AuditQuery(Body):
    limit: int = Field(default=100, ge=1, le=1000)
    offset: Offset = 0
