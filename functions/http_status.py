"""GET /api/status: the pool at a glance for the operator (admin level: the master key, which the agents'
function key is not; no secrets in it)."""
from __future__ import annotations

import azure.functions as func

from functions.http import respond

bp = func.Blueprint()


@bp.route(route="status", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def status(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, lambda s: s.status.view(s.clock.now()))
