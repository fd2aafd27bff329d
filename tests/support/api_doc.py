"""The JSON API as its own OpenAPI document describes it, for tests that probe every operation
(so a route added later is probed without anyone listing it here)."""
from tests.conftest import PASSWORD

METHODS = ("get", "post", "put", "patch", "delete")


def bearer(app, email, password=PASSWORD):
    """A test client that sends `email`'s new API token (no cookie)."""
    client = app.test_client()
    token = client.post("/api/auth/tokens", json={"email": email, "password": password})
    assert token.status_code == 201, token.text
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token.json['token']}"
    return client


def resolve(schema, doc):
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def alternatives(schema, doc):
    """The schema, or each branch of its anyOf/oneOf, resolved."""
    schema = resolve(schema, doc)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if not branches:
        return [schema]
    return [alt for branch in branches for alt in alternatives(branch, doc)]


def allows(schema, doc, type_):
    return any(alt.get("type") == type_ for alt in alternatives(schema, doc))


def operations(doc):
    """(method, path, operation) for every operation of the document."""
    return [(method, path, operation) for path, item in sorted(doc["paths"].items())
            for method, operation in sorted(item.items()) if method in METHODS]


def body_schemas(operation, doc):
    """The object schemas the operation's JSON body may follow (one per anyOf branch)."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is None:
        return []
    return [alt for alt in alternatives(body["schema"], doc) if alt.get("type") == "object"]


def text_fields(object_schema, doc):
    """The properties of a body that may hold text."""
    return sorted(name for name, prop in object_schema.get("properties", {}).items()
                  if allows(prop, doc, "string")
                  or any(allows(alt.get("items", {}), doc, "string")
                         for alt in alternatives(prop, doc) if alt.get("type") == "array"))


def integer_parameters(doc):
    """(method, path, parameter) for every integer path or query parameter."""
    return [(method, path, parameter) for method, path, operation in operations(doc)
            for parameter in operation.get("parameters", ())
            if allows(parameter["schema"], doc, "integer")]


def integer_schema(schema, doc):
    return next(alt for alt in alternatives(schema, doc) if alt.get("type") == "integer")
