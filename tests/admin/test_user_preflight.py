"""Preflight per user on the flag dashboard: a row per user with their cohort, whether the step
of their cohort would isolate them (or already has), what blocks it and what it warns them of,
under a count summary (until now only in the JSON of /api/admin/isolation/preflight)."""
import html
import re

from finance_app.admin import preflight
from tests.admin.support import add_guard_refusal


def user_row(page, email):
    match = re.search(rf'<tr data-user="{re.escape(email)}">(.*?)</tr>', page, re.S)
    assert match, f"no preflight row for {email}"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))).strip()


def summary(page):
    match = re.search(r'id="user-preflight-summary">(.*?)</p>', page, re.S)
    return re.sub(r"\s+", " ", match.group(1))


def test_each_user_with_what_isolating_them_would_do(people, admin):
    # Staff is isolated; bob (beta) and carol (general) share a ledger of 2 + 2 rows.
    page = admin.get("/admin/flags").text
    assert summary(page) == ("4 user(s): 2 on a private ledger now, 2 would be once their "
                             "cohort is enabled; 2 with warnings, 0 blocked by red checks.")
    assert user_row(page, "alice@example.com") == "alice@example.com staff already 2 none"
    assert user_row(page, "bob@example.com") == (
        "bob@example.com beta yes, once beta is enabled 2 "
        "would stop seeing 2 row(s) of the shared ledger that are not theirs")
    # Those with something to say come first.
    order = re.findall(r'<tr data-user="([^"]+)">', page)
    assert order == ["bob@example.com", "carol@example.com", "admin@example.com",
                     "alice@example.com"]


def test_red_checks_block_the_users_not_isolated_yet(app, people, admin):
    add_guard_refusal(app)
    page = admin.get("/admin/flags").text
    assert summary(page).endswith("2 with warnings, 2 blocked by red checks.")
    assert "blocked: guard refusals" in user_row(page, "carol@example.com")
    assert "blocked" not in user_row(page, "alice@example.com")


def test_a_long_list_shows_the_first_users_and_counts_them_all():
    reports = [{"cohort": "general", "checks": [], "users": [
        {"email": f"user{i:03}@example.com", "isolated_now": False, "isolated_after": True,
         "own_rows": 1, "would_vanish": i % 2} for i in range(5)]}]
    readiness = preflight.user_readiness(reports, shown=3)
    assert readiness["summary"] == {"users": 5, "isolated_now": 0, "would_be_isolated": 5,
                                    "warned": 2, "blocked": 0}
    assert [u["email"] for u in readiness["users"]] == [
        "user001@example.com", "user003@example.com", "user000@example.com"]


def test_the_page_says_when_it_lists_only_the_first_users(people, admin, monkeypatch):
    monkeypatch.setattr(preflight, "USERS_SHOWN", 2)
    page = admin.get("/admin/flags").text
    assert re.findall(r'<tr data-user="([^"]+)">', page) == ["bob@example.com",
                                                              "carol@example.com"]
    assert "The first 2 shown" in page and summary(page).startswith("4 user(s)")
