"""Which rows of an import are already in the importer's ledger.

A row with a FITID (OFX/QFX) is a duplicate when a stored row of the importer carries the same
FITID of the same account (folded into `fingerprint`, which has an index per owner): the
bank's own id, so two coffees of the same price on the same day stay two rows.

Any other row is a duplicate when a stored row of the importer has the same date and amount
and a description equal (case and spacing aside) to ANY text cell of the incoming row. Why
this and not a hash of date, amount and the mapped description (what the fingerprint was
until issue 14): the stored description is always one cell of the file as it was read, so
whichever column the user maps to the description, this time or last time, the stored row
is still recognised — and rows imported before the change need nothing recomputed or stored
(no migration, no backfill). Each stored row matches one incoming row at most, so a file
with two identical rows adds both, and importing it again adds neither. The cost: a genuinely
new row that shares date, amount and some text cell with a stored row of the same owner is
taken for it (e.g. a second identical card payment on a day, in a later export that no
longer lists the first): a statement repeats such rows only with all of them.
"""
import hashlib
from collections import defaultdict

from sqlalchemy import or_, select

from ..extensions import db
from ..models import Transaction
from .parsing import DESCRIPTION_MAX


def fitid_fingerprint(account_ref, fitid):
    """What `fingerprint` holds for a row with a FITID: FITIDs are unique per account only."""
    return hashlib.sha256(f"fitid|{account_ref or ''}|{fitid}".encode()).hexdigest()


def comparable(text):
    """A text as a stored description compares: spacing collapsed, capped as the description
    is when stored, case folded."""
    return " ".join(text.split())[:DESCRIPTION_MAX].casefold()


class DuplicateFinder:
    """Finds duplicates chunk by chunk for one import. `mine(stmt, model)` restricts a
    statement to the importer's own rows; rows this import has written are never matched
    (rows of one file do not duplicate each other)."""

    def __init__(self, mine):
        self.mine = mine
        self.matched = set()  # stored rows already taken by an earlier row of this import

    def new_rows(self, pending, batch_id):
        """The (row, fingerprint) pairs of `pending` that are not in the ledger yet, in order."""
        by_fitid = [i for i, (row, _) in enumerate(pending) if row.fitid is not None]
        by_text = [i for i, (row, _) in enumerate(pending) if row.fitid is None]
        known = self._known_by_fitid(pending, by_fitid, batch_id) | \
            self._known_by_text(pending, by_text, batch_id)
        return [pair for i, pair in enumerate(pending) if i not in known]

    def _stored(self, columns, batch_id):
        stmt = self.mine(select(*columns), Transaction)
        if batch_id is not None:
            stmt = stmt.where(or_(Transaction.import_batch_id.is_(None),
                                  Transaction.import_batch_id != batch_id))
        return stmt

    def _known_by_fitid(self, pending, indexes, batch_id):
        if not indexes:
            return set()
        stored = set(db.session.execute(self._stored([Transaction.fingerprint], batch_id).where(
            Transaction.fingerprint.in_({pending[i][1] for i in indexes}))).scalars())
        return {i for i in indexes if pending[i][1] in stored}

    def _known_by_text(self, pending, indexes, batch_id):
        if not indexes:
            return set()
        rows = [pending[i][0] for i in indexes]
        stored = defaultdict(list)  # (date, amount) → [(id, comparable description)]
        for tx_id, day, amount, description in db.session.execute(
                self._stored([Transaction.id, Transaction.date, Transaction.amount,
                              Transaction.description], batch_id)
                .where(Transaction.date.in_({row.date for row in rows}),
                       Transaction.amount.in_({row.amount for row in rows}))
                .order_by(Transaction.id)):
            if tx_id not in self.matched:
                stored[(day, amount)].append((tx_id, comparable(description)))
        known = set()
        for i, row in zip(indexes, rows):
            candidates = stored.get((row.date, row.amount))
            if not candidates:
                continue
            texts = {comparable(cell) for cell in row.cells if cell.strip()}
            match = next((c for c in candidates if c[1] in texts), None)
            if match is not None:
                candidates.remove(match)
                self.matched.add(match[0])
                known.add(i)
        return known
