"""Cohorts: listing with users and isolation state, creating, moving users one by one and in
bulk (pasted emails or an email domain), and reverting moves."""
import pytest

from tests.admin.support import (
    REASON,
    audit_count,
    audit_log,
    cohort_of,
    cohort_rows,
    own_rows,
    revert,
    seen_descriptions,
    shared_ledger,
)
from tests.conftest import add_user, set_isolation


def emails(row):
    return [u["email"] for u in row["users"]]


def test_list_names_users_and_state(app, people, admin):
    rows = cohort_rows(admin)
    assert set(rows) == {"beta", "general", "staff"}
    assert emails(rows["staff"]) == ["admin@example.com", "alice@example.com"]
    assert rows["beta"]["users"] == [{"id": people.ids["bob"], "email": "bob@example.com"}]
    assert [rows[c]["isolation"] for c in ("staff", "beta", "general")] == ["on", "off", "off"]
    # Aggregates and user lists only: nobody's transactions.
    listing = admin.get("/api/admin/cohorts").text
    assert "coffee" not in listing and "salary" not in listing

    set_isolation(app, ["staff"], 30)
    rows = cohort_rows(admin)
    assert [rows[c]["isolation"] for c in ("staff", "beta", "general")] == ["on", "partial",
                                                                            "partial"]
    set_isolation(app, ["staff"], 100)
    assert {row["isolation"] for row in cohort_rows(admin).values()} == {"on"}


def test_cohorts_named_only_by_the_flag_or_by_users_are_listed(app, people, admin):
    add_user(app, "dana@example.com", cohort="nightly")  # e.g. `flask users create --cohort`
    set_isolation(app, ["staff", "ops"])  # ops enabled in Unleash, no user in it yet
    rows = cohort_rows(admin)
    assert emails(rows["nightly"]) == ["dana@example.com"] and rows["nightly"]["isolation"] == "off"
    assert rows["ops"] == {"name": "ops", "users": [], "isolation": "on", "enabled": True}


def test_create_cohort_before_it_has_users(app, people, admin):
    response = admin.post("/api/admin/cohorts", json={"name": "pilot", "reason": REASON})
    assert response.status_code == 201, response.text
    assert response.json["event"]["action"] == "cohort.exists"
    assert cohort_rows(admin)["pilot"] == {"name": "pilot", "users": [], "isolation": "off",
                                           "enabled": False}
    again = admin.post("/api/admin/cohorts", json={"name": "pilot", "reason": REASON})
    assert again.status_code == 409
    # A cohort only users carry exists too.
    carried = admin.post("/api/admin/cohorts", json={"name": "beta", "reason": REASON})
    assert carried.status_code == 409

    # Reverting the creation removes the (still empty) cohort.
    assert revert(admin, response.json["event"]["id"]).status_code == 201
    assert "pilot" not in cohort_rows(admin)


def test_a_cohort_with_users_cannot_be_removed_by_revert(app, people, admin):
    created = admin.post("/api/admin/cohorts", json={"name": "pilot", "reason": REASON})
    moved = admin.put(f"/api/admin/users/{people.ids['carol']}/cohort",
                      json={"cohort": "pilot", "reason": REASON})
    assert moved.status_code == 200
    events = audit_count(app)
    response = revert(admin, created.json["event"]["id"])
    assert response.status_code == 409 and response.json["error"]["code"] == "cohort_in_use"
    assert "pilot" in cohort_rows(admin) and audit_count(app) == events


@pytest.mark.parametrize("body, field", [
    ({"name": "Bad Name", "reason": REASON}, "name"),
    ({"name": "", "reason": REASON}, "name"),
    ({"name": "-dash", "reason": REASON}, "name"),
    ({"name": "x" * 65, "reason": REASON}, "name"),
    ({"name": 123, "reason": REASON}, "name"),
    ({"name": "pilot"}, "reason"),
    ({"name": "pilot", "reason": "   "}, "reason"),
    ({"name": "pilot", "reason": REASON, "owner": "me"}, "owner"),
])
def test_create_cohort_validation(app, admin, body, field):
    before = (cohort_rows(admin), audit_count(app))
    response = admin.post("/api/admin/cohorts", json=body)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert (cohort_rows(admin), audit_count(app)) == before


def test_create_cohort_needs_a_json_object(app, admin):
    response = admin.post("/api/admin/cohorts", data="name=pilot",
                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "pilot" not in cohort_rows(admin)


def test_move_one_user_takes_effect_on_their_next_request(app, people, admin):
    set_isolation(app, ["beta"])
    bob = people.client("bob")  # signed in before the move
    assert seen_descriptions(bob) == own_rows("bob")

    response = admin.put(f"/api/admin/users/{people.ids['bob']}/cohort",
                         json={"cohort": "general", "reason": REASON})
    assert response.status_code == 200, response.text
    assert response.json["user"] == {"id": people.ids["bob"], "email": "bob@example.com",
                                     "cohort": "general"}
    event = response.json["event"]
    assert event["before"] == {"cohorts": {str(people.ids["bob"]): "beta"}}
    assert event["after"] == {"cohorts": {str(people.ids["bob"]): "general"}}
    assert event["target"] == "bob@example.com" and event["reason"] == REASON
    # Same session, next request: the shared ledger (nobody but beta is isolated).
    assert seen_descriptions(bob) == shared_ledger(isolated=())

    # Moving to where the user is changes nothing and records nothing.
    events = audit_count(app)
    same = admin.put(f"/api/admin/users/{people.ids['bob']}/cohort",
                     json={"cohort": "general", "reason": REASON})
    assert same.status_code == 200 and same.json["changed"] is False
    assert audit_count(app) == events

    # Revert: bob is back in beta, isolated again on his next request.
    assert revert(admin, event["id"]).status_code == 201
    assert cohort_of(app, people.ids["bob"]) == "beta"
    assert seen_descriptions(bob) == own_rows("bob")


@pytest.mark.parametrize("path_user, body, status, field", [
    ("missing", {"cohort": "beta", "reason": REASON}, 404, None),
    ("carol", {"cohort": "nowhere", "reason": REASON}, 422, "cohort"),
    ("carol", {"cohort": "beta"}, 422, "reason"),
    ("carol", {"cohort": "", "reason": REASON}, 422, "cohort"),
    ("carol", {"cohort": ["beta"], "reason": REASON}, 422, "cohort"),
])
def test_move_one_user_refusals(app, people, admin, path_user, body, status, field):
    user_id = people.ids.get(path_user, 99999)
    events = audit_count(app)
    response = admin.put(f"/api/admin/users/{user_id}/cohort", json=body)
    assert response.status_code == status
    assert response.json["error"].get("field") == field
    assert cohort_of(app, people.ids["carol"]) == "general" and audit_count(app) == events


def test_bulk_move_by_pasted_emails_reports_unknown_ones(app, people, admin):
    pasted = "Carol@Example.com\n nobody@example.com; alice@example.com, bob@example.com,,"
    response = admin.post("/api/admin/cohorts/beta/users", json={"emails": pasted,
                                                                 "reason": REASON})
    assert response.status_code == 200, response.text
    body = response.json
    assert body["unknown"] == ["nobody@example.com"]
    assert body["already_there"] == ["bob@example.com"]
    assert sorted((m["email"], m["from"]) for m in body["moved"]) == [
        ("alice@example.com", "staff"), ("carol@example.com", "general")]
    assert emails(cohort_rows(admin)["beta"]) == ["alice@example.com", "bob@example.com",
                                                  "carol@example.com"]
    # One event for the whole move, and one revert puts everyone back where they were.
    event = audit_log(admin)[0]
    assert event["id"] == body["event"]["id"] and event["action"] == "users.cohort"
    assert revert(admin, event["id"]).status_code == 201
    assert cohort_of(app, people.ids["alice"]) == "staff"
    assert cohort_of(app, people.ids["carol"]) == "general"
    assert cohort_of(app, people.ids["bob"]) == "beta"


def test_bulk_move_by_email_domain(app, people, admin):
    ids = {email: add_user(app, email) for email in
           ("x@corp.example", "y@corp.example", "z@other.example", "w@notcorp.example")}
    response = admin.post("/api/admin/cohorts/beta/users",
                          json={"domain": "@Corp.Example", "reason": REASON})
    assert response.status_code == 200, response.text
    assert sorted(m["email"] for m in response.json["moved"]) == ["x@corp.example",
                                                                  "y@corp.example"]
    assert {email: cohort_of(app, uid) for email, uid in ids.items()} == {
        "x@corp.example": "beta", "y@corp.example": "beta", "z@other.example": "general",
        "w@notcorp.example": "general"}

    # A domain nobody has moves nobody and records nothing.
    events = audit_count(app)
    nobody = admin.post("/api/admin/cohorts/beta/users",
                        json={"domain": "empty.example", "reason": REASON})
    assert nobody.status_code == 200 and nobody.json["moved"] == [] and nobody.json["event"] is None
    assert audit_count(app) == events


@pytest.mark.parametrize("body, field", [
    ({"reason": REASON}, "domain"),
    ({"emails": "carol@example.com", "domain": "example.com", "reason": REASON}, "domain"),
    ({"emails": " ,; ", "reason": REASON}, "domain"),
    ({"domain": "not a domain", "reason": REASON}, "domain"),
    ({"domain": "%", "reason": REASON}, "domain"),
    ({"emails": 42, "reason": REASON}, "emails"),
    ({"emails": ["x@example.com"] * 2 + [f"u{i}@example.com" for i in range(5001)],
      "reason": REASON}, "emails"),
    ({"emails": "carol@example.com"}, "reason"),
])
def test_bulk_move_validation(app, people, admin, body, field):
    events = audit_count(app)
    response = admin.post("/api/admin/cohorts/beta/users", json=body)
    assert response.status_code == 422, response.text
    assert response.json["error"]["field"].split(".")[0] == field
    assert cohort_of(app, people.ids["carol"]) == "general" and audit_count(app) == events


def test_bulk_move_to_an_unknown_cohort(app, people, admin):
    response = admin.post("/api/admin/cohorts/nowhere/users",
                          json={"emails": "carol@example.com", "reason": REASON})
    assert response.status_code == 422 and response.json["error"]["field"] == "cohort"
    assert cohort_of(app, people.ids["carol"]) == "general"


def test_revert_of_a_move_is_refused_once_the_user_moved_again(app, people, admin):
    carol = people.ids["carol"]
    first = admin.put(f"/api/admin/users/{carol}/cohort", json={"cohort": "beta", "reason": REASON})
    admin.put(f"/api/admin/users/{carol}/cohort", json={"cohort": "staff", "reason": REASON})
    events = audit_count(app)
    response = revert(admin, first.json["event"]["id"])
    assert response.status_code == 409 and response.json["error"]["code"] == "changed_since"
    assert cohort_of(app, carol) == "staff" and audit_count(app) == events
