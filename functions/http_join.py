"""POST /api/cluster (master), /api/join, /api/join/nonce and /api/leave (agents)."""
from __future__ import annotations

import azure.functions as func

from functions.http import node_claim, read_json, respond
from nodepool.core.model import Role
from nodepool.join.cluster import Registration
from nodepool.join.request import JoinRequest

bp = func.Blueprint()


@bp.route(route="cluster/nonce", methods=["POST"])
def post_cluster_nonce(req: func.HttpRequest) -> func.HttpResponse:
    def run(s):
        caller = s.identity.verify(req.headers.get("Authorization"), Role.MASTER)
        return s.joins.master_nonce(caller, s.clock.now())
    return respond(run)


@bp.route(route="cluster", methods=["POST"])
def post_cluster(req: func.HttpRequest) -> func.HttpResponse:
    def run(s):
        caller = s.identity.verify(req.headers.get("Authorization"), Role.MASTER)
        return s.joins.register(caller, Registration.from_json(read_json(req)), s.clock.now())
    return respond(run)


@bp.route(route="join/nonce", methods=["POST"])
def post_join_nonce(req: func.HttpRequest) -> func.HttpResponse:
    def run(s):
        caller = s.identity.verify(req.headers.get("Authorization"), Role.AGENT)
        return s.joins.nonce(caller, JoinRequest.from_json(read_json(req)).hostname, s.clock.now())
    return respond(run)


@bp.route(route="join", methods=["POST"])
def post_join(req: func.HttpRequest) -> func.HttpResponse:
    def run(s):
        caller = s.identity.verify(req.headers.get("Authorization"), Role.AGENT)
        return s.joins.join(caller, JoinRequest.from_json(read_json(req)), s.clock.now())
    return respond(run)


@bp.route(route="leave", methods=["POST"])
def post_leave(req: func.HttpRequest) -> func.HttpResponse:
    def run(s):
        claim = node_claim(req, s.identity.verify(req.headers.get("Authorization"), Role.AGENT))
        return s.events.leave(claim, JoinRequest.from_json(read_json(req)).hostname, s.clock.now())
    return respond(run, status=202)
