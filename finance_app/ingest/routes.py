"""CSV and OFX/QFX import: JSON at /api/ingest, and the web flow upload → preview → confirm
at /import."""
import json
import uuid

import click
from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from pydantic import ValidationError

from ..accounts.service import AccountIn, create_account
from ..api import validation_error
from ..errors import AppError
from ..extensions import cache
from ..isolation import DATA, access, current_principal
from ..openapi import documented
from . import service
from .previews import expire_previews, preview_age_limit_hours, preview_expired, preview_path

bp = Blueprint("ingest", __name__)
api_bp = Blueprint("ingest_api", __name__, url_prefix="/api/ingest")

TRUE = {"1", "true", "yes", "on"}


def import_progress_key(upload_token):
    """Rows processed so far by the confirm request of this upload (an internal cache key:
    a count, never data)."""
    return f"_import_progress:{upload_token}"


def _uploaded_file():
    upload = request.files.get("file")
    if upload is None:
        raise AppError(400, "bad_request",
                       "Send the CSV, OFX or QFX file as the multipart field 'file'.")
    return upload


def _account_field():
    """The form's `account_id`: an account id, or None (the remembered or default one)."""
    raw = (request.form.get("account_id") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise AppError(422, "validation_error", "account_id must be an account's id.",
                       field="account_id")
    return int(raw)


def _mapping_field(raw):
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack
        raise AppError(422, "validation_error", "mapping must be a JSON object.",
                       field="mapping") from None
    if not isinstance(mapping, dict):
        raise AppError(422, "validation_error", "mapping must be a JSON object.", field="mapping")
    return mapping


@api_bp.post("")
@access(DATA)
@documented(response=service.ImportResult, status=201)
def api_import():
    """Import a CSV, OFX or QFX file (multipart field `file`; for a CSV an optional `mapping`
    JSON; `skip_bad_lines`; `account_id` — one of the caller's accounts; without it the account
    this file layout went into last time, else the caller's default account for each row's
    currency; `?dry_run=1` checks and previews without writing). 201 with the new import
    batch, or 200 with no batch and a `message` when nothing in the file is new: no empty batch
    is ever made. `first_date`, `last_date` and `totals` (per currency) describe the rows it
    adds; an OFX file's `currency` and `account_ref` are its own. A file whose currency is not
    the chosen account's is refused (422 `currency_mismatch`)."""
    upload = _uploaded_file()
    dry_run = request.args.get("dry_run", "").lower() in TRUE
    result = service.run_import(
        upload.stream, upload.filename, mapping=_mapping_field(request.form.get("mapping")),
        dry_run=dry_run, skip_bad_lines=request.form.get("skip_bad_lines", "").lower() in TRUE,
        account_id=_account_field())
    return jsonify(result.to_json()), 201 if result.batch_id is not None else 200


@api_bp.get("/batches")
@access(DATA)
def api_batches():
    """The caller's import batches, newest first."""
    return jsonify([service.batch_json(b) for b in service.list_batches()])


@api_bp.delete("/batches/<int:batch_id>")
@access(DATA)
def api_undo(batch_id):
    """Undo an import: delete the batch and exactly the transactions it added."""
    return jsonify(batch_id=batch_id, deleted=service.undo_batch(batch_id))


# --- web: upload → preview → confirm ----------------------------------------------------------
# The upload is kept in IMPORT_PREVIEW_DIR between preview and confirm (see `previews`),
# for IMPORT_PREVIEW_MAX_AGE_HOURS at most.

def _preview_path(token):
    return preview_path(current_app, current_principal().id, token)


def _upload_page(error=None, errors=(), status=200):
    """The upload form with the user's import history, and what went wrong, if anything."""
    return render_template("ingest/upload.html", error=error, errors=errors,
                           batches=service.list_batches()), status


def _pending(token):
    uploads = session.get("uploads", {})
    if token not in uploads:
        raise AppError(404, "not_found", "This upload has expired; upload the file again.")
    path = _preview_path(token)
    if not path.exists() or preview_expired(current_app, path):
        _forget(token)
        raise AppError(410, "expired",
                       f"This upload has expired (previews are kept "
                       f"{preview_age_limit_hours(current_app):g} hours); upload the file again.")
    return path, uploads[token]


def _forget(token):
    uploads = dict(session.get("uploads", {}))
    uploads.pop(token, None)
    session["uploads"] = uploads
    _preview_path(token).unlink(missing_ok=True)


def _mapping_from_form():
    fields = ("date", "amount", "debit", "credit", "description", "merchant", "category",
              "currency")
    if not any(f"map_{f}" in request.form for f in fields):
        return None
    return {f: request.form.get(f"map_{f}") or None for f in fields}


def _preview(token, path, filename, mapping=None, account_id=None, status=200):
    with path.open("rb") as fileobj:
        try:
            result = service.run_import(fileobj, filename, mapping=mapping, dry_run=True,
                                        account_id=account_id)
            error = None
        except AppError as exc:
            result, error = None, exc
    if error is not None:
        if error.error_code != "file_refused" or mapping is None:
            _forget(token)
            raise error
        return _upload_page(error.description, status=422)
    return render_template("ingest/preview.html", token=token, filename=filename,
                           result=result), status


@bp.get("/import")
@access(DATA)
def upload_form():
    return _upload_page()


@bp.post("/import")
@access(DATA)
def upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_page("Choose a CSV, OFX or QFX file to upload.", status=400)
    expire_previews(current_app)
    token = uuid.uuid4().hex
    path = _preview_path(token)
    upload.save(path)
    session["uploads"] = {**session.get("uploads", {}), token: upload.filename[:255]}
    try:
        return _preview(token, path, upload.filename, account_id=_chosen_account())
    except AppError as exc:
        return _upload_page(exc.description, exc.details.get("errors", []), exc.code)


def _chosen_account():
    """The upload form's account: one of the caller's, a new one (made now, from the form's
    new_name, new_kind and new_currency), or None (remembered for the layout, or default)."""
    if request.form.get("account_id") != "new":
        return _account_field()
    try:
        data = AccountIn.model_validate({
            "name": request.form.get("new_name", ""), "currency": request.form.get(
                "new_currency", ""), "kind": request.form.get("new_kind") or "checking"})
    except ValidationError as exc:
        error = validation_error(exc)
        raise AppError(422, "validation_error", f"New account: {error.description}") from None
    return create_account(data).id


@bp.post("/import/<token>/preview")
@access(DATA)
def remap(token):
    path, filename = _pending(token)
    return _preview(token, path, filename, mapping=_mapping_from_form(),
                    account_id=_account_field())


@bp.post("/import/<token>/confirm")
@access(DATA)
def confirm(token):
    path, filename = _pending(token)
    progress_key = import_progress_key(token)

    def progress(done):
        cache.set(progress_key, done, timeout=3600)

    try:
        with path.open("rb") as fileobj:
            result = service.run_import(
                fileobj, filename, mapping=_mapping_from_form(),
                skip_bad_lines=request.form.get("skip_bad_lines", "").lower() in TRUE,
                progress=progress, account_id=_account_field())
    except AppError as exc:
        if exc.error_code != "invalid_rows":
            raise
        flash(exc.description, "error")
        return _preview(token, path, filename, mapping=_mapping_from_form(),
                        account_id=_account_field(), status=422)
    finally:
        cache.delete(progress_key)
    _forget(token)
    if result.batch_id is None:
        flash(f"{filename}: {result.message}", "success")
        return redirect(url_for("ingest.upload_form"))
    flash(f"Imported {result.imported} transaction(s) from {filename} "
          f"({result.summary_text()})"
          f"{f'; {result.duplicates} already there were skipped' if result.duplicates else ''}"
          f"{f'; {result.error_count} bad line(s) skipped' if result.error_count else ''}.",
          "success")
    return redirect(url_for("transactions.index", batch=result.batch_id))


@bp.get("/import/<token>/progress")
@access(DATA)
def progress(token):
    _pending(token)
    return jsonify(processed=cache.get(import_progress_key(token)) or 0)


@bp.cli.command("expire-previews")
def expire_previews_command():
    """Remove upload previews older than IMPORT_PREVIEW_MAX_AGE_HOURS (never confirmed)."""
    click.echo(f"{expire_previews(current_app)} expired upload preview(s) removed.")


@bp.post("/import/batches/<int:batch_id>/undo")
@access(DATA)
def undo(batch_id):
    deleted = service.undo_batch(batch_id)
    flash(f"Import undone: {deleted} transaction(s) removed.", "success")
    return redirect(url_for("ingest.upload_form"))
