"""`flask isolation backfill`: give every unowned row of the legacy ledger an owner.

Who owns what, in order of precedence:
1. a `transaction_id,email` line of the map file: that transaction;
2. an `import_batch_id,email` line: that import batch, and then every unowned transaction of
   an owned import batch goes to the batch's owner (the rows of an import belong to whoever
   imported the file);
3. `--owner EMAIL`: every import batch and transaction still unowned after that.
Rows nothing assigns stay unowned (and `flask db upgrade` keeps refusing revision 3).

A transaction line can give a row of an import batch to someone other than the batch's
owner. The backfill does not move it out of the batch (the count check stays exact: no
import batch is created); the plan lists every such row, and migration 0007 moves each to
an import batch of its owner's own, since at head a batch holds only its owner's rows.

Only rows whose user_id is NULL are ever written, so the backfill is naturally idempotent: a
run that was stopped (Ctrl-C, kill, a lost connection) is resumed by running the same command
again. Import batches are assigned in one transaction first; transactions then go in id
ranges of `batch_size`, one database transaction each, so a stop loses at most the batch in
flight, which rolls back.

The map file is checked in full before anything is written: a line naming an unknown user,
a row that does not exist or a row another user already owns is reported, and the run
refuses. A line whose row already has the mapped owner (from an earlier, interrupted run) is
counted as done.
"""
import csv
import logging
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional

import sqlalchemy as sa

from ..isolation.cache_keys import invalidate_namespaces
from ..models import normalise_email
from ..observability import metrics
from . import schema

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
MAP_ID_COLUMNS = {"import_batch_id": "import batch", "transaction_id": "transaction"}
MAP_HEADERS = ("`import_batch_id,email`, `transaction_id,email` or "
               "`import_batch_id,transaction_id,email`")

batches_t, ledger_t, users_t = schema.import_batches, schema.transactions, schema.users


class BackfillError(RuntimeError):
    """The backfill cannot start (wrong revision, unknown --owner); nothing was changed."""


class MapFileError(BackfillError):
    def __init__(self, path, errors):
        self.errors = errors
        super().__init__(f"{path} cannot be used (nothing was changed):\n"
                         + "\n".join(f"  {e}" for e in errors))


@dataclass(frozen=True)
class MapLine:
    line: int
    column: str  # one of MAP_ID_COLUMNS
    row_id: int
    email: str

    @property
    def what(self):
        return f"{MAP_ID_COLUMNS[self.column]} {self.row_id}"


def read_map(path):
    """The map file's lines; MapFileError lists every malformed line (nothing is guessed)."""
    errors, lines, seen = [], [], {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            records = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MapFileError(path, [f"not a UTF-8 CSV file ({exc})"]) from None
    records = [(n, r) for n, r in enumerate(records, start=1) if any(c.strip() for c in r)]
    if not records:
        raise MapFileError(path, [f"the file is empty; its header must be {MAP_HEADERS}"])
    header_line, header = records[0]
    names = [h.strip().lower() for h in header]
    if ("email" not in names or not set(names) & set(MAP_ID_COLUMNS)
            or set(names) - {"email", *MAP_ID_COLUMNS} or len(set(names)) != len(names)):
        raise MapFileError(path, [f"line {header_line}: the header must be {MAP_HEADERS}, "
                                  f"not `{','.join(header)}`"])
    for n, record in records[1:]:
        if len(record) != len(names):
            errors.append(f"line {n}: {len(record)} fields, the header has {len(names)}")
            continue
        cells = {name: value.strip() for name, value in zip(names, record)}
        given = [column for column in MAP_ID_COLUMNS if cells.get(column)]
        if len(given) != 1:
            id_columns = ", ".join(c for c in names if c != "email")
            errors.append(f"line {n}: give exactly one of {id_columns}")
            continue
        column = given[0]
        raw_id, email = cells[column], normalise_email(cells["email"])
        if not raw_id.isdigit() or int(raw_id) == 0:
            errors.append(f"line {n}: {column} {raw_id!r} is not a row id")
            continue
        if "@" not in email:
            errors.append(f"line {n}: {cells['email']!r} is not an email address")
            continue
        mapped = MapLine(n, column, int(raw_id), email)
        earlier = seen.get((column, mapped.row_id))
        if earlier is None:
            seen[(column, mapped.row_id)] = mapped
            lines.append(mapped)
        elif earlier.email != email:
            errors.append(f"line {n}: {mapped.what} is mapped to {email} here and to "
                          f"{earlier.email} on line {earlier.line}")
    if errors:
        raise MapFileError(path, errors)
    if not lines:
        raise MapFileError(path, ["the file maps nothing (only a header)"])
    return lines


@dataclass(frozen=True)
class LedgerCount:
    """What the backfill must not change, over the rows that existed when it started."""

    transactions: int
    amount_sum: Decimal
    import_batches: int
    unowned_transactions: int
    unowned_import_batches: int


@dataclass(frozen=True)
class MixedBatch:
    """An import batch some of whose transactions go (or went) to other owners."""

    batch_id: int
    owner: int
    others: tuple  # (transaction id, its owner), by transaction id


@dataclass
class Plan:
    emails: dict                      # user id -> email, for every user named
    default_owner: Optional[int]
    batch_owners: dict                # unowned import batch id -> new owner
    transaction_owners: dict          # unowned transaction id -> new owner (map lines)
    assigned: dict                    # owner -> Counter(import_batches=, transactions=)
    expected_unowned_transactions: int
    expected_unowned_import_batches: int
    before: LedgerCount
    max_id: Optional[int]             # rows above it were created after the start
    null_id_range: Optional[tuple]    # (lowest, highest) unowned transaction id
    mixed_batches: list = field(default_factory=list)  # MixedBatch, by batch id
    problems: list = field(default_factory=list)
    already_done: int = 0             # map lines whose row already has the mapped owner

    @property
    def transactions_to_assign(self):
        return self.before.unowned_transactions - self.expected_unowned_transactions

    @property
    def import_batches_to_assign(self):
        return self.before.unowned_import_batches - self.expected_unowned_import_batches

    @property
    def owner_ids(self):
        return set(self.assigned)


def require_owner_column():
    tables = schema.table_names()
    missing = [t for t in schema.BACKFILLED_TABLES if t not in tables]
    if missing:
        raise BackfillError(f"{schema.database_label()} has no {', '.join(missing)} table: "
                            "run `flask db upgrade` first.")
    if not all(schema.has_owner_column(t) for t in schema.BACKFILLED_TABLES):
        raise BackfillError(
            f"The database is at revision {schema.current_revision()}: its rows have no owner "
            "column yet. Run `flask db upgrade` first (it applies "
            f"{schema.OWNER_NULLABLE_REVISION} and stops before NOT NULL), then the backfill.")


def make_plan(owner_email=None, map_lines=()):
    """Work out, without writing anything, who gets which row; problems are collected."""
    require_owner_column()
    now = _read_ownership(map_lines)
    default_owner = None
    if owner_email:
        default_owner = now.user_ids.get(normalise_email(owner_email))
        if default_owner is None:
            raise BackfillError(f"--owner: there is no user {normalise_email(owner_email)} "
                                "(create it with `flask users create`); nothing was changed.")
    mapped = _resolve_map(map_lines, now)
    assigned, unowned_transactions_left, unowned_batches_left = _tally(now, mapped, default_owner)
    return Plan(
        emails={uid: email for email, uid in now.user_ids.items()}, default_owner=default_owner,
        batch_owners=mapped.batch_owners, transaction_owners=mapped.transaction_owners,
        assigned=assigned, expected_unowned_transactions=unowned_transactions_left,
        expected_unowned_import_batches=unowned_batches_left, before=now.ledger,
        max_id=now.max_id, null_id_range=now.null_id_range,
        mixed_batches=_mixed_batches(now, mapped, default_owner), problems=mapped.problems,
        already_done=mapped.already_done,
    )


@dataclass
class _Ownership:
    """Who owns what now, as far as the plan needs it."""

    user_ids: dict            # email -> id
    batch_owner: dict         # import batch id -> owner id or None
    named_transactions: dict  # id -> (owner id or None, import batch id), for map lines
    unowned_by_batch: dict    # import batch id (or None) -> unowned transactions in it
    # (id, owner id, import batch id) of owned transactions whose batch is not theirs
    # (owned by someone else, or not owned yet): an earlier run's transaction lines.
    owned_in_other_batches: list
    max_id: Optional[int]
    null_id_range: Optional[tuple]
    ledger: LedgerCount


def _read_ownership(map_lines):
    named = [m.row_id for m in map_lines if m.column == "transaction_id"]
    with schema.engine().connect() as conn:
        max_id = conn.execute(sa.select(sa.func.max(ledger_t.c.id))).scalar()
        lowest, highest = conn.execute(
            sa.select(sa.func.min(ledger_t.c.id), sa.func.max(ledger_t.c.id))
            .where(ledger_t.c.user_id.is_(None))).one()
        return _Ownership(
            user_ids=dict(conn.execute(sa.select(users_t.c.email, users_t.c.id)).all()),
            batch_owner=dict(conn.execute(sa.select(batches_t.c.id, batches_t.c.user_id)).all()),
            named_transactions=_transactions_by_id(conn, named),
            unowned_by_batch=dict(conn.execute(
                sa.select(ledger_t.c.import_batch_id, sa.func.count())
                .where(ledger_t.c.user_id.is_(None)).group_by(ledger_t.c.import_batch_id)).all()),
            owned_in_other_batches=conn.execute(
                sa.select(ledger_t.c.id, ledger_t.c.user_id, ledger_t.c.import_batch_id)
                .join(batches_t, batches_t.c.id == ledger_t.c.import_batch_id)
                .where(ledger_t.c.user_id.is_not(None),
                       sa.or_(batches_t.c.user_id.is_(None),
                              batches_t.c.user_id != ledger_t.c.user_id))).all(),
            max_id=max_id,
            null_id_range=(lowest, highest) if lowest is not None else None,
            ledger=_ledger_count(conn, max_id),
        )


@dataclass
class _MappedOwners:
    batch_owners: dict = field(default_factory=dict)        # unowned batch id -> owner
    transaction_owners: dict = field(default_factory=dict)  # unowned transaction id -> owner
    explicit_by_batch: Counter = field(default_factory=Counter)
    problems: list = field(default_factory=list)
    already_done: int = 0


def _resolve_map(map_lines, now):
    mapped = _MappedOwners()
    emails = {uid: email for email, uid in now.user_ids.items()}
    for line in map_lines:
        if line.column == "import_batch_id":
            exists, batch_id = line.row_id in now.batch_owner, None
            owner_now = now.batch_owner.get(line.row_id)
        else:
            exists = line.row_id in now.named_transactions
            owner_now, batch_id = now.named_transactions.get(line.row_id, (None, None))
        uid = now.user_ids.get(line.email)
        if uid is None:
            mapped.problems.append(f"line {line.line}: {line.what}: there is no user {line.email}")
        elif not exists:
            mapped.problems.append(f"line {line.line}: there is no {line.what}")
        elif owner_now == uid:
            mapped.already_done += 1
        elif owner_now is not None:
            mapped.problems.append(
                f"line {line.line}: {line.what} is already owned by "
                f"{emails.get(owner_now, f'user {owner_now}')}, not {line.email}")
        elif line.column == "import_batch_id":
            mapped.batch_owners[line.row_id] = uid
        else:
            mapped.transaction_owners[line.row_id] = uid
            mapped.explicit_by_batch[batch_id] += 1
    return mapped


def _tally(now, mapped, default_owner):
    """Rows each owner gets, and how many transactions and import batches stay unowned."""
    assigned = defaultdict(Counter)
    for uid in mapped.batch_owners.values():
        assigned[uid]["import_batches"] += 1
    batches_left = 0
    for batch_id, owner in now.batch_owner.items():
        if owner is None and batch_id not in mapped.batch_owners:
            if default_owner is None:
                batches_left += 1
            else:
                assigned[default_owner]["import_batches"] += 1
    for uid in mapped.transaction_owners.values():
        assigned[uid]["transactions"] += 1
    transactions_left = 0
    for batch_id, unowned in now.unowned_by_batch.items():
        unowned -= mapped.explicit_by_batch[batch_id]
        owner = default_owner
        if batch_id is not None:
            owner = now.batch_owner[batch_id] or mapped.batch_owners.get(batch_id) or default_owner
        if owner is None:
            transactions_left += unowned
        elif unowned:
            assigned[owner]["transactions"] += unowned
    return dict(assigned), transactions_left, batches_left


def _mixed_batches(now, mapped, default_owner):
    """Import batches that will hold transactions of another owner than the batch's once
    the plan is applied: rows given away by this plan's transaction lines, and rows an
    earlier run gave away. A batch left unowned is listed by the run that gives it an owner."""
    def batch_owner(batch_id):
        return (now.batch_owner[batch_id] or mapped.batch_owners.get(batch_id)
                or default_owner)

    rows = [(tid, uid, now.named_transactions[tid][1])
            for tid, uid in mapped.transaction_owners.items()]
    others = defaultdict(list)
    for tid, uid, batch_id in rows + now.owned_in_other_batches:
        if batch_id is not None and batch_owner(batch_id) not in (None, uid):
            others[batch_id].append((tid, uid))
    return [MixedBatch(batch_id, batch_owner(batch_id), tuple(sorted(others[batch_id])))
            for batch_id in sorted(others)]


def _transactions_by_id(conn, ids):
    found = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        found.update((row.id, (row.user_id, row.import_batch_id)) for row in conn.execute(
            sa.select(ledger_t.c.id, ledger_t.c.user_id, ledger_t.c.import_batch_id)
            .where(ledger_t.c.id.in_(chunk))))
    return found


def _ledger_count(conn, max_id):
    in_scope = [ledger_t.c.id <= max_id] if max_id is not None else []
    count, total, unowned = conn.execute(
        sa.select(sa.func.count(), sa.func.sum(ledger_t.c.amount),
                  sa.func.count().filter(ledger_t.c.user_id.is_(None)))
        .where(*in_scope)).one()
    batches, unowned_batches = conn.execute(
        sa.select(sa.func.count(), sa.func.count().filter(batches_t.c.user_id.is_(None)))).one()
    return LedgerCount(transactions=count,
                       amount_sum=Decimal(total or 0).quantize(Decimal("0.01")),
                       import_batches=batches, unowned_transactions=unowned,
                       unowned_import_batches=unowned_batches)


# --- running it ---------------------------------------------------------------------------

def run(plan, batch_size=DEFAULT_BATCH_SIZE, on_batch=lambda assigned: None):
    """Apply the plan; `on_batch(n)` after each committed batch of transactions (and the
    backfill metrics: rows assigned, rows to go). A stop (KeyboardInterrupt, a lost
    connection) rolls back only the batch in flight."""
    if plan.problems:
        raise BackfillError("the plan has problems; nothing was changed")
    engine = schema.engine()
    with engine.begin() as conn:
        _assign_import_batches(conn, plan)
        if conn.dialect.name == "postgresql":
            # A freshly loaded or upgraded table may have no statistics; without them the
            # planner reads the whole `user_id IS NULL` index for every batch instead of
            # walking the id range, and the backfill slows down as it goes.
            conn.exec_driver_sql("ANALYZE transactions")
    remaining = plan.transactions_to_assign
    metrics.backfill_progress(0, remaining)
    try:
        if plan.null_id_range is not None:
            order = sorted(plan.transaction_owners)
            low, high = plan.null_id_range
            for start in range(low, high + 1, batch_size):
                stop = min(start + batch_size, high + 1)
                explicit = order[bisect_left(order, start):bisect_left(order, stop)]
                with engine.begin() as conn:
                    assigned = _assign_range(conn, plan, start, stop, explicit)
                remaining -= assigned
                metrics.backfill_progress(assigned, remaining)
                on_batch(assigned)
    finally:
        # Stopped or not, the batches committed so far moved rows to their owners (and off
        # the shared ledger when an owner is isolated): what was cached before is stale.
        _invalidate_cached_data(plan.owner_ids)


def _assign_import_batches(conn, plan):
    by_owner = defaultdict(list)
    for batch_id, uid in plan.batch_owners.items():
        by_owner[uid].append(batch_id)
    for uid, batch_ids in by_owner.items():
        conn.execute(sa.update(batches_t).values(user_id=uid).where(
            batches_t.c.id.in_(batch_ids), batches_t.c.user_id.is_(None)))
    if plan.default_owner is not None:
        conn.execute(sa.update(batches_t).values(user_id=plan.default_owner)
                     .where(batches_t.c.user_id.is_(None)))


def _assign_range(conn, plan, start, stop, explicit_ids):
    """Assign the unowned transactions with start <= id < stop; returns how many."""
    unowned_in_range = (ledger_t.c.id >= start, ledger_t.c.id < stop, ledger_t.c.user_id.is_(None))
    assigned = 0
    by_owner = defaultdict(list)
    for transaction_id in explicit_ids:
        by_owner[plan.transaction_owners[transaction_id]].append(transaction_id)
    for uid, ids in by_owner.items():
        assigned += conn.execute(sa.update(ledger_t).values(user_id=uid).where(
            ledger_t.c.id.in_(ids), ledger_t.c.user_id.is_(None))).rowcount
    batch_owner = (sa.select(batches_t.c.user_id)
                   .where(batches_t.c.id == ledger_t.c.import_batch_id).scalar_subquery())
    owned_batches = sa.select(batches_t.c.id).where(batches_t.c.user_id.is_not(None))
    assigned += conn.execute(sa.update(ledger_t).values(user_id=batch_owner).where(
        *unowned_in_range, ledger_t.c.import_batch_id.in_(owned_batches))).rowcount
    if plan.default_owner is not None:
        assigned += conn.execute(sa.update(ledger_t).values(user_id=plan.default_owner)
                                 .where(*unowned_in_range)).rowcount
    return assigned


def _invalidate_cached_data(owner_ids):
    """The new owners' isolated caches were built without these rows: make them stale."""
    try:
        invalidate_namespaces(owner_ids)
    except Exception as exc:  # the rows are committed; a stale cache expires on its own
        log.warning("could not invalidate cached data after the backfill: %s", exc)


# --- the count check ----------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    name: str
    expected: object
    actual: object
    expected_as: str = "before"  # what the expected value is: the count before, or the plan

    @property
    def ok(self):
        return self.expected == self.actual


def count_check(plan):
    """Compare the ledger now with the plan: nothing lost, nothing changed, owners as planned."""
    with schema.engine().connect() as conn:
        after = _ledger_count(conn, plan.max_id)
    before = plan.before
    return [
        Check("transactions", before.transactions, after.transactions),
        Check("sum of amounts", before.amount_sum, after.amount_sum),
        Check("import batches", before.import_batches, after.import_batches),
        Check("unowned transactions", plan.expected_unowned_transactions,
              after.unowned_transactions, "planned"),
        Check("unowned import batches", plan.expected_unowned_import_batches,
              after.unowned_import_batches, "planned"),
    ]


# --- what the command prints --------------------------------------------------------------

def describe_plan(plan, dry_run):
    before = plan.before
    title = "Backfill plan (dry run: nothing is changed)" if dry_run else "Backfill plan"
    lines = [title,
             f"  unowned now: {before.unowned_transactions} of {before.transactions} transactions, "
             f"{before.unowned_import_batches} of {before.import_batches} import batches"]
    if plan.assigned:
        width = max(len(plan.emails[uid]) for uid in plan.assigned) + 2
        lines.append(f"  {'owner':<{width}}{'import batches':>15}{'transactions':>14}")
        for uid in sorted(plan.assigned, key=plan.emails.get):
            counts = plan.assigned[uid]
            lines.append(f"  {plan.emails[uid]:<{width}}{counts['import_batches']:>15}"
                         f"{counts['transactions']:>14}")
    lines.append(f"  left unowned: {plan.expected_unowned_transactions} transactions, "
                 f"{plan.expected_unowned_import_batches} import batches")
    if plan.already_done:
        lines.append(f"  {plan.already_done} map line(s) already applied "
                     "(the row has the mapped owner: an earlier run)")
    lines += describe_mixed_batches(plan)
    if plan.expected_unowned_transactions or plan.expected_unowned_import_batches:
        lines.append("  `flask db upgrade` refuses NOT NULL until they have owners "
                     "(add --owner EMAIL for the rest).")
    return lines


def describe_mixed_batches(plan, limit=50):
    """Every transaction that goes to someone other than its import batch's owner: the
    operator learns here that migration 0007 will move it to a batch of its owner's own."""
    if not plan.mixed_batches:
        return []
    rows = sum(len(mixed.others) for mixed in plan.mixed_batches)
    lines = [f"  {rows} transaction(s) in {len(plan.mixed_batches)} import batch(es) go to "
             "someone other than the batch's owner; migration 0007 moves each to an import "
             "batch of its owner's own (same file name):"]
    listed = 0
    for mixed in plan.mixed_batches:
        per_owner = Counter(plan.emails[uid] for _, uid in mixed.others)
        counts = ", ".join(f"{n} to {email}" for email, n in sorted(per_owner.items()))
        lines.append(f"    import batch {mixed.batch_id} ({plan.emails[mixed.owner]}): "
                     f"{len(mixed.others)} transaction(s) go to others: {counts}")
        for tid, uid in mixed.others:
            if listed < limit:
                lines.append(f"      transaction {tid} of import batch {mixed.batch_id} "
                             f"({plan.emails[mixed.owner]}) goes to {plan.emails[uid]}")
            listed += 1
    if listed > limit:
        lines.append(f"      ... and {listed - limit} more transaction(s)")
    return lines


def describe_problems(problems, limit=50):
    lines = [f"{len(problems)} map line(s) cannot be applied, so nothing was changed:"]
    lines += [f"  {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    lines.append("Fix the file (or create the missing users with `flask users create`) "
                 "and run the backfill again.")
    return lines


def describe_check(checks):
    lines = ["Count check:"]
    for check in checks:
        verdict = "ok" if check.ok else "MISMATCH"
        lines.append(f"  {check.name:<24}{check.expected_as:>8} {check.expected!s:>14}"
                     f"   now {check.actual!s:>14}   {verdict}")
    return lines
