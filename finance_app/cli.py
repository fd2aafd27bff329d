"""Ops commands (`flask ...`): users, demo data, and the isolation rollout."""
import click
from flask import current_app
from flask.cli import AppGroup

from .extensions import db
from .isolation import unscoped


def register_cli(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)


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

    Also defines USE_USER_ISOLATION with only cohort `staff` enabled, if it is not defined
    yet, so the demo shows a rollout in progress.
    """
    from .auth.service import hash_password
    from .demo import seed_demo

    with unscoped("flask demo seed"):
        users, rows = seed_demo(hash_password)
    flags = current_app.extensions["flags"]
    defined = flags.define_isolation_if_missing(cohorts=["staff"])
    click.echo(f"Demo data: {users} users and {rows} transactions created "
               f"(existing ones kept). Password for all: demo-password.")
    if defined:
        click.echo("Flag USE_USER_ISOLATION defined with cohort 'staff' enabled.")
    db.session.remove()
