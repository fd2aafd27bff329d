"""GET /metrics: Prometheus's text format, for admins (session or bearer token) and for a
scraper on this host (`access.MONITORING`); anyone else gets the unknown-URL 404."""
from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ..isolation import MONITORING, access
from . import metrics
from .background import update_gauges

bp = Blueprint("observability", __name__)


@bp.get("/metrics")
@access(MONITORING)
def scrape():
    update_gauges()
    return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
