"""POST /api/events: an agent forwards the scheduled events it saw; we cordon, enqueue and start the drain."""
from __future__ import annotations

import azure.functions as func

from functions.http import node_claim, read_json, respond_as
from nodepool.core.model import Role
from nodepool.drain.report import EventReport

bp = func.Blueprint()


@bp.route(route="events", methods=["POST"])
def post_events(req: func.HttpRequest) -> func.HttpResponse:
    def run(s, caller):
        return s.events.record(EventReport.from_json(read_json(req)), s.clock.now(), node_claim(req, caller))
    return respond_as(req, Role.AGENT, run, status=202)
