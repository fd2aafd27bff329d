"""The isolation core: everything that keeps one user's data from another.

Features import from here; nothing here imports a feature package.
"""
from .access import ADMIN, AUTH, DATA, MONITORING, PUBLIC, access, init_access
from .cache_keys import cached, invalidate_after_write, ns_key
from .decision import data_lock_engaged, flag_service, isolation_on
from .principal import Principal, current_principal, forget_principal
from .scoping import IsolationViolation, owned_or_404, scope, unscoped
from .sessions import sign_in, sign_out

__all__ = [
    "ADMIN", "AUTH", "DATA", "MONITORING", "PUBLIC", "Principal", "IsolationViolation",
    "access", "cached",
    "current_principal", "data_lock_engaged", "flag_service", "forget_principal",
    "init_access", "invalidate_after_write", "isolation_on", "ns_key", "owned_or_404", "scope",
    "sign_in",
    "sign_out", "unscoped",
]
