"""App-wide settings the admin chooses on the dashboard (table `app_settings`).

The cohort sign-ups join: an install that has started its rollout sends new accounts to an
isolated cohort, so that nobody's first page is the shared ledger of strangers' rows. Until
an admin chooses one (and on an install mid-upgrade, before migration 0009), sign-ups join
`general`, as they always did. The choice is an audited dashboard change (`changes.py`).
"""
from ..extensions import db
from ..models import AppSetting
from .schema import admin_tables_ready

SIGNUP_COHORT = "signup_cohort"
DEFAULT_SIGNUP_COHORT = "general"


def signup_cohort():
    """The cohort a new account joins when none is named."""
    if not admin_tables_ready():
        return DEFAULT_SIGNUP_COHORT
    row = db.session.get(AppSetting, SIGNUP_COHORT)
    return row.value if row is not None else DEFAULT_SIGNUP_COHORT


def store_signup_cohort(cohort):
    """Inside a serialised change (it commits the row)."""
    row = db.session.get(AppSetting, SIGNUP_COHORT)
    if row is None:
        db.session.add(AppSetting(key=SIGNUP_COHORT, value=cohort))
    else:
        row.value = cohort
