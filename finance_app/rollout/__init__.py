"""Rollout operations, run by an operator from the command line (`finance_app/cli.py`).

- `legacy.py`: `flask demo legacy-db`, a legacy install (revision 1, one shared ledger) to
  practise the rollout on;
- `backfill.py`: `flask isolation backfill`, giving every unowned row an owner, in batches;
- `status.py`: `flask isolation status`, where an install stands.

Ops code runs outside requests, on whatever revision the database is at, so it reads and
writes through SQLAlchemy Core (`schema.py`) rather than the ORM models, which describe head.
"""
