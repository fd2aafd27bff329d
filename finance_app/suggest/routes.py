"""Suggestions: JSON under /api/suggestions, and the web page at /suggestions."""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..api import parse_body, parse_query, validation_error
from ..errors import AppError
from ..isolation import DATA, access, isolation_on
from ..openapi import documented
from . import service
from .service import AcceptBody, Accepted, SuggestionList, SuggestionQuery

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
    return jsonify(service.accept(tx_id, body.category).model_dump(mode="json"))


# --- web ------------------------------------------------------------------------------------

@bp.get("/suggestions")
@access(DATA)
def index():
    return render_template("suggest/index.html", result=service.suggestions(WEB_LIST_SIZE),
                           examples=service.latest_categorised(), isolated=isolation_on())


@bp.post("/suggestions/<int:tx_id>/accept")
@access(DATA)
def accept(tx_id):
    try:
        # The form carries the category the user saw, so a model retrained meanwhile by
        # another write cannot change what gets saved.
        body = AcceptBody(category=request.form.get("category") or None)
    except ValidationError as exc:
        flash(validation_error(exc).description, "error")
        return redirect(url_for("suggest.index"))
    try:
        accepted = service.accept(tx_id, body.category)
    except AppError as exc:
        if exc.code != 409:
            raise
        flash(exc.description, "error")
        return redirect(url_for("suggest.index"))
    flash(f"Category “{accepted.category}” saved.", "success")
    return redirect(url_for("suggest.index"))
