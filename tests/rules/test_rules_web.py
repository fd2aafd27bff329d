"""The /rules page: create, refuse bad input with the form kept, preview, apply, delete."""
from tests.conftest import csrf_token
from tests.rules.conftest import categories, stored_rules


def post(client, path, **form):
    return client.post(path, data={**form, "csrf_token": csrf_token(client, "/rules")})


def test_create_preview_apply_delete(app, rita):
    response = post(rita.client, "/rules", field="merchant", pattern="Tesco", category="Groceries")
    assert response.status_code == 302
    page = rita.client.get("/rules")
    assert "Rule saved: merchant contains “tesco” → Groceries" in page.text
    [(owner, *_)] = stored_rules(app)
    assert owner == rita.user_id

    rule_id = rita.client.get("/api/rules").json[0]["id"]
    before = categories(app)
    preview = rita.client.get(f"/rules/{rule_id}/preview")
    assert preview.status_code == 200
    assert "would categorise <strong>2</strong> transactions" in preview.text
    assert "TESCO EXPRESS 0042" in preview.text and "PRET" not in preview.text
    assert categories(app) == before  # a preview writes nothing
    wider = rita.client.get(f"/rules/{rule_id}/preview?overwrite=1")
    assert "would categorise <strong>3</strong>" in wider.text

    response = post(rita.client, f"/rules/{rule_id}/apply")
    assert response.status_code == 302
    assert "Rule applied: 2 transactions categorised." in rita.client.get("/rules").text
    assert categories(app, rita.rows[:2]) == dict.fromkeys(rita.rows[:2], "Groceries")

    response = post(rita.client, f"/rules/{rule_id}/delete")
    assert response.status_code == 302 and stored_rules(app) == []
    assert "Rule deleted" in rita.client.get("/rules").text


def test_bad_input_keeps_the_form_and_says_why(app, rita):
    response = post(rita.client, "/rules", field="merchant", pattern="   ", category="Groceries")
    assert response.status_code == 422
    assert "pattern" in response.text and 'value="Groceries"' in response.text
    response = post(rita.client, "/rules", field="amount", pattern="x", category="C")
    assert response.status_code == 422
    assert stored_rules(app) == []
    post(rita.client, "/rules", field="merchant", pattern="tesco", category="Groceries")
    response = post(rita.client, "/rules", field="merchant", pattern="TESCO", category="Food")
    assert response.status_code == 409 and "already have a rule" in response.text
    assert len(stored_rules(app)) == 1


def test_forms_need_the_csrf_token(app, rita):
    response = rita.client.post("/rules", data={"field": "merchant", "pattern": "x",
                                               "category": "C"})
    assert response.status_code == 400 and stored_rules(app) == []


def test_the_navigation_links_to_rules(rita):
    assert 'href="/rules"' in rita.client.get("/").text
