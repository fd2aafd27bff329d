"""The signed-in home page: what this user can see of the ledger."""
from flask import Blueprint, render_template
from sqlalchemy import func, select

from ..extensions import db
from ..isolation import DATA, access, isolation_on, scope
from ..models import Transaction

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@access(DATA)
def index():
    count, total = db.session.execute(
        scope(select(func.count(Transaction.id), func.coalesce(func.sum(Transaction.amount), 0)))
    ).one()
    recent = db.session.execute(
        scope(select(Transaction).order_by(Transaction.date.desc(), Transaction.id.desc()).limit(20))
    ).scalars().all()
    return render_template("dashboard/index.html", count=count, total=total, recent=recent,
                           isolated=isolation_on())
