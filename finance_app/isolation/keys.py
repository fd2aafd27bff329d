"""The names of every cache key the app builds: a leaf module (no imports from the core).

Data keys (anything built from owned rows) are namespaced by `cache_keys.ns_key`; this
module only knows how names are spelled, so the modules that build principals, tokens and
namespaced data can all use it without importing each other.

Internal keys (principals, tokens, sessions, generations) start with `_` and are never data.
"""
LEGACY_NAMESPACE = "legacy"

# First segment of every data key, so ops can tell legacy data keys from everything else.
DATA_KEY_KINDS = ("summary", "categories", "trends", "merchants", "explain", "suggest-model",
                  "dashboard", "count", "category-counts")


def user_namespace(user_id):
    return f"user:{user_id}"


def generation_key(namespace):
    return f"_gen:{namespace}"


def principal_key(user_id):
    return f"_principal:{user_id}"


def token_key(token_hash):
    return f"_token:{token_hash}"


def form_use_key(marker_hash):
    """A one-use form's marker, once the form was sent (auth/routes.py: token creation)."""
    return f"_form-used:{marker_hash}"


def session_key(session_hash):
    return f"_session:{session_hash}"


def is_legacy_data_key(key):
    """A data key outside any user namespace: built for the shared ledger."""
    return key.split(":", 1)[0] in DATA_KEY_KINDS
