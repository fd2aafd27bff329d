"""Fixtures of the isolation tests: probe routes for contract tests (small views that
exercise one mechanism each, added to the per-test app only; the route-matrix test uses an
app without them) and the route matrix's ledger.
"""
from decimal import Decimal

import pytest
from flask import jsonify, request
from sqlalchemy import func, select

from finance_app.accounts.service import default_account
from finance_app.extensions import db
from finance_app.isolation import (
    DATA,
    PUBLIC,
    access,
    flag_service,
    isolation_on,
    owned_or_404,
    scope,
)
from finance_app.models import Transaction
from tests.isolation.matrix_ledger import MatrixLedger


def _descriptions(stmt):
    return sorted(db.session.execute(stmt).scalars().all())


def probe_route(app, rule, kind=DATA, methods=("GET",)):
    """A decorator adding the view to `app` at `rule`, classified as `kind`."""
    def register(view):
        app.add_url_rule(rule, view.__name__, access(kind)(view), methods=list(methods))
        return view
    return register


def add_probe_routes(app):
    def route(rule, kind=DATA, methods=("GET",)):
        return probe_route(app, rule, kind, methods)

    @route("/api/_probe/scoped")
    def probe_scoped():
        return jsonify(isolation=isolation_on(),
                       rows=_descriptions(scope(select(Transaction.description))))

    @route("/api/_probe/unscoped")
    def probe_unscoped():
        return jsonify(rows=_descriptions(select(Transaction.description)))

    @route("/api/_probe/public-scope", kind=PUBLIC)
    def probe_public_scope():
        return jsonify(rows=_descriptions(scope(select(Transaction.description))))

    @route("/api/_probe/flip")
    def probe_flip():
        """Flip the flag for this user's cohort in the middle of the request."""
        first = isolation_on()
        before = _descriptions(scope(select(Transaction.description)))
        flags = flag_service()
        state = flags.isolation_state()
        cohorts = set(state["cohorts"])
        cohort = request.args["cohort"]
        flags.set_isolation(cohorts - {cohort} if cohort in cohorts else cohorts | {cohort},
                            state["percent"])
        second = isolation_on()
        after = _descriptions(scope(select(Transaction.description)))
        return jsonify(first=first, second=second, before=before, after=after)

    @route("/api/_probe/rows/<int:row_id>")
    def probe_get(row_id):
        return jsonify(description=owned_or_404(Transaction, row_id).description)

    @route("/api/_probe/rows/<int:row_id>", methods=("PATCH",))
    def probe_patch(row_id):
        row = owned_or_404(Transaction, row_id)
        row.category = request.json["category"]
        db.session.commit()
        return jsonify(category=row.category)

    @route("/api/_probe/rows", methods=("POST",))
    def probe_create():
        body = request.get_json()
        row = Transaction(date=__import__("datetime").date(2024, 11, 5),
                          amount=Decimal("-1.00"), description=body.get("description", "new"),
                          account_id=default_account("EUR").id)
        if "user_id" in body:
            row.user_id = body["user_id"]
        db.session.add(row)
        db.session.commit()
        return jsonify(id=row.id, user_id=row.user_id), 201

    @route("/api/_probe/count")
    def probe_count():
        return jsonify(count=db.session.execute(scope(select(func.count(Transaction.id)))).scalar())

    return app


@pytest.fixture
def probe_app(app):
    return add_probe_routes(app)


@pytest.fixture
def matrix(app):
    """The route matrix's ledger (tests/isolation/matrix_ledger.py)."""
    return MatrixLedger(app)
