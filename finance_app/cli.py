"""Ops commands (`flask ...`): users, demo data, and the isolation rollout."""
import click
from flask import current_app
from flask.cli import AppGroup

from .extensions import db
from .isolation import unscoped
from .rollout.backfill import DEFAULT_BATCH_SIZE
from .rollout.legacy import DEFAULT_ROWS, MAX_ROWS

# Who the audit log names for a lock change made from the command line.
LOCK_COMMAND = "flask isolation lock"


def register_cli(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(isolation_cli)
    app.cli.add_command(cache_cli)


@click.group("users", cls=AppGroup, help="Manage user accounts.")
def users_cli():
    pass


@users_cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Give the user the flag dashboard.")
@click.option("--cohort", default="general", show_default=True)
def create_user_command(email, password, admin, cohort):
    """Create a user."""
    from .auth.service import AccountError, create_user

    try:
        user = create_user(email, password, cohort=cohort, is_admin=admin)
    except AccountError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created user {user.id} {user.email} (cohort {user.cohort}"
               f"{', admin' if user.is_admin else ''}).")


@click.group("demo", cls=AppGroup, help="Demo data.")
def demo_cli():
    pass


@demo_cli.command("seed")
def demo_seed_command():
    """Create the demo users (password demo-password) with a year of transactions each.

    Also, if USE_USER_ISOLATION is not defined yet, defines it with cohorts `staff` and
    `newcomers` enabled and makes sign-ups join `newcomers`, so the demo shows a rollout in
    progress and a new account starts with an empty ledger of its own.
    """
    from .auth.service import hash_password
    from .demo import DEMO_ISOLATED_COHORTS, NEWCOMERS, seed_demo, seed_rollout

    with unscoped("flask demo seed"):
        users, rows = seed_demo(hash_password)
    defined = seed_rollout(current_app.extensions["flags"])
    click.echo(f"Demo data: {users} users and {rows} transactions created "
               f"(existing ones kept). Password for all: demo-password.")
    if defined:
        click.echo(f"Flag USE_USER_ISOLATION defined with cohorts "
                   f"{', '.join(DEMO_ISOLATED_COHORTS)} enabled; sign-ups join {NEWCOMERS}.")
    db.session.remove()


@demo_cli.command("legacy-db")
@click.option("--rows", type=click.IntRange(1, MAX_ROWS), default=DEFAULT_ROWS, show_default=True,
              help=f"Transactions in the shared ledger (at most {MAX_ROWS:,}).")
def demo_legacy_db_command(rows):
    """Build a legacy install to practise the rollout on, in the empty database DATABASE_URL
    names: the schema at revision 1, the demo users and a shared ledger of unowned rows."""
    from .auth.service import hash_password
    from .rollout.legacy import NotEmpty, make_legacy_install, refuse_unless_empty

    try:
        refuse_unless_empty()
        with click.progressbar(length=rows, label="Writing the shared ledger") as bar:
            install = make_legacy_install(rows, hash_password, on_progress=bar.update)
    except NotEmpty as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Legacy install at revision {install.revision}: {install.users} users "
               f"(password demo-password), {install.transactions} unowned transactions, "
               f"{len(install.import_batches)} import batches:")
    for batch_id, filename, row_count in install.import_batches:
        click.echo(f"  import batch {batch_id}: {filename} ({row_count} rows)")
    click.echo("Next: the \"Rollout runbook\" in README.md, starting with `flask db upgrade`.")


# --- the isolation rollout -------------------------------------------------------------------

@click.group("isolation", cls=AppGroup, help="The isolation rollout: backfill, status, lock.")
def isolation_cli():
    pass


@isolation_cli.command("backfill")
@click.option("--owner", metavar="EMAIL",
              help="Give every row still unowned (after --map) to this user.")
@click.option("--map", "map_file", type=click.Path(exists=True, dir_okay=False),
              help="CSV with the header import_batch_id,email and/or transaction_id,email.")
@click.option("--dry-run", is_flag=True, help="Print what would be assigned; change nothing.")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=DEFAULT_BATCH_SIZE,
              show_default=True,
              help="Transactions per database transaction.")
@click.pass_context
def isolation_backfill_command(ctx, owner, map_file, dry_run, batch_size):
    """Give the unowned rows of the legacy ledger their owners (revision 2 and later).

    Resumable: only rows without an owner are written, each batch in its own transaction,
    so after a stop the same command carries on where it was.
    """
    from .rollout import backfill

    if not owner and not map_file:
        raise click.UsageError("Give --owner EMAIL, --map FILE, or both.")
    with unscoped("ops: flask isolation backfill"):
        try:
            plan = backfill.make_plan(owner, backfill.read_map(map_file) if map_file else ())
        except backfill.BackfillError as exc:
            raise click.ClickException(str(exc)) from None
        for line in backfill.describe_plan(plan, dry_run):
            click.echo(line)
        if plan.problems:
            for line in backfill.describe_problems(plan.problems):
                click.echo(line, err=True)
            ctx.exit(1)
        if dry_run:
            return
        done = 0

        def committed(assigned):
            nonlocal done
            done += assigned
            bar.update(assigned)

        try:
            with click.progressbar(length=plan.transactions_to_assign,
                                   label="Assigning transactions") as bar:
                backfill.run(plan, batch_size, on_batch=committed)
        except KeyboardInterrupt:
            click.echo(f"\nInterrupted: {done} transactions were assigned in committed batches; "
                       "the batch in flight was rolled back. Run the same command again to "
                       "resume.", err=True)
            ctx.exit(130)
        checks = backfill.count_check(plan)
        for line in backfill.describe_check(checks):
            click.echo(line)
    if not all(check.ok for check in checks):
        raise click.ClickException("The count check FAILED: see the lines marked MISMATCH.")
    click.echo(f"Backfill done: {done} transactions and {plan.import_batches_to_assign} "
               "import batches assigned.")


@isolation_cli.command("status")
def isolation_status_command():
    """Revision, unowned rows, cohorts and their state, flag backend, lock, legacy cache
    keys and guard refusals."""
    from .rollout.status import describe_status, gather_status

    with unscoped("ops: flask isolation status", quiet=True):
        status = gather_status()
    for line in describe_status(status):
        click.echo(line)


@isolation_cli.command("lock")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--reason", default="(no --reason given)", show_default=True,
              help="Why, for the dashboard's audit log.")
def isolation_lock_command(state, reason):
    """Engage (on) or lift (off) the emergency data lock: every data endpoint answers 503.

    Works while the flag service is unreachable: the lock is an override in the app's
    database, which every process reads within FLAG_REFRESH_SECONDS. Lifting also switches
    off the EMERGENCY_DATA_LOCK flag if that holds the lock. Recorded in the audit log.
    """
    from .admin.changes import lock_held, set_lock
    from .isolation.decision import lock_sources
    from .isolation.flags import FlagServiceError

    try:
        event = set_lock(state == "on", reason, actor=LOCK_COMMAND)
    except FlagServiceError as exc:
        raise click.ClickException(str(exc)) from None
    sources = lock_sources()
    shown = "ON: every data endpoint answers 503" if lock_held(sources) else "off"
    click.echo(f"Emergency data lock: {shown}{'' if event else ' (it already was)'}. "
               "Every process follows within FLAG_REFRESH_SECONDS.")
    if sources["config"]:
        click.echo("EMERGENCY_DATA_LOCK is set in this environment: the lock stays on for "
                   "processes started with it, whatever the command says.")


# --- the shared cache ------------------------------------------------------------------------

@click.group("cache", cls=AppGroup, help="The shared cache.")
def cache_cli():
    pass


@cache_cli.command("purge-legacy")
@click.option("--dry-run", is_flag=True, help="Count the keys; delete nothing.")
def cache_purge_legacy_command(dry_run):
    """Delete the legacy (shared-ledger) data keys; user namespaces and internal keys stay.

    Redis is walked with SCAN in batches, never KEYS; the default file cache lists its files.
    """
    from .isolation.cache_keys import purge_legacy_data_keys

    try:
        count = purge_legacy_data_keys(dry_run=dry_run)
    except Exception as exc:  # e.g. Redis unreachable: say so, without a traceback
        raise click.ClickException(f"The cache could not be purged: {exc}") from None
    backend = current_app.config["CACHE_TYPE"].rsplit(".", 1)[-1]
    click.echo(f"{'Would delete' if dry_run else 'Deleted'} {count} legacy data "
               f"key{'' if count == 1 else 's'} ({backend}).")
