"""Rules: JSON under /api/rules, and the web page at /rules."""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..api import parse_body, parse_query, validation_error
from ..errors import AppError
from ..isolation import DATA, access, isolation_on
from ..openapi import documented
from . import service
from .service import Overwrite, RuleApplied, RuleIn, RuleOut, RulePreview

bp = Blueprint("rules", __name__)
api_bp = Blueprint("rules_api", __name__, url_prefix="/api/rules")
TRUE = {"1", "true", "yes", "on"}


@api_bp.get("")
@access(DATA)
@documented(response=list[RuleOut])
def api_list():
    """The rules you can see, the most specific (longest pattern) first: the order in which
    an import tries them."""
    return jsonify([service.rule_json(rule) for rule in service.list_rules()])


@api_bp.post("")
@access(DATA)
@documented(body=RuleIn, response=RuleOut, status=201)
def api_create():
    """Create a rule: rows whose `field` contains `pattern` (any case) get `category` — on
    import, and when you apply it. 409 if you already have a rule for that text."""
    return jsonify(service.rule_json(service.create_rule(parse_body(RuleIn)))), 201


@api_bp.get("/<int:rule_id>")
@access(DATA)
@documented(response=RuleOut)
def api_get(rule_id):
    """One rule (404 if you cannot see it)."""
    return jsonify(service.rule_json(service.get_rule(rule_id)))


@api_bp.delete("/<int:rule_id>")
@access(DATA)
@documented(status=204)
def api_delete(rule_id):
    """Delete a rule. Rows it categorised keep their category."""
    service.delete_rule(rule_id)
    return "", 204


@api_bp.get("/<int:rule_id>/preview")
@access(DATA)
@documented(query=Overwrite, response=RulePreview)
def api_preview(rule_id):
    """The rows applying the rule would change (count and the first rows); writes nothing.
    By default only uncategorised rows; `?overwrite=true` adds rows of another category."""
    return jsonify(service.preview(rule_id, parse_query(Overwrite).overwrite)
                   .model_dump(mode="json"))


@api_bp.post("/<int:rule_id>/apply")
@access(DATA)
@documented(body=Overwrite, body_required=False, response=RuleApplied)
def api_apply(rule_id):
    """Give the rule's category to exactly the rows its preview lists; answers how many."""
    body = parse_body(Overwrite) if request.content_length or request.mimetype else Overwrite()
    return jsonify(service.apply(rule_id, body.overwrite).model_dump(mode="json"))


# --- web ------------------------------------------------------------------------------------

def _page(error=None, form=None, status=200):
    return render_template("rules/index.html", rules=service.list_rules(), error=error,
                           form=form or {}, isolated=isolation_on()), status


def _overwrite_asked(values):
    return values.get("overwrite", "").lower() in TRUE


@bp.get("/rules")
@access(DATA)
def index():
    return _page()


@bp.post("/rules")
@access(DATA)
def create():
    form = {name: request.form.get(name, "") for name in ("field", "pattern", "category")}
    try:
        rule = service.create_rule(RuleIn.model_validate(form))
    except ValidationError as exc:
        return _page(validation_error(exc).description, form, 422)
    except AppError as exc:
        if exc.code != 409:
            raise
        return _page(exc.description, form, 409)
    flash(f"Rule saved: {service.describe(rule)}. Preview it to see the rows it would change.",
          "success")
    return redirect(url_for("rules.index"))


@bp.post("/rules/<int:rule_id>/delete")
@access(DATA)
def delete(rule_id):
    rule = service.get_rule(rule_id)
    described = service.describe(rule)
    service.delete_rule(rule_id)
    flash(f"Rule deleted: {described}.", "success")
    return redirect(url_for("rules.index"))


@bp.get("/rules/<int:rule_id>/preview")
@access(DATA)
def preview(rule_id):
    result = service.preview(rule_id, _overwrite_asked(request.args))
    return render_template("rules/preview.html", result=result,
                           described=service.describe(result.rule))


@bp.post("/rules/<int:rule_id>/apply")
@access(DATA)
def apply(rule_id):
    applied = service.apply(rule_id, _overwrite_asked(request.form))
    flash(f"Rule applied: {applied.changed} transaction{'' if applied.changed == 1 else 's'} "
          "categorised.", "success")
    return redirect(url_for("rules.index"))
