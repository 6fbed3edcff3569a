"""GET /api/nodes and /api/nodes/{name}: the registry view (paged; no secrets)."""
from __future__ import annotations

import azure.functions as func

from functions.http import respond
from nodepool.errors import InvalidInput

bp = func.Blueprint()


@bp.route(route="nodes", methods=["GET"])
def nodes(req: func.HttpRequest) -> func.HttpResponse:
    def run(s):
        try:
            limit = int(req.params.get("limit", "100"))
        except ValueError as err:
            raise InvalidInput("limit must be a number") from err
        return s.nodes.page(limit, req.params.get("next"))
    return respond(run)


@bp.route(route="nodes/{name}", methods=["GET"])
def node(req: func.HttpRequest) -> func.HttpResponse:
    return respond(lambda s: s.nodes.get(req.route_params.get("name", "")))
