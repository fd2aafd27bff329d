"""The second wall: PostgreSQL row-level security under `scope()`.

`scope()`, the guard and the cache keys are the application's wall. Behind them, on
PostgreSQL, every owned table carries policies that admit exactly the rows `scope()` admits —
the viewer's own, and on the shared ledger the unowned rows and those of owners the flag does
not isolate — so a raw `text()` query, a Core statement on a plain connection or a bug in
`scope()` still cannot reach another user's rows.

How a statement meets the policies:

- Request code runs as `WALL_ROLE` (a role that owns no table and is subject to the
  policies): with the first statement of each transaction opened inside a request, this
  module sends `SET LOCAL ROLE` and the transaction's principal (`finance.viewer`), its
  isolation decision (`finance.isolated`) and who else is isolated (`finance.rule`, the flag
  definition as `visibility.py` translates it) — one `set_config` statement, run before that
  statement in the same round trip, after the transaction's BEGIN (finance_app/postgres.py).
  They are set by the app from the request's one decision (`decision.py`), never from
  request input (and quoted by psycopg all the same), and vanish when the transaction ends,
  so a pooled connection carries nothing into the next request.
- Ops commands, migrations, background threads and the named escape hatch
  `unscoped(reason)` (admin aggregates, identity lookups by token or session hash) run as the
  login role of DATABASE_URL, which owns the tables: a statement inside `unscoped()` in a
  request switches the transaction back to it (`SET LOCAL ROLE NONE`), and out again after.
- Unset settings admit nothing: a connection that is `WALL_ROLE` without a principal sees no
  owned row.

SQLite has no row-level security: there the application wall stands alone.

`ensure_wall(connection)` makes the database match: the role's grants, and RLS with the four
policies on every table whose `user_id` references `users` (models.Owned) — run by migration 0012 and after every
upgrade (migrations/env.py), so a new owned table gets its policies with no code of its own.
"""
from flask import has_request_context
from psycopg import sql
from sqlalchemy import event, text

from ..postgres import send_before_next_statement

from .decision import deciding_isolation, isolation_on, visibility_rule
from .escape import unscoped_reason
from .principal import loaded_principal
from .scoping import acting_for

WALL_ROLE = "finance_app"
_STATE = "finance_wall"  # connection.info: what this transaction was last set to
_PRESENT = "finance_wall_present"  # connection.info: this database has the wall
WALL_PRESENT = "SELECT to_regprocedure('finance_shared_owners()') IS NOT NULL"

# The owners whose rows are on this transaction's shared ledger: those `finance.rule` (the
# flag definition as IsolationRule.to_json() translates it) does not isolate — the SQL twin
# of IsolationRule.shared_owner_sql. No rule, or an untranslatable one: nobody's (fails
# closed, as scope() does). Set-based: the rule is unpacked once per statement (materialised
# alternatives and conditions), then each user is a few comparisons; a function called per
# user, parsing the rule each time, cost ~25 us a user (55 ms a statement at 2,000 users).
SHARED_OWNERS_FUNCTION = """
CREATE OR REPLACE FUNCTION finance_shared_owners()
RETURNS SETOF integer LANGUAGE sql STABLE PARALLEL SAFE
-- The planner guesses 100 elements for each jsonb_array_elements, and at that cost would
-- compile the statement with JIT: ~0.5 s, for what runs in a fraction of a millisecond.
SET jit = off AS $$
  WITH rule AS MATERIALIZED (
    SELECT r FROM (SELECT NULLIF(current_setting('finance.rule', true), '')::jsonb AS r) AS s
    WHERE (r->>'translatable')::boolean AND jsonb_typeof(r->'alternatives') = 'array'
  ), alternative AS MATERIALIZED (
    SELECT a.n, (a.value->>'percent')::int AS percent
    FROM rule, jsonb_array_elements(rule.r->'alternatives') WITH ORDINALITY AS a(value, n)
    WHERE (a.value->>'percent')::int > 0
  ), condition AS MATERIALIZED (
    SELECT a.n, c.value->>'field' AS field, (c.value->>'negated')::boolean AS negated,
           ARRAY(SELECT jsonb_array_elements_text(c.value->'values')) AS vals
    FROM rule, jsonb_array_elements(rule.r->'alternatives') WITH ORDINALITY AS a(value, n),
         jsonb_array_elements(a.value->'conditions') AS c(value)
  )
  SELECT u.id FROM users AS u
  WHERE EXISTS (SELECT 1 FROM rule)
    AND NOT EXISTS (  -- no alternative isolates u: one does when u is in its percentage and
                      -- fails none of its conditions
      SELECT 1 FROM alternative AS a
      WHERE (a.percent >= 100 OR u.rollout_bucket <= a.percent)
        AND NOT EXISTS (
          SELECT 1 FROM condition AS c
          WHERE c.n = a.n
            AND ((CASE c.field WHEN 'cohort' THEN u.cohort ELSE u.id::text END) = ANY (c.vals))
                = c.negated))
$$
"""
# What ensure_wall creates; and what earlier releases created, which it drops.
FUNCTIONS = ("finance_shared_owners()",)
RETIRED_FUNCTIONS = ("finance_owner_shared(jsonb, integer, text, integer)",)

# The settings are read once per statement (InitPlans), not once per row.
VIEWER = "(SELECT NULLIF(current_setting('finance.viewer', true), '')::integer)"
ON_SHARED_LEDGER = "(SELECT current_setting('finance.isolated', true) = 'off')"
VISIBLE = (f"(user_id = {VIEWER} OR ({ON_SHARED_LEDGER} AND "
           "(user_id IS NULL OR user_id IN (SELECT finance_shared_owners()))))")
# name: (command, USING, WITH CHECK). Rows are created only for the transaction's principal
# (scoping.py stamps them so); rows reached can be changed, never handed to someone unseen.
POLICIES = {
    "finance_wall_select": ("SELECT", VISIBLE, None),
    "finance_wall_insert": ("INSERT", None, f"user_id = {VIEWER}"),
    "finance_wall_update": ("UPDATE", VISIBLE, VISIBLE),
    "finance_wall_delete": ("DELETE", VISIBLE, None),
}


# --- the database side ------------------------------------------------------------------------

def create_role(connection):
    """`WALL_ROLE`, if the cluster has none yet (roles are cluster-wide: databases share it),
    and the login role's membership (it must be allowed to SET ROLE). Needs CREATEROLE; a
    DBA can create it beforehand instead (README)."""
    connection.execute(text(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WALL_ROLE}') THEN
            CREATE ROLE {WALL_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
          END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL;  -- another database's migration created it at the same moment
        END $$"""))
    connection.execute(text(f"""
        DO $$ BEGIN
          IF NOT pg_has_role(current_user, '{WALL_ROLE}', 'MEMBER') THEN
            EXECUTE 'GRANT {WALL_ROLE} TO ' || quote_ident(current_user);
          END IF;
        END $$"""))


def owned_table_names(connection):
    """The owned tables: those whose `user_id` references `users` (models.Owned's foreign
    key). A `user_id` that only records who did something (guard_events) is no owner: the
    dashboard counts every such row, whoever asks."""
    return connection.execute(text("""
        SELECT DISTINCT c.relname FROM pg_constraint AS k
        JOIN pg_class AS c ON c.oid = k.conrelid
        JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
        WHERE k.contype = 'f' AND k.confrelid = to_regclass('users') AND a.attname = 'user_id'
          AND c.relnamespace = to_regnamespace(current_schema())
        ORDER BY c.relname""")).scalars().all()


def walled_table_names(connection):
    """Tables that carry the wall's policies now (an earlier release may have walled more)."""
    return connection.execute(text(
        "SELECT DISTINCT tablename FROM pg_policies WHERE schemaname = current_schema() "
        "AND policyname LIKE 'finance_wall_%' ORDER BY tablename")).scalars().all()


def ensure_wall(connection):
    """Grants, functions, and RLS with the policies on every owned table. Idempotent."""
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {WALL_ROLE}"))
    connection.execute(text(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {WALL_ROLE}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {WALL_ROLE}"))
    connection.execute(text(SHARED_OWNERS_FUNCTION))
    for function in RETIRED_FUNCTIONS:
        connection.execute(text(f"DROP FUNCTION IF EXISTS {function}"))
    owned = owned_table_names(connection)
    _unwall([t for t in walled_table_names(connection) if t not in owned], connection)
    for table in owned:
        connection.execute(text(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY'))
        for name, (command, using, check) in POLICIES.items():
            connection.execute(text(f'DROP POLICY IF EXISTS {name} ON "{table}"'))
            clauses = (f" USING {using}" if using else "") + (f" WITH CHECK ({check})"
                                                               if check else "")
            connection.execute(text(f'CREATE POLICY {name} ON "{table}" AS PERMISSIVE FOR '
                                    f"{command} TO {WALL_ROLE}{clauses}"))


def wall_present(connection):
    return connection.execute(text(WALL_PRESENT)).scalar()


def remove_wall(connection):
    """Undo `ensure_wall` in this database. The role stays: it is the cluster's, and other
    databases may use it (README: dropping it)."""
    _unwall(walled_table_names(connection), connection)
    for function in (*FUNCTIONS, *RETIRED_FUNCTIONS):
        connection.execute(text(f"DROP FUNCTION IF EXISTS {function}"))
    connection.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {WALL_ROLE}"))
    connection.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {WALL_ROLE}"))
    connection.execute(text(f"REVOKE ALL ON SCHEMA public FROM {WALL_ROLE}"))


def _unwall(tables, connection):
    for table in tables:
        for name in POLICIES:
            connection.execute(text(f'DROP POLICY IF EXISTS {name} ON "{table}"'))
        connection.execute(text(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY'))


# --- the request side -------------------------------------------------------------------------

def install(engine):
    """Put every transaction a request opens on `engine` behind the wall (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        return
    event.listen(engine, "before_cursor_execute", _before_statement)
    # A new transaction starts as the login role with nothing set; a savepoint rolled back
    # takes back settings made inside it.
    for name in ("begin", "commit", "rollback", "rollback_savepoint"):
        event.listen(engine, name, _forget)


def _forget(conn, *args):
    # An invalidated connection (a statement interrupted, the server gone) is discarded,
    # with what it recorded: its `info` cannot be reached any more, nor needs to be.
    if not conn.invalidated:
        conn.info.pop(_STATE, None)


def wanted_settings():
    """What the current transaction must be set to: None (the login role) outside requests
    and inside `unscoped()`; otherwise (viewer, isolated, rule) from this request's one
    decision (rule None when isolated: only the viewer's own rows, whoever else is)."""
    if not has_request_context() or unscoped_reason() is not None:
        return None
    principal = loaded_principal()
    viewer = acting_for() or (principal.id if principal else None)
    # Before its principal is known (or without one) a request is isolated, as decision.py
    # decides anonymous requests: with no viewer that admits no owned row. So is a statement
    # made while deciding (the flag client reading its definitions on first use).
    if principal is None or deciding_isolation() or isolation_on():
        return (viewer, True, None)
    return (viewer, False, visibility_rule())


def _before_statement(conn, cursor, statement, parameters, context, executemany):
    wanted = wanted_settings()
    # Compared by the rule's digest: building its JSON is only for a transaction's first
    # statement (or a change of principal, decision or rule within it).
    key = None if wanted is None else (wanted[0], wanted[1], wanted[2] and wanted[2].digest)
    if conn.info.get(_STATE) == key:
        return
    if wanted is None or _has_wall(conn, cursor):
        # Not sent now: with the statement, in its round trip (finance_app/postgres.py).
        send_before_next_statement(conn, _settings(wanted))
    conn.info[_STATE] = key


def _has_wall(conn, cursor):
    """Whether the database has the wall yet. Mid-upgrade (before migration 0012) it has no
    role grants nor policies: the transaction stays the login role's, behind the application
    wall alone, rather than fail. Remembered per connection once true; asked again in each
    transaction until then, so the wall engages on the first one after the upgrade."""
    if not conn.info.get(_PRESENT):
        # A cursor of its own: the statement's may be a server-side one (a streamed export),
        # which would only DECLARE this, never run it.
        with cursor.connection.cursor() as asking:
            asking.execute(WALL_PRESENT)
            conn.info[_PRESENT] = asking.fetchone()[0]
    return conn.info[_PRESENT]


def _settings(wanted):
    """The statement that sets the transaction to `wanted`, its values as literals (quoted by
    psycopg): it travels in one round trip with others (a BEGIN, the statement itself)."""
    if wanted is None:
        return sql.SQL("SELECT set_config('role', 'none', true)")
    viewer, isolated, rule = wanted
    values = (WALL_ROLE, "" if viewer is None else str(viewer), "on" if isolated else "off",
              "" if rule is None else rule.to_json())
    return sql.SQL("SELECT set_config('role', {}, true), set_config('finance.viewer', {}, true), "
                   "set_config('finance.isolated', {}, true), set_config('finance.rule', {}, true)"
                   ).format(*map(sql.Literal, values))
