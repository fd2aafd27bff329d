"""The OpenAPI 3.1 document of the JSON API, built from the app's URL map on each request.

Every rule under /api/ appears with each of its methods, whoever added it and whenever — the
admin routes only in the document an admin fetches (to anyone else they are 404s, and the
public document does not list them either): the
path and its parameters come from the rule, the summary from the view's docstring, the
security requirement from its `@access` kind. A view may add what the URL map cannot tell —
its query, body and response types — with `@documented(...)`; their JSON Schemas come from
the pydantic models themselves, so the document cannot drift from the validation.
"""
import inspect
import re
from typing import Optional

from flask import Blueprint, current_app, jsonify
from pydantic import BaseModel, ConfigDict, TypeAdapter

from .isolation import ADMIN, AUTH, DATA, PUBLIC, access, current_principal
from .bounds import MAX_ID
from .isolation.access import route_kind

OPENAPI_VERSION = "3.1.0"
API_PREFIX = "/api/"
REF_TEMPLATE = "#/components/schemas/{model}"
IGNORED_METHODS = {"HEAD", "OPTIONS"}

# <converter(args):name> in a werkzeug rule; the converter is optional.
RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
CONVERTER_SCHEMAS = {
    "int": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}

bp = Blueprint("openapi", __name__)


class ErrorDetail(BaseModel):
    """Every API error has a code and a message; validation errors add the field."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    field: Optional[str] = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def documented(query=None, body=None, response=None, status=200, body_required=True,
               path=None):
    """Declare a JSON view's types for the OpenAPI document (it does not validate anything:
    the view still calls `parse_query` / `parse_body`). `response` may be any type pydantic
    can describe (a model, `list[Model]`, ...); `path` maps a path parameter to a type."""

    def mark(view):
        view.openapi = {"query": query, "body": body, "response": response, "status": status,
                        "body_required": body_required, "path": path or {}}
        return view

    return mark


@bp.get("/api/openapi.json")
@access(PUBLIC)
def openapi_document():
    """The OpenAPI 3.1 document of this JSON API (with the admin routes for an admin)."""
    principal = current_principal()
    return jsonify(build_document(current_app,
                                  with_admin=principal is not None and principal.is_admin))


class _Schemas:
    """Collects component schemas while operations reference them."""

    def __init__(self):
        self.components = {}
        self.schema(ErrorResponse, mode="serialization")

    @staticmethod
    def _inline(type_, mode):
        schema = TypeAdapter(type_).json_schema(ref_template=REF_TEMPLATE, mode=mode)
        return schema, schema.pop("$defs", {})

    def schema(self, type_, mode="validation"):
        """A schema for `type_`; a model becomes a named component referenced by `$ref`."""
        if isinstance(type_, dict):  # already a JSON Schema
            return type_
        schema, definitions = self._inline(type_, mode)
        self.components.update(definitions)
        if isinstance(type_, type) and issubclass(type_, BaseModel):
            self.components[type_.__name__] = schema
            return {"$ref": REF_TEMPLATE.format(model=type_.__name__)}
        return schema

    def query_parameters(self, model):
        schema, definitions = self._inline(model, "validation")
        self.components.update(definitions)
        required = set(schema.get("required", ()))
        return [
            {"name": name, "in": "query", "required": name in required,
             **({"description": prop["description"]} if "description" in prop else {}),
             "schema": prop}
            for name, prop in schema.get("properties", {}).items()
        ]


def _summary(view, endpoint):
    lines = (inspect.getdoc(view) or "").splitlines()
    return lines[0].strip() if lines else endpoint


def _path_and_parameters(rule, declared, schemas):
    parameters = [
        {"name": m["name"], "in": "path", "required": True,
         "schema": schemas.schema(declared[m["name"]]) if m["name"] in declared
         else dict(CONVERTER_SCHEMAS.get(m["converter"], {"type": "string"}))}
        for m in RULE_ARGUMENT.finditer(rule.rule)
    ]
    return RULE_ARGUMENT.sub(r"{\g<name>}", rule.rule), parameters


def _error(description):
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(
                model="ErrorResponse")}}}}


def _security(kind):
    if kind == PUBLIC:
        return []
    signed_in = [{"bearerAuth": []}, {"cookieAuth": []}]
    return [{}] + signed_in if kind == AUTH else signed_in  # {}: anonymous is allowed too


def _operation(app, rule, method, path_parameters, schemas):
    view = app.view_functions[rule.endpoint]
    declared = getattr(view, "openapi", {})
    kind = route_kind(app, rule.endpoint) or DATA  # unclassified views are treated as data
    operation = {
        "operationId": rule.endpoint.replace(".", "_") + (
            f"_{method.lower()}" if len(rule.methods - IGNORED_METHODS) > 1 else ""),
        "summary": _summary(view, rule.endpoint),
        "tags": [rule.endpoint.split(".", 1)[0]],
        "security": _security(kind),
    }
    description = (inspect.getdoc(view) or "").partition("\n")[2].strip()
    if description:
        operation["description"] = description
    parameters = list(path_parameters)
    if declared.get("query") is not None:
        parameters += schemas.query_parameters(declared["query"])
    if parameters:
        operation["parameters"] = parameters
    if declared.get("body") is not None:
        operation["requestBody"] = {
            "required": declared["body_required"],
            "content": {"application/json": {"schema": schemas.schema(declared["body"])}},
        }

    responses = {}
    if declared.get("response") is not None:
        responses[str(declared["status"])] = {
            "description": "Success.",
            "content": {"application/json": {
                "schema": schemas.schema(declared["response"], mode="serialization")}},
        }
    else:
        responses["2XX"] = {"description": "Success."}
    if declared.get("body") is not None:
        responses["400"] = _error("The body is not a JSON object.")
    if declared.get("body") is not None or declared.get("query") is not None:
        responses["422"] = _error("A field failed validation; `field` names it.")
    if kind in (DATA, ADMIN):
        responses["401"] = _error("Not signed in.")
    if path_parameters or kind == ADMIN:
        responses["404"] = _error("Not found (or not yours: never 403).")
    if kind == DATA:
        responses["503"] = _error("Data access is locked by the operators.")
    responses["default"] = _error("Any other error, in the same shape.")
    operation["responses"] = responses
    return operation


def build_document(app, with_admin=False):
    schemas = _Schemas()
    paths = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        if route_kind(app, rule.endpoint) == ADMIN and not with_admin:
            continue
        view = app.view_functions[rule.endpoint]
        path, parameters = _path_and_parameters(
            rule, getattr(view, "openapi", {}).get("path", {}), schemas)
        item = paths.setdefault(path, {})
        for method in sorted(rule.methods - IGNORED_METHODS):
            item[method.lower()] = _operation(app, rule, method, parameters, schemas)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "finance_app API",
            "version": "1",
            "description": ("Personal-finance JSON API. Sign in with the session cookie or "
                            "send 'Authorization: Bearer <token>' (POST /api/auth/tokens). "
                            "Money travels as decimal strings, months as YYYY-MM. Every error "
                            "is {\"error\": {\"code\", \"message\", ...}}."),
        },
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "An API token from POST /api/auth/tokens."},
                "cookieAuth": {"type": "apiKey", "in": "cookie",
                               "name": app.config.get("SESSION_COOKIE_NAME", "session")},
            },
        },
    }

