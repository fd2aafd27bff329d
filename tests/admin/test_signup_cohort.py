"""The cohort sign-ups join: chosen by the admin (audited, revertable), used by web and JSON
sign-up, and set up by the demo so that a new account starts on an empty ledger of its own.

Before, a brand-new account landed in `general`, on the shared ledger, and its first page
showed strangers' transactions."""
import re

from finance_app.demo import DEMO_USERS
from tests.admin.support import REASON, audit_count, audit_log, cohort_rows, enable, revert
from tests.admin.test_admin_web import flash, post
from tests.conftest import PASSWORD, csrf_token, login


def signup_setting(admin):
    response = admin.get("/api/admin/signup-cohort")
    assert response.status_code == 200, response.text
    return response.json


def choose(admin, cohort, **extra):
    return admin.put("/api/admin/signup-cohort", json={"cohort": cohort, "reason": REASON,
                                                      **extra})


def web_signup(app, email):
    """Sign up through the form, then sign in; the signed-in client."""
    client = app.test_client()
    response = client.post("/signup", data={"email": email, "password": PASSWORD,
                                            "csrf_token": csrf_token(client, "/signup")})
    assert response.status_code == 302, response.text
    return login(client, email)


def json_signup(app, email):
    """Sign up through the API; (the account, as /api/me shows it, and a client signed in
    with a token)."""
    client = app.test_client()
    signed_up = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert signed_up.status_code == 202, signed_up.text
    token = client.post("/api/auth/tokens", json={"email": email, "password": PASSWORD})
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token.json['token']}"
    return client.get("/api/me").json, client


def seen(client):
    response = client.get("/api/transactions?limit=500")
    assert response.status_code == 200, response.text
    return [row["description"] for row in response.json["items"]]


def test_sign_ups_join_the_chosen_cohort_audited_and_revertable(app, people, admin):
    assert signup_setting(admin) == {"cohort": "general", "isolation": "off"}
    assert web_signup(app, "first@example.com").get("/api/me").json["cohort"] == "general"

    admin.post("/api/admin/cohorts", json={"name": "newcomers", "reason": REASON})
    assert enable(admin, "newcomers").status_code == 200
    events = audit_count(app)
    response = choose(admin, "newcomers")
    assert response.status_code == 200, response.text
    assert response.json["changed"] is True
    assert response.json["signup"] == {"cohort": "newcomers", "isolation": "on"}
    event = response.json["event"]
    assert (event["action"], event["target"]) == ("signup.cohort", "signup")
    assert (event["before"], event["after"]) == ({"cohort": "general"}, {"cohort": "newcomers"})
    assert event["summary"] == "Sign-ups join cohort newcomers (was general)"
    assert event["actor"]["email"] == "admin@example.com" and event["reason"] == REASON
    assert audit_count(app) == events + 1

    # Choosing it again changes nothing and records nothing.
    again = choose(admin, "newcomers")
    assert again.status_code == 200 and again.json["changed"] is False
    assert audit_count(app) == events + 1

    # Web and JSON sign-ups land in it, isolated: their ledgers are empty, not the shared one.
    dana = web_signup(app, "dana@example.com")
    me = dana.get("/api/me").json
    assert (me["cohort"], me["isolation"]) == ("newcomers", True)
    assert seen(dana) == []
    account, erin = json_signup(app, "erin@example.com")
    assert account["cohort"] == "newcomers"
    assert seen(erin) == []
    assert [u["email"] for u in cohort_rows(admin)["newcomers"]["users"]] == [
        "dana@example.com", "erin@example.com"]
    assert seen(people.client("carol"))  # carol still has the shared ledger

    # Revert: sign-ups join general again (those who signed up stay where they are).
    undone = revert(admin, event["id"])
    assert undone.status_code == 201, undone.text
    assert undone.json["event"]["after"] == {"cohort": "general"}
    assert signup_setting(admin)["cohort"] == "general"
    assert web_signup(app, "fay@example.com").get("/api/me").json["cohort"] == "general"
    assert dana.get("/api/me").json["cohort"] == "newcomers"
    assert audit_log(admin)[1]["reverted_by"] == undone.json["event"]["id"]


def test_bad_choices_are_422_and_change_nothing(app, people, admin):
    events = audit_count(app)
    for body, field in (({"cohort": "nowhere", "reason": REASON}, "cohort"),
                        ({"cohort": "", "reason": REASON}, "cohort"),
                        ({"cohort": ["beta"], "reason": REASON}, "cohort"),
                        ({"cohort": "beta"}, "reason"),
                        ({"cohort": "beta", "reason": " "}, "reason"),
                        ({"cohort": "beta", "reason": REASON, "extra": 1}, "extra")):
        response = admin.put("/api/admin/signup-cohort", json=body)
        assert response.status_code == 422, body
        assert response.json["error"]["field"] == field
    assert admin.put("/api/admin/signup-cohort", data="cohort=beta").status_code == 400
    assert signup_setting(admin)["cohort"] == "general" and audit_count(app) == events


def test_the_sign_up_cohort_cannot_be_removed(app, people, admin):
    created = admin.post("/api/admin/cohorts", json={"name": "pilot", "reason": REASON})
    assert choose(admin, "pilot").status_code == 200
    events = audit_count(app)
    refused = revert(admin, created.json["event"]["id"])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "cohort_in_use"
    assert "sign-up" in refused.json["error"]["message"]
    assert "pilot" in cohort_rows(admin) and audit_count(app) == events


def test_the_dashboard_form_says_what_it_means(app, people, admin):
    page = admin.get("/admin/flags").text
    card = re.search(r'<section class="card" id="signup-cohort">(.*?)</section>', page, re.S)
    assert card and "New accounts" in card.group(1) and "shared ledger" in card.group(1)
    assert 'class="signup-cohort">general' in page
    assert 'id="signup-shared"' in page  # general is not isolated: said plainly

    landed = post(admin, "/admin/flags/signup-cohort", cohort="staff", reason=REASON)
    assert flash(landed, "success") == ["Sign-ups join cohort staff (was general)."]
    assert 'class="signup-cohort">staff' in landed and 'id="signup-shared"' not in landed
    assert web_signup(app, "gil@example.com").get("/api/me").json["cohort"] == "staff"

    refused = post(admin, "/admin/flags/signup-cohort", cohort="nowhere", reason=REASON)
    assert flash(refused, "error") and signup_setting(admin)["cohort"] == "staff"
    # Without a CSRF token nothing changes.
    assert admin.post("/admin/flags/signup-cohort",
                      data={"cohort": "beta", "reason": REASON}).status_code == 400
    assert signup_setting(admin)["cohort"] == "staff"


def test_after_the_demo_seed_a_new_account_starts_empty(app, runner):
    seeded = runner.invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "sign-ups join newcomers" in seeded.output

    newcomer = web_signup(app, "newcomer@example.com")
    me = newcomer.get("/api/me").json
    assert (me["cohort"], me["isolation"]) == ("newcomers", True)
    assert seen(newcomer) == []
    home = newcomer.get("/").text
    assert 'class="empty-state"' in home and 'id="upload-panel"' in home
    merchants = {m for demo in DEMO_USERS for options in demo.merchants.values()
                 for m, _ in options}
    assert not [m for m in merchants if m in home]
