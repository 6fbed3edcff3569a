"""GET /api/healthz: settings valid, tables and queues answering. 200 or 503."""
from __future__ import annotations

import azure.functions as func

from functions.http import json_response
from nodepool import wiring
from nodepool.core.errors import NodepoolError
from nodepool.status.health import Check, health

bp = func.Blueprint()


@bp.route(route="healthz", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def healthz(req: func.HttpRequest) -> func.HttpResponse:
    try:
        services = wiring.services()
    except NodepoolError as err:
        body = {"status": "failing", "checks": {"settings": Check("settings", False, err.message, 0).as_dict()}}
        return json_response(body, status=503)
    healthy, body = health({"settings": lambda: None, **services.health_probes()}, services.clock)
    return json_response(body, status=200 if healthy else 503)
