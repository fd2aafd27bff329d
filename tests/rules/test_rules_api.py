"""/api/rules: creating, reading, deleting rules; the preview and the apply (one query, so
the apply changes exactly the previewed rows); every kind of bad input."""
import pytest

from tests.rules.conftest import categories, stored_rules


def test_create_stamps_the_caller_and_normalises_the_pattern(app, rita):
    created = rita.create(pattern="  TESCO Stores ")
    assert (created["field"], created["pattern"], created["category"]) == (
        "merchant", "tesco stores", "Groceries")
    assert stored_rules(app) == [(rita.user_id, "merchant", "tesco stores", "Groceries")]
    assert rita.client.get(f"/api/rules/{created['id']}").json == created
    assert rita.client.get("/api/rules").json == [created]


def test_the_same_text_twice_is_a_409_and_writes_nothing(app, rita):
    rita.create(pattern="Tesco")
    response = rita.client.post("/api/rules", json={"field": "merchant", "pattern": "TESCO",
                                                    "category": "Food"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "rule_exists"
    assert stored_rules(app) == [(rita.user_id, "merchant", "tesco", "Groceries")]
    # The same text in the other field is another rule.
    rita.create(field="description", pattern="tesco")


@pytest.mark.parametrize("body, field", [
    ({"field": "amount", "pattern": "x", "category": "C"}, "field"),
    ({"field": "merchant", "pattern": "   ", "category": "C"}, "pattern"),
    ({"field": "merchant", "pattern": "x" * 201, "category": "C"}, "pattern"),
    ({"field": "merchant", "pattern": "x", "category": ""}, "category"),
    ({"field": "merchant", "pattern": "x", "category": "C" * 101}, "category"),
    ({"field": "merchant", "category": "C"}, "pattern"),
    ({"field": "merchant", "pattern": "x", "category": "C", "user_id": 1}, "user_id"),
])
def test_bad_bodies_are_422_naming_the_field_and_write_nothing(app, rita, body, field):
    response = rita.client.post("/api/rules", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert stored_rules(app) == []


def test_a_body_that_is_not_a_json_object_is_a_400(app, rita):
    response = rita.client.post("/api/rules", data="field=merchant",
                                content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"
    assert stored_rules(app) == []


def test_preview_lists_what_apply_changes_and_writes_nothing(app, rita):
    rule = rita.create()
    before = categories(app)
    preview = rita.client.get(f"/api/rules/{rule['id']}/preview").json
    # Uncategorised rows whose merchant contains "tesco", any case, latest first; not the
    # row that has a category already, nor the one with "TESCO" in its description only.
    expected = [rita.rows[1], rita.rows[0]]
    assert preview["count"] == 2 and [r["id"] for r in preview["rows"]] == expected
    assert preview["rule"] == rule and preview["overwrite"] is False
    assert categories(app) == before

    applied = rita.client.post(f"/api/rules/{rule['id']}/apply")
    assert applied.status_code == 200 and applied.json == {"rule_id": rule["id"], "changed": 2}
    assert categories(app) == before | {row: "Groceries" for row in expected}
    # Applied again, nothing is left to change.
    assert rita.client.get(f"/api/rules/{rule['id']}/preview").json["count"] == 0
    assert rita.client.post(f"/api/rules/{rule['id']}/apply").json["changed"] == 0


def test_overwrite_also_changes_rows_of_another_category(app, rita):
    rule = rita.create()
    preview = rita.client.get(f"/api/rules/{rule['id']}/preview?overwrite=true").json
    assert preview["count"] == 3 and preview["overwrite"] is True
    applied = rita.client.post(f"/api/rules/{rule['id']}/apply", json={"overwrite": True})
    assert applied.json["changed"] == 3
    assert categories(app, rita.rows[:3]) == dict.fromkeys(rita.rows[:3], "Groceries")
    # Rows that have the rule's category already are not changed again.
    assert rita.client.get(f"/api/rules/{rule['id']}/preview?overwrite=1").json["count"] == 0


def test_a_description_rule_matches_the_description(app, rita):
    rule = rita.create(field="description", pattern="petrol", category="Fuel")
    assert rita.client.post(f"/api/rules/{rule['id']}/apply").json["changed"] == 1
    assert categories(app, [rita.rows[4]]) == {rita.rows[4]: "Fuel"}


def test_like_wildcards_in_a_pattern_are_plain_text(app, rita):
    rule = rita.create(pattern="t%o")
    assert rita.client.get(f"/api/rules/{rule['id']}/preview").json["count"] == 0


def test_apply_refreshes_cached_counts(app, rita):
    uncategorised = "/api/transactions?uncategorised=true"
    assert rita.client.get(uncategorised).json["total"] == 4  # counted, and cached
    rule = rita.create()
    rita.client.post(f"/api/rules/{rule['id']}/apply")
    assert rita.client.get(uncategorised).json["total"] == 2


def test_bad_apply_and_preview_input(app, rita):
    rule = rita.create()
    before = categories(app)
    response = rita.client.post(f"/api/rules/{rule['id']}/apply", json={"overwrite": "maybe"})
    assert response.status_code == 422 and response.json["error"]["field"] == "overwrite"
    response = rita.client.get(f"/api/rules/{rule['id']}/preview?overwrite=maybe")
    assert response.status_code == 422
    assert categories(app) == before


def test_delete_keeps_the_categories_it_gave(app, rita):
    rule = rita.create()
    rita.client.post(f"/api/rules/{rule['id']}/apply")
    given = categories(app)
    assert rita.client.delete(f"/api/rules/{rule['id']}").status_code == 204
    assert stored_rules(app) == [] and categories(app) == given
    for response in (rita.client.get(f"/api/rules/{rule['id']}"),
                     rita.client.delete(f"/api/rules/{rule['id']}")):
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_list_is_most_specific_first(app, rita):
    short = rita.create(pattern="tesco")
    longer = rita.create(pattern="tesco express", category="Convenience")
    assert [r["id"] for r in rita.client.get("/api/rules").json] == [longer["id"], short["id"]]
