"""Request-body parsing for the JSON API, validated with pydantic models.

A body that is not a JSON object is a 400; a field that fails validation is a 422 naming it.
"""
from flask import request
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import AppError


class Body(BaseModel):
    """Base for request bodies: unknown fields are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
