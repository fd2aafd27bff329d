"""Category management: JSON under /api/categories, and the web page at /categories.

Renaming onto a name already in use merges two categories; the web asks before it does
that, showing how many rows will move.
"""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError

from ..api import parse_body, validation_error
from ..isolation import DATA, access, isolation_on
from ..openapi import documented
from . import categories
from .categories import CategoryList, Renamed, RenameBody

bp = Blueprint("categories", __name__)
api_bp = Blueprint("categories_api", __name__, url_prefix="/api/categories")


@api_bp.get("")
@access(DATA)
@documented(response=CategoryList)
def api_list():
    """Your visible categories with their row counts, and the count of uncategorised rows."""
    return jsonify(categories.category_list().model_dump())


@api_bp.post("/rename")
@access(DATA)
@documented(body=RenameBody, response=Renamed)
def api_rename():
    """Rename a category on every row you can see; onto a name in use, this merges them.

    Answers how many rows changed (0 when you have no row of that category).
    """
    body = parse_body(RenameBody)
    return jsonify(changed=categories.rename_category(body.source, body.to))


# --- web ------------------------------------------------------------------------------------

@bp.get("/categories")
@access(DATA)
def index():
    named, uncategorised = categories.category_counts()
    return render_template("categories/index.html", named=named, uncategorised=uncategorised,
                           isolated=isolation_on())


def _rename_body(form, target_field):
    """The form's rename as a RenameBody; otherwise back to the list, saying what is wrong."""
    try:
        return RenameBody.model_validate({"from": form.get("from", ""),
                                          "to": form.get(target_field, "")})
    except ValidationError as exc:
        flash(validation_error(exc).description, "error")
        abort(redirect(url_for("categories.index")))


@bp.get("/categories/merge")
@access(DATA)
def merge():
    """Confirm a merge: how many rows move, and how many the target has already."""
    body = _rename_body(request.args, "into")
    return render_template("categories/merge.html", source=body.source, target=body.to,
                           moving=categories.count_of(body.source),
                           already=categories.count_of(body.to))


@bp.post("/categories/rename")
@access(DATA)
def rename():
    body = _rename_body(request.form, "to")
    merging = categories.count_of(body.to) > 0
    if merging and not request.form.get("confirmed"):
        # Onto a name in use: two categories become one, which no rename can undo.
        return redirect(url_for("categories.merge", **{"from": body.source, "into": body.to}))
    changed = categories.rename_category(body.source, body.to)
    rows = f"{changed} row{'' if changed == 1 else 's'}"
    if merging:
        flash(f"Merged “{body.source}” into “{body.to}”: {rows} moved.", "success")
    else:
        flash(f"Renamed “{body.source}” to “{body.to}”: {rows} changed.", "success")
    return redirect(url_for("categories.index"))
