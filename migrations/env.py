"""Alembic environment for Flask-Migrate.

Batch mode (SQLite cannot ALTER most things) and one transaction per migration, so that a
migration that refuses (revision 3 while unowned rows remain) leaves the earlier ones applied.
"""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def get_metadata():
    return target_db.metadata


def run_migrations_offline():
    context.configure(
        url=str(target_db.engine.url).replace("%", "%%"),
        target_metadata=get_metadata(),
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("render_as_batch", True)
    conf_args.setdefault("transaction_per_migration", True)
    conf_args.setdefault("compare_type", True)

    connectable = target_db.engine
    with connectable.connect() as connection:
        if connection.dialect.name != "sqlite":
            _run(connection, conf_args)
            return
        # Batch mode rebuilds a table on SQLite (create a copy, copy rows, DROP, rename). With
        # foreign keys on (the app turns them on for every connection) that DROP deletes the
        # table's rows first, and ON DELETE CASCADE takes the referencing rows with them:
        # rebuilding import_batches would delete every imported transaction. So foreign keys
        # are off while migrating (the pragma is a no-op inside a transaction, hence the
        # commits), each migration is checked with `PRAGMA foreign_key_check` before it
        # commits, and they are back on before the connection returns to the pool.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        conf_args["on_version_apply"] = (
            *conf_args.get("on_version_apply", ()), _sqlite_foreign_key_check,
        )
        try:
            _run(connection, conf_args)
        except BaseException:
            connection.rollback()
            raise
        else:
            connection.commit()
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _run(connection, conf_args):
    context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
    with context.begin_transaction():
        context.run_migrations()
    if connection.dialect.name == "postgresql":
        _keep_the_wall_up(connection)


def _keep_the_wall_up(connection):
    """Once the wall exists (migration 0012), every upgrade ends with the grants and policies
    matching the tables it left: an owned table a later migration adds is covered with no
    code of its own (isolation/db_wall.py)."""
    from finance_app.isolation.db_wall import ensure_wall, wall_present

    if connection.in_transaction():
        connection.commit()
    with connection.begin():
        if wall_present(connection):
            ensure_wall(connection)


def _sqlite_foreign_key_check(ctx, step, heads, run_args):
    violations = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if violations:
        shown = ", ".join(f"{table} rowid {rowid} -> {parent}"
                          for table, rowid, parent, _ in violations[:10])
        raise RuntimeError(f"Migration {step.up_revision_id or step.down_revision_ids} left "
                           f"{len(violations)} foreign key violations: {shown}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
