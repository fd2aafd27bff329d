"""Flask-Migrate, loaded the first time migrations are used.

Flask-Migrate imports alembic (and alembic mako and pygments): about 12 MB of every worker's
memory, for code a worker serving requests never runs. So `install` puts stand-ins where
Flask-Migrate would put its own things, and the first use of either loads it for real:

- `app.extensions["migrate"]`, which `flask_migrate.upgrade()` & co., the preflight and the
  ops code read (`.migrate.get_config()`, `.directory`, ...);
- the `flask db …` command group.

Whatever reads them then gets Flask-Migrate's own objects: nothing here re-implements it.
"""
import click


def install(app, db, directory):
    app.extensions["migrate"] = _DeferredConfig(app, db, directory)
    app.cli.add_command(_DeferredDbGroup(app))


def _load(app):
    """Flask-Migrate's own `init_app` on `app` (once): its config replaces the stand-in in
    `app.extensions` and its `db` group replaces the stand-in group."""
    stand_in = app.extensions["migrate"]
    if isinstance(stand_in, _DeferredConfig):
        from flask_migrate import Migrate

        Migrate(app, stand_in.db, stand_in.directory)
    return app.extensions["migrate"]


class _DeferredConfig:
    """Stands in `app.extensions["migrate"]` until an attribute beyond these is asked for."""

    def __init__(self, app, db, directory):
        self._app, self.db, self.directory = app, db, str(directory)

    def __getattr__(self, name):  # only called for what __init__ did not set
        return getattr(_load(self._app), name)


class _DeferredDbGroup(click.Command):
    """`flask db`: named in `flask --help`; run, it is Flask-Migrate's own `db` group with
    all its options and commands (click runs the command of the context made here)."""

    def __init__(self, app):
        super().__init__("db", help="Perform database migrations.")
        self._app = app

    def make_context(self, info_name, args, parent=None, **extra):
        _load(self._app)
        from flask_migrate.cli import db as real_group

        return real_group.make_context(info_name, args, parent=parent, **extra)
