"""The emergency lock engages and lifts in every process sharing the database, whether or not
the flag service can be reached (issue 11: with Unleash down it could only be engaged by the
environment and a restart).

Each test runs two apps on one database: the second stands in for another worker or host,
which only learns of the lock through its background reads (FLAG_REFRESH_SECONDS = 1).
"""

import pytest
from sqlalchemy import select

from finance_app.extensions import db
from finance_app.models import AuditEvent
from tests.conftest import add_user, app_on_fresh_database, login, make_app, set_isolation
from tests.support.unleash_server import (
    build_app, closed_port, eventually, reset_server,
)

REFRESH_SECONDS = 1
# Every process follows within FLAG_REFRESH_SECONDS, plus a margin for a busy machine.
FOLLOW_SECONDS = REFRESH_SECONDS + 3
REASON = "incident drill"


def data_status(client):
    return client.get("/api/transactions").status_code


def assert_everywhere(clients, status):
    eventually(lambda: all(data_status(c) == status for c in clients), timeout=FOLLOW_SECONDS)


def lock_events(app):
    with app.app_context():
        return [(e.actor_email, e.before, e.after, e.reason) for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "lock").order_by(AuditEvent.id)
        ).scalars()]


def lock_through_the_dashboard_then_lift_from_the_command_line(app, other):
    """The scenario both backends must pass: `app` is one process, `other` another."""
    add_user(app, "carol@example.com", "general")
    add_user(app, "admin@example.com", "staff", is_admin=True)
    carols = [login(app.test_client(), "carol@example.com"),
              login(other.test_client(), "carol@example.com")]
    admin = login(app.test_client(), "admin@example.com")
    assert_everywhere(carols, 200)

    response = admin.put("/api/admin/isolation/lock", json={"on": True, "reason": REASON})
    assert response.status_code == 200, response.text
    assert response.json["changed"] is True and response.json["isolation"]["lock"] is True
    assert data_status(carols[0]) == 503  # this process at once
    assert_everywhere(carols, 503)  # every other one within its refresh interval
    page = admin.get("/admin/flags")
    assert page.status_code == 200 and 'class="lock-state">locked' in page.text

    lifted = other.test_cli_runner().invoke(args=["isolation", "lock", "off",
                                                  "--reason", REASON])
    assert lifted.exit_code == 0, lifted.output
    assert "Emergency data lock: off" in lifted.output
    assert data_status(carols[1]) == 200
    assert_everywhere(carols, 200)
    assert lock_events(app) == [
        ("admin@example.com", {"on": False}, {"on": True}, REASON),
        ("flask isolation lock", {"on": True}, {"on": False}, REASON),
    ]


def test_lock_on_the_embedded_backend(app_with):
    app = app_with(FLAG_REFRESH_SECONDS=REFRESH_SECONDS)
    other = app_with(FLAG_REFRESH_SECONDS=REFRESH_SECONDS)  # another host, same database
    set_isolation(app, ["staff"])
    lock_through_the_dashboard_then_lift_from_the_command_line(app, other)


@pytest.mark.unleash
@pytest.mark.postgres
@pytest.mark.slow
def test_lock_while_unleash_is_down(tmp_path, private_unleash_server):
    server = private_unleash_server.server
    remote = dict(UNLEASH_URL=server.api_url, UNLEASH_API_TOKEN=server.backend_token,
                  UNLEASH_ADMIN_TOKEN=server.admin_token, FLAG_REFRESH_SECONDS=REFRESH_SECONDS)
    (tmp_path / "one").mkdir()
    with app_on_fresh_database(tmp_path / "one", "postgres", **remote) as app:
        other = make_app(tmp_path / "other", app.config["SQLALCHEMY_DATABASE_URI"], **remote)
        try:
            set_isolation(app, ["staff"])
            private_unleash_server.stop()
            with app.app_context():
                assert app.extensions["flags"].health()["ok"] is False
            lock_through_the_dashboard_then_lift_from_the_command_line(app, other)
        finally:
            other.extensions["flags"].close()
            with other.app_context():
                db.engine.dispose()


def test_lifting_the_lock_switches_the_lock_flag_off_too(app, people):
    """A lock engaged by the EMERGENCY_DATA_LOCK flag (from Unleash's UI, or by an earlier
    release) is lifted by the same command as one engaged here."""
    with app.app_context():
        app.extensions["flags"].set_lock(True)
    carol, admin = people.client("carol"), people.client("admin")
    assert data_status(carol) == 503
    response = admin.put("/api/admin/isolation/lock", json={"on": False, "reason": REASON})
    assert response.status_code == 200, response.text
    assert response.json["changed"] is True and response.json["isolation"]["lock"] is False
    with app.app_context():
        assert app.extensions["flags"].lock_state() is False
    assert data_status(carol) == 200


@pytest.mark.unleash
@pytest.mark.postgres
def test_lifting_refuses_while_an_unreachable_lock_flag_holds_the_lock(
        tmp_path, migrated_sqlite, unleash_server):
    reset_server(unleash_server)
    app = build_app(tmp_path, migrated_sqlite, unleash_server)
    with app.app_context():
        app.extensions["flags"].set_isolation(["staff"], 0)
        app.extensions["flags"].set_lock(True)
    app.extensions["flags"].close()
    # Restarted with the server out of reach: the last-known definitions hold the lock.
    down = build_app(tmp_path, migrated_sqlite, unleash_server,
                     url=f"http://127.0.0.1:{closed_port()}/api")
    try:
        add_user(down, "carol@example.com", "general")
        add_user(down, "admin@example.com", "staff", is_admin=True)
        carol = login(down.test_client(), "carol@example.com")
        admin = login(down.test_client(), "admin@example.com")
        assert data_status(carol) == 503

        response = admin.put("/api/admin/isolation/lock", json={"on": False, "reason": REASON})
        assert response.status_code == 503, response.text
        assert response.json["error"]["code"] == "flag_service_error"
        assert "EMERGENCY_DATA_LOCK" in response.json["error"]["message"]
        assert data_status(carol) == 503  # nothing was lifted, nothing recorded
        assert lock_events(down) == []
    finally:
        down.extensions["flags"].close()
