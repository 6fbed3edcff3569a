"""Operator reads: GET /api/nodes (paged) and GET /api/audit (paged, newest first), admin level (the master
key: the agents' function key cannot open them); and GET /api/nodes/{name}, a node's own status poll
(function key, agent identity and that node's credential)."""
from __future__ import annotations

import azure.functions as func

from functions.http import node_claim, page_args, respond, respond_as
from nodepool.core.model import Role

bp = func.Blueprint()


@bp.route(route="nodes", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def nodes(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, lambda s: s.nodes.page(*page_args(req)))


@bp.route(route="nodes/{name}", methods=["GET"])
def node(req: func.HttpRequest) -> func.HttpResponse:
    def run(s, caller):
        return s.nodes.own(node_claim(req, caller), req.route_params.get("name", ""), s.clock.now())
    return respond_as(req, Role.AGENT, run)


@bp.route(route="audit", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def audit(req: func.HttpRequest) -> func.HttpResponse:
    return respond(req, lambda s: s.audit.page(*page_args(req)))
