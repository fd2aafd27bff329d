"""Request-body parsing for the JSON API, validated with pydantic models.

A body that is not a JSON object is a 400; a field that fails validation is a 422 naming it.
Before any view runs, `refuse_unreadable_input` refuses what no view could store or read: a
NUL character in any text of the request (PostgreSQL cannot store one), and JSON nested
deeper than any body of the app (100,000 levels overflow Python's stack).
"""
from flask import request
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import AppError

MAX_JSON_DEPTH = 32  # the app's bodies nest two levels; room for clients that wrap them
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Body(BaseModel):
    """Base for request bodies: unknown fields are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def changes_something(patch, required=()):
    """Check a PATCH body (from its model's "after" validator): it sends at least one field,
    and none of the `required` fields as null."""
    if not patch.model_fields_set:
        raise ValueError("send at least one field to change")
    for name in required:
        if name in patch.model_fields_set and getattr(patch, name) is None:
            raise ValueError(f"{name} cannot be empty")
    return patch


def json_object():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise AppError(400, "bad_request", "Send a JSON object with Content-Type: application/json.")
    return data


def parse_body(model):
    try:
        return model.model_validate(json_object())
    except ValidationError as exc:
        raise validation_error(exc) from None


def parse_query(model):
    """Query parameters validated by `model`: a bad one is a 422 naming it."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc):
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]) or None, "message": err["msg"]}
        for err in exc.errors()
    ]
    first = errors[0]
    return AppError(
        422, "validation_error", f"{first['field']}: {first['message']}",
        field=first["field"], errors=errors,
    )


def refuse_unreadable_input():
    """A before-request check for every routed request (an unknown URL stays a 404)."""
    if request.endpoint is None:
        return
    for field, text in _request_texts():
        if "\0" in text:
            raise AppError(422, "validation_error",
                           f"{field}: text may not contain NUL characters (\\u0000)",
                           field=field)


def _request_texts():
    """(field, text) for every piece of text a request brings: path, query, form and file
    names, and every key and string of a JSON body. (Parsing a form body consumes it, as
    `request.form` always does: `request.get_data()` is empty for it afterwards.)"""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield name, value
    yield from _multidict_texts(request.args)
    if request.mimetype in FORM_TYPES:
        yield from _multidict_texts(request.form)
        for name, upload in request.files.items(multi=True):
            yield name, upload.filename or ""
    if request.is_json:
        yield from _json_texts(_json_body())


def _multidict_texts(values):
    for name, value in values.items(multi=True):
        yield name, name
        yield name, value


def _json_body():
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise _too_deep() from None


def _too_deep():
    return AppError(400, "bad_request",
                    f"The JSON body is nested too deeply (more than {MAX_JSON_DEPTH} levels).")


def _json_texts(value):
    """(field, text) for the keys and strings of a parsed JSON value, walked without
    recursion; the field is the path to it, as pydantic names fields ("items.0.name")."""
    stack = [(value, (), 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        field = ".".join(map(str, path)) or "body"
        if isinstance(value, str):
            yield field, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield ".".join(map(str, (*path, key))), key
                stack.append((item, (*path, key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, (*path, i), depth + 1) for i, item in enumerate(value))
