"""The web dashboard at /admin/flags: one screen with cohorts, preflight, percentage, lock,
backend health and the audit log; every form needs a CSRF token and a reason."""
import html
import os
import re


from tests.admin.support import (
    REASON,
    add_guard_refusal,
    audit_count,
    audit_log,
    cohort_of,
    isolation,
    own_rows,
    seen_descriptions,
    shared_ledger,
)
from tests.conftest import csrf_token, write_definition


def cohort_row(page, name):
    match = re.search(rf'<tr data-cohort="{name}">(.*?)</tr>', page, re.S)
    assert match, f"no row for cohort {name}"
    return match.group(1)


def post(client, path, **fields):
    """Submit a dashboard form; the page it lands on."""
    fields.setdefault("csrf_token", csrf_token(client, "/admin/flags"))
    response = client.post(path, data=fields)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/flags")
    return client.get(response.headers["Location"]).text


def flash(page, kind):
    return [re.sub(r"\s+", " ", html.unescape(m)) for m in
            re.findall(rf'<p class="flash {kind}">(.*?)</p>', page, re.S)]


def test_one_screen_shows_everything(app, people, admin):
    # Bob and carol share the shared ledger: isolating either takes rows from both.
    general = cohort_row(admin.get("/admin/flags").text, "general")
    assert 'class="verdict amber"' in general
    assert 'data-check="rows_vanish"' in general and 'data-check="others_lose_rows"' in general
    enable = post(admin, "/admin/flags/cohorts/beta/isolation", enabled="true", reason=REASON)
    assert flash(enable, "success") == ["Enabled isolation for cohort beta."]
    page = admin.get("/admin/flags").text
    beta, general = cohort_row(page, "beta"), cohort_row(page, "general")
    assert "bob@example.com" in beta and 'class="state on"' in beta
    assert "carol@example.com" in general and 'class="state off"' in general
    # Carol is alone on the shared ledger now: isolating her would take nobody's rows away.
    assert 'class="verdict green"' in general
    assert "Disable isolation" in beta and "Enable isolation" in general
    assert "Embedded flags" in page and 'id="flag-health">healthy' in page
    # This process's last load of the definitions, and its age.
    assert re.search(r'id="flag-sync">last sync \d{4}-\d\d-\d\d [\d:]+ UTC \([\d.]+ s ago\)'
                     rf' in process {os.getpid()}<', page)
    assert 'class="percent">0%' in page and 'class="lock-state">open' in page
    assert re.search(r'<tr data-event="\d+">.*Enabled isolation for cohort beta.*'
                     + re.escape(REASON), page, re.S)
    # Nobody's transactions on the admin screen.
    assert "coffee" not in page and "salary" not in page


def test_the_undefined_flag_is_explained(people):
    page = people.client("admin").get("/admin/flags").text
    assert 'id="everyone-notice"' in page and "not defined" in page


def test_a_definition_the_app_cannot_translate_is_explained(app, people, admin):
    write_definition(app, {
        "name": "USE_USER_ISOLATION", "type": "release", "project": "default",
        "enabled": True, "impressionData": False, "strategies": [
            {"name": "remoteAddress", "parameters": {"IPs": "10.0.0.1"}, "constraints": []}]})
    page = admin.get("/admin/flags").text
    assert 'id="untranslatable-notice"' in page and "remoteAddress" in html.unescape(page)
    assert "fails closed" in page
    refused = post(admin, "/admin/flags/cohorts/beta/isolation", enabled="true", reason=REASON)
    assert "cannot translate" in flash(refused, "error")[0]


def test_forms_need_csrf_and_a_reason(app, people, admin):
    response = admin.post("/admin/flags/cohorts/beta/isolation",
                          data={"enabled": "true", "reason": REASON})
    assert response.status_code == 400
    page = post(admin, "/admin/flags/cohorts/beta/isolation", enabled="true", reason="  ")
    assert flash(page, "error") and "reason" in flash(page, "error")[0]
    assert isolation(admin)["cohorts"] == ["staff"] and audit_count(app) == 0


def test_red_preflight_offers_force(app, people, admin):
    add_guard_refusal(app)
    page = admin.get("/admin/flags").text
    assert 'class="verdict red"' in cohort_row(page, "beta")
    assert 'name="force"' in cohort_row(page, "beta")
    # The same for every cohort, so listed once above the table.
    readiness = re.search(r'<div id="readiness">(.*?)</div>', page, re.S).group(1)
    assert 'data-check="guard_refusals"' in readiness
    assert 'data-check="guard_refusals"' not in cohort_row(page, "beta")

    refused = post(admin, "/admin/flags/cohorts/beta/isolation", enabled="true", reason=REASON)
    assert "red checks" in flash(refused, "error")[0]
    assert isolation(admin)["cohorts"] == ["staff"]

    forced = post(admin, "/admin/flags/cohorts/beta/isolation", enabled="true", reason=REASON,
                  force="1")
    assert flash(forced, "success") == [
        "Enabled isolation for cohort beta (forced past: guard_refusals)."]
    assert isolation(admin)["cohorts"] == ["beta", "staff"]


def test_move_users_by_emails_and_domain(app, people, admin):
    page = post(admin, "/admin/flags/users", emails="carol@example.com\nghost@example.com",
                domain="", cohort="beta", reason=REASON)
    assert flash(page, "success") == [
        "Moved 1 user(s) to beta. No account for: ghost@example.com."]
    assert cohort_of(app, people.ids["carol"]) == "beta"

    page = post(admin, "/admin/flags/users", emails="", domain="example.com", cohort="general",
                reason=REASON)
    assert flash(page, "success") == ["Moved 4 user(s) to general."]
    assert {cohort_of(app, uid) for uid in people.ids.values()} == {"general"}

    page = post(admin, "/admin/flags/users", emails="carol@example.com", domain="example.com",
                cohort="beta", reason=REASON)
    assert "either emails" in flash(page, "error")[0]
    page = post(admin, "/admin/flags/users", emails="carol@example.com", cohort="nowhere",
                reason=REASON)
    assert "no cohort named 'nowhere'" in flash(page, "error")[0]


def test_create_cohort_rollout_and_lock(app, people, admin):
    page = post(admin, "/admin/flags/cohorts", name="pilot", reason=REASON)
    assert flash(page, "success") == ["Created cohort pilot."]
    assert 'data-cohort="pilot"' in page
    page = post(admin, "/admin/flags/cohorts", name="Not Valid", reason=REASON)
    assert "lowercase" in flash(page, "error")[0]

    page = post(admin, "/admin/flags/rollout", percent="25", reason=REASON)
    assert flash(page, "success") == ["Percentage rollout 0% → 25%."]
    assert 'class="state partial"' in cohort_row(page, "general")
    for bad in ("lots", "²", "٣", "1" * 5000):  # str.isdigit() says yes to the middle two
        page = post(admin, "/admin/flags/rollout", percent=bad, reason=REASON)
        assert "percent" in flash(page, "error")[0]
    assert isolation(admin)["percent"] == 25

    page = post(admin, "/admin/flags/lock", on="true", reason=REASON)
    assert flash(page, "success") == ["Emergency lock on."]
    assert 'class="lock-state">locked' in page
    assert people.client("carol").get("/transactions").status_code == 503


def test_revert_from_the_audit_log(app, people, admin):
    post(admin, "/admin/flags/cohorts/beta/isolation", enabled="true", reason=REASON)
    bob = people.client("bob")
    assert seen_descriptions(bob) == own_rows("bob")
    event = audit_log(admin)[0]
    page = post(admin, f"/admin/flags/audit/{event['id']}/revert", reason="bob needs the old view")
    assert flash(page, "success") == [
        f"Revert of #{event['id']}: Disabled isolation for cohort beta."]
    assert f"reverted by #{event['id'] + 1}" in page
    assert isolation(admin)["cohorts"] == ["staff"]
    assert seen_descriptions(bob) == shared_ledger()

    again = post(admin, f"/admin/flags/audit/{event['id']}/revert", reason="again")
    assert flash(again, "error") == [
        f"Event {event['id']} was already reverted by event {event['id'] + 1}."]

    # The revert's own button says what it does: apply the first change again.
    revert_row = re.search(rf'<tr data-event="{event["id"] + 1}">(.*?)</tr>', again, re.S)
    assert f'>Redo #{event["id"]}</button>' in revert_row.group(1)
    redo = post(admin, f"/admin/flags/audit/{event['id'] + 1}/revert", reason="back again")
    assert flash(redo, "success") == [
        f"Redo of #{event['id']} (revert of revert #{event['id'] + 1}): "
        "Enabled isolation for cohort beta."]
    assert isolation(admin)["cohorts"] == ["beta", "staff"]


def test_check_messages_show_commands_as_code_not_backticks(app, people, admin):
    """Messages name commands in backticks (JSON and logs keep them); the page shows them
    as code, still escaped."""
    from finance_app.extensions import cache

    with app.app_context():
        cache.set("summary:2024-11", {"total": "1.00"})  # a legacy key: an amber check
    page = admin.get("/admin/flags").text
    check = re.search(r'<li class="amber" data-check="legacy_cache_keys">(.*?)</li>', page, re.S)
    assert check, "the legacy cache keys check is not shown"
    assert "<code>flask cache purge-legacy</code>" in check.group(1)
    assert "`" not in check.group(1)


def test_code_spans_escape_everything_else():
    from finance_app.text import code_spans

    assert str(code_spans("run `a <b>` & <i>x</i>")) == \
        "run <code>a &lt;b&gt;</code> &amp; &lt;i&gt;x&lt;/i&gt;"
    assert str(code_spans("no `closing")) == "no `closing"


def test_the_dashboard_says_in_plain_words_what_isolation_does(people, admin):
    page = admin.get("/admin/flags").text
    section = re.search(r'<section class="card" id="what-isolation-does">(.*?)</section>',
                        page, re.S)
    assert section, "no explanation of isolation on the dashboard"
    text = re.sub(r"<[^>]+>", "", section.group(1))
    for words in ("shared ledger", "private ledger", "see only their own",
                  "Nothing is copied or deleted"):
        assert words in text
