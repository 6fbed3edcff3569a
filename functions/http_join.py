"""POST /api/cluster (master), /api/join, /api/join/nonce and /api/leave (agents)."""
from __future__ import annotations

import azure.functions as func

from functions.http import node_claim, read_json, respond_as
from nodepool.core.model import Role
from nodepool.join.cluster import Registration
from nodepool.join.request import JoinRequest

bp = func.Blueprint()


@bp.route(route="cluster/nonce", methods=["POST"])
def post_cluster_nonce(req: func.HttpRequest) -> func.HttpResponse:
    return respond_as(req, Role.MASTER, lambda s, caller: s.joins.master_nonce(caller, s.clock.now()))


@bp.route(route="cluster", methods=["POST"])
def post_cluster(req: func.HttpRequest) -> func.HttpResponse:
    def run(s, caller):
        return s.joins.register(caller, Registration.from_json(read_json(req)), s.clock.now())
    return respond_as(req, Role.MASTER, run)


@bp.route(route="join/nonce", methods=["POST"])
def post_join_nonce(req: func.HttpRequest) -> func.HttpResponse:
    def run(s, caller):
        return s.joins.nonce(caller, JoinRequest.from_json(read_json(req)).hostname, s.clock.now())
    return respond_as(req, Role.AGENT, run)


@bp.route(route="join", methods=["POST"])
def post_join(req: func.HttpRequest) -> func.HttpResponse:
    def run(s, caller):
        return s.joins.join(caller, JoinRequest.from_json(read_json(req)), s.clock.now())
    return respond_as(req, Role.AGENT, run)


@bp.route(route="leave", methods=["POST"])
def post_leave(req: func.HttpRequest) -> func.HttpResponse:
    def run(s, caller):
        return s.events.leave(node_claim(req, caller), JoinRequest.from_json(read_json(req)).hostname, s.clock.now())
    return respond_as(req, Role.AGENT, run, status=202)
