"""Suggestions: JSON under /api/suggestions, and the web page at /suggestions."""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..api import parse_body, parse_query, validation_error
from ..errors import AppError
from ..isolation import DATA, access, isolation_on
from ..openapi import documented
from ..rules.service import describe, get_rule
from . import service
from .service import AcceptAllBody, AcceptBody, Accepted, AcceptedAll, SuggestionList, SuggestionQuery

bp = Blueprint("suggest", __name__)
api_bp = Blueprint("suggest_api", __name__, url_prefix="/api/suggestions")

WEB_LIST_SIZE = 100


@api_bp.get("")
@access(DATA)
@documented(query=SuggestionQuery, response=SuggestionList)
def api_list():
    """Suggested categories for your uncategorised transactions, most confident first.

    The model learns only from the categorised transactions you can see. With too little to
    learn from (fewer than 10 categorised rows, or one category) the list is empty and
    `model.reason` says why.
    """
    query = parse_query(SuggestionQuery)
    return jsonify(service.suggestions(query.limit, query.transaction_id).model_dump(mode="json"))


@api_bp.post("/<int:tx_id>/accept")
@access(DATA)
@documented(body=AcceptBody, body_required=False, response=Accepted)
def api_accept(tx_id):
    """Set a transaction's category to its current suggestion (or to the one you send).

    Without a body (or without `category`) the row must be uncategorised and have a
    suggestion, otherwise 409.
    """
    # A body is declared by its headers: a form body has been parsed (and its raw bytes
    # consumed) by the request checks in api.py before this view runs.
    body = parse_body(AcceptBody) if request.content_length or request.mimetype else AcceptBody()
    return jsonify(service.accept(tx_id, body.category, body.always).model_dump(mode="json"))


@api_bp.post("/accept-all")
@access(DATA)
@documented(body=AcceptAllBody, response=AcceptedAll)
def api_accept_all():
    """Accept many suggestions at once, in one transaction: the `items` you send
    ({transaction_id, category}, as listed), or every current suggestion whose confidence is
    at least `min_confidence`. A transaction you cannot see is a 404 and nothing is saved."""
    return jsonify(service.accept_all(parse_body(AcceptAllBody)).model_dump(mode="json"))


# --- web ------------------------------------------------------------------------------------

@bp.get("/suggestions")
@access(DATA)
def index():
    """The page at once, its suggestions fetched by its script from `table`: working them
    out can take seconds (a worker's first suggestions load scikit-learn; a write retrains
    the model). `?now=1` renders them in the page instead, for browsers without scripts."""
    results = _results() if request.args.get("now") == "1" else {}
    return render_template("suggest/index.html", isolated=isolation_on(), **results)


@bp.get("/suggestions/table")
@access(DATA)
def table():
    """The suggestions (with their accept forms) and the rows they learn from: an HTML
    fragment the page swaps in."""
    return render_template("suggest/_results.html", **_results())


def _results():
    return {"result": service.suggestions(WEB_LIST_SIZE),
            "examples": service.latest_categorised()}


@bp.post("/suggestions/<int:tx_id>/accept")
@access(DATA)
def accept(tx_id):
    try:
        # The form carries the category the user saw, so a model retrained meanwhile by
        # another write cannot change what gets saved.
        body = AcceptBody(category=request.form.get("category") or None,
                          always=bool(request.form.get("always")))
    except ValidationError as exc:
        flash(validation_error(exc).description, "error")
        return redirect(url_for("suggest.index"))
    try:
        accepted = service.accept(tx_id, body.category, body.always)
    except AppError as exc:
        if exc.code != 409:
            raise
        flash(exc.description, "error")
        return redirect(url_for("suggest.index"))
    if accepted.rule_id is None:
        flash(f"Category “{accepted.category}” saved.", "success")
    else:
        flash(f"Category “{accepted.category}” saved, and a rule made: "
              f"{describe(get_rule(accepted.rule_id))}. Preview it on the Rules page to apply "
              "it to the rows you already have.", "success")
    return redirect(url_for("suggest.index"))


@bp.post("/suggestions/accept-all")
@access(DATA)
def accept_all():
    """The suggestions the page showed (ids and categories in its form), all saved at once."""
    ids, categories = request.form.getlist("transaction_id"), request.form.getlist("category")
    try:
        body = AcceptAllBody(items=[{"transaction_id": i, "category": c}
                                    for i, c in zip(ids, categories, strict=True)])
    except (ValidationError, ValueError) as exc:
        message = (validation_error(exc).description if isinstance(exc, ValidationError)
                   else "The form was incomplete; reload the page and try again.")
        flash(message, "error")
        return redirect(url_for("suggest.index"))
    accepted = service.accept_all(body)
    flash(f"{accepted.accepted} categor{'y' if accepted.accepted == 1 else 'ies'} saved.",
          "success")
    return redirect(url_for("suggest.index"))
