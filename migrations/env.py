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
    conf_args = current_app.extensions["migrate"].configure_args
    conf_args.setdefault("render_as_batch", True)
    conf_args.setdefault("transaction_per_migration", True)
    conf_args.setdefault("compare_type", True)

    connectable = target_db.engine
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
